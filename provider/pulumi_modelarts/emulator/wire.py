"""Request/reply values passed between the HTTP plumbing and the emulator's logic.

Keeping them plain data lets the handlers be tested without sockets and keeps the three error
body shapes (ModelArts v1, API gateway, IAM) in one place so every route answers consistently.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal
from urllib.parse import parse_qs, parse_qsl

from ..signing import lower_keys

JSON_CONTENT_TYPE = "application/json;charset=UTF-8"

Action = Literal["respond", "drop", "reset"]


@dataclass(frozen=True)
class Request:
    """One parsed HTTP request: raw path and query exactly as sent, because signatures cover them."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    request_id: str

    @cached_property
    def lower_headers(self) -> dict[str, str]:
        """Header names lowercased and values trimmed (HTTP header names are case-insensitive)."""
        return lower_keys(self.headers)

    def header(self, name: str) -> str | None:
        """A header value, case-insensitively; None when absent."""
        return self.lower_headers.get(name.lower())

    @cached_property
    def query_pairs(self) -> list[tuple[str, str]]:
        """Query pairs in order, blank values kept, the form the AK/SK verifier needs."""
        return parse_qsl(self.query, keep_blank_values=True)

    @cached_property
    def params(self) -> dict[str, list[str]]:
        """Query parameters grouped by name, the form the request log stores."""
        return parse_qs(self.query, keep_blank_values=True)

    def param(self, name: str) -> str | None:
        """First value of a query parameter (what the Java back end reads), None when absent."""
        values = self.params.get(name)
        return values[0] if values else None


@dataclass
class Reply:
    """What to send back; ``action`` lets faults drop or reset the connection instead."""

    status: int
    body: bytes = b""
    content_type: str | None = JSON_CONTENT_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    action: Action = "respond"


def encode(document: Any) -> bytes:
    """Compact, deterministic JSON: repeated reads of unchanged data are byte-identical."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_reply(status: int, document: Any, headers: dict[str, str] | None = None) -> Reply:
    """A JSON reply with the service's content type."""
    return Reply(status, encode(document), headers=dict(headers or {}))


def modelarts_error(status: int, code: str, message: str) -> Reply:
    """ModelArts v1 error shape: ``is_success`` false plus ``error_code``/``error_message``."""
    return json_reply(status, {"is_success": False, "error_code": code, "error_message": message})


def gateway_error(status: int, code: str, message: str, request_id: str) -> Reply:
    """API-gateway error shape (APIG.xxxx), which also carries the request ID in the body."""
    return json_reply(status, {"error_code": code, "error_msg": message, "request_id": request_id})


def iam_error(status: int, code: str, message: str) -> Reply:
    """IAM error shape (IAM.xxxx): ``error_code`` plus ``error_msg``."""
    return json_reply(status, {"error_code": code, "error_msg": message})


def not_found_api(request_id: str) -> Reply:
    """What the gateway answers for a path or method it does not publish."""
    return gateway_error(
        404,
        "APIG.0101",
        "The API does not exist or has not been published in the environment",
        request_id,
    )
