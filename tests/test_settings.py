"""Settings resolution: precedence, Terraform-compatible names, auth modes, clouds.yaml, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulumi_modelarts.errors import ConfigurationError
from pulumi_modelarts.settings import SETTING_KEYS, Settings

AKSK = {"HW_ACCESS_KEY": "AK-ENV", "HW_SECRET_KEY": "SK-ENV-SECRET"}


def test_defaults_follow_the_terraform_providers() -> None:
    settings = Settings.from_sources(environ=AKSK)
    assert settings.region == "eu-de"
    assert settings.resolved_endpoint == "https://modelarts.eu-de.otc.t-systems.com"
    assert settings.resolved_auth_url == "https://iam.eu-de.otc.t-systems.com/v3"
    assert (settings.max_retries, settings.timeout, settings.connect_timeout, settings.read_timeout) == (
        5,
        120.0,
        10.0,
        30.0,
    )
    assert settings.verify is True and settings.project_scope_name == "eu-de"


def test_huawei_cloud_hosts_derive_from_cloud_and_region() -> None:
    settings = Settings.from_sources(
        environ={**AKSK, "HW_CLOUD": "myhuaweicloud.com", "HW_REGION_NAME": "ap-southeast-3"}
    )
    assert settings.resolved_endpoint == "https://modelarts.ap-southeast-3.myhuaweicloud.com"
    assert settings.resolved_auth_url == "https://iam.ap-southeast-3.myhuaweicloud.com/v3"


def test_precedence_args_then_stack_config_then_environment() -> None:
    environ = {
        **AKSK,
        "HW_REGION_NAME": "env-region",
        "HW_PROJECT_ID": "envproject",
        "MODELARTS_TIMEOUT": "7",
    }
    config = {"modelarts:region": "config-region", "modelarts:projectId": "configproject"}
    settings = Settings.from_sources(args={"region": "arg-region"}, stack_config=config, environ=environ)
    assert settings.region == "arg-region"
    assert settings.project_id == "configproject"
    assert settings.timeout == 7.0


def test_empty_values_do_not_shadow_lower_layers() -> None:
    settings = Settings.from_sources(
        args={"region": None},
        stack_config={"modelarts:region": " "},
        environ={**AKSK, "OS_REGION_NAME": "eu-nl"},
    )
    assert settings.region == "eu-nl"


def test_hw_variables_win_over_os_variables() -> None:
    environ = {
        "HW_ACCESS_KEY": "hw-ak",
        "OS_ACCESS_KEY": "os-ak",
        "OS_SECRET_KEY": "os-sk",
        "HW_REGION_NAME": "hw-region",
        "OS_REGION_NAME": "os-region",
    }
    settings = Settings.from_sources(environ=environ)
    assert settings.access_key is not None and settings.access_key.get_secret_value() == "hw-ak"
    assert settings.secret_key is not None and settings.secret_key.get_secret_value() == "os-sk"
    assert settings.region == "hw-region"


@pytest.mark.parametrize(
    ("environ", "mode"),
    [
        (
            {
                "HW_AUTH_TOKEN": "t",
                **AKSK,
                "HW_USER_NAME": "u",
                "HW_USER_PASSWORD": "p",
                "HW_DOMAIN_NAME": "d",
            },
            "token",
        ),
        ({**AKSK, "HW_USER_NAME": "u", "HW_USER_PASSWORD": "p", "HW_DOMAIN_NAME": "d"}, "aksk"),
        ({"OS_USERNAME": "u", "OS_PASSWORD": "p", "OS_USER_DOMAIN_NAME": "d"}, "password"),
    ],
)
def test_auth_precedence_token_then_aksk_then_password(environ: dict[str, str], mode: str) -> None:
    assert Settings.from_sources(environ=environ).auth_mode() == mode


@pytest.mark.parametrize(
    ("environ", "names"),
    [
        ({"HW_ACCESS_KEY": "ak"}, ["modelarts:accessKey is set", "modelarts:secretKey (or HW_SECRET_KEY)"]),
        ({"HW_SECRET_KEY": "sk"}, ["modelarts:secretKey is set", "modelarts:accessKey (or HW_ACCESS_KEY)"]),
        (
            {"HW_USER_NAME": "u"},
            ["modelarts:password (or HW_USER_PASSWORD)", "modelarts:domainName (or HW_DOMAIN_NAME)"],
        ),
        ({"HW_SECURITY_TOKEN": "st"}, ["securityToken", "accessKey", "secretKey"]),
        ({}, ["no ModelArts credentials", "accessKey", "authToken", "userName"]),
    ],
)
def test_missing_or_half_set_credentials_name_the_keys_to_set(
    environ: dict[str, str], names: list[str]
) -> None:
    settings = Settings.from_sources(environ=environ)
    with pytest.raises(ConfigurationError) as caught:
        settings.auth_mode()
    message = str(caught.value)
    assert "\n" not in message
    for name in names:
        assert name in message


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"modelarts:maxRetries": "many"}, "modelarts:maxRetries"),
        ({"modelarts:maxRetries": "99"}, "modelarts:maxRetries"),
        ({"modelarts:timeout": "-1"}, "modelarts:timeout"),
        ({"modelarts:region": "../x"}, "region may only contain"),
        ({"modelarts:projectId": "a/b"}, "projectId may only contain"),
        ({"modelarts:endpoint": "http://example.com"}, "https://"),
        ({"modelarts:cloud": "bad host/x"}, "cloud"),
        ({"modelarts:insecure": "perhaps"}, "modelarts:insecure"),
    ],
)
def test_invalid_values_are_one_line_configuration_errors(config: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_sources(stack_config=config, environ=AKSK)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unknown_argument_names_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="unknown setting"):
        Settings.from_sources(args={"projectid": "x"}, environ=AKSK)


def test_typed_values_from_strings() -> None:
    config = {
        "modelarts:insecure": "true",
        "modelarts:maxRetries": "2",
        "modelarts:connectTimeout": "1.5",
        "modelarts:caCertFile": "/etc/ca.pem",
    }
    settings = Settings.from_sources(stack_config=config, environ=AKSK)
    assert settings.insecure is True and settings.max_retries == 2 and settings.connect_timeout == 1.5
    assert settings.verify is False  # explicit insecure wins over a CA bundle
    assert (
        Settings.from_sources(stack_config={"modelarts:caCertFile": "/etc/ca.pem"}, environ=AKSK).verify
        == "/etc/ca.pem"
    )


def test_every_key_is_reachable_from_stack_config_and_environment() -> None:
    for key in SETTING_KEYS:
        assert key.config_key.startswith("modelarts:")
        assert key.env, key.field
    assert len({key.config for key in SETTING_KEYS}) == len(SETTING_KEYS)


def test_secrets_never_show_in_repr_or_str() -> None:
    environ = {
        "HW_ACCESS_KEY": "CANARY-AK-123456",
        "HW_SECRET_KEY": "CANARY-SK-123456",
        "HW_SECURITY_TOKEN": "CANARY-ST-123456",
        "HW_AUTH_TOKEN": "CANARY-TOKEN-123456",
        "HW_USER_PASSWORD": "CANARY-PW-123456",
        "HW_USER_NAME": "someone",
        "HW_DOMAIN_NAME": "dom",
    }
    settings = Settings.from_sources(environ=environ)
    for text in (repr(settings), str(settings), str(settings.model_dump())):
        assert "CANARY" not in text
    assert set(settings.secret_values()) == {value for key, value in environ.items() if "CANARY" in value}


def test_region_override_drops_the_configured_project() -> None:
    base = Settings.from_sources(environ={**AKSK, "HW_PROJECT_ID": "eudeproject", "HW_PROJECT_NAME": "eu-de"})
    assert base.with_overrides() is base
    moved = base.with_overrides(region="eu-nl")
    assert (moved.region, moved.project_id, moved.project_name) == ("eu-nl", None, None)
    pinned = base.with_overrides(region="eu-nl", project_id="nlproject")
    assert pinned.project_id == "nlproject"
    assert base.with_overrides(region="eu-de").project_id == "eudeproject"
    assert base.with_overrides(endpoint="http://127.0.0.1:1").resolved_endpoint == "http://127.0.0.1:1"
    with pytest.raises(ConfigurationError):
        base.with_overrides(project_id="../../x")


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_clouds_yaml_entry_is_the_last_resort(tmp_path: Path) -> None:
    clouds = _write(
        tmp_path / "clouds.yaml",
        """
