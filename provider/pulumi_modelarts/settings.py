"""Where settings come from, first set wins: arguments, stack config (``modelarts:<key>``), variables
(the Terraform providers' names, ``HW_*`` before ``OS_*``), then the ``clouds.yaml`` entry named by
``modelarts:cloudName`` / ``OS_CLOUD``."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import errno
import functools
import json
import math
import os
import re
import ssl  # requests imports it too
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from stat import S_ISREG
from typing import Any, Literal, NamedTuple, NoReturn, SupportsIndex
from urllib.parse import unquote, urlsplit

from .errors import ConfigurationError, InvalidInputError, register_secrets
from .validation import as_utf8, check_endpoint, check_target

CONFIG_NAMESPACE = "modelarts"


class SettingKey(NamedTuple):  # not a dataclass: a third of a millisecond less on the first-read path
    field: str
    env: tuple[str, ...]
    secret: bool = False
    #: Other stack config names read after the first (the Pulumi spelling of a Terraform field: ``token``).
    aliases: tuple[str, ...] = ()

    @property
    def config(self) -> str:
        """The stack config name: the field's in camelCase (``project_id``: ``projectId``)."""
        head, *words = self.field.split("_")
        return head + "".join(word.title() for word in words)

    @property
    def config_key(self) -> str:
        return f"{CONFIG_NAMESPACE}:{self.config}"

    @property
    def config_keys(self) -> tuple[str, ...]:  # the documented one first
        return (self.config_key, *(f"{CONFIG_NAMESPACE}:{alias}" for alias in self.aliases))

    def describe(self, *, every_name: bool = False) -> str:
        """``modelarts:accessKey (or HW_ACCESS_KEY)``: how a user sets this key."""
        return f"{self.config_key} (or {', '.join(self.env if every_name else self.env[:1])})"


def _setting(*env: str, default: Any = None, secret: bool = False, aliases: tuple[str, ...] = ()) -> Any:
    """A setting read from stack config (its name, then ``aliases``), then the variables ``env`` in order."""
    return dataclasses.field(default=default, metadata={"env": env, "secret": secret, "aliases": aliases})


#: Settings and their ``clouds.yaml`` keys (in an entry's ``auth`` mapping or the entry), first set
#: wins; every key openstacksdk reads for them (a dash in a key read as ``_``, as there), so that an
#: entry never names a place this package reads elsewhere.
CLOUDS_YAML_KEYS: dict[str, tuple[str, ...]] = {
    **{name: (name,) for name in ("auth_url", "password", "security_token")},
    "project_id": ("project_id", "tenant_id"),
    "project_name": ("project_name", "tenant_name"),
    "user_name": ("username",),
    "domain_name": ("user_domain_name", "domain_name", "project_domain_name"),
    "auth_token": ("token", "auth_token"),
    "access_key": ("ak", "access_key"),
    "secret_key": ("sk", "secret_key"),
    "region": ("regions", "region_name"),  # openstacksdk's default region is the first of ``regions``
    "ca_cert_file": ("cacert",),
    "endpoint": ("modelartsv1_endpoint_override",),  # its v1 service's, as otcextensions names it
    "insecure": ("insecure",),
}
#: Proxy variables, read as curl and requests read them (lower case first); environment only.
PROXY_VARIABLES: dict[str, tuple[str, ...]] = {
    "https_proxy": ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"),
    "http_proxy": ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"),
    "no_proxy": ("no_proxy", "NO_PROXY"),
}
#: Settings that stand for one another, by kind: (the settings that pick a kind, every setting of it).
#: The highest source (arguments, stack config, environment, clouds.yaml) setting one that picks
#: decides the kinds used; another kind's settings from a lower source play no part, so a token or
#: project ID left in the environment cannot override the credentials or project a stack configures.
ALTERNATIVES: tuple[tuple[tuple[tuple[str, ...], tuple[str, ...]], ...], ...] = (
    (
        (("auth_token",), ("auth_token",)),
        (("access_key", "secret_key"), ("access_key", "secret_key", "security_token")),
        (("password",), ("user_name", "password", "domain_name")),
    ),
    ((("project_id",), ("project_id",)), (("project_name",), ("project_name",))),
)
MAX_CLOUDS_FILE_BYTES = 1 << 20
_READ_KEYS = frozenset({"clouds", "auth", "verify"}).union(*CLOUDS_YAML_KEYS.values())
_PROXY_URLS = ("https_proxy", "http_proxy")  # held as secrets: a proxy URL may carry a password
_PADDING = re.compile(r"^[\s\u200b-\u200d\u2060\ufeff]+|[\s\u200b-\u200d\u2060\ufeff]+\Z")
#: Settings used exactly as given (README): a URL or domain with padding is refused, not cleaned.
_NEVER_CLEANED = frozenset({"endpoint", "auth_url", "cloud"})
_HASHED_NAME = re.compile(r"[0-9a-f]{8}\.[0-9]+")  # a CA directory's names: ``openssl rehash``
_PEM_CERTIFICATE = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)
#: Unicode's classes of C0/C1 controls, invisible format marks (zero-width, bidirectional, soft
#: hyphen, tags), lone surrogates, and line and paragraph separators.
_CONTROL_CLASSES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def unpadded(text: str) -> str:
    """``text`` without what a file, a shell or an editor adds around a value: whitespace, a byte
    order mark, zero-width marks."""
    return _PADDING.sub("", text)


