"""Settings resolution: precedence, Terraform-compatible names, auth modes, clouds.yaml, secrets."""

from __future__ import annotations

import copy
import functools
import json
import os
import pickle
from collections.abc import Callable
from pathlib import Path

import certifi
import pytest

from pulumi_modelarts.client import ModelArtsClient
from pulumi_modelarts.emulator import ModelArtsEmulator
from pulumi_modelarts.errors import ConfigurationError, InvalidInputError
from pulumi_modelarts.settings import (
    CREDENTIAL_FIELDS,
    HEADER_FIELDS,
    KEY_FIELDS,
    KEYS_BY_FIELD,
    SETTING_KEYS,
    SecretStr,
    SettingKey,
    Settings,
    stack_config_from,
)
from pulumi_modelarts.validation import check_endpoint
from tests.checks import CANARY

AKSK = {"HW_ACCESS_KEY": "AK-ENV", "HW_SECRET_KEY": "SK-ENV-SECRET"}
PASSWORD_LOGIN = {"HW_USER_NAME": "u", "HW_USER_PASSWORD": "p", "HW_DOMAIN_NAME": "d"}


def value_of(settings: Settings, field: str) -> str:
    value = getattr(settings, field)
    return str(value.get_secret_value() if isinstance(value, SecretStr) else value)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def cloud_files(clouds: Path, secure: Path | None = None) -> dict[str, str]:
    """The variables naming entry ``c`` of these clouds.yaml and secure.yaml files."""
    environ = {"OS_CLOUD": "c", "OS_CLIENT_CONFIG_FILE": str(clouds)}
    return environ | ({"OS_CLIENT_SECURE_FILE": str(secure)} if secure else {})


def files_for(which: str, path: Path, other: Path) -> dict[str, str]:
    """The variables naming ``path`` as ``which`` (clouds.yaml or secure.yaml) and ``other`` as the other."""
    return cloud_files(*((path, other) if which == "clouds.yaml" else (other, path)))


def ca_bundle_in(source: str, value: str, tmp_path: Path) -> dict[str, dict[str, str]]:
    """Settings sources naming the CA bundle ``value`` in ``source`` (a key, a variable or clouds.yaml)."""
    if source == "stack config":
        return {"stack_config": {"modelarts:caCertFile": value}, "environ": AKSK}
    if source == "clouds.yaml":
        clouds = write(tmp_path / "clouds.yaml", json.dumps({"clouds": {"c": {"cacert": value}}}))
        return {"environ": {**AKSK, **cloud_files(clouds)}}
    return {"environ": {**AKSK, source: value}}


def test_defaults_follow_the_terraform_providers() -> None:
    settings = Settings.from_sources(environ=AKSK)
    assert (settings.region, settings.project_scope_name, settings.verify) == ("eu-de", "eu-de", True)
    assert settings.resolved_endpoint == "https://modelarts.eu-de.otc.t-systems.com"
    assert settings.resolved_auth_url == "https://iam.eu-de.otc.t-systems.com/v3"
    timeouts = (settings.timeout, settings.connect_timeout, settings.read_timeout)
    assert (settings.max_retries, timeouts) == (5, (120.0, 10.0, 30.0))
    huawei = Settings.from_sources(environ={**AKSK, "HW_CLOUD": "huawei.example", "HW_REGION_NAME": "ap-3"})
    assert huawei.resolved_endpoint == "https://modelarts.ap-3.huawei.example"
    assert huawei.resolved_auth_url == "https://iam.ap-3.huawei.example/v3"


OTC_EU_DE = "https://modelarts.eu-de.otc.t-systems.com"


PROJECT_ID = "6f0c1b1f2a3d4e5f8a9b0c1d2e3f4a5b"
#: (variables, the setting they resolve to, in its one spelling)
SPELLINGS = [({"HW_REGION_NAME": "EU-DE", "HW_CLOUD": "OTC.T-Systems.com"}, {"resolved_endpoint": OTC_EU_DE})]
SPELLINGS += [({"HW_CLOUD": "otc.t-systems.com."}, {"resolved_endpoint": OTC_EU_DE})]  # the DNS root
OTC_IAM = {"resolved_endpoint": OTC_EU_DE, "resolved_auth_url": "https://iam.eu-de.otc.t-systems.com/v3"}
SPELLINGS += [({"HW_CLOUD": cloud}, OTC_IAM) for cloud in ("otc.t-systems.com:443", "OTC.t-systems.com.:443")]
SPELLINGS += [({"HW_PROJECT_ID": PROJECT_ID.upper()}, {"project_id": PROJECT_ID})]
ENDPOINTS = {"HTTPS://ModelArts.EU-DE.otc.t-systems.com:443//": OTC_EU_DE}
ENDPOINTS["https://[2001:DB8:0::1]:8443/"] = "https://[2001:db8::1]:8443"
ENDPOINTS["https://modelarts.eu-de.otc.t-systems.com./"] = OTC_EU_DE
SPELLINGS += [({"MODELARTS_ENDPOINT": given}, {"resolved_endpoint": one}) for given, one in ENDPOINTS.items()]
AUTH_URL = {"HW_AUTH_URL": "https://IAM.example:0443/v3/"}
SPELLINGS += [(AUTH_URL, {"resolved_auth_url": "https://iam.example/v3"})]


@pytest.mark.parametrize(("environ", "spelt"), SPELLINGS)
def test_a_place_is_resolved_in_one_spelling(environ: dict[str, str], spelt: dict[str, str]) -> None:
    """What names the place read (compared with state, stored as ``endpoint``) has one spelling."""
    settings = Settings.from_sources(environ={**AKSK, **environ})
    assert {name: getattr(settings, name) for name in spelt} == spelt


@pytest.mark.parametrize("region", ["EU-DE", "Eu-De", "eu-de"])
def test_the_iam_project_of_a_region_is_named_in_lower_case(region: str) -> None:
    """Host names ignore case and IAM project names do not: ``EU-DE`` is region ``eu-de``."""
    settings = Settings.from_sources(environ={**AKSK, "HW_REGION_NAME": region})
    assert (settings.region, settings.project_scope_name) == ("eu-de", "eu-de")
    assert Settings.from_sources(environ=AKSK).with_overrides(region=region).project_scope_name == "eu-de"
    named = Settings.from_sources(environ={**AKSK, "HW_REGION_NAME": region, "HW_PROJECT_NAME": "eu-de_Sub"})
    assert named.project_scope_name == "eu-de_Sub"
    configured = Settings.from_sources(environ={**AKSK, "HW_PROJECT_ID": "eudeproject"})
    # The same region in another case keeps the configured project, not the region's default one.
    kept = named.with_overrides(region=region.swapcase()).with_overrides(region=region)
    assert (kept.region, kept.project_scope_name) == ("eu-de", "eu-de_Sub")
    assert configured.with_overrides(region=region).project_id == "eudeproject"


def test_precedence_args_then_stack_config_then_environment() -> None:
    environ = {**AKSK, "HW_REGION_NAME": "env-region", "HW_PROJECT_ID": "envproj", "MODELARTS_TIMEOUT": "7"}
    config = {"modelarts:region": "config-region", "modelarts:projectId": "configproject"}
    settings = Settings.from_sources(args={"region": "arg-region"}, stack_config=config, environ=environ)
    assert (settings.region, settings.project_id, settings.timeout) == ("arg-region", "configproject", 7.0)
    # Empty values do not shadow lower layers; HW_* variables win over OS_* ones.
    environ = {"HW_ACCESS_KEY": "hw", "OS_ACCESS_KEY": "os", "OS_SECRET_KEY": "os-sk", "OS_REGION_NAME": "nl"}
    empty = Settings.from_sources(
        args={"region": None}, stack_config={"modelarts:region": " "}, environ=environ
    )
    keys = [value_of(empty, "access_key"), value_of(empty, "secret_key")]
    assert (empty.region, keys) == ("nl", ["hw", "os-sk"])


@pytest.mark.parametrize(
    ("environ", "mode"),
    [
        ({"HW_AUTH_TOKEN": "t", **AKSK, **PASSWORD_LOGIN}, "token"),
        ({**AKSK, **PASSWORD_LOGIN}, "aksk"),
        ({"OS_USERNAME": "u", "OS_PASSWORD": "p", "OS_USER_DOMAIN_NAME": "d"}, "password"),
    ],
)
def test_auth_precedence_token_then_aksk_then_password(environ: dict[str, str], mode: str) -> None:
    assert Settings.from_sources(environ=environ).auth_mode() == mode


@pytest.mark.parametrize(
    ("environ", "names"),
    [
        (
            {"HW_ACCESS_KEY": "ak"},
            ["HW_ACCESS_KEY (modelarts:accessKey) is set", "secretKey (or HW_SECRET_KEY)"],
        ),
        (
            {"HW_SECRET_KEY": "sk"},
            ["HW_SECRET_KEY (modelarts:secretKey) is set", "accessKey (or HW_ACCESS_KEY)"],
        ),
        ({"HW_USER_NAME": "u"}, ["modelarts:password (or HW_USER_PASSWORD)", "modelarts:domainName"]),
        ({"HW_SECURITY_TOKEN": "st"}, ["securityToken", "accessKey", "secretKey"]),
        ({}, ["no ModelArts credentials", "accessKey", "authToken", "userName"]),
    ],
)
def test_missing_or_half_set_credentials_name_what_to_set(environ: dict[str, str], names: list[str]) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_sources(environ=environ).auth_mode()
    assert "\n" not in str(caught.value) and [name for name in names if name not in str(caught.value)] == []


