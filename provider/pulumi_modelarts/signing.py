"""SDK-HMAC-SHA256 (AK/SK) request signing as ``huaweicloudsdkcore.signer.Signer`` 3.1.x does it. Pure
functions, so that the client's auth and the emulator's verifier compute the very same canonical request."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterable, Mapping
from urllib.parse import quote, unquote

ALGORITHM = "SDK-HMAC-SHA256"
DATE_HEADER = "X-Sdk-Date"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_PAYLOAD_HASH = hashlib.sha256(b"").hexdigest()
#: A path of unreserved characters only: decoding and re-encoding it changes nothing.
_CANONICAL_PATH = re.compile(r"[A-Za-z0-9._~/-]*")
Query = Iterable[tuple[str, str]]
_now_formatted = (-1, "")  # (second, its X-Sdk-Date): one formatting per second, not per request


def format_sdk_date() -> str:
    global _now_formatted
    second = int(time.time())
    if _now_formatted[0] != second:
        _now_formatted = (second, time.strftime(DATE_FORMAT, time.gmtime(second)))
    return _now_formatted[1]


def _encode(text: str) -> str:
    return quote(text, safe="~")


def canonical_query(pairs: Query) -> str:
    """Sorted ``k=v`` pairs, both encoded; also the exact query string the client sends."""
    return "&".join(f"{_encode(key)}={_encode(value)}" for key, value in sorted(pairs)) if pairs else ""


def lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): str(value).strip() for name, value in headers.items()}


def signable_header_names(headers: Mapping[str, str]) -> tuple[str, ...]:
    """Every header the reference signer would sign: all of them except names with '_'."""
    return tuple(sorted({name.lower() for name in headers if "_" not in name}))


def canonical_request(
    method: str, path: str, query: Query, headers: Mapping[str, str], signed: Iterable[str], body: bytes
) -> str:
    return _canonical(method, path, query, lower_keys(headers), tuple(signed), body)


def _canonical(
    method: str, path: str, query: Query, values: Mapping[str, str], names: tuple[str, ...], body: bytes
) -> str:
    """:func:`canonical_request` of headers already keyed in lower case, as :func:`sign` has them."""
    payload = EMPTY_PAYLOAD_HASH
    if body:  # hashed, unless X-Sdk-Content-Sha256 declares its hash (e.g. UNSIGNED-PAYLOAD)
        payload = values.get("x-sdk-content-sha256") or hashlib.sha256(body).hexdigest()
    if not _CANONICAL_PATH.fullmatch(path):
        path = "/".join(_encode(segment) for segment in unquote(path).split("/"))
    uri, query_string = path if path.endswith("/") else path + "/", canonical_query(query)
    header_lines = "".join([f"{name}:{values.get(name, '')}\n" for name in names])
    return "\n".join((method.upper(), uri, query_string, header_lines, ";".join(names), payload))


def string_to_sign(canonical: str, sdk_date: str) -> str:
    return f"{ALGORITHM}\n{sdk_date}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"


def secret_key_hmac(secret_key: str) -> hmac.HMAC:
    """Keying costs as much as signing: a client keys once and copies the state per signature."""
    return hmac.new(secret_key.encode("utf-8"), digestmod=hashlib.sha256)


def sign(
    *,
    method: str,
    path: str,
    query: Query,
    headers: Mapping[str, str],
    body: bytes,
    access_key: str,
    secret_key: str | hmac.HMAC,
    signed_headers: Iterable[str] | None = None,
) -> str:
    """The ``Authorization`` value for a request whose headers hold X-Sdk-Date: an HMAC keyed by the
    secret key itself. Every header is signed, as the reference signer does, unless named."""
    names = tuple(signed_headers) if signed_headers is not None else signable_header_names(headers)
    values = lower_keys(headers)
    canonical = _canonical(method, path, query, values, names, body)
    mac = (secret_key_hmac(secret_key) if isinstance(secret_key, str) else secret_key).copy()
    mac.update(string_to_sign(canonical, values.get(DATE_HEADER.lower(), "")).encode("utf-8"))
    return f"{ALGORITHM} Access={access_key}, SignedHeaders={';'.join(names)}, Signature={mac.hexdigest()}"
