"""Checks on user-supplied values, run before any request is built. Standard library only: the
provider's ``check`` runs them in the engine's hot path, without ``requests`` or ``pydantic``."""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import quote, urlsplit

from .errors import InvalidInputError, is_secret_input, redact

#: The largest whole number any input takes (job IDs included): the engine carries numbers as
#: IEEE doubles, and above 2**53 - 1 two IDs can arrive as the same float.
MAX_WHOLE_NUMBER = 2**53 - 1
#: The longest endpoint or IAM URL taken.
MAX_URL_CHARS = 2048
#: Sort keys the list call accepts (its ``sortBy`` parameter).
SORT_KEYS: tuple[str, ...] = ("job_id", "job_name", "job_desc", "create_time", "status")
_DIGITS = re.compile(r"[0-9]{1,32}")
#: Every name a lookup sends (job names, projects, project names, regions): 1-64 letters, digits,
#: '_' and '-', what ModelArts allows in a name.
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: Labels of 1-63 characters (DNS, RFC 1035): a longer one no resolver looks up (IDNA refuses it).
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"{_LABEL}(\.{_LABEL})*")
_PATH_PREFIX = re.compile(r"(/[A-Za-z0-9._~-]+)*/*")
#: A host name ending in a number is an IPv4 address in a form resolvers read differently
#: ("127.1", "010.0.0.1" in octal, "2130706433"); WHATWG URLs read it as an address too.
_NUMERIC_LAST_LABEL = re.compile(r"(.*\.)?(0x[0-9a-f]*|[0-9]+)")
_HOST_HINT = "Write an IPv4 address as four decimal numbers, a non-ASCII host name in its xn-- form"
#: A project ID as IAM issues it: 32 hex digits, written in lower case.
_HEX_ID = re.compile(r"[0-9A-Fa-f]{32}")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
#: Whitespace, C0/C1 controls and DEL: urlsplit() silently drops some of them, http.client others.
_UNSAFE_URL_CHARACTER = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


def as_utf8(text: str) -> str:
    """``text`` read as the UTF-8 it was sent in: a locale that is not UTF-8 (``LC_ALL=C`` with
    ``PYTHONUTF8=0``) hands over the command line and the environment with each byte beyond ASCII
    escaped as a surrogate. Bytes that are no UTF-8 stay escaped; text without escapes is as it was."""
    if text.isascii():
        return text
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate no such escape made: left for the checks to refuse
        return text


def _shown(value: object) -> str:
    if is_secret_input(value):
        return "[secret]"
    if type(value).__repr__ is object.__repr__:  # an address, another on every run: its type tells more
        return f"<{type(value).__name__} object>"
    # Scrubbed before it is cut (a server's value may echo a secret past its start); cut short, a
    # quoted text keeps its closing quote; 10**400 gets none.
    text = redact(repr(value))
    return text if len(text) <= 48 else text[:45] + "..." + text[-1] * (text[-1] in "'\"")


def parse_whole_number(
    value: object, *, field: str, minimum: int = 0, maximum: int = MAX_WHOLE_NUMBER, hint: str | None = None
) -> int:
    """One rule for every integer input: an int, an integral float (the engine carries numbers as
    floats such as ``197.0``) or a string of ASCII digits (stack config), from minimum to maximum."""
    number: int | None = None
    if (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and value.is_integer()
    ):
        number = int(value)  # a plain int, also for IntEnum members
    elif isinstance(value, str) and _DIGITS.fullmatch(value):
        number = int(value)
    if number is None or not minimum <= number <= maximum:
        raise InvalidInputError(
            f"{field} must be a whole number from {minimum} to {maximum}, got {_shown(value)}", hint=hint
        )
    return number


def parse_job_id(value: object, field: str = "job_id") -> int:
    """A job ID by ``parse_whole_number``'s rule; one already parsed (an int in range) is returned as is."""
    if type(value) is int and 0 < value <= MAX_WHOLE_NUMBER:
        return value
    hint = "Use the numeric ID shown by 'modelarts-vis list' or the ModelArts console"
    return parse_whole_number(value, field=field, minimum=1, hint=hint)