@dataclasses.dataclass(frozen=True, repr=False)
class SecretStr:
    """A credential that ``repr()`` and ``str()`` never show (the interface of pydantic's), nor a
    pickle holds (of :class:`Settings` too): copies in memory are the one object."""

    _value: str

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "SecretStr('**********')"

    def __reduce_ex__(self, protocol: SupportsIndex) -> NoReturn:
        raise TypeError(
            "credentials are not pickled: make the settings in each process, e.g. Settings.from_sources()"
        )

    def __copy__(self) -> SecretStr:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> SecretStr:
        return self


class SecretDict(dict[Any, Any]):
    """A mapping that holds credentials (proxy URLs with their passwords) that ``repr()`` never shows."""

    def __repr__(self) -> str:
        return f"SecretDict(<{len(self)} hidden>)"


_REGION_HINT = "A region is a part of a host name (eu-de), or set modelarts:endpoint and authUrl"
#: Numeric settings: their type and bounds (seconds are above the lower bound).
_NUMBERS: dict[str, tuple[type, float, float]] = {
    "max_retries": (int, 0, 20),
    "timeout": (float, 0, 3600),
    "connect_timeout": (float, 0, 600),
    "read_timeout": (float, 0, 3600),
}
_FLAGS_AND_NUMBERS = frozenset({*_NUMBERS, "insecure"})
_FLAGS = {
    **dict.fromkeys(("1", "true", "t", "yes", "y", "on"), True),
    **dict.fromkeys(("0", "false", "f", "no", "n", "off"), False),
}


