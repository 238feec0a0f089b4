"""Turn HTTP answers from ModelArts, the API gateway and IAM into data or typed errors.

Every body takes one path: bytes to a JSON value (:func:`decode_json`), then a pydantic model
(:func:`read_model`), and the caller checks that the answer is about what it asked for.

The mapping is deliberately conservative about "not found": a data source that mistakes a
wrong endpoint or project for a missing job would make ``pulumi refresh`` drop the job from
state. Only ModelArts' own not-found error codes count, whatever else a 404 carries.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import from_json

from .errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidResponseError,
    JobNotFoundError,
    ModelArtsError,
    PermissionDeniedError,
    ServiceError,
    ThrottledError,
    one_line,
    redact,
)
from .transport import HttpResponse, RequestContext

NOT_FOUND_CODES = frozenset({"ModelArts.0015", "ModelArts.2775"})
PROJECT_MISMATCH_CODES = frozenset({"ModelArts.0210", "ModelArts.2786"})
MISSING_API_CODES = frozenset({"APIG.0101", "APIGW.0101", "ModelArts.4204", "ModelArts.2836"})
THROTTLE_CODES = frozenset(
    {
        "ModelArts.5039",
        "ModelArts.2799",
        "ModelArts.4206",
        "ModelArts.6101",
        "APIG.0308",
        "APIGW.0308",
        "IAM.0012",
    }
)
EXCERPT_CHARS = 120
_Model = TypeVar("_Model", bound=BaseModel)


@dataclass(frozen=True)
class ErrorBody:
    """``error_code``/``error_message`` in whichever shape the layer that failed uses."""

    code: str | None
    message: str | None
    request_id: str | None
    is_api_body: bool


def excerpt(body: bytes) -> str:
    """A short, one-line, secret-free view of a body for error messages.

    Redaction runs before the cut, with room to spare, so a secret that straddles the cut is
    still recognised whole.
    """
    text = redact(body[: EXCERPT_CHARS * 4 + 4096].decode("utf-8", errors="replace"))
    return one_line(text[: EXCERPT_CHARS * 4], EXCERPT_CHARS) or "<empty>"


def _first_text(document: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = document.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


def decode_json(body: bytes) -> Any:
    """The JSON value of a body, or ValueError: UTF-8 only (a leading BOM is ignored), no NaN or
    Infinity, no lone surrogates, nesting at most 200 deep (pydantic's parser enforces these)."""
    return from_json(body.removeprefix(codecs.BOM_UTF8), allow_inf_nan=False)


def parse_error_body(body: bytes) -> ErrorBody:
    """Read ModelArts v1 (error_message), gateway/IAM (error_msg) and Keystone shapes."""
    if not body.strip():
        return ErrorBody(None, None, None, is_api_body=True)
    try:
        document = decode_json(body)
    except ValueError:
        return ErrorBody(None, None, None, is_api_body=False)
    if not isinstance(document, dict):
        return ErrorBody(None, None, None, is_api_body=False)
    nested = document.get("error")
    source = nested if isinstance(nested, dict) else document
    return ErrorBody(
        code=_first_text(source, "error_code", "errorCode", "code"),
        message=_first_text(source, "error_message", "error_msg", "errorMsg", "message"),
        request_id=_first_text(document, "request_id"),
        is_api_body=True,
    )


def error_for(response: HttpResponse, context: RequestContext) -> ModelArtsError:
    """The typed error for a failed response (non-2xx, or 2xx with ``is_success: false``)."""
    status = response.status
    info = parse_error_body(response.body)
    code = info.code
    fields: dict[str, Any] = {
        "status": status,
        "error_code": code,
        "error_message": info.message,
        "request_id": response.request_id or info.request_id,
    }
    tries = f" after {response.attempts} attempts" if response.attempts > 1 else ""
    # Text that is cut here is scrubbed of secrets first; the error scrubs everything else.
    if 300 <= status < 400:
        target = one_line(redact(response.headers.get("Location", "")), 80) or "nowhere"
        return context.error(
            InvalidResponseError,
            f"unexpected redirect to {target}",
            hint="Point modelarts:endpoint / authUrl at the API host itself",
            **fields,
        )
    if code in PROJECT_MISMATCH_CODES:
        return context.error(
            PermissionDeniedError,
            "the project ID does not match the credentials",
            hint="Set modelarts:projectId to the project of these credentials, or leave it unset",
            **fields,
        )
    if code in THROTTLE_CODES or status == 429:
        retry_after = response.headers.get("Retry-After")
        wait = f"; server asks to wait {one_line(redact(retry_after), 20)} s" if retry_after else ""
        return context.error(ThrottledError, f"request throttled{tries}{wait}", **fields)
    if context.job_id is not None and code in NOT_FOUND_CODES and status < 500:
        return context.error(JobNotFoundError, "visualization job not found", **fields)
    if not info.is_api_body:
        cls = ServiceError if status >= 500 else InvalidResponseError
        return context.error(
            cls, f"HTTP {status}{tries} with a non-API body: {excerpt(response.body)}", **fields
        )
    if status == 401:
        return context.error(AuthenticationError, "credentials rejected", **fields)
    if status == 403:
        return context.error(PermissionDeniedError, "access denied", **fields)
    if code in MISSING_API_CODES:
        return context.error(
            ConfigurationError,
            "the endpoint does not serve this API",
            hint="Check modelarts:endpoint and region",
            **fields,
        )
    if status == 404:
        return context.error(
            InvalidResponseError,
            "HTTP 404 without a ModelArts error code, so not taken for a missing job",
            **fields,
        )
    if status >= 500:
        return context.error(ServiceError, f"service failed{tries}", **fields)
    return context.error(ServiceError, "request rejected by the service", **fields)


def _invalid(response: HttpResponse, context: RequestContext, what: str) -> ModelArtsError:
    """An InvalidResponseError that quotes the start of the body."""
    return context.error(
        InvalidResponseError,
        f"{what}: {excerpt(response.body)}",
        status=response.status,
        request_id=response.request_id,
    )


def json_object(response: HttpResponse, context: RequestContext) -> dict[str, Any]:
    """The body of a successful response as a JSON object, or the error it really is."""
    if not 200 <= response.status < 300:
        raise error_for(response, context)
    try:
        document = decode_json(response.body)
    except ValueError as exc:
        raise _invalid(response, context, f"response is not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise _invalid(response, context, f"expected a JSON object, got {type(document).__name__}")
    if document.get("is_success") is False:
        raise error_for(response, context)
    return document


def read_model(model: type[_Model], response: HttpResponse, context: RequestContext) -> _Model:
    """The body of a successful response as ``model``; any other answer is a typed error."""
    document = json_object(response, context)
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise _invalid(
            response, context, f"unexpected response shape at '{where}' ({first['type']})"
        ) from None