#: key -> values refused with an error naming ``modelarts:<key>``.
INVALID = {"maxRetries": ["many", "21", "99", "7.5", "-1"], "timeout": ["-1", "nan", "inf", "0", "3600.5"]}
INVALID |= {"readTimeout": ["NaN"], "connectTimeout": ["1e999", "ten"], "insecure": ["perhaps", "2"]}
# Digits in ASCII only, as a job ID's: float() reads fullwidth and Arabic-Indic ones too.
INVALID["maxRetries"] += ["\uff13", "\u0663"]
INVALID["timeout"] += ["\uff11\uff10", "1\u0660"]


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        *((key, value, f"modelarts:{key}") for key, values in INVALID.items() for value in values),
        ("region", "../x", "region may only contain"),
        ("projectId", "a/b", "projectId may only contain"),
        ("endpoint", "http://example.com", "https://"),
        ("cloud", "bad host/x", "cloud"),
        *(("cloud", url, "cloud must be a domain name") for url in ["otc.t-systems.com/", "otc.example/v3"]),
        # An address, which no host name made from it can end in: the cloud named, not the region.
        *(
            ("cloud", address, "modelarts:cloud must be a domain name")
            for address in ["10.0.0.1", "10.0.0.1:8443"]
        ),
        # A clouds.yaml entry's name where the cloud's domain belongs: never a host of its own.
        *(("cloud", name, "modelarts:cloudName (or OS_CLOUD)") for name in ["otc", "my-cloud", "prod:8443"]),
    ],
)
def test_invalid_values_are_one_line_configuration_errors(key: str, value: str, fragment: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_sources(stack_config={f"modelarts:{key}": value}, environ=AKSK)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("region", ["eu_de", "a" * 64])
@pytest.mark.parametrize("given", [{}, {"MODELARTS_ENDPOINT": "https://ma.example"}])
def test_a_region_no_host_name_can_hold_is_named_for_the_urls_made_from_it(
    region: str, given: dict[str, str]
) -> None:
    """Not the endpoint or authUrl, which were not set: the region they were made from."""
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_sources(environ={**AKSK, **given, "HW_REGION_NAME": region})
    made = "authUrl" if given else "endpoint"
    assert str(caught.value).startswith(f"the {made} made from HW_REGION_NAME (modelarts:region) '{region}'")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("key", "text", "value"),
    [
        *(("maxRetries", text, value) for text, value in [("0", 0), (" 7 ", 7), ("7.0", 7), ("+20", 20)]),
        *(("timeout", text, value) for text, value in [("1e2", 100.0), ("3600", 3600.0)]),
        ("connectTimeout", " .5 ", 0.5),
        ("readTimeout", "1_0", 10.0),
        *(("insecure", text, True) for text in ["YES", " on ", "t"]),
        *(("insecure", text, False) for text in ["off", "0"]),
    ],
)
def test_numbers_and_flags_in_the_forms_config_and_environment_carry(
    key: str, text: str, value: object
) -> None:
    """The forms pydantic took for these settings, which stack config and variables carry as text."""
    field = next(setting.field for setting in SETTING_KEYS if setting.config == key)
    settings = Settings.from_sources(stack_config={f"modelarts:{key}": text}, environ=AKSK)
    assert getattr(settings, field) == value and type(getattr(settings, field)) is type(value)


@pytest.mark.parametrize(
    "value",
    [10**400, -(10**400), [5], {"n": 5}, True, complex(5)],
    ids=["huge", "-huge", "list", "dict", "bool", "complex"],
)
@pytest.mark.parametrize("field", ["max_retries", "timeout", "connect_timeout", "read_timeout"])
def test_numbers_passed_as_other_python_objects_are_one_line_errors(field: str, value: object) -> None:
    """An int beyond any float, a container or a flag given in Python is refused as text would be."""
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_sources(args={field: value}, environ=AKSK)
    assert str(caught.value).startswith(f"invalid {KEYS_BY_FIELD[field].config_key}")
    assert "\n" not in str(caught.value)


def test_equal_settings_are_one_client_key() -> None:
    """Settings key the process-wide clients: equal sources, equal settings and hash."""
    first, second = (Settings.from_sources(environ={**AKSK, "HW_PROJECT_ID": "p1"}) for _ in range(2))
    assert first == second and hash(first) == hash(second) and first is not second
    assert first.with_overrides(region="eu-nl") != first
    assert Settings.from_sources(environ={**AKSK, "HW_SECRET_KEY": "other"}) != first


def test_typed_values_from_strings_and_every_key_from_config_and_environment() -> None:
    bundle = Path(certifi.where())
    config = {"modelarts:insecure": "true", "modelarts:maxRetries": "2", "modelarts:connectTimeout": "1.5"}
    ca = {"modelarts:caCertFile": str(bundle)}
    settings = Settings.from_sources(stack_config={**config, **ca}, environ=AKSK)
    assert (settings.insecure, settings.max_retries, settings.connect_timeout) == (True, 2, 1.5)
    assert settings.verify is False  # explicit insecure wins over a CA bundle
    assert Settings.from_sources(stack_config=ca, environ=AKSK).verify == str(bundle)
    assert [key for key in SETTING_KEYS if not key.config_key.startswith("modelarts:") or not key.env] == []
    assert len({key.config for key in SETTING_KEYS}) == len(SETTING_KEYS)
    with pytest.raises(ConfigurationError, match="unknown setting.*projectid"):
        Settings.from_sources(args={"projectid": "x"}, environ=AKSK)


def test_secrets_never_show_in_repr_or_str_nor_go_into_a_pickle() -> None:
    """Before, ``pickle.dumps(settings)`` held every credential and a proxy's password in clear."""
    names = ("HW_ACCESS_KEY", "HW_SECRET_KEY", "HW_SECURITY_TOKEN", "HW_AUTH_TOKEN", "HW_USER_PASSWORD")
    # Not holding the name: a value is a secret for the rest of the process, and errors name variables.
    secrets = {name: f"CANARY-{number}-123456" for number, name in enumerate(names)}
    proxy = {"HTTPS_PROXY": "http://user:CANARY-proxy-pw@proxy.example:3128"}
    environ = {**secrets, **proxy, "HW_USER_NAME": "someone", "HW_DOMAIN_NAME": "dom"}
    settings = Settings.from_sources(environ=environ)
    assert "CANARY" not in repr(settings) + str(settings)
    assert set(settings.secret_values()) >= set(secrets.values())
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError, match=r"^credentials are not pickled: .*Settings\.from_sources\(\)"):
            pickle.dumps(settings, protocol)
    for copied in (copy.copy(settings), copy.deepcopy(settings)):  # copies in memory stay possible
        assert copied == settings and copied.secret_values() == settings.secret_values()


def test_region_override_drops_the_configured_project() -> None:
    base = Settings.from_sources(environ={**AKSK, "HW_PROJECT_ID": "eudeproject", "HW_PROJECT_NAME": "eu-de"})
    assert base.with_overrides() is base
    moved = base.with_overrides(region="eu-nl")
    assert (moved.region, moved.project_id, moved.project_name) == ("eu-nl", None, None)
    assert base.with_overrides(region="eu-nl", project_id="nlproject").project_id == "nlproject"
    assert base.with_overrides(region="eu-de").project_id == "eudeproject"
    assert base.with_overrides(endpoint="http://127.0.0.1:1").resolved_endpoint == "http://127.0.0.1:1"
    with pytest.raises(ConfigurationError):
        base.with_overrides(project_id="../../x")


EU_NL = {"region": "EU-NL", "endpoint": "https://modelarts.eu-nl.otc.t-systems.com/"}
AP_SOUTHEAST_1 = {"endpoint": "https://modelarts.ap-southeast-1.otc.t-systems.com"}


@pytest.mark.parametrize(
    ("environ", "overrides", "same_as"),
    [
        ({}, {"endpoint": "https://modelarts.eu-de.otc.t-systems.com"}, {}),
        ({}, {"endpoint": "HTTPS://ModelArts.EU-DE.otc.t-systems.com:443//"}, {}),
        ({}, {"region": "Eu-De", "endpoint": "https://MODELARTS.eu-de.otc.t-systems.com:443"}, {}),
        ({}, EU_NL, {"region": "eu-nl"}),
        ({"HW_CLOUD": "MyHuaweiCloud.com"}, {"endpoint": "https://modelarts.eu-de.myhuaweicloud.com/"}, {}),
        ({"HW_REGION_NAME": "AP-SOUTHEAST-1"}, AP_SOUTHEAST_1, {}),
    ],
)
def test_an_override_naming_the_endpoint_the_place_resolves_to_shares_its_client(
    environ: dict[str, str], overrides: dict[str, str], same_as: dict[str, str]
) -> None:
    """The endpoint region and cloud derive, spelt out, is the same place: one client, token, lookup."""
    from pulumi_modelarts.client import shared_client

    base = Settings.from_sources(environ={**PASSWORD_LOGIN, **environ})
    place = base.with_overrides(**overrides)
    assert place == base.with_overrides(**same_as) and place.endpoint is None
    assert shared_client(place) is shared_client(base.with_overrides(**same_as))