_ONE_ID = "Give the ID once: VisualizationJob.get(name, id), or job_id without an id option"


def check_one_job(job_id: object, resource_id: object, hint: str = _ONE_ID) -> int:
    """The job a resource ID (``.get``'s, an ``id`` option, a stored one) names, which must be the
    ``job_id`` given too."""
    number = parse_job_id(resource_id)
    if job_id is not resource_id and parse_job_id(job_id) != number:  # .get's are one value
        shown = f"job_id {_shown(job_id)} and resource ID {_shown(resource_id)}"
        raise InvalidInputError(f"{shown} name two jobs", hint=hint)
    return number


def check_target(name: str, value: object, field: str | None = None) -> Any:
    """Check one value naming which job is read, under ``field`` or its own name, in its one spelling:
    a region in lower case (its IAM project's name), a hex project ID too. ``id``: a resource's id option."""
    if name in ("job_id", "id"):
        return parse_job_id(value, name)
    if name in ("endpoint", "auth_url"):
        return _check_api_path(name, check_endpoint(value, field=field or name), field or name)
    text = check_name(value, field=field or name)
    return text.lower() if name == "region" or (name == "project_id" and _HEX_ID.fullmatch(text)) else text


#: A path segment naming an API version (``v1``, ``v2.0``).
_API_VERSION = re.compile(r"v[0-9]+(\.[0-9]+)*", re.IGNORECASE)


def _check_api_path(name: str, url: str, field: str) -> str:
    """``url``, or InvalidInputError if it holds the API path appended to it (``/v1/{project_id}`` to the
    endpoint, ``/auth/tokens`` and ``/projects`` to IAM's ``/v3``), as the Keystone catalog and API
    pages write them: read as given, every request would go to ``/v1/.../v1/...``. A version inside
    a gateway's prefix (``/api/v1/modelarts``) is none of these."""
    segments = [segment.lower() for segment in urlsplit(url).path.split("/")[1:]] or [""]
    if name == "endpoint":
        if _HEX_ID.fullmatch(segments[-1]) and len(segments) > 1:
            segments.pop()  # a project's ID, after a version
        if _API_VERSION.fullmatch(segments[-1]):
            raise InvalidInputError(
                f"{field} must not end in an API version or project (/v1, /v1/{{project_id}}): "
                "the package adds /v1/{project_id} itself",
                hint="Give the service's base URL, e.g. https://modelarts.eu-de.otc.t-systems.com",
            )
    elif "v3" in segments[:-1] or (_API_VERSION.fullmatch(segments[-1]) and segments[-1] != "v3"):
        raise InvalidInputError(
            f"{field} must be IAM's Keystone v3 base URL (ending in /v3, or without a path), "
            "not an API's path or another version",
            hint="Give e.g. https://iam.eu-de.otc.t-systems.com/v3, to which /auth/tokens is added",
        )
    return url


#: What a job name that no lookup by name can send is read by instead (a number given as one, too).
_BY_ID = "A job whose name holds any other character is read by its ID"
_BY_NUMBER = "A job is read by its number with job_id"


def _text(value: object) -> str:
    """``value`` as a refusal of text shows it: with its type when it is none (5 holds only digits)."""
    shown = _shown(value)
    return shown if isinstance(value, str) or shown.startswith("<") else f"{type(value).__name__} {shown}"