clouds:
  otc:
    region_name: eu-nl
    auth:
      auth_url: https://iam.eu-nl.otc.t-systems.com/v3
      username: cloud-user
      user_domain_name: OTC-EU-NL-0001
      project_name: eu-nl_sub
    verify: false
""",
    )
    _write(tmp_path / "secure.yaml", "clouds:\n  otc:\n    auth:\n      password: from-secure-yaml\n")
    environ = {
        "OS_CLOUD": "otc",
        "OS_CLIENT_CONFIG_FILE": str(clouds),
        "OS_SECURE_FILE": str(tmp_path / "secure.yaml"),
    }
    settings = Settings.from_sources(environ=environ)
    assert settings.region == "eu-nl" and settings.user_name == "cloud-user"
    assert settings.domain_name == "OTC-EU-NL-0001" and settings.project_name == "eu-nl_sub"
    assert settings.password is not None and settings.password.get_secret_value() == "from-secure-yaml"
    assert settings.insecure is True and settings.auth_mode() == "password"
    # The environment and the stack config still win over clouds.yaml.
    over = Settings.from_sources(
        stack_config={"modelarts:region": "eu-de"}, environ={**environ, "HW_USER_NAME": "env-user"}
    )
    assert over.region == "eu-de" and over.user_name == "env-user"


def test_clouds_yaml_named_by_stack_config_and_missing_entries(tmp_path: Path) -> None:
    clouds = _write(tmp_path / "clouds.yaml", "clouds:\n  other:\n    auth:\n      ak: a\n      sk: b\n")
    config = {"modelarts:cloudName": "other"}
    settings = Settings.from_sources(stack_config=config, environ={"OS_CLIENT_CONFIG_FILE": str(clouds)})
    assert settings.auth_mode() == "aksk"
    with pytest.raises(ConfigurationError, match="cloud 'nope' is not defined"):
        Settings.from_sources(
            stack_config={"modelarts:cloudName": "nope"}, environ={"OS_CLIENT_CONFIG_FILE": str(clouds)}
        )