CLOUDS_YAML = """
clouds:
  otc:
    region_name: eu-nl
    auth: {auth_url: "https://iam.eu-nl.otc.t-systems.com/v3", username: cloud-user,
           user_domain_name: OTC-EU-NL-0001, project_name: nl_sub}
    verify: false
  other:
    auth: {ak: a, sk: b}
"""


def test_clouds_yaml_entry_is_the_last_resort(tmp_path: Path) -> None:
    secure = write(tmp_path / "secure.yaml", "clouds:\n  otc:\n    auth:\n      password: from-secure-yaml\n")
    environ = {**cloud_files(write(tmp_path / "clouds.yaml", CLOUDS_YAML), secure), "OS_CLOUD": "otc"}
    settings = Settings.from_sources(environ=environ)
    assert (settings.region, settings.user_name, settings.project_name) == ("eu-nl", "cloud-user", "nl_sub")
    assert (settings.domain_name, value_of(settings, "password")) == ("OTC-EU-NL-0001", "from-secure-yaml")
    assert settings.insecure is True and settings.auth_mode() == "password"
    # The environment and the stack config still win over clouds.yaml.
    config, environ = {"modelarts:region": "eu-de"}, {**environ, "HW_USER_NAME": "env-user"}
    over = Settings.from_sources(stack_config=config, environ=environ)
    assert (over.region, over.user_name) == ("eu-de", "env-user")
    # The entry named by stack config instead of OS_CLOUD; an entry that is not there.
    named = Settings.from_sources(stack_config={"modelarts:cloudName": "other"}, environ=environ)
    assert named.auth_mode() == "aksk"
    with pytest.raises(ConfigurationError, match="cloud 'nope' is not defined"):
        Settings.from_sources(stack_config={"modelarts:cloudName": "nope"}, environ=environ)


def test_a_clouds_yaml_endpoint_override_is_where_the_job_is_read(
    emulator: ModelArtsEmulator, tmp_path: Path
) -> None:
    """openstacksdk's key for the v1 service's endpoint: never a read of the endpoint made from the region."""
    environ = {name: value for name, value in emulator.environ().items() if name != "MODELARTS_ENDPOINT"}
    clouds = write(
        tmp_path / "clouds.yaml", f"clouds: {{c: {{modelartsv1_endpoint_override: '{emulator.url}/'}}}}"
    )
    with ModelArtsClient(Settings.from_sources(environ={**environ, **cloud_files(clouds)})) as client:
        assert client.get_visualization_job(197).job_id == 197
    # As otcextensions takes it, with the path the package adds: refused naming the file's key.
    write(
        clouds, f"clouds: {{c: {{modelartsv1_endpoint_override: '{emulator.url}/v1/{emulator.project_id}'}}}}"
    )
    with pytest.raises(
        ConfigurationError, match="^modelartsv1_endpoint_override of cloud 'c' in .* must not end"
    ):
        Settings.from_sources(environ={**environ, **cloud_files(clouds)})
    assert [request.path for request in emulator.requests] == [
        f"/v1/{emulator.project_id}/visualization-jobs/197"
    ]


#: clouds.yaml / secure.yaml contents that cannot be used, and what the one-line error names.
PW = "modelarts:password"
BROKEN_CLOUDS = {
    "not YAML": (b"clouds: [unclosed\n", "cannot read"),
    "not UTF-8": (b"clouds:\n  c:\n    auth: {ak: \xe4\xe4\xe4\xe4}\n", "cannot read"),
    "a list": (b"- c\n", "not a mapping"),
    "a scalar": (b"clouds\n", "not a mapping"),
    "clouds a list": (b"clouds: [c]\n", "not a mapping"),
    "the entry a scalar": (b"clouds: {c: 5}\n", "not a mapping"),
    "auth a list": (b"clouds: {c: {auth: [ak, sk]}}\n", "not a mapping"),
    "a key a list": (b"clouds: {c: {auth: {ak: AK-1234, sk: [1, 2]}}}\n", "modelarts:secretKey"),
    "missing": (None, "No such file or directory. Point OS_CLIENT_"),  # the variable of the file
    "a directory": (b"", "Is a directory. Point OS_CLIENT_"),
    "a device": (None, "larger than 1024 KiB"),
    "a byte over 1 MiB": (b"clouds: {c: {}}\n".ljust((1 << 20) + 1, b"#"), "larger than 1024 KiB"),
    "nested too deeply": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "nested too deeply as JSON": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    # Values YAML does not read as text: what to quote, by the setting's name; an alias bomb is not expanded.
    "yes for a password": (b"clouds: {c: {auth: {username: u, password: no, user_domain_name: d}}}", PW),
    "a date for a password": (b"clouds: {c: {auth: {username: u, password: 2024-01-01}}}", PW),
    "a region mapping": (b"clouds: {c: {region_name: {eu: de}}}", "modelarts:region"),
    # By the file and the key: YAML's booleans, a key or a cloud written twice (not the last taken),
    # a tab where YAML wants spaces (its line).
    "no for a region": (b"clouds: {c: {region_name: no}}\n", "invalid region_name of cloud 'c'"),
    "a password twice": (
        b"clouds:\n  c:\n    auth: {password: a, password: b}\n",
        "the key 'password' is written twice at line 3",
    ),
    # A key the package does not read (a cloud's name) by its line alone: it may be a secret.
    "a cloud twice": (
        b"clouds:\n  c: {auth: {ak: a, sk: b}}\n  c: {region_name: eu-de}\n",
        "a key is written twice at line 3",
    ),
    "a cloud twice as JSON": (b'{"clouds": {"c": {"auth": {"sk": "x"}}, "c": {}}}', "a key is written twice"),
    f"braces around a {PW} YAML reads as keys": (
        f"clouds:\n  c:\n    auth:\n      password: {{{CANARY.password}, {CANARY.password}}}\n".encode(),
        "a key is written twice at line 4",
    ),
    f"a {PW} written as a key twice": (
        f"clouds:\n  c:\n    auth:\n      {CANARY.password}: 1\n      {CANARY.password}: 2\n".encode(),
        "a key is written twice at line 5",
    ),
    f"a {PW} written as a key twice as JSON": (
        f'{{"clouds": {{"c": {{"auth": {{"{CANARY.password}": 1, "{CANARY.password}": 2}}}}}}}}'.encode(),
        "a key is written twice",
    ),
    "not JSON": (
        b'{"clouds":\n {"c": {"auth": {"password": canary-password}}}}',
        "JSONDecodeError at line 2",
    ),
    "a tab for indentation": (b"clouds:\n  c:\n\tregion_name: eu-de\n", "ScannerError at line 3"),
    # A password starting with YAML's alias or tag mark: its line, not the rest of it.
    f"an alias for a {PW}": (
        f"clouds:\n  c:\n    auth: {{password: *{CANARY.password}}}\n".encode(),
        "at line 3",
    ),
    f"a tag for a {PW}": (
        f"clouds:\n  c:\n    auth: {{password: !{CANARY.password}}}\n".encode(),
        "at line 3. Write it as YAML in UTF-8, a value beginning with * & ! @ % or ` in quotes",
    ),
    # A tag its value does not fit: Python's error would quote the value (KeyError, or no line at all).
    **{
        f"a {tag} tag on a {PW}": (
            f"clouds:\n  c:\n    auth:\n      password: {tag} {CANARY.password}\n".encode(),
            "ConstructorError at line 4",
        )
        for tag in ("!!bool", "!!timestamp", "!!map", "!!set", "!!binary", "!!null", "!!int", "!!float")
    },
    **{
        f"an alias bomb for {key}": (
            b"a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
            b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n"
            b"clouds: {c: {" + key.encode() + b": *d}}\n",
            f"modelarts:{name}",
        )
        for key, name in (("region_name", "region"), ("cacert", "caCertFile"))
    },
}


@pytest.mark.parametrize("which", ["clouds.yaml", "secure.yaml"])
@pytest.mark.parametrize("broken", BROKEN_CLOUDS)
def test_an_unusable_clouds_yaml_is_one_configuration_error_line(
    which: str, broken: str, tmp_path: Path
) -> None:
    content, fragment = BROKEN_CLOUDS[broken]
    path = tmp_path / ("broken.json" if "JSON" in broken else "broken.yaml")
    if broken == "a directory":
        path.mkdir()
    elif broken == "a device":
        path.symlink_to("/dev/zero")
    elif content is not None:
        path.write_bytes(content)
    good = write(tmp_path / "good.yaml", "clouds: {c: {verify: true}}")
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_sources(environ=files_for(which, path, good))
    message = str(caught.value)
    assert fragment in message and "\n" not in message and "Traceback" not in message
    assert str(path) in message and CANARY.password[:8] not in message