@dataclasses.dataclass(frozen=True)
class Settings:
    """One client's resolved configuration (region, project, endpoint); equal settings share one client."""

    region: str = _setting("HW_REGION_NAME", "OS_REGION_NAME", "OS_REGION", default="eu-de")
    cloud: str = _setting("HW_CLOUD", default="otc.t-systems.com")
    project_id: str | None = _setting("HW_PROJECT_ID", "OS_PROJECT_ID", "OS_TENANT_ID")
    project_name: str | None = _setting("HW_PROJECT_NAME", "OS_PROJECT_NAME", "OS_TENANT_NAME")
    access_key: SecretStr | None = _setting("HW_ACCESS_KEY", "OS_ACCESS_KEY", secret=True)
    secret_key: SecretStr | None = _setting("HW_SECRET_KEY", "OS_SECRET_KEY", secret=True)
    security_token: SecretStr | None = _setting("HW_SECURITY_TOKEN", "OS_SECURITY_TOKEN", secret=True)
    auth_token: SecretStr | None = _setting(
        "HW_AUTH_TOKEN", "OS_AUTH_TOKEN", "OS_TOKEN", secret=True, aliases=("token",)
    )
    user_name: str | None = _setting("HW_USER_NAME", "OS_USERNAME")
    password: SecretStr | None = _setting("HW_USER_PASSWORD", "OS_PASSWORD", secret=True)
    domain_name: str | None = _setting(
        "HW_DOMAIN_NAME",
        "OS_DOMAIN_NAME",
        "OS_USER_DOMAIN_NAME",
        "OS_PROJECT_DOMAIN_NAME",
        "OS_DEFAULT_DOMAIN",
    )
    auth_url: str | None = _setting("HW_AUTH_URL", "OS_AUTH_URL")
    endpoint: str | None = _setting("MODELARTS_ENDPOINT")
    insecure: bool = _setting("HW_INSECURE", "OS_INSECURE", default=False)
    ca_cert_file: str | None = _setting(
        "HW_CACERT_FILE", "OS_CACERT", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", aliases=("cacertFile",)
    )
    max_retries: int = _setting("HW_MAX_RETRIES", default=5)
    #: Overall deadline of one call, retries and back-off included (seconds).
    timeout: float = _setting("MODELARTS_TIMEOUT", default=120.0)
    connect_timeout: float = _setting("MODELARTS_CONNECT_TIMEOUT", default=10.0)
    read_timeout: float = _setting("MODELARTS_READ_TIMEOUT", default=30.0)
    cloud_name: str | None = _setting("OS_CLOUD")
    #: Proxies: from the environment only (PROXY_VARIABLES).
    https_proxy: SecretStr | None = None
    http_proxy: SecretStr | None = None
    no_proxy: str | None = None
    #: Where each setting's value came from (``HW_ACCESS_KEY (modelarts:accessKey)``, a file's key;
    #: stack config's key), for a message to name: no part of what the settings are.
    origins: Mapping[str, str] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_sources(
        cls,
        args: Mapping[str, Any] | None = None,
        stack_config: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Merge the sources key by key (first non-empty wins; ALTERNATIVES by kind) and validate the result:
        ``args`` by Python name, ``stack_config`` as ``configure()`` receives it, ``environ`` (os.environ)."""
        env = os.environ if environ is None else environ
        config = stack_config or {}
        explicit = {name: value for name, value in (args or {}).items() if _present(value)}
        if unknown := sorted(set(explicit) - set(KEYS_BY_FIELD)):
            raise ConfigurationError(f"unknown setting(s): {', '.join(unknown)}")
        sources = {  # each value with the place it comes from, for a refusal to name, and its source's rank
            key.field: [(explicit.get(key.field), "", 0)]
            + [(config.get(name), name, 1) for name in key.config_keys]
            + [(env.get(name), f"{name} ({key.config_key})", 2) for name in key.env]
            for key in SETTING_KEYS
        }
        for field, names in PROXY_VARIABLES.items():
            sources[field] = [(env.get(name), "", 2) for name in names]
        if _present(endpoints := config.get(ENDPOINTS_KEY)):  # after modelarts:endpoint, before variables
            sources["endpoint"].insert(2, (_endpoint_in_map(endpoints), f"{ENDPOINTS_KEY}.modelarts", 1))
        if cloud_name := _chosen("cloud_name", sources["cloud_name"])[0]:
            cloud_name = unpadded(str(cloud_name))  # as Settings holds it
            for field, (value, origin) in _cloud_entry(cloud_name, env).items():  # what no other sets
                sources[field].append((value, origin, 3))
        for kinds in ALTERNATIVES:  # the highest source setting one kind of a group picks the kinds used
            ranks = [
                min((r for f in kind[0] for v, _, r in sources[f] if _present(v)), default=9)
                for kind in kinds
            ]
            for kind, rank in zip(kinds, ranks, strict=True):
                if rank > min(ranks):
                    sources.update({field: [] for field in kind[1]})
        values, origins = dict[str, Any](), dict[str, str]()
        for field, pairs in sources.items():
            values[field], origins[field] = _chosen(field, pairs)
        return cls.validated(values, origins)

    @classmethod
    def validated(cls, values: Mapping[str, Any], origins: Mapping[str, str] | None = None) -> Settings:
        """Build settings, turning any invalid value into one ConfigurationError line that names the
        setting and, in ``origins``, the place its value came from (a variable, a file's key)."""
        values = dict(values)
        origins, converted = {**values.pop("origins", {}), **(origins or {})}, {}
        for field, value in values.items():
            try:
                if value is not None:  # else the default
                    converted[field] = _converted(field, value)
            except ValueError as exc:
                name = KEYS_BY_FIELD[field].describe() if field in KEYS_BY_FIELD else _proxy_name(field)
                raise ConfigurationError(f"invalid {origins.get(field) or name}: {exc}") from None
        settings = cls(**converted, origins={field: origin for field, origin in origins.items() if origin})
        register_secrets(*settings.secret_values())
        try:  # values that end up in a host name, a URL or a path, each in its one spelling
            spelt = {
                name: check_target(name, value, origins.get(name) or KEYS_BY_FIELD[name].config)
                for name in ("region", "project_id", "project_name", "endpoint", "auth_url")
                if (value := getattr(settings, name)) is not None
            }
            # The URLs made from it in their one spelling: case, a default port, a final "." dropped.
            cloud = check_endpoint(f"https://{settings.cloud}", field=origins.get("cloud") or "cloud")
            # A path would land inside the URLs made from it, no name ends in an address (10.0.0.1),
            # and a name without a dot is a clouds.yaml entry's, mistaken.
            address = (urlsplit(cloud).hostname or "").rpartition(".")[2].isdigit()
            if "/" in settings.cloud or "." not in cloud or address:
                raise InvalidInputError(
                    f"{origins.get('cloud') or 'cloud'} must be a domain name such as otc.t-systems.com",
                    hint="Reach a host by its address with modelarts:endpoint and authUrl"
                    if address
                    else "A clouds.yaml entry is named by modelarts:cloudName (or OS_CLOUD)",
                )
            settings = dataclasses.replace(settings, **spelt, cloud=cloud.removeprefix("https://"))
            for field, given, url in (
                ("endpoint", settings.endpoint, settings.resolved_endpoint),
                ("authUrl", settings.auth_url, settings.resolved_auth_url),
            ):
                # One not given is made from the region, which the message names, not the URL.
                made = f"the {field} made from {origins.get('region') or 'region'} {settings.region!r}"
                try:
                    check_endpoint(url, field=field if given else made)
                except InvalidInputError as exc:
                    if given:
                        raise
                    raise InvalidInputError(exc.summary, hint=exc.hint or _REGION_HINT) from None
        except InvalidInputError as exc:
            raise ConfigurationError(exc.summary, hint=exc.hint or None) from None
        schemes = set()
        for url in (settings.resolved_endpoint, settings.resolved_auth_url):
            # A proxy is checked for the URLs it serves, as requests and curl use one: a SOCKS
            # ALL_PROXY beside NO_PROXY=*, or a bad HTTP_PROXY beside https URLs, plays no part.
            schemes.add(scheme := urlsplit(url).scheme)
            if (proxy := settings.proxy_for(url)) is not None:
                field = f"{scheme}_proxy"
                try:
                    _check_proxy(proxy)
                except ValueError as exc:
                    raise ConfigurationError(f"invalid {_proxy_name(field)}: {exc}") from None
                schemes.add(urlsplit(proxy).scheme)
        # So is a CA bundle, where no TLS is spoken: a shell's REQUESTS_CA_BUNDLE, removed since,
        # plays no part in reading the emulator over plain HTTP.
        if settings.ca_cert_file is not None and not settings.insecure and "https" in schemes:
            check_ca_bundle(settings.ca_cert_file, origins.get("ca_cert_file"))
        return settings

    def with_overrides(
        self, *, project_id: str | None = None, region: str | None = None, endpoint: str | None = None
    ) -> Settings:
        """Settings for one lookup naming its own project, region or endpoint, in any spelling. Another
        region is another IAM project: the configured one is dropped unless the lookup names one too.
        The endpoint the place resolves to anyway is no override: its reads share one client."""
        updates: dict[str, Any] = {} if project_id is None else {"project_id": project_id}
        # "EU-DE" is eu-de (project_scope_name), and so is " eu-de" from a shell, cleaned as a variable is
        if region is not None and unpadded(region).lower() != self.region:
            updates = {"project_id": None, "project_name": None, **updates, "region": region}
        place = Settings.validated({**vars(self), **updates}, dict.fromkeys(updates, "")) if updates else self
        if endpoint is None or check_endpoint(endpoint) == place.resolved_endpoint:
            return place
        return Settings.validated({**vars(place), "endpoint": endpoint}, {"endpoint": ""})

    @property
    def resolved_endpoint(self) -> str:
        return (self.endpoint or f"https://modelarts.{self.region}.{self.cloud}").rstrip("/")

    @property
    def resolved_auth_url(self) -> str:
        """IAM's Keystone base; a bare host (``https://iam.eu-de.otc.t-systems.com``) is its ``/v3``,
        as the Terraform providers' clients discover it."""
        url = (self.auth_url or f"https://iam.{self.region}.{self.cloud}/v3").rstrip("/")
        return url if urlsplit(url).path else f"{url}/v3"

    @property
    def project_scope_name(self) -> str:
        """The IAM project that scopes tokens and project lookups: a region's is named as the region."""
        return self.project_name or self.region

    def proxy_for(self, url: str) -> str | None:
        """The proxy ``url`` goes through: its scheme's, unless ``NO_PROXY`` names its host."""
        parts = urlsplit(url)
        proxy = {"https": self.https_proxy, "http": self.http_proxy}.get(parts.scheme)
        if proxy is None or bypasses_proxy(parts.hostname or "", self.no_proxy or ""):
            return None
        return proxy.get_secret_value()

    @property
    def verify(self) -> bool | str:
        return False if self.insecure else self.ca_cert_file or True

    def auth_mode(self) -> Literal["token", "aksk", "password"]:
        """Pick the credential kind (token, then AK/SK, then password) or say what is missing, naming
        a credential set where it was set (its variable, or its file and key)."""
        if self.auth_token is not None:
            return "token"
        if self.access_key is not None or self.secret_key is not None:
            _require_together(self, ("access_key", "secret_key"))
            return "aksk"
        aksk = f"{self._where('access_key')} and {self._where('secret_key')}"
        if self.security_token is not None:
            given = self.origins.get("security_token") or _describe("security_token")
            raise ConfigurationError(f"{given} is set without an access key and secret key: set {aksk}")
        if self.user_name is not None or self.password is not None:
            _require_together(self, ("user_name", "password", "domain_name"))
            return "password"
        raise ConfigurationError(
            f"no ModelArts credentials configured: set {aksk}, or {_describe('auth_token')}, or "
            f"{_describe('user_name')}, {_describe('password')} and {_describe('domain_name')}"
        )

    def _where(self, field: str) -> str:
        """Where a missing setting may be set: stack config, its variable, and the cloud in use."""
        where = _describe(field)
        if self.cloud_name is not None:
            where = f"{where[:-1]}, or {CLOUDS_YAML_KEYS[field][0]} of cloud {self.cloud_name!r})"
        return where

    def secret_values(self) -> tuple[str, ...]:
        """Every configured secret, a proxy's password too."""
        values = (getattr(self, field) for field in SECRET_FIELDS)
        secrets = [value.get_secret_value() for value in values if value is not None]
        for proxy in filter(None, (self.https_proxy, self.http_proxy)):
            with contextlib.suppress(ValueError):  # a malformed one is never used (proxy_for)
                parts = urlsplit(proxy.get_secret_value())
                if parts.password is not None:  # as sent: Basic base64(user:pw)
                    user, password = unquote(parts.username or ""), unquote(parts.password)
                    basic = base64.b64encode(f"{user}:{password}".encode("latin-1", "replace")).decode()
                    secrets += (parts.password, password or user, basic)  # "token:" is a credential too
        return tuple(secrets)


SETTING_KEYS: tuple[SettingKey, ...] = tuple(
    SettingKey(field.name, **field.metadata) for field in dataclasses.fields(Settings) if field.metadata
)
KEYS_BY_FIELD: dict[str, SettingKey] = {key.field: key for key in SETTING_KEYS}
SECRET_FIELDS: tuple[str, ...] = tuple(key.field for key in SETTING_KEYS if key.secret)
#: Credentials: surrounding whitespace (a trailing newline from a file) is stripped, control
#: characters are refused, and those sent in HTTP headers must be ASCII.
CREDENTIAL_FIELDS: tuple[str, ...] = (*SECRET_FIELDS, "user_name", "domain_name")
HEADER_FIELDS = frozenset({"access_key", "security_token", "auth_token"})
#: Keys and tokens IAM issues hold no whitespace or quotes: one inside is a copy gone wrong.
KEY_FIELDS = HEADER_FIELDS | {"secret_key"}


#: The Terraform providers' map of endpoint overrides by service (``endpoints = {modelarts = "…"}``).
ENDPOINTS_KEY = f"{CONFIG_NAMESPACE}:endpoints"


def _endpoint_in_map(endpoints: Any) -> str | None:
    """The ``modelarts`` entry of ``modelarts:endpoints`` (JSON text, as stack config carries a map)."""
    try:
        document = json.loads(endpoints) if isinstance(endpoints, str) else endpoints
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        document = None
    if not isinstance(document, dict):
        raise ConfigurationError(
            f"invalid {ENDPOINTS_KEY}: must be a map of services to URLs",
            hint=f"Set it with pulumi config set --path '{ENDPOINTS_KEY}.modelarts' https://...",
        )
    return document.get("modelarts")


#: Stack config naming the place a job is read in, by the input naming it too: outputs show its
#: values (an endpoint is made of a region and cloud), errors a project's name, which an input
#: project ID replaces; credentials never reach an output.
_PLACE = ("project_id", "region", "endpoint")
SHOWN_CONFIG: dict[str, str] = {
    **{name: field for field in _PLACE for name in KEYS_BY_FIELD[field].config_keys},
    **dict.fromkeys(KEYS_BY_FIELD["project_name"].config_keys, "project_id"),
    **dict.fromkeys((*KEYS_BY_FIELD["cloud"].config_keys, ENDPOINTS_KEY), "endpoint"),
}


def secret_config(
    given: Mapping[str, object],
    get: Callable[[str], Any] | None = None,
    is_secret: Callable[[str], bool] | None = None,
) -> list[tuple[str, Any]]:
    """The input and value of each ``SHOWN_CONFIG`` key ``is_secret`` names that stack config sets
    (read through ``get``; ``modelarts:endpoints`` by its endpoint) for an input ``given`` leaves to
    it (none or blank, or an ``Output``, which may be none): outputs and errors may show them. By
    default, the stack config of the program that runs."""
    if get is None or is_secret is None:
        import pulumi

        get, is_secret = pulumi.runtime.get_config, pulumi.runtime.is_config_secret
    shown = []
    for name, target in SHOWN_CONFIG.items():
        text = given.get(target)
        if not (isinstance(text, str) and text) and is_secret(name) and (value := get(name)) is not None:
            if name == ENDPOINTS_KEY:
                with contextlib.suppress(ConfigurationError):  # else hidden as written
                    value = _endpoint_in_map(value)
            shown += [] if value is None else [(target, value)]
    return shown


def stack_config_from(get: Callable[[str], Any]) -> dict[str, str]:
    """The ``modelarts:*`` keys of a stack config, read through ``get("modelarts:<key>")``, as text: a
    value the engine sent as JSON (a number written unquoted in the stack's YAML) as written there."""
    config = {}
    for name in (*(name for key in SETTING_KEYS for name in key.config_keys), ENDPOINTS_KEY):
        if isinstance(value := get(name), float) and value.is_integer() and abs(value) <= 2**53:
            value = int(value)  # a whole number arrives as a double (7.0): 7, as written
        if value is not None:
            config[name] = value if isinstance(value, str) else json.dumps(value)
    return config


def _converted(field: str, value: Any) -> Any:
    """One setting's value as :class:`Settings` holds it; ValueError says what is wrong with it."""
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    if isinstance(text, str) and field != "ca_cert_file":  # a path is opened as the system gave it
        text = as_utf8(text)  # the environment of a locale that is not UTF-8, as the CLI reads argv
    if isinstance(text, str) and (cleaned := unpadded(text)) != text:  # what files and shells add
        if field in _NEVER_CLEANED:
            raise ValueError("has whitespace, a line break or an invisible mark around it; set it without")
        text = cleaned
    if field in _NUMBERS:
        kind, low, high = _NUMBERS[field]
        try:  # a number, or the text stack config and variables carry (" 5 ", "2.0", "1e2"), in
            # ASCII as every number (float() also reads fullwidth and Arabic-Indic digits)
            number = math.nan if isinstance(text, bool) or not str(text).isascii() else float(text)
        except (TypeError, ValueError, OverflowError):  # OverflowError: an int beyond any float
            number = math.nan
        if kind is int and not (number.is_integer() and low <= number <= high):
            raise ValueError(f"must be a whole number from {low:g} to {high:g}")
        if kind is float and not low < number <= high:  # NaN fails too
            raise ValueError(f"must be a number of seconds above {low:g} and at most {high:g}")
        return kind(number)
    if field == "insecure":
        flag = text if isinstance(text, bool) else _FLAGS.get(str(text).lower())
        if flag is None:
            raise ValueError("must be true or false")
        return flag
    if not isinstance(text, str):
        raise ValueError(f"must be text (quoted, in YAML), got {type(text).__name__}")
    if field in CREDENTIAL_FIELDS:
        if re.search("[\ud800-\udfff]", text):  # os.environ's escapes of bytes that are not UTF-8
            raise ValueError(
                "is not valid UTF-8 text (another encoding, or a lone surrogate); save it as UTF-8"
            )
        if _has_control_character(text):
            raise ValueError(
                "contains a control character, a line break or an invisible one; set it on one line"
            )
        if field in KEY_FIELDS and any(character.isspace() for character in text):
            raise ValueError("holds a space inside: keys and tokens are one word; set it without one")
        if field in KEY_FIELDS and re.search("[\"'`]", text):  # those of a .env file or a shell, kept
            raise ValueError("holds a quote, which no key or token IAM issues does; set it without quotes")
        if field in HEADER_FIELDS and not text.isascii():
            raise ValueError("must be ASCII, since it is sent in an HTTP header")
    elif field in _PROXY_URLS:  # checked where it is used (Settings.validated)
        text = text if "://" in text else f"http://{text}"  # host:port, as curl reads it
    elif field == "ca_cert_file":  # "~/ca.pem" as a shell and Terraform read it
        text = os.path.expanduser(text)
    return SecretStr(text) if field in SECRET_FIELDS or field in _PROXY_URLS else text


def _has_control_character(text: str) -> bool:
    if text.isprintable():  # every character of these classes is unprintable
        return False
    import unicodedata  # only for text that may hold one

    return any(unicodedata.category(character) in _CONTROL_CLASSES for character in text)


def _proxy_name(field: str) -> str:
    return f"proxy ({', '.join(PROXY_VARIABLES[field])})"


def _check_proxy(url: str) -> None:
    """ValueError unless requests can send through ``url``: only HTTP(S) proxies are supported."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        parts = None
    if parts is not None and parts.scheme.startswith("socks"):
        raise ValueError(
            "SOCKS proxies are not supported (requests needs PySocks for them); use an http:// proxy"
        )
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// proxy URL such as http://proxy:3128")
    userinfo = unquote(parts.netloc.rpartition("@")[0])
    if _has_control_character(url + userinfo) or " " in url:
        raise ValueError("contains whitespace or a control character")
    if max(userinfo, default="\0") > "\xff":  # requests sends them as Latin-1, or fails
        raise ValueError("its user name and password must be Latin-1 text (percent-encoded or not)")


def bypasses_proxy(host: str, no_proxy: str) -> bool:
    """``NO_PROXY`` as curl and requests read it: ``*``, names matching the host or a parent
    domain (a leading ``.`` or ``*.`` optional), IP addresses and CIDR ranges; ports ignored."""
    import ipaddress

    host = host.strip("[]").lower().rstrip(".")
    for entry in re.split(r"[,\s]+", unpadded(no_proxy).lower()):  # one entry a line too
        if entry.startswith("["):
            entry = entry[1:].partition("]")[0]
        elif entry.count(":") == 1:
            entry = entry.partition(":")[0]
        name = entry.removeprefix("*").strip(".")
        if entry == "*" or (name and (host == name or host.endswith("." + name))):
            return True
        with contextlib.suppress(ValueError):  # a host that is no address, or an entry that is no network
            if ipaddress.ip_address(host) in ipaddress.ip_network(name, strict=False):
                return True
    return False


def _cloud_entry(name: str, environ: Mapping[str, str]) -> dict[str, tuple[Any, str]]:
    """Settings from the named entry of ``clouds.yaml``, merged with ``secure.yaml``, each with its origin."""
    clouds_path = _openstack_file("clouds", environ.get("OS_CLIENT_CONFIG_FILE"), environ)
    clouds = _yaml_entry(clouds_path, name, "OS_CLIENT_CONFIG_FILE", environ)
    secure_variable = next((v for v in ("OS_CLIENT_SECURE_FILE", "OS_SECURE_FILE") if environ.get(v)), None)
    secure_path = _openstack_file("secure", secure_variable and environ[secure_variable], environ)
    secure = _yaml_entry(secure_path, name, secure_variable or "OS_CLIENT_SECURE_FILE", environ)
    if not clouds and not secure:
        raise ConfigurationError(
            f"cloud {name!r} is not defined in {clouds_path or 'clouds.yaml (no file found)'}",
            hint="Fix modelarts:cloudName / OS_CLOUD or set OS_CLIENT_CONFIG_FILE",
        )
    # Only the entry and its auth mapping, secure.yaml first; a blank value is unset, as in every source.
    auths = ((secure_path, secure.get("auth", {})), (clouds_path, clouds.get("auth", {})))
    layers = (*auths, (secure_path, secure), (clouds_path, clouds))
    fields: dict[str, tuple[Any, str]] = {}
    for field, keys in CLOUDS_YAML_KEYS.items():
        found = ((key, path, at[key]) for key in keys for path, at in layers if _present(at.get(key)))
        if first := next(found, None):  # a value refused is named by its file and key
            key, path, value = first
            fields[field] = (value, f"{key} of cloud {name!r} in {path} ({KEYS_BY_FIELD[field].config_key})")
    if {**clouds, **secure}.get("verify") is False:
        fields["insecure"] = (True, "")
    return fields


def _openstack_file(stem: str, named: str | None, environ: Mapping[str, str]) -> Path | None:
    """The file ``named`` by its variable, or the first found where openstacksdk looks for it."""
    if named and (named := unpadded(named)):
        return Path(named)
    # Not Path.home(): it raises for a user without a home (no HOME, no passwd entry: a container's UID).
    home = Path(environ.get("HOME") or os.path.expanduser("~"), ".config")
    try:
        here = [Path.cwd()]
    except FileNotFoundError:  # a working directory deleted under the process holds no file
        here = []
    folders = [*here, Path(environ.get("XDG_CONFIG_HOME") or home, "openstack"), home / "openstack"]
    suffixes = (".yaml", ".yml", ".json")  # as openstacksdk finds them
    paths = (folder / (stem + suffix) for folder in (*folders, Path("/etc/openstack")) for suffix in suffixes)
    # os.path.isfile, not Path.is_file: a folder this process cannot look into (EACCES, a name too
    # long) holds no file for it, as for openstacksdk, rather than raising OSError.
    return next((path for path in paths if os.path.isfile(path)), None)


def _yaml_entry(path: Path | None, name: str, variable: str, environ: Mapping[str, str]) -> dict[str, Any]:
    """The entry ``name`` of the file at ``path`` (none: {}), which ``variable`` names if set."""
    if path is None:
        return {}
    import yaml  # only when clouds.yaml is in use

    try:  # bytes: PyYAML reads UTF-8 and, by their byte order mark, UTF-16 files (Windows editors)
        with path.open("rb") as file:  # bounded: a device or a huge file is not a clouds.yaml
            data = file.read(MAX_CLOUDS_FILE_BYTES + 1)
        if len(data) > MAX_CLOUDS_FILE_BYTES:
            raise ValueError(f"larger than {MAX_CLOUDS_FILE_BYTES >> 10} KiB")
        if path.suffix == ".json":  # as openstacksdk, but numbers as written (1.50 is no 1.5)
            document = json.loads(data, parse_int=str, parse_float=str, object_pairs_hook=_unique_keys)
        else:
            document = yaml.load(data, Loader=_clouds_loader())  # noqa: S506 - a SafeLoader
        document = document or {}
    except (OSError, ValueError, RecursionError, yaml.YAMLError) as exc:  # a YAML error quotes the file
        marks = "Write it as YAML in UTF-8, a value beginning with * & ! @ % or ` in quotes"
        hint = None
        if isinstance(exc, yaml.YAMLError):  # PyYAML (openstacksdk's too) refuses most tabs
            hint = marks + ("; indent and separate with spaces, not tabs" if b"\t" in data else "")
        why = str(exc) if type(exc) is ValueError else type(exc).__name__
        why = "nested too deeply" if isinstance(exc, RecursionError) else why
        if isinstance(exc, OSError):  # missing, a directory, unreadable: where else to point
            named = unpadded(environ.get(variable, ""))  # else found where openstacksdk looks
            hint = (
                f"Point {variable} at a readable file, or unset it"
                if named
                else f"Make it readable, or set {variable} to another file"
            )
            why = exc.strerror or why
        mark = getattr(exc, "problem_mark", None)  # a YAML error's problem may quote a value: its line only
        line = mark.line + 1 if mark else getattr(exc, "lineno", None)  # or a JSONDecodeError's
        why += f" at line {line}" if line else ""
        raise ConfigurationError(f"cannot read {path}: {why}", hint=hint) from None
    # A mapping left empty (every line under "clouds:", a cloud or "auth:" commented out) is unset.
    clouds = document.get("clouds") or {} if isinstance(document, dict) else None
    entry = clouds.get(name) or {} if isinstance(clouds, dict) else None
    auth = entry.get("auth") or {} if isinstance(entry, dict) else None
    if not isinstance(entry, dict) or not isinstance(auth, dict):
        raise ConfigurationError(
            f"cannot read {path}: not a mapping of clouds with mappings of settings",
            hint=f"Write it as clouds: {{{name}: {{auth: {{...}}, region_name: ...}}}}",
        )
    try:  # ``project-name`` is ``project_name``, as openstacksdk reads it; both written, a key twice
        entry, auth = (_dashless(mapping) for mapping in (entry, auth))
    except ValueError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from None
    if isinstance(regions := entry.get("regions"), list):  # its first region, by name or {name: ...}
        first = regions[0] if regions else None
        entry["regions"] = first.get("name") if isinstance(first, dict) else first
    return {**entry, "auth": auth} if entry else {}


def _dashless(mapping: dict[Any, Any]) -> dict[Any, Any]:
    keys = ((key.replace("-", "_") if isinstance(key, str) else key, value) for key, value in mapping.items())
    return _unique_keys(keys)


@functools.cache
def _clouds_loader() -> type[Any]:
    """YAML as openstacksdk reads it (PyYAML's safe loader), but a number stays the text written
    (``project_id: 0123`` is not octal 83) and a key written twice is refused, not the last taken."""
    import yaml

    class Loader(yaml.SafeLoader):
        def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
            try:  # a value its tag cannot take ("!!bool pw") fails with an error quoting it, and no line
                return super().construct_object(node, deep)
            except (LookupError, AttributeError, TypeError, ValueError):
                raise yaml.constructor.ConstructorError(problem_mark=node.start_mark) from None

        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            merge = "tag:yaml.org,2002:merge"  # "<<: *base" entries may be overridden
            keys = node.value if isinstance(node, yaml.MappingNode) else []  # else "!!map pw", refused
            scalars = [key for key, _ in keys if key.id == "scalar" and key.tag != merge]
            _unique_keys((key.value, key.start_mark.line + 1) for key in scalars)
            return super().construct_mapping(node, deep)

    def as_written(loader: Loader, node: yaml.ScalarNode) -> str | None:
        """A number as its text, once its tag takes it ("!!int pw" does not); a null only as YAML
        spells one ("!!null pw" is refused, not read as unset)."""
        kind = node.tag.rpartition(":")[2]
        if kind == "null":
            if node.value not in ("", "~", "null", "Null", "NULL"):
                raise LookupError(kind)
            return None
        getattr(yaml.SafeLoader, f"construct_yaml_{kind}")(loader, node)
        return str(node.value)

    for kind in ("int", "float", "null"):
        Loader.add_constructor(f"tag:yaml.org,2002:{kind}", as_written)
    return Loader


def _unique_keys(pairs: Iterable[tuple[Any, Any]]) -> dict[Any, Any]:
    """The mapping of ``pairs``, or ValueError naming a key written twice if the package reads it
    (from YAML, by its line, the pair's value): another may be a secret ("password: {pw, pw}")."""
    document: dict[Any, Any] = {}
    for key, value in pairs:
        if key in document:
            name = f"the key {key!r}" if key in _READ_KEYS else "a key"
            raise ValueError(f"{name} is written twice" + (f" at line {value}" if type(value) is int else ""))
        document[key] = value
    return document


def _chosen(field: str, pairs: Iterable[tuple[Any, str, int]]) -> tuple[Any, str]:
    """The first value set of a setting's (value, origin, source rank), and its origin; a map or
    list in stack config where text belongs (the engine sends one set with ``--path`` as JSON text)
    is refused naming the key."""
    value, origin, rank = next(((v, o, r) for v, o, r in pairs if _present(v)), (None, "", 9))
    text = value.lstrip() if rank == 1 and field not in _FLAGS_AND_NUMBERS and isinstance(value, str) else ""
    if text.startswith(("{", "[")):
        # Text that merely begins like one ("{pw"), or opens more than the parser nests, is text.
        with contextlib.suppress(ValueError, RecursionError):
            if isinstance(json.loads(text), dict | list):
                secret = "--secret " * (field in SECRET_FIELDS)
                raise ConfigurationError(
                    f"invalid {origin}: is a map or list, not text",
                    hint=f"Set it as text: pulumi config set {secret}{origin} ...",
                )
    return value, origin


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not unpadded(value))


def check_ca_bundle(path: str, origin: str | None = None, *, whole: bool = False) -> None:
    """A CA bundle must be a listable directory or a regular PEM file whose first certificate loads
    (``whole``: every one, as a connection loads it, once one could not): refused here, not as a failed
    handshake (a pipe or a device, read whole, would hang or fill the memory)."""
    unloaded = "holds no PEM certificate that loads"
    try:
        if os.path.isdir(path):  # OpenSSL finds its certificates by their subject's hash alone
            if not any(_HASHED_NAME.fullmatch(name) for name in os.listdir(path)):  # a Secret's mount
                unloaded = "is a directory without certificates by OpenSSL's hashed names (c_rehash)"
                raise ssl.SSLError
        else:
            stat = os.stat(path)
            if not S_ISREG(stat.st_mode):
                raise OSError(errno.EINVAL, "neither a file nor a directory")
            _load_ca_file(path, stat.st_mtime_ns, stat.st_size)
            unloaded = "holds a PEM certificate that does not load"  # a later one
            if whole:
                ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=path)
    except (OSError, ValueError) as exc:  # ValueError: a path holding a NUL character
        why = (
            unloaded
            if isinstance(exc, ssl.SSLError)
            else f"cannot be read ({exc.strerror or type(exc).__name__})"
            if isinstance(exc, OSError)
            else "holds a NUL character"
        )
        raise ConfigurationError(
            f"{origin or KEYS_BY_FIELD['ca_cert_file'].describe(every_name=True)} names {path!r}, "
            f"which {why}",
            hint="Point it at a readable PEM CA bundle, or unset it to use the system CAs",
        ) from None


@functools.lru_cache(maxsize=8)
def _load_ca_file(path: str, mtime_ns: int, size: int) -> None:  # noqa: ARG001 - the cache key
    """Load the bundle's first certificate, once per file version and process: loading a system
    bundle whole costs about 20 ms, which urllib3 pays again when it connects."""
    with open(path, "rb") as bundle:
        first = _PEM_CERTIFICATE.search(bundle.read())
    if first is None or not first.group().isascii():
        raise ssl.SSLError("no PEM certificate")
    ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=first.group().decode())


def _describe(field: str) -> str:
    return KEYS_BY_FIELD[field].describe()


def _require_together(settings: Settings, fields: tuple[str, ...]) -> None:
    """ConfigurationError unless all of ``fields`` are set: naming those set where they were set."""
    if missing := [field for field in fields if getattr(settings, field) is None]:
        given = [settings.origins.get(f) or KEYS_BY_FIELD[f].config_key for f in fields if f not in missing]
        raise ConfigurationError(
            f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} set but "
            f"{' and '.join(KEYS_BY_FIELD[f].config_key for f in missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing: set "
            f"{' and '.join(settings._where(f) for f in missing)}"
        )
