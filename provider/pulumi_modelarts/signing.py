"""SDK-HMAC-SHA256 request signing, the AK/SK scheme of Huawei Cloud's and OTC's API gateway.

Pure functions over (method, path, query pairs, headers, body) so that the client's
``requests`` auth and the emulator's verifier compute the very same canonical request. The rules
follow ``huaweicloudsdkcore.signer.Signer`` (3.1.x), which the test-suite uses as an oracle.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, NamedTuple
from urllib.parse import quote, unquote

ALGORITHM = "SDK-HMAC-SHA256"
DATE_HEADER = "X-Sdk-Date"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
CONTENT_SHA256_HEADER = "X-Sdk-Content-Sha256"
EMPTY_PAYLOAD_HASH = hashlib.sha256(b"").hexdigest()

#: Headers the client signs when present. Hop-by-hop and transport headers (Connection,
#: Accept-Encoding, User-Agent, Content-Length) are left out so proxies cannot break signatures.
CLIENT_SIGNED_HEADERS = ("content-type", "host", "x-project-id", "x-sdk-date", "x-security-token")


class Authorization(NamedTuple):
    access_key: str
    signed_headers: tuple[str, ...]
    signature: str


_now_formatted = (0, "")  # (second, its X-Sdk-Date): one formatting per second, not per request


def format_sdk_date(moment: datetime | None = None) -> str:
    global _now_formatted
    if moment is not None:
        return moment.astimezone(timezone.utc).strftime(DATE_FORMAT)
    second = int(time.time())
    if _now_formatted[0] != second:
        _now_formatted = (second, time.strftime(DATE_FORMAT, time.gmtime(second)))
    return _now_formatted[1]


def parse_sdk_date(value: str) -> datetime:
    return datetime.strptime(value, DATE_FORMAT).replace(tzinfo=timezone.utc)


def _encode(text: str) -> str:
    return quote(text, safe="~")


#: A path of unreserved characters only: decoding and re-encoding it changes nothing.
_CANONICAL_PATH = re.compile(r"[A-Za-z0-9._~/-]*")


def canonical_uri(path: str) -> str:
    """Decode, re-encode each segment (RFC 3986 unreserved kept) and end with '/'."""
    if _CANONICAL_PATH.fullmatch(path):
        uri = path
    else:
        uri = "/".join(_encode(segment) for segment in unquote(path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Sorted ``k=v`` pairs, both encoded; also the exact query string the client sends."""
    if not pairs:
        return ""
    return "&".join(f"{_encode(key)}={_encode(value)}" for key, value in sorted(pairs))


def payload_hash(body: bytes, headers: Mapping[str, str]) -> str:
    """SHA-256 of the body, or the declared ``X-Sdk-Content-Sha256`` (e.g. UNSIGNED-PAYLOAD)."""
    if not body:
        return EMPTY_PAYLOAD_HASH
    declared = lower_keys(headers).get(CONTENT_SHA256_HEADER.lower())
    return declared if declared else hashlib.sha256(body).hexdigest()


def lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): str(value).strip() for name, value in headers.items()}


def signable_header_names(headers: Mapping[str, str]) -> tuple[str, ...]:
    """Every header the reference signer would sign: all of them except names with '_'."""
    return tuple(sorted({name.lower() for name in headers if "_" not in name}))


def canonical_request(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: Iterable[str],
    body: bytes = b"",
) -> str:
    values = lower_keys(headers)
    names = list(signed_headers)
    canonical_headers = "".join([f"{name}:{values.get(name, '')}\n" for name in names])
    return "\n".join(
        (
            method.upper(),
            canonical_uri(path),
            canonical_query(query),
            canonical_headers,
            ";".join(names),
            payload_hash(body, values),
        )
    )


def string_to_sign(canonical: str, sdk_date: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{sdk_date}\n{digest}"


def secret_key_hmac(secret_key: str) -> hmac.HMAC:
    """The HMAC-SHA256 state keyed by a secret key: keying costs as much as signing, so a client
    keys once and copies the state for every signature."""
    return hmac.new(secret_key.encode("utf-8"), digestmod=hashlib.sha256)


def sign(
    *,
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    access_key: str,
    secret_key: str | hmac.HMAC,
    signed_headers: Iterable[str] | None = None,
) -> str:
    """The ``Authorization`` value for a request whose headers already hold X-Sdk-Date: an HMAC
    keyed by the secret key itself, without key derivation. Every header is signed, as the
    reference signer does, unless ``signed_headers`` names them."""
    names = tuple(signed_headers) if signed_headers is not None else signable_header_names(headers)
    values = lower_keys(headers)
    to_sign = string_to_sign(
        canonical_request(method, path, query, values, names, body), values.get(DATE_HEADER.lower(), "")
    )
    mac = (secret_key_hmac(secret_key) if isinstance(secret_key, str) else secret_key).copy()
    mac.update(to_sign.encode("utf-8"))
    return f"{ALGORITHM} Access={access_key}, SignedHeaders={';'.join(names)}, Signature={mac.hexdigest()}"


def parse_authorization(value: str) -> Authorization | None:
    """None when ``value`` is not an SDK-HMAC-SHA256 header."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        return None
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, item = part.strip().partition("=")
        if not sep:
            return None
        fields[key] = item
    try:
        return Authorization(
            fields["Access"], tuple(filter(None, fields["SignedHeaders"].split(";"))), fields["Signature"]
        )
    except KeyError:
        return None


def verify(*, secret_key: str, authorization: Authorization, **request: Any) -> bool:
    """Recompute the signature of ``request`` (the arguments of :func:`sign`) over the headers the
    client declared, and compare in constant time."""
    expected = sign(
        **request,
        access_key=authorization.access_key,
        secret_key=secret_key,
        signed_headers=authorization.signed_headers,
    )
    return hmac.compare_digest(expected.rpartition("Signature=")[2], authorization.signature)