#: What YAML 1.1 (and JSON) would read as a number, and the text it was: kept as written.
NUMBERS_AS_WRITTEN = {"octal": "0123", "octal project": "01234567012345670123456701234567"}  # YAML 1.1: 83
NUMBERS_AS_WRITTEN |= {"underscores": "1_000", "hex": "0x1F", "sexagesimal": "1:20", "exponent": "1.0e+3"}
NUMBERS_AS_WRITTEN |= {"a trailing zero": "1.50", "infinity": ".inf", "not a number": ".NaN"}
NUMBERS_AS_WRITTEN |= {"leading zeros": "007"}


@pytest.mark.parametrize(
    ("suffix", "written"),
    [
        *((".yaml", number) for number in NUMBERS_AS_WRITTEN.values()),
        *((".json", n) for n in ("1.50", "1E400", "-0")),
    ],
    ids=[*NUMBERS_AS_WRITTEN, "JSON 1.50", "JSON 1E400", "JSON -0"],
)
def test_numbers_in_clouds_yaml_are_read_as_the_text_written(
    written: str, suffix: str, tmp_path: Path
) -> None:
    """An unquoted ``0123`` (a project, password or cloud name) is its text, not YAML 1.1's number."""
    project = written if written.isdigit() else "0123"
    if suffix == ".json":
        entry = f'{{"auth": {{"ak": {written}, "sk": {written}, "project_id": "{project}"}}}}'
        text = f'{{"clouds": {{"{written}": {entry}}}}}'
    else:
        text = f"clouds:\n  {written}:\n    auth: {{ak: {written}, sk: {written}, project_id: {project}}}\n"
    clouds = write(tmp_path / f"clouds{suffix}", text)
    settings = Settings.from_sources(environ={**cloud_files(clouds), "OS_CLOUD": written})
    assert (value_of(settings, "access_key"), value_of(settings, "secret_key")) == (written, written)
    assert settings.project_id == project


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("which", ["clouds.yaml", "secure.yaml"])
def test_clouds_yaml_is_read_in_the_encodings_editors_save(which: str, encoding: str, tmp_path: Path) -> None:
    """UTF-8 with or without a byte order mark, UTF-16 with one (what Windows PowerShell writes)."""
    text = "clouds:\n  c:\n    region_name: eu-nl\n    auth: {ak: AK-1, sk: SK-\u00e4-2}\n"
    data = ("\ufeff" if encoding.startswith("utf-16-") else "") + text
    path = tmp_path / which
    path.write_bytes(data.encode(encoding))
    other = write(tmp_path / "other.yaml", "clouds: {c: {}}")
    settings = Settings.from_sources(environ=files_for(which, path, other))
    keys = (value_of(settings, "access_key"), value_of(settings, "secret_key"))
    assert (settings.region, keys) == ("eu-nl", ("AK-1", "SK-\u00e4-2"))


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
@pytest.mark.parametrize(
    "folder", ["cwd", "XDG_CONFIG_HOME", "~/.config", "~/.config, XDG_CONFIG_HOME elsewhere"]
)
@pytest.mark.parametrize("secure_variable", ["OS_CLIENT_SECURE_FILE", "OS_SECURE_FILE"])
def test_clouds_and_secure_files_are_found_where_openstacksdk_looks(
    folder: str, suffix: str, secure_variable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where and under each ending openstacksdk reads (a .json as JSON: tab-indented, it is no YAML)."""
    home, work = tmp_path / "home", tmp_path / "work"
    where = {"cwd": work, "XDG_CONFIG_HOME": tmp_path / "xdg/openstack"}.get(
        folder, home / ".config/openstack"
    )
    where.mkdir(parents=True)
    monkeypatch.chdir(work if work.is_dir() else tmp_path)
    entry = {"clouds": {"c": {"region_name": "eu-nl", "insecure": True, "auth": {"ak": "AK-1"}}}}
    write(where / f"clouds{suffix}", json.dumps(entry, indent="\t" if suffix == ".json" else None))
    secure = write(tmp_path / "s.yaml", "clouds: {c: {auth: {sk: SK-from-secure-file}}}")
    environ = {"OS_CLOUD": "c", "HOME": str(home), secure_variable: str(secure)}
    if "XDG_CONFIG_HOME" in folder:
        environ["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    settings = Settings.from_sources(environ=environ)
    assert (settings.region, settings.insecure) == ("eu-nl", True)
    assert value_of(settings, "secret_key") == "SK-from-secure-file"


# -- credentials from files and shells (issue 7, defect 1) ---------------------------------------
#: clouds.yaml names of the credential settings (in the entry's "auth" mapping).
CLOUDS_NAMES = {"access_key": "ak", "secret_key": "sk", "auth_token": "token", "user_name": "username"}
CLOUDS_NAMES |= {"security_token": "security_token", "password": "password"}
CLOUDS_NAMES |= {
    "domain_name": "user_domain_name",
    "project_id": "project_id",
    "project_name": "project_name",
}
CLOUDS_NAMES["region"] = "region_name"
#: Settings a Kubernetes Secret made from files carries: the credentials and the project.
FROM_SECRETS = (*CREDENTIAL_FIELDS, "project_id", "project_name")
SOURCES = ("argument", "stack config", "first variable", "last variable", "clouds.yaml", "secure.yaml")


def resolve(field: str, source: str, value: str, tmp_path: Path) -> Settings:
    key = KEYS_BY_FIELD[field]
    if source == "argument":
        return Settings.from_sources(args={field: value}, environ={})
    if source == "stack config":
        return Settings.from_sources(stack_config={key.config_key: value}, environ={})
    if source.endswith("variable"):
        return Settings.from_sources(environ={key.env[0 if source == "first variable" else -1]: value})
    entry = json.dumps({"clouds": {"c": {"auth": {CLOUDS_NAMES[field]: value}}}})  # JSON is YAML: keeps \r\n
    empty = json.dumps({"clouds": {"c": {}}})
    clouds, secure = (entry, empty) if source == "clouds.yaml" else (empty, entry)
    files = (write(tmp_path / "c.yaml", clouds), write(tmp_path / "s.yaml", secure))
    return Settings.from_sources(environ=cloud_files(*files))


@pytest.mark.reliability("whitespace secrets")
@pytest.mark.parametrize(
    "padding",
    ["\n", "\r\n", " \t", "\n\n ", "\t\r\n", "\ufeff", "\u00a0\u3000\u2028", "\u200b\r\n"],
    ids=repr,
)
@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("field", FROM_SECRETS)
def test_credentials_lose_the_whitespace_files_and_shells_add(
    field: str, source: str, padding: str, tmp_path: Path
) -> None:
    settings = resolve(field, source, f"{padding}Value-9f8e7d6c{padding}", tmp_path)
    assert value_of(settings, field) == "Value-9f8e7d6c"


#: Invisible format marks past the zero-width ones: bidirectional isolates and marks, a soft
#: hyphen, a tag character, and the paragraph separator.
INVISIBLE = {"\u2066": "LRI", "\u2069": "PDI", "\u061c": "ALM", "\u00ad": "SHY", "\u180e": "MVS"}
INVISIBLE |= {"\U000e0041": "TAG", "\u2029": "PS"}


@pytest.mark.reliability("whitespace secrets")
@pytest.mark.parametrize(
    "inner",
    ["\n", "\r", "\x00", "\x1b", "\x7f", "\x85", "\udcff", "\u2028", "\ufeff", "\u200b", *INVISIBLE],
    ids=["LF", "CR", "NUL", "ESC", "DEL", "NEL", "surrogate", "LS", "BOM", "ZWSP", *INVISIBLE.values()],
)
@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("field", CREDENTIAL_FIELDS)
def test_control_characters_in_credentials_are_refused_without_showing_them(
    field: str, source: str, inner: str, tmp_path: Path
) -> None:
    if inner == "\udcff" and source.endswith("yaml"):
        pytest.skip("a YAML file cannot hold a lone surrogate")
    with pytest.raises(ConfigurationError) as caught:
        resolve(field, source, f"CANARY-head{inner}tail-9f8e7d", tmp_path)
    message = str(caught.value)
    assert KEYS_BY_FIELD[field].config_key in message
    # A lone surrogate, also one of the two that YAML reads a JSON-escaped pair as, is no UTF-8.
    assert "control character" in message or "not valid UTF-8" in message
    assert "CANARY-head" not in message and "tail-9f8e7d" not in message and "\n" not in message


@pytest.mark.parametrize("blank", ["\r\n", "\ufeff", "\u00a0\u200b\n"], ids=repr)
@pytest.mark.parametrize("source", ["stack config", "secure.yaml", "clouds.yaml"])
@pytest.mark.parametrize("field", CREDENTIAL_FIELDS)
def test_a_credential_that_is_only_padding_is_not_set(
    field: str, source: str, blank: str, tmp_path: Path
) -> None:
    """The next source is read as if the blank one were not there."""
    key, name = KEYS_BY_FIELD[field], CLOUDS_NAMES[field]
    value = None if source == "clouds.yaml" else "Value-9f8e"
    secure = {"auth": {name: blank}} if source == "secure.yaml" else {}
    clouds = {"auth": {name: value or blank}, "region_name": blank, "cacert": blank}
    files = [write(tmp_path / n, json.dumps({"clouds": {"c": e}})) for n, e in (("c", clouds), ("s", secure))]
    environ = cloud_files(*files)
    if source == "stack config":
        environ = {key.env[0]: "Value-9f8e"}
    settings = Settings.from_sources(stack_config={key.config_key: blank}, environ=environ)
    assert getattr(settings, field) is None if value is None else value_of(settings, field) == value
    assert (settings.region, settings.ca_cert_file) == ("eu-de", None)


@pytest.mark.parametrize("field", sorted(CREDENTIAL_FIELDS))
def test_header_credentials_must_be_ascii_and_the_others_may_be_any_text(field: str) -> None:
    if field not in HEADER_FIELDS:  # sent in bodies and signatures
        text = "p\u00e4ss-w\u00f6rd-\u5bc6\u7801"
        assert value_of(Settings.from_sources(args={field: text}, environ={}), field) == text
        return
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_sources(args={field: "CANARY-кл\u00fcч-9f8e7d"}, environ={})
    assert KEYS_BY_FIELD[field].config_key in str(caught.value) and "ASCII" in str(caught.value)
    assert "CANARY" not in str(caught.value) and "9f8e7d" not in str(caught.value)


@pytest.mark.parametrize(
    "inner", [" ", "  ", "\u00a0", "\u3000"], ids=["space", "two", "NBSP", "ideographic"]
)
@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("field", sorted(CREDENTIAL_FIELDS))
def test_keys_and_tokens_hold_no_space_inside_and_the_other_credentials_may(
    field: str, source: str, inner: str, tmp_path: Path
) -> None:
    """A key or token wrapped over two lines, joined with a space, is refused before any request
    (the gateway would only say the signature or token is wrong); a password may hold spaces."""
    value = f"CANARY-head{inner}tail-9f8e7d"
    if field not in KEY_FIELDS:
        assert value_of(resolve(field, source, value, tmp_path), field) == value
        return
    with pytest.raises(ConfigurationError) as caught:
        resolve(field, source, f"  {value}\n", tmp_path)
    message = str(caught.value)
    assert KEYS_BY_FIELD[field].config_key in message and "space inside" in message
    assert "CANARY-head" not in message and "tail-9f8e7d" not in message and "\n" not in message


@pytest.mark.parametrize(
    "quoted", ['"CANARY-9f8e7d"', "'CANARY-9f8e7d'", "CANARY-9f8e7d'", "`CANARY-9f8e7d`"]
)
@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("field", sorted(CREDENTIAL_FIELDS))
def test_keys_and_tokens_hold_no_quotes_and_the_other_credentials_may(
    field: str, source: str, quoted: str, tmp_path: Path
) -> None:
    """A key or token left in the quotes of a .env file or a shell is refused before any request (the
    gateway would only say the signature or token is wrong); a password may hold quotes."""
    if field not in KEY_FIELDS:
        assert value_of(resolve(field, source, quoted, tmp_path), field) == quoted
        return
    with pytest.raises(ConfigurationError) as caught:
        resolve(field, source, quoted, tmp_path)
    message = str(caught.value)
    assert KEYS_BY_FIELD[field].config_key in message and "quote" in message and "9f8e7d" not in message


@pytest.mark.parametrize(
    "bad", ["CANARY-head\x1btail-9f8e7d", "CANARY-head\u200btail-9f8e7d"], ids=["ESC", "ZWSP"]
)
@pytest.mark.parametrize("source", SOURCES[1:])
@pytest.mark.parametrize("field", [*FROM_SECRETS, "region"])
def test_a_refusal_names_the_setting_and_the_variable_or_file_it_came_from(
    field: str, source: str, bad: str, tmp_path: Path
) -> None:
    """A setting is read from several places: the line says which one holds the value refused."""
    with pytest.raises(ConfigurationError) as caught:
        resolve(field, source, bad, tmp_path)
    message, key = str(caught.value), KEYS_BY_FIELD[field]
    named = {"first variable": key.env[0], "last variable": key.env[-1]}.get(source, key.config_key)
    if source.endswith("yaml"):
        named = f"{CLOUDS_NAMES[field]} of cloud 'c' in {tmp_path / source[0]}.yaml"
    assert named in message and key.config_key in message and "\n" not in message
    assert [variable for variable in key.env if variable != named and variable in message] == []
    if field in CREDENTIAL_FIELDS:
        assert "CANARY-head" not in message and "tail-9f8e7d" not in message


#: How a secure.yaml written by hand or by a template holds a value ("_" is a line's indentation).
YAML_SCALARS = {"|": "|\n_V-9f8e\n", "|+": "|+\n_V-9f8e\n\n", "|-": "|-\n_V-9f8e", ">": ">\n_V-9f8e\n"}
YAML_SCALARS |= {"> two lines": ">\n_V-9f8e\n\n_\n", '"\\t"': '"V-9f8e\\t"', '"\\u00a0"': '"\\u00a0V-9f8e"'}
YAML_SCALARS |= {'"\\u2028"': '"V-9f8e\\u2028"', '"\\u3000"': '"V-9f8e\\u3000"', '"\\L"': '"V-9f8e\\L"'}
YAML_SCALARS |= {"'only spaces'": "'  '", "| only a newline": "|\n_\n"}
#: ... and values refused, by file and key: a line break or invisible mark inside, a NUL.
YAML_REFUSED = {"| two lines": "|\n_V-9\n_f8e\n", '"\\u200b"': '"V-9\\u200bf8e"', '"\\0"': '"V-9f8e\\0"'}
YAML_REFUSED |= {'"\\ufeff"': '"V-9\\ufefff8e"', '"\\r\\n" inside': '"V-9\\r\\nf8e"'}


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["LF", "CRLF"])
@pytest.mark.parametrize("scalar", [*YAML_SCALARS, *YAML_REFUSED])
@pytest.mark.parametrize("field", FROM_SECRETS)
def test_yaml_block_and_quoted_scalars_in_secure_yaml(
    field: str, scalar: str, newline: str, tmp_path: Path
) -> None:
    """A final newline kept or folded, escapes of spaces and separators: padding; the rest is refused."""
    value = {**YAML_SCALARS, **YAML_REFUSED}[scalar].replace("_", " " * 8)
    text = f"clouds:\n  c:\n    auth:\n      {CLOUDS_NAMES[field]}: {value}\n".replace("\n", newline)
    secure = tmp_path / "secure.yaml"
    secure.write_bytes(text.encode())
    environ = cloud_files(write(tmp_path / "clouds.yaml", "clouds: {c: {}}"), secure)
    if scalar in YAML_REFUSED:
        with pytest.raises(ConfigurationError, match=f"{CLOUDS_NAMES[field]} of cloud 'c' in {secure}"):
            Settings.from_sources(environ=environ)
        return
    settings = Settings.from_sources(environ=environ)
    assert getattr(settings, field) is None if "only" in scalar else value_of(settings, field) == "V-9f8e"


@pytest.mark.parametrize("raw", [b"CANARY-p\xe4ss-9f8e7d", b"\xff\xfeC\x00"[:3]], ids=["Latin-1", "UTF-16"])
@pytest.mark.parametrize("field", CREDENTIAL_FIELDS)
def test_a_credential_in_another_encoding_than_utf8_is_told_so(field: str, raw: bytes) -> None:
    """A Secret made from a file saved as Latin-1 or UTF-16: the variable holds bytes that are no UTF-8."""
    variable = KEYS_BY_FIELD[field].env[-1]
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_sources(environ={variable: os.fsdecode(raw)})  # as os.environ holds them
    message = str(caught.value)
    assert variable in message and "UTF-8" in message and "CANARY" not in message and "9f8e7d" not in message


# -- file settings (defect 8) --------------------------------------------------------------------
CA_SOURCES = ["stack config", "HW_CACERT_FILE", "OS_CACERT", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"]
CA_SOURCES += ["clouds.yaml"]
#: CA bundle files that exist but hold no PEM certificate that loads.
NOT_PEM = {"empty": b"", "text": b"not a bundle\n", "DER": b"0\x82\x01\n0\x81\xf1\xa0\x03\x02\x01\x02"}
NOT_PEM["PEM armour around junk"] = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
#: Paths that are neither a file nor a directory.
SPECIAL: dict[str, Callable[[Path], None]] = {"named pipe": os.mkfifo}
SPECIAL |= {
    f"{device} device": functools.partial(Path.symlink_to, target=device)
    for device in ("/dev/zero", "/dev/urandom")
}


@pytest.mark.parametrize("source", CA_SOURCES)
@pytest.mark.parametrize(
    "problem", ["missing", "dangling link", "below a file", "unreadable", *NOT_PEM, *SPECIAL]
)
def test_an_unusable_ca_bundle_is_a_configuration_error_when_settings_resolve(
    source: str, problem: str, tmp_path: Path
) -> None:
    path = tmp_path / "ca.pem"
    if problem in SPECIAL:  # read whole, each would hang the process or fill its memory
        SPECIAL[problem](path)
    elif problem == "dangling link":
        path.symlink_to(tmp_path / "gone.pem")
    elif problem == "below a file":
        path = write(tmp_path / "plain", "x") / "ca.pem"
    elif problem == "unreadable":
        if os.geteuid() == 0:
            pytest.skip("root reads any file")
        path.write_bytes(Path(certifi.where()).read_bytes())
        path.chmod(0)
    elif problem in NOT_PEM:
        path.write_bytes(NOT_PEM[problem])
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_sources(**ca_bundle_in(source, str(path), tmp_path))
    message = str(caught.value)
    assert "modelarts:caCertFile" in message and str(path) in message and "\n" not in message
    assert source != "clouds.yaml" or "cacert of cloud 'c' in" in message  # where to fix it


@pytest.mark.parametrize("source", CA_SOURCES)
def test_a_ca_bundle_under_the_home_directory_may_be_named_with_a_tilde(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(Path(certifi.where()).read_bytes())
    assert Settings.from_sources(**ca_bundle_in(source, "~/ca.pem", tmp_path)).verify == str(bundle)


@pytest.mark.parametrize("source", CA_SOURCES)
def test_a_ca_bundle_path_holding_a_nul_character_is_one_configuration_error(
    source: str, tmp_path: Path
) -> None:
    """Stack config and clouds.yaml can hold one (YAML's "\\0"); the system calls refuse it with a ValueError."""
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_sources(**ca_bundle_in(source, str(tmp_path / "ca\0.pem"), tmp_path))
    message = str(caught.value)
    assert "modelarts:caCertFile" in message and "NUL" in message and "\0" not in message


#: CA directories OpenSSL finds no certificate in: it looks them up by their subject's hash alone.
UNHASHED_DIRECTORIES: dict[str, tuple[str, ...]] = {
    "empty": (),
    "a Kubernetes Secret's mount": ("..data/ca.crt", "ca.crt"),
    "PEM files by name": ("corp-root.pem", "corp-issuing.crt", "5ad8a5d6.pem", "5AD8A5D6.0"),
}


@pytest.mark.parametrize("source", CA_SOURCES)
@pytest.mark.parametrize("names", UNHASHED_DIRECTORIES.values(), ids=UNHASHED_DIRECTORIES)
def test_a_ca_directory_without_hashed_names_is_a_configuration_error(
    source: str, names: tuple[str, ...], tmp_path: Path
) -> None:
    """caCertFile set to the folder a Secret is mounted as, not the file in it: before, it was taken,
    and every read failed certificate verification with a hint to set caCertFile."""
    folder = tmp_path / "ca"
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(Path(certifi.where()).read_bytes())
    folder.mkdir(exist_ok=True)
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_sources(**ca_bundle_in(source, str(folder), tmp_path))
    message = str(caught.value)
    assert "modelarts:caCertFile" in message and f"'{folder}'" in message and "hashed names" in message
    assert "\n" not in message


def test_ca_bundles_that_are_directories_or_unused_are_accepted(tmp_path: Path) -> None:
    (tmp_path / "5ad8a5d6.0").write_bytes(Path(certifi.where()).read_bytes())  # as ``openssl rehash`` names
    assert Settings.from_sources(environ={**AKSK, "OS_CACERT": str(tmp_path)}).verify == str(tmp_path)
    unused = {**AKSK, "OS_CACERT": str(tmp_path / "missing.pem"), "HW_INSECURE": "true"}
    assert Settings.from_sources(environ=unused).verify is False


# -- endpoints (defect 9) ------------------------------------------------------------------------
ENDPOINT_KEYS = {"endpoint": "modelarts:endpoint", "authUrl": "modelarts:authUrl", "cloud": "modelarts:cloud"}
HOST = "https://modelarts.example.com"
CONTROL_IN_URL = [*(HOST + tail for tail in ("\n", "\r\n", "/\x00", "/v1\x7f", "\x85", "\u2028", " /v1"))]
CONTROL_IN_URL += ["\t" + HOST, " " + HOST, "https://model\tarts.example.com"]
#: URLs carrying a password ("s3cr3t-pw-in-url") in every place a URL can hold one.
USERINFO_URLS = [f"https://{who}@modelarts.example.com" for who in ("user:{pw}", "{pw}", ":{pw}")]
USERINFO_URLS += ["http://user:{pw}@127.0.0.1:1", "ftp://user:{pw}@modelarts.example.com"]
USERINFO_URLS += ["https://user:{pw}@modelarts.example.com:notaport"]
USERINFO_URLS += ["https://user:{pw}@modelarts example.com"]
USERINFO_URLS += ["https://modelarts.example.com/?token={pw}", "https://modelarts.example.com/#{pw}"]
USERINFO_URLS += ["https://user:{pw}@modelarts.example.com\n", "https://user%3A{pw}%40modelarts.example.com"]
USERINFO_URLS += ["https://user%3A{pw}@modelarts.example.com", "https://modelarts.example.com:{pw}"]
USERINFO_URLS = [url.format(pw="s3cr3t-pw-in-url") for url in [*USERINFO_URLS, "https://user:{pw}"]]


@pytest.mark.parametrize("value", CONTROL_IN_URL, ids=repr)
@pytest.mark.parametrize("key", ENDPOINT_KEYS)
def test_endpoints_with_whitespace_or_control_characters_are_refused(key: str, value: str) -> None:
    value = value.replace("https://", "") if key == "cloud" else value
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_sources(stack_config={ENDPOINT_KEYS[key]: value}, environ=AKSK)
    assert key in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("value", USERINFO_URLS)
@pytest.mark.parametrize("key", ENDPOINT_KEYS)
def test_credentials_in_endpoint_urls_are_refused_and_not_repeated(key: str, value: str) -> None:
    value = value.split("://", 1)[1] if key == "cloud" else value
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_sources(stack_config={ENDPOINT_KEYS[key]: value}, environ=AKSK)
    assert "s3cr3t" not in str(caught.value) and "modelarts.example" not in str(caught.value)
    with pytest.raises(InvalidInputError) as refused:
        check_endpoint(value if key != "cloud" else f"https://{value}")
    assert "s3cr3t" not in str(refused.value)


def test_merge_keys_and_a_kubernetes_secret_mount_are_read(tmp_path: Path) -> None:
    """``<<:`` with a key overridden, in a clouds.yaml linked through ``..data`` as a Secret volume is."""
    version = tmp_path / "..2026_11_30_17_00_00.1"
    version.mkdir()
    base = "base: &base {region_name: eu-nl, auth: {ak: AK-1, sk: SK-1}}\n"
    write(version / "clouds.yaml", base + "clouds:\n  c:\n    <<: *base\n    region_name: eu-de\n")
    (tmp_path / "..data").symlink_to(version.name)
    (tmp_path / "clouds.yaml").symlink_to("..data/clouds.yaml")
    settings = Settings.from_sources(environ=cloud_files(tmp_path / "clouds.yaml"))
    assert (settings.region, value_of(settings, "access_key")) == ("eu-de", "AK-1")


@pytest.mark.parametrize("name", ["c\n", "c\r\n", " c", "c\x1b[31m", "\ufeffc", "c\u2028", "c\x00c"])
@pytest.mark.parametrize("source", ["OS_CLOUD", "modelarts:cloudName"])
def test_a_cloud_name_loses_its_padding_and_one_with_invisible_characters_inside_is_shown_escaped(
    name: str, source: str, tmp_path: Path
) -> None:
    """``c`` and a line break from a Secret file is ``c``, as a credential from there is; a character
    inside the name is part of it, and the line shows it."""
    environ = cloud_files(write(tmp_path / "clouds.yaml", "clouds: {c: {auth: {ak: a, sk: b}}}"))
    config = {source: name} if source.startswith("modelarts:") else {}
    environ |= {} if config else {"OS_CLOUD": name}
    if name.strip("\ufeff\u2028 \r\n") == "c":
        assert value_of(Settings.from_sources(stack_config=config, environ=environ), "access_key") == "a"
        return
    with pytest.raises(ConfigurationError, match="is not defined") as caught:
        Settings.from_sources(stack_config=config, environ=environ)
    assert repr(name) in str(caught.value)


#: clouds.yaml with a mapping whose every line is commented out (YAML's null), and what is left.
COMMENTED_OUT = {
    "auth": ("clouds:\n  c:\n    auth:\n      # username: u\n    region_name: eu-nl\n", "eu-nl"),
    "auth, flow style": ("clouds: {c: {auth: null, region_name: eu-nl}}\n", "eu-nl"),
    "the cloud": ("clouds:\n  c:\n    # region_name: eu-nl\n", "eu-de"),
    "every cloud": ("clouds:\n  # c: {}\n", "eu-de"),
}


@pytest.mark.parametrize("which", ["clouds.yaml", "secure.yaml"])
@pytest.mark.parametrize("commented", COMMENTED_OUT)
def test_a_mapping_commented_out_in_clouds_yaml_is_unset(commented: str, which: str, tmp_path: Path) -> None:
    """An entry, ``auth`` or ``clouds`` left empty adds nothing: the other file supplies the rest."""
    text, region = COMMENTED_OUT[commented]
    keys = write(tmp_path / "keys.yaml", "clouds: {c: {auth: {ak: AK-1, sk: SK-1}}}")
    settings = Settings.from_sources(environ=files_for(which, write(tmp_path / which, text), keys))
    assert (settings.region, value_of(settings, "access_key")) == (region, "AK-1")


#: clouds.yaml entries in the other spellings openstacksdk reads, and what it makes of them
#: (openstacksdk 4.22: its region, and the auth mapping's project and token).
OPENSTACK_SPELLINGS = {
    "a list of regions": ("regions: [eu-nl, eu-de]\n    auth: {ak: a, sk: b}", ("eu-nl", None, None)),
    "regions as mappings, before region_name": (
        "regions: [{name: eu-ch2, values: {}}]\n    region_name: eu-nl\n    auth: {ak: a, sk: b}",
        ("eu-ch2", None, None),
    ),
    "Keystone v2's tenant_name": ("auth: {ak: a, sk: b, tenant_name: nl_sub}", ("eu-de", "nl_sub", None)),
    "Keystone v2's tenant_id": ("auth: {ak: a, sk: b, tenant_id: 0123}", ("eu-de", None, "0123")),
    "keys with dashes": (
        "region-name: eu-nl\n    auth: {ak: a, sk: b, project-name: nl_sub}",
        ("eu-nl", "nl_sub", None),
    ),
    "auth_token": ("auth: {auth-token: t0k3n}", ("eu-de", None, None)),
}


@pytest.mark.parametrize(("entry", "expected"), OPENSTACK_SPELLINGS.values(), ids=OPENSTACK_SPELLINGS)
def test_a_clouds_yaml_entry_is_read_in_every_spelling_openstacksdk_reads(
    entry: str, expected: tuple[str, str | None, str | None], tmp_path: Path
) -> None:
    """Never a place other than the one the entry names: a key read by openstacksdk is read here."""
    settings = Settings.from_sources(
        environ=cloud_files(write(tmp_path / "c.yaml", f"clouds:\n  c:\n    {entry}\n"))
    )
    assert (settings.region, settings.project_name, settings.project_id) == expected
    assert settings.auth_mode() == ("token" if "token" in entry else "aksk")


def test_a_key_written_with_a_dash_and_an_underscore_is_written_twice(tmp_path: Path) -> None:
    text = "clouds: {c: {auth: {ak: a, sk: b, project_name: x, project-name: y}}}"
    with pytest.raises(ConfigurationError, match="the key 'project_name' is written twice"):
        Settings.from_sources(environ=cloud_files(write(tmp_path / "c.yaml", text)))


@pytest.mark.parametrize("xdg", [True, False])
def test_clouds_yaml_is_looked_up_for_a_user_without_a_home(
    xdg: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A container UID without passwd entry or HOME: the one-line error, not "Could not determine home"."""
    import pwd

    def no_entry(uid: int) -> pwd.struct_passwd:
        raise KeyError(uid)

    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "openstack").mkdir()
    write(tmp_path / "openstack/clouds.yaml", "clouds: {c: {auth: {ak: a, sk: b}}}")
    environ = {"OS_CLOUD": "c", **({"XDG_CONFIG_HOME": str(tmp_path)} if xdg else {})}
    if xdg:
        assert Settings.from_sources(environ=environ).access_key is not None
    else:
        nowhere = r"cloud 'c' is not defined in clouds.yaml \(no file found\)"
        with pytest.raises(ConfigurationError, match=nowhere):
            Settings.from_sources(environ=environ)


def test_a_folder_the_search_cannot_look_into_is_passed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As openstacksdk passes it over: an XDG_CONFIG_HOME too long a name (or, for another user, a
    HOME it may not enter) holds no clouds.yaml for this process, and the search goes on."""
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"
    (home / ".config/openstack").mkdir(parents=True)
    write(home / ".config/openstack/clouds.yaml", "clouds: {c: {auth: {ak: AK-1, sk: SK-1}}}")
    environ = {"OS_CLOUD": "c", "HOME": str(home), "XDG_CONFIG_HOME": str(tmp_path / ("x" * 300))}
    assert value_of(Settings.from_sources(environ=environ), "access_key") == "AK-1"


#: (stack config, a lower source's settings of another kind): what the stack configures is used.
OTHER_KINDS = [
    ({"modelarts:accessKey": "ak", "modelarts:secretKey": "sk"}, {"HW_AUTH_TOKEN": "stale"}, "aksk"),
    ({"modelarts:password": "pw"}, {**AKSK, "OS_USERNAME": "u", "OS_DOMAIN_NAME": "d"}, "password"),
    ({"modelarts:authToken": "t"}, AKSK, "token"),
]


@pytest.mark.parametrize(("config", "environ", "mode"), OTHER_KINDS)
def test_credentials_a_stack_configures_are_not_overridden_by_another_kind_below(
    config: dict[str, str], environ: dict[str, str], mode: str
) -> None:
    """Key by key within a kind (a password from the environment for a configured user), never across."""
    settings = Settings.from_sources(stack_config=config, environ=environ)
    assert settings.auth_mode() == mode
    if mode == "password":
        assert (settings.user_name, settings.domain_name) == ("u", "d")


def test_a_project_a_stack_configures_is_not_overridden_by_another_kind_below() -> None:
    environ = {**AKSK, "HW_PROJECT_ID": "envproject"}
    named = Settings.from_sources(stack_config={"modelarts:projectName": "eu-de_sub"}, environ=environ)
    assert (named.project_id, named.project_name) == (None, "eu-de_sub")
    by_id = Settings.from_sources(stack_config={"modelarts:projectId": "p1"}, environ=environ)
    assert by_id.project_id == "p1"


#: Variables and stack config names of the HuaweiCloud and OTC Terraform providers (and their Pulumi
#: bridges, camelCase), each with the setting it is read as.
PROVIDER_NAMES = [
    ({"OS_REGION": "eu-nl"}, {}, "region", "eu-nl"),
    ({"OS_TENANT_ID": PROJECT_ID}, {}, "project_id", PROJECT_ID),
    ({"OS_TENANT_NAME": "eu-de_sub"}, {}, "project_name", "eu-de_sub"),
    ({"OS_TOKEN": "tok"}, {}, "auth_token", "tok"),
    ({"OS_PROJECT_DOMAIN_NAME": "dom"}, {}, "domain_name", "dom"),
    ({"OS_DEFAULT_DOMAIN": "dom"}, {}, "domain_name", "dom"),
    ({}, {"modelarts:token": "tok"}, "auth_token", "tok"),
    ({}, {"modelarts:cacertFile": certifi.where()}, "ca_cert_file", certifi.where()),
]


@pytest.mark.parametrize(("environ", "config", "field", "value"), PROVIDER_NAMES)
def test_the_terraform_providers_names_are_read(
    environ: dict[str, str], config: dict[str, str], field: str, value: str
) -> None:
    login = {"HW_USER_NAME": "u", "HW_USER_PASSWORD": "p"} if field == "domain_name" else AKSK
    settings = Settings.from_sources(stack_config=config, environ={**login, **environ})
    assert value_of(settings, field) == value


def test_the_documented_names_come_before_the_providers_other_spellings() -> None:
    environ = {**AKSK, "OS_REGION_NAME": "eu-de", "OS_REGION": "eu-nl", "OS_AUTH_TOKEN": "a", "OS_TOKEN": "b"}
    config = {"modelarts:authToken": "c", "modelarts:token": "d"}
    assert Settings.from_sources(environ=environ).region == "eu-de"
    assert value_of(Settings.from_sources(environ=environ), "auth_token") == "a"
    assert value_of(Settings.from_sources(stack_config=config, environ=environ), "auth_token") == "c"
    assert stack_config_from({"modelarts:token": "d"}.get) == {"modelarts:token": "d"}


@pytest.mark.parametrize("given", ["https://iam.example", "https://iam.example/", "https://iam.example:443"])
def test_an_auth_url_without_a_path_is_its_keystone_v3_base(given: str) -> None:
    settings = Settings.from_sources(environ={**AKSK, "OS_AUTH_URL": given})
    assert settings.resolved_auth_url == "https://iam.example/v3"
    other = Settings.from_sources(environ={**AKSK, "OS_AUTH_URL": "https://iam.example/iam/v3"})
    assert other.resolved_auth_url == "https://iam.example/iam/v3"


def test_the_endpoints_map_of_the_terraform_providers_sets_the_modelarts_endpoint() -> None:
    mapped = {"modelarts:endpoints": json.dumps({"modelarts": "https://ma.example/", "iam": "https://iam.x"})}
    assert Settings.from_sources(stack_config=mapped, environ=AKSK).resolved_endpoint == "https://ma.example"
    environ = {**AKSK, "MODELARTS_ENDPOINT": "https://env.example"}
    assert Settings.from_sources(stack_config=mapped, environ=environ).endpoint == "https://ma.example"
    both = {**mapped, "modelarts:endpoint": "https://one.example"}
    assert Settings.from_sources(stack_config=both, environ=AKSK).endpoint == "https://one.example"
    other = {"modelarts:endpoints": json.dumps({"iam": "https://iam.x"})}
    assert Settings.from_sources(stack_config=other, environ=AKSK).endpoint is None
    assert stack_config_from({"modelarts:endpoints": {"modelarts": "u"}}.get) == {
        "modelarts:endpoints": '{"modelarts": "u"}'
    }
    for not_a_map in ("[1]", "[" * 100_000):  # the second nested past what the parser takes
        with pytest.raises(ConfigurationError, match=r"^invalid modelarts:endpoints: must be a map"):
            Settings.from_sources(stack_config={"modelarts:endpoints": not_a_map}, environ=AKSK)
    with pytest.raises(ConfigurationError, match=r"modelarts:endpoints\.modelarts must use https://"):
        Settings.from_sources(stack_config={"modelarts:endpoints": '{"modelarts": "http://x.example"}'})


#: What a Kubernetes Secret or ConfigMap made from a file, or an editor, leaves around a value.
PADDINGS = ["\n", "\r\n", "\ufeff", " \t"]
#: Settings besides the credentials, with a value each and how the resolved settings show it.
PADDED_SETTINGS = {
    "HW_REGION_NAME": ("eu-nl", "region", "eu-nl"),
    "MODELARTS_TIMEOUT": ("30", "timeout", "30.0"),
    "HW_MAX_RETRIES": ("2", "max_retries", "2"),
    "HW_INSECURE": ("true", "insecure", "True"),
    "HW_CACERT_FILE": (certifi.where(), "ca_cert_file", certifi.where()),
    "HTTPS_PROXY": ("proxy.example:3128", "https_proxy", "http://proxy.example:3128"),
    "NO_PROXY": ("127.0.0.1", "no_proxy", "127.0.0.1"),
}


@pytest.mark.parametrize("padding", PADDINGS, ids=repr)
@pytest.mark.parametrize("variable", PADDED_SETTINGS)
def test_every_setting_but_a_url_loses_the_padding_files_and_shells_add(variable: str, padding: str) -> None:
    """As credentials do: a region, number, flag, path or proxy from a Secret file is the value in it."""
    value, field, shown = PADDED_SETTINGS[variable]
    environ = AKSK | {variable: value + padding}
    environ |= {"HW_CACERT_FILE": certifi.where()} if variable == "HW_INSECURE" else {}
    assert value_of(Settings.from_sources(environ=environ), field) == shown
    leading = Settings.from_sources(environ=AKSK | {variable: padding[::-1] + value})
    assert value_of(leading, field) == shown


@pytest.mark.parametrize("padding", PADDINGS, ids=repr)
def test_the_files_naming_clouds_yaml_lose_their_padding(padding: str, tmp_path: Path) -> None:
    environ = cloud_files(write(tmp_path / "clouds.yaml", "clouds: {c: {auth: {ak: a, sk: b}}}"))
    environ = {name: value + padding for name, value in environ.items()}
    assert value_of(Settings.from_sources(environ=environ), "access_key") == "a"


@pytest.mark.parametrize("padding", PADDINGS, ids=repr)
@pytest.mark.parametrize("key", ENDPOINT_KEYS)
def test_a_url_with_padding_is_refused_saying_so_without_repeating_it(key: str, padding: str) -> None:
    """An endpoint, authUrl or cloud is used as given: the line says what is around it (a BOM after
    the port is no "port that is not a number")."""
    value = "s3cr3t-host.example.com" if key == "cloud" else "https://s3cr3t-host.example.com:8443"
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_sources(stack_config={ENDPOINT_KEYS[key]: value + padding}, environ=AKSK)
    assert "around it" in str(caught.value) and key in str(caught.value) and "s3cr3t" not in str(caught.value)


@pytest.mark.parametrize("no_proxy", ["10.0.0.1\n127.0.0.1\n", "10.0.0.1 127.0.0.1", "\ufeff127.0.0.1"])
def test_no_proxy_entries_may_be_one_a_line(no_proxy: str) -> None:
    """A list kept in a ConfigMap file, one host a line, or space-separated as curl takes it."""
    environ = AKSK | {"HTTP_PROXY": "http://proxy.example:3128", "NO_PROXY": no_proxy}
    assert Settings.from_sources(environ=environ).proxy_for("http://127.0.0.1:9") is None


@pytest.mark.parametrize(
    "yaml", ["clouds:\n  c:\n\tauth: {ak: a}\n", "clouds:\n  c:\n    region_name:\teu-de\n"]
)
def test_a_tab_yaml_refuses_is_hinted(yaml: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"at line 3\. .*with spaces, not tabs$"):
        Settings.from_sources(environ=cloud_files(write(tmp_path / "clouds.yaml", yaml)))


def _clouds(tmp_path: Path, clouds: str, secure: str) -> dict[str, str]:
    (tmp_path / "clouds.yaml").write_text(clouds, encoding="utf-8")
    (tmp_path / "secure.yaml").write_text(secure, encoding="utf-8")
    return {
        "OS_CLIENT_CONFIG_FILE": str(tmp_path / "clouds.yaml"),
        "OS_CLIENT_SECURE_FILE": str(tmp_path / "secure.yaml"),
    }


#: (stack config, environment, clouds.yaml entry "c", secure.yaml entry "c") -> the one line:
#: the credentials set, named where they were set, and every place the missing ones may be set.
HALF_SET = [
    (
        {},
        {"HW_ACCESS_KEY": "ak"},
        "",
        "",
        "HW_ACCESS_KEY (modelarts:accessKey) is set but modelarts:secretKey is missing: set modelarts:secretKey (or HW_SECRET_KEY)",
    ),
    (
        {"modelarts:secretKey": "sk"},
        {},
        "",
        "",
        "modelarts:secretKey is set but modelarts:accessKey is missing: set modelarts:accessKey (or HW_ACCESS_KEY)",
    ),
    (
        {},
        {"OS_PASSWORD": "pw"},
        "",
        "",
        "OS_PASSWORD (modelarts:password) is set but modelarts:userName and modelarts:domainName are missing",
    ),
    (
        {},
        {"OS_SECURITY_TOKEN": "st"},
        "",
        "",
        "OS_SECURITY_TOKEN (modelarts:securityToken) is set without an access key and secret key",
    ),
    (
        {"modelarts:cloudName": "c"},
        {},
        "{}",
        "{auth: {password: pw}}",
        "password of cloud 'c' in {secure} (modelarts:password) is set but modelarts:userName and modelarts:domainName are missing: set modelarts:userName (or HW_USER_NAME, or username of cloud 'c') and modelarts:domainName (or HW_DOMAIN_NAME, or user_domain_name of cloud 'c')",
    ),
    (
        {},
        {"OS_CLOUD": "c", "HW_ACCESS_KEY": "ak"},
        "{auth: {username: u}}",
        "{}",
        "HW_ACCESS_KEY (modelarts:accessKey) is set but modelarts:secretKey is missing: set modelarts:secretKey (or HW_SECRET_KEY, or sk of cloud 'c')",
    ),
    (
        {},
        {"OS_CLOUD": "c"},
        "{auth: {ak: ak}}",
        "{auth: {security_token: st}}",
        "ak of cloud 'c' in {clouds} (modelarts:accessKey) is set but modelarts:secretKey is missing",
    ),
]


@pytest.mark.parametrize(("config", "environ", "clouds", "secure", "expected"), HALF_SET)
def test_half_set_credentials_are_named_where_they_were_set(
    config: dict[str, str], environ: dict[str, str], clouds: str, secure: str, expected: str, tmp_path: Path
) -> None:
    files = _clouds(tmp_path, f"clouds: {{c: {clouds}}}", f"clouds: {{c: {secure}}}") if clouds else {}
    with pytest.raises(ConfigurationError) as caught:  # what every surface's first read asks
        Settings.from_sources(stack_config=config, environ={**environ, **files}).auth_mode()
    said = expected.format(clouds=tmp_path / "clouds.yaml", secure=tmp_path / "secure.yaml")
    assert str(caught.value).startswith(said) and "\n" not in str(caught.value)


@pytest.mark.parametrize("value", ['{"a": 1}', " [1, 2]", "[]", "{}"])
@pytest.mark.parametrize(
    "key",
    [
        key
        for key in SETTING_KEYS
        if key.field not in ("max_retries", "timeout", "connect_timeout", "read_timeout", "insecure")
    ],
    ids=lambda key: key.config,
)
def test_a_map_or_list_in_stack_config_where_text_belongs_is_one_line_naming_the_key(
    key: SettingKey, value: str
) -> None:
    """``pulumi config set --path modelarts:password.x y`` reaches the provider and the program
    as JSON text: never used as the text of a credential, region or path."""
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_sources(stack_config={key.config_key: value}, environ={})
    said = str(caught.value)
    assert said.startswith(f"invalid {key.config_key}: is a map or list, not text") and "\n" not in said


@pytest.mark.parametrize("value", ["{pw", "[x] y", "{a}", "[" * 100_000])
def test_text_that_only_begins_like_a_map_is_text(value: str) -> None:
    settings = Settings.from_sources(stack_config={"modelarts:password": value})
    assert settings.password is not None and settings.password.get_secret_value() == value