def check_name(value: object, *, field: str) -> str:
    """A job name, project ID, project name or region (see ``_NAME``); it ends up in a URL."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InvalidInputError(
            f"{field} may only contain ASCII letters, digits, '_' and '-' (1-64 characters), "
            f"got {_text(value)}",
            hint=(_BY_NUMBER if isinstance(value, int | float) else _BY_ID) if field == "job_name" else None,
        )
    return value


def check_search(value: object) -> str:
    """The list call's ``search_content``: free text (ModelArts matches it in job names), 1-64 printable
    characters; a line break, control or invisible character would reach the query as sent."""
    if not isinstance(value, str) or not 0 < len(value) <= 64 or not value.isprintable():
        raise InvalidInputError(
            f"search_content must be 1-64 printable characters (no line break, control or invisible one), "
            f"got {_text(value)}"
        )
    return value


def _ip_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_loopback_host(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: the only hosts allowed over plain http. Not for
    ::ffff:127.0.0.1, on every Python (3.13's ``is_loopback`` counts IPv4-mapped addresses)."""
    name = host.strip("[]").lower()
    address = _ip_address(name)
    mapped = isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None
    return name in _LOOPBACK_NAMES or (address is not None and address.is_loopback and not mapped)


def check_endpoint(value: object, *, field: str = "endpoint") -> str:
    """The base URL in one spelling (scheme and host in lower case, no default port, no final "/"):
    https, or http on loopback (the emulator); no credentials, query or fragment. Whitespace and
    controls are refused, never cleaned. Messages repeat the URL only once it cannot hold a credential."""
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{field} must be a URL such as https://host, got {_shown(value)}")
    if len(value) > MAX_URL_CHARS:  # told by its length alone: it is not yet known to hold no credential
        raise InvalidInputError(
            f"{field} must be a URL of at most {MAX_URL_CHARS} characters, got {len(value)}"
        )
    if "@" in value or "%" in value.partition("://")[2].partition("/")[0]:
        raise InvalidInputError(
            f"{field} must not contain credentials (user:password@) or percent-encoding in its host",
            hint="Give credentials through the modelarts:* credential settings, never in a URL",
        )
    if _UNSAFE_URL_CHARACTER.search(value):
        raise InvalidInputError(
            f"{field} must be a URL such as https://host, without whitespace or control characters"
        )
    if "?" in value or "#" in value:
        raise InvalidInputError(f"{field} must not contain a query or fragment")
    try:
        parts = urlsplit(value)
        if parts.port == 0:
            raise ValueError
    except ValueError:  # not repeated: "https://user:password" fails here as a port
        raise InvalidInputError(f"{field} has a port that is not a number from 1 to 65535") from None
    host = (parts.hostname or "").removesuffix(".")  # a fully qualified name's root: no other place
    address = _ip_address(host)
    name = len(host) <= 253 and _HOSTNAME.fullmatch(host) and not _NUMERIC_LAST_LABEL.fullmatch(host)
    if parts.scheme not in ("https", "http") or not (name or address):
        hint = None  # what to fix: the scheme written out, or a host in the form every resolver reads alike
        if "://" not in value:
            hint = "Write the scheme and host, e.g. https://modelarts.eu-de.otc.t-systems.com"
        elif host and not (name or address) and (not host.isascii() or _NUMERIC_LAST_LABEL.fullmatch(host)):
            hint = _HOST_HINT
        elif len(host) > 253 or max(map(len, host.split("."))) > 63:
            hint = "A host name is at most 253 characters, and each part between its dots at most 63"
        raise InvalidInputError(f"{field} must be a URL such as https://host, got {_shown(value)}", hint=hint)
    if not _PATH_PREFIX.fullmatch(parts.path) or "/../" in parts.path + "/" or "/./" in parts.path + "/":
        raise InvalidInputError(f"{field} has an unusable path, got {_shown(value)}")
    if parts.scheme == "http" and not is_loopback_host(host):
        raise InvalidInputError(
            f"{field} must use https:// (plain http is only allowed on loopback), got {_shown(value)}"
        )
    host = f"[{address}]" if address and address.version == 6 else str(address or host)
    port = "" if parts.port in (None, {"https": 443, "http": 80}[parts.scheme]) else f":{parts.port}"
    return f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}"


def path_segment(value: str | int) -> str:
    """Percent-encode one path segment; '/', '.', '%' and friends can never change the path."""
    encoded = quote(str(value), safe="")
    # "." and ".." survive quote() and are path operators; validation refuses them before here.
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded
