"""What ModelArts, the API gateway and IAM answer, turned into models or typed errors: tolerant where
the API is inconsistent (numbers as JSON strings, fields that come and go), strict where a coercion would
hide a broken answer. Only ModelArts' own not-found codes mean "not found", whatever else a 404 carries:
taking a wrong endpoint for a missing job would make ``pulumi refresh`` drop the job from state."""

from __future__ import annotations

import codecs
import contextlib
import functools
import json
import math
import re
from datetime import datetime, timedelta
from email.message import Message
from typing import Any, TypeVar, cast

from pydantic_core import SchemaValidator, ValidationError, core_schema, from_json

from . import errors
from .errors import ModelArtsError, RequestContext, one_line, redact, scrub_data
from .outputs import OUTPUT_FIELDS, JobStatus, status_name
from .settings import KEYS_BY_FIELD
from .transport import PROXY_HINT, RETRY_STATUSES, HttpResponse, heeded_retry_after, to_raise
from .validation import MAX_WHOLE_NUMBER

#: Error codes, matched whatever their case or surrounding whitespace (``modelarts.0015 ``); the API
#: gateway's codes under either of its prefixes (``APIG.0308``, ``APIGW.0308``).
NOT_FOUND_CODES = frozenset({"modelarts.0015", "modelarts.2775"})
PROJECT_MISMATCH_CODES = frozenset({"modelarts.0210", "modelarts.2786"})
MISSING_API_CODES = frozenset({"apig.0101", "modelarts.4204", "modelarts.2836"})
THROTTLE_CODES = frozenset(
    {"modelarts.5039", "modelarts.2799", "modelarts.4206", "modelarts.4395", "modelarts.6101"}
    | {"apig.0308", "iam.0012"}
)
#: Codes that mean what they mean whatever status comes with them (the code tables give several with
#: two statuses; a v1 answer may say ``is_success: false`` with a 200): credentials refused (IAM's 400
#: for an expired security token, ModelArts' 400 for a token of no project, its 403 for a bad AK/SK)...
REJECTED_CODES = frozenset(
    {"modelarts.0201", "modelarts.0202", "modelarts.0203", "modelarts.0204", "modelarts.0205"}
    | {"modelarts.0206", "modelarts.0207", "modelarts.0208", "modelarts.0209", "modelarts.0212"}
    | {"modelarts.2784", "modelarts.3801", "modelarts.4117", "modelarts.4119", "modelarts.4127"}
    | {"modelarts.4504", "modelarts.5001", "modelarts.5002", "modelarts.6620", "apig.0301"}
    | {"apig.0303", "apig.0305", "apig.0307", "iam.0001", "iam.0061"}
    | {"iam.0062", "iam.0066", "iam.0067", "iam.1108"}
)
#: ... and valid credentials that may not read (a policy, an account frozen or in arrears), a 401 too.
DENIED_CODES = frozenset(
    {"modelarts.0108", "modelarts.0112", "modelarts.1003", "modelarts.2785", "modelarts.2837"}
    | {"modelarts.2838", "modelarts.4106", "modelarts.4116", "modelarts.4118", "modelarts.4203"}
    | {"modelarts.4310", "modelarts.4336", "modelarts.5014", "modelarts.6201", "modelarts.6203"}
    | {"apig.0302", "apig.0306", "apig.0310", "iam.0002", "iam.0003"}
    | {"iam.0080", "iam.0081"}
)
EXCERPT_CHARS = 120
_PAGE_CHARS = EXCERPT_CHARS * 4 + 4096  # an HTML page's, read for its title or text
#: Where a project is named: for every read, or for one (a read given a region of its own needs it,
#: as that region drops the configured project).
PROJECT_TO_USE = f"{KEYS_BY_FIELD['project_id'].describe()}, or a read's project_id (--project-id)"
_EPOCH = datetime(1970, 1, 1)  # naive: isoformat() then has no offset
_V = TypeVar("_V", bound="_Validated")


def _flavor(value: Any) -> Any:
    """A ``flavor`` object, also sent as its code alone or wrapped in a one-element list (as the API
    reference's samples wrap ``schedule``, which is not read at all)."""
    value = value[0] if isinstance(value, list) and len(value) == 1 else value
    return {"code": value} if isinstance(value, str) else value


def _number(value: Any, *, whole: bool) -> Any:
    """A JSON number, also sent as JSON text (``"197"``): finite, and at most 2**53 - 1 in size
    (the engine's doubles carry no more exactly; a larger one would show a change on every diff)."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):  # text that is not a JSON number stays text: refused
            value = from_json(value.strip(), allow_inf_nan=False)
    if whole and isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int if whole else int | float):
        raise ValueError(f"expected a {'whole ' if whole else ''}number, got {type(value).__name__}")
    if abs(value) > MAX_WHOLE_NUMBER if isinstance(value, int) else not math.isfinite(value):
        raise ValueError(f"expected a finite number of at most {MAX_WHOLE_NUMBER}")
    return value + 0  # -0.0 is 0.0: one value, one output


class _Validated:
    """A value read from an answer: equal to another of its class with equal fields, shown by them
    (scrubbed of secrets as every text read is); unhashable, as its fields could be changed."""

    __hash__ = None  # type: ignore[assignment]

    def _fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in type(self).__annotations__}

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._fields() == other._fields()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self._fields().items())})"

    @classmethod
    def model_validate(cls: type[_V], document: Any) -> _V:
        """The object a JSON value describes, by the validator :func:`_validators` made from the
        class's annotations; ``pydantic_core.ValidationError`` if it does not."""
        return cast(_V, _validators()[cls].validate_python(document))


class Flavor(_Validated):
    """A job's ``flavor``: the resource specification it runs on."""

    code: str | None


class JobModel(_Validated):
    """One visualization job: every output of :data:`outputs.OUTPUTS` but the place it was read in."""

    job_id: int
    job_name: str
    status: int
    project_id: str | None  # not documented; when sent, the project the job belongs to
    job_desc: str | None
    service_url: str | None
    resource_id: str | None
    train_url: str | None
    duration: int | None
    create_time: int | None
    remaining_duration: float | None
    job_type: str | None
    flavor: Flavor | None
    is_success: bool | None

    @property
    def status_name(self) -> str:
        return status_name(self.status)

    @property
    def is_running(self) -> bool:
        return self.status == JobStatus.RUNNING

    @property
    def flavor_code(self) -> str | None:
        return self.flavor.code if self.flavor else None

    @property
    def created_at(self) -> str | None:
        """``create_time`` as RFC 3339 in UTC ending in ``Z``; never the machine's local time. None
        outside years 1-9999 (RFC 3339 has four-digit years; ``strftime`` would not pad them)."""
        if self.create_time is None:
            return None
        seconds, millis = divmod(self.create_time, 1000)
        try:
            text = (_EPOCH + timedelta(seconds=seconds)).isoformat()
        except OverflowError:
            return None
        return f"{text}.{millis:03d}Z" if millis else f"{text}Z"

    def to_outputs(self, *, project_id: str, region: str) -> dict[str, Any]:
        """The flat, JSON-native outputs in :data:`outputs.OUTPUTS` order; equal jobs, equal dicts."""
        place = {"project_id": project_id, "region": region}
        return {name: place[name] if name in place else getattr(self, name) for name in OUTPUT_FIELDS}


class JobPage(_Validated):
    """One page of ``GET /v1/{project_id}/visualization-jobs``."""

    job_total_count: int | None
    jobs: list[JobModel]
    is_success: bool | None


@functools.cache
def _validators() -> dict[type, SchemaValidator]:
    """Validators made from the classes' annotations on first use, with ``pydantic_core`` alone
    (``pydantic``'s model layer would add tens of milliseconds to every process's first read)."""
    whole, real = functools.partial(_number, whole=True), functools.partial(_number, whole=False)
    kinds: dict[str, Any] = {
        "int": core_schema.no_info_before_validator_function(whole, core_schema.int_schema()),
        "float": core_schema.no_info_before_validator_function(real, core_schema.float_schema()),
        "str": core_schema.no_info_after_validator_function(scrub_data, core_schema.str_schema()),
        "bool": core_schema.bool_schema(),
    }
    kinds["job_id"] = core_schema.no_info_before_validator_function(whole, core_schema.int_schema(gt=0))
    for cls in (Flavor, JobModel, JobPage):
        fields = {}
        for name, hint in cls.__annotations__.items():
            schema = kinds.get(name) or kinds[hint.removesuffix(" | None")]
            if hint.endswith(" | None"):
                schema = core_schema.with_default_schema(core_schema.nullable_schema(schema), default=None)
            fields[name] = core_schema.model_field(schema)
        kinds[cls.__name__] = core_schema.model_schema(cls, core_schema.model_fields_schema(fields))
        if cls is Flavor:
            kinds["flavor"] = core_schema.no_info_before_validator_function(_flavor, kinds["Flavor"])
        if cls is JobModel:  # a page's jobs: absent or null (an empty array as Jackson writes it), none
            jobs = core_schema.no_info_before_validator_function(
                lambda value: [] if value is None else value, core_schema.list_schema(kinds["JobModel"])
            )
            kinds["list[JobModel]"] = core_schema.with_default_schema(jobs, default_factory=list)
    kinds["JobPage"] = core_schema.no_info_before_validator_function(_listing, kinds["JobPage"])
    return {cls: SchemaValidator(kinds[cls.__name__]) for cls in (JobModel, JobPage, bool)}


def _listing(document: Any) -> Any:
    """A list answer says so by one of its own keys (an empty one may hold ``is_success`` alone, as
    Jackson omits empty values); ``{}`` or a job's details are no listing, not a listing of no jobs."""
    if isinstance(document, dict) and not _LISTING_KEYS.intersection(document):
        raise ValueError(f"no listing: none of {', '.join(sorted(_LISTING_KEYS))}")
    return document


_LISTING_KEYS = frozenset({"is_success", "jobs", "job_total_count", "job_count_limit", "quotas"})


def _as_cp1252(error: UnicodeError) -> tuple[str, int]:
    """Bytes that are not UTF-8 read as Windows-1252, what a page in Latin-1 means: a secret echoed
    in a legacy charset then reads as itself, and is scrubbed."""
    assert isinstance(error, UnicodeDecodeError)
    return error.object[error.start : error.end].decode("cp1252", "replace"), error.end


codecs.register_error("pulumi_modelarts.cp1252", _as_cp1252)


def excerpt(response: HttpResponse) -> str:
    """A short, one-line, secret-free view of a body for error messages; redaction runs before the
    cut, with room to spare, so a secret that straddles the cut is still recognised whole. A UTF-16
    or UTF-32 body is decoded as such (told by its BOM or zero bytes), or an echo would escape. An
    HTML page (a proxy's or a load balancer's error page) is shown by its title, else its text."""
    body, content_type = response.body, response.headers.get("Content-Type", "")
    head = body[: (_PAGE_CHARS + 4096) * 4]  # read past each cut, made as the text is scrubbed
    text = head.decode(json.detect_encoding(body), errors="pulumi_modelarts.cp1252")
    declared = content_type.partition(";")[0].strip().lower() in _HTML_TYPES and text.lstrip().startswith("<")
    if declared or _HTML_START.match(text):  # JSON or plain text sent as text/html is quoted as it is
        # Scrubbed again there: entities are decoded.
        said = one_line(_page_text(redact(text, _PAGE_CHARS)), EXCERPT_CHARS)
        return f'an HTML page ("{said}")' if said else "an HTML page"
    return one_line(redact(text, EXCERPT_CHARS * 4), EXCERPT_CHARS) or "<empty>"


_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
#: An HTML document's start, after an XML declaration and comments (tinyproxy, IIS and Squid send these).
_HTML_START = re.compile(
    r"\ufeff?\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html|head|title|body)\b", re.I | re.S
)


def _page_text(page: str) -> str:
    """An HTML page's title, else its text; never its markup, attributes, scripts or styles."""
    from html.parser import HTMLParser  # only once a server sends a page

    class Reader(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.title: list[str] = []
            self.text: list[str] = []
            self.inside: str | None = None

        def handle_starttag(self, tag: str, attrs: object) -> None:  # noqa: ARG002 - never shown
            self.inside = tag if tag in ("title", "script", "style") else self.inside

        def handle_endtag(self, tag: str) -> None:
            self.inside = None if tag == self.inside else self.inside

        def handle_data(self, data: str) -> None:
            if self.inside != "script" and self.inside != "style":
                (self.title if self.inside == "title" else self.text).append(data)

    reader = Reader()
    reader.feed(page)
    title = " ".join("".join(reader.title).split())
    return title or " ".join(" ".join(reader.text).split())


@functools.lru_cache(maxsize=64)
def _other_charset(content_type: str) -> str | None:
    """The ``charset`` a Content-Type declares, in lower case, unless it is UTF-8 by any of its names
    (``UTF8``); parsed once per header text (one per server)."""
    declared = Message()
    declared["Content-Type"] = content_type
    charset = declared.get_content_charset()
    with contextlib.suppress(LookupError):  # a charset Python does not know is another
        if charset and codecs.lookup(charset).name == "utf-8":
            return None
    return charset


#: A body of more JSON values than this (counted by the commas, brackets and braces that make them)
#: is refused unparsed: each value becomes a Python object many times its bytes (10 MiB of ``[],``
#: held 280 MiB), and a page of 100 jobs, their descriptions' commas included, holds under 30,000.
MAX_JSON_VALUES = 100_000


def decode_json(response: HttpResponse) -> Any:
    """The JSON value of a body, or ValueError: UTF-8 only (a leading BOM is ignored), no NaN or
    Infinity, no lone surrogates, nesting at most 200 deep (pydantic's parser enforces these), at
    most MAX_JSON_VALUES values, and no ``charset`` declared that reads the bytes as other text
    than UTF-8 does."""
    body, charset = response.body, _other_charset(response.headers.get("Content-Type", ""))
    if sum(map(body.count, (b",", b"[", b"{"))) > MAX_JSON_VALUES:
        raise ValueError(f"over {MAX_JSON_VALUES:,} values, more than any answer of ModelArts holds")
    if charset:
        try:
            same = body.decode(charset) == body.decode("utf-8")
        except (LookupError, UnicodeError):
            same = False
        if not same:
            raise ValueError(f"charset={one_line(charset, 40)} declared, but only UTF-8 is read")
    return from_json(body.removeprefix(codecs.BOM_UTF8), allow_inf_nan=False)


def _first_text(document: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = document.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


def _error_field(document: dict[str, Any], *keys: str) -> str | None:
    """An error field however a body nests it: Keystone's ``{"error": {...}}`` first, then the body."""
    nested = document.get("error")
    return (_first_text(nested, *keys) if isinstance(nested, dict) else None) or _first_text(document, *keys)


def _error_code(document: dict[str, Any]) -> str | None:
    """A body's error code, in any of its spellings: the same one tells a failure and names it."""
    return _error_field(document, "error_code", "errorCode", "code")


def _code_key(code: str | None) -> str:
    """An error code as the code tables spell it: any case, the gateway's ``APIGW.`` as ``APIG.``."""
    return (code or "").strip().lower().replace("apigw.", "apig.", 1)


def names_another_project(response: HttpResponse) -> bool:
    """Whether a refusal says the project in its URL is not the credentials' (PROJECT_MISMATCH_CODES)."""
    try:
        document = decode_json(response) if response.status >= 400 else None
    except ValueError:
        return False
    return isinstance(document, dict) and _code_key(_error_code(document)) in PROJECT_MISMATCH_CODES


def error_for(response: HttpResponse, context: RequestContext) -> ModelArtsError:
    """The typed error for a failed response (non-2xx; 2xx with ``is_success: false`` or an error
    code). The body may be ModelArts v1, gateway/IAM or Keystone (``{"error": {...}}``); empty counts
    as an API answer."""
    status = response.status
    try:
        document: Any = decode_json(response) if response.body.strip() else {}
    except ValueError:
        document = None
    is_api_body = isinstance(document, dict)
    document = document if is_api_body else {}
    code = _error_code(document)
    key = _code_key(code)
    code = None if code and code.strip() == str(status) else code  # Keystone's "code": 401 is the status
    tries = f" after {response.attempts} attempts" if response.attempts > 1 else ""
    retry_after = one_line(heeded_retry_after(response.headers.get("Retry-After", "")) or "", 40)
    wait = f"; server asks to wait {retry_after}{' s' * retry_after.isdigit()}" if retry_after else ""
    cls: type[ModelArtsError] = errors.ServiceError
    hint, transient = None, status >= 500 or status in RETRY_STATUSES
    more = to_raise(response.deadline_cut)
    # Text that is cut here is scrubbed of secrets first; the error scrubs everything else.
    if 300 <= status < 400:
        target = one_line(response.headers.get("Location", ""), 80)
        summary = f"unexpected redirect to {target}" if target else f"unexpected HTTP {status}"
        cls = errors.InvalidResponseError
        hint = "Point modelarts:endpoint / authUrl at the API host itself"
    elif key in PROJECT_MISMATCH_CODES:
        cls, summary = errors.PermissionDeniedError, "the project ID does not match the credentials"
        hint = f"Set {PROJECT_TO_USE} to the project of these credentials, or leave it unset"
    elif key in THROTTLE_CODES or status == 429:
        cls, summary = errors.ThrottledError, f"request throttled{tries}{wait}"
        hint = f"Lower the parallelism or raise {more}"
        if not transient:  # a throttling code in a 200 or 400: never retried, whatever maxRetries says
            hint = f"Lower the parallelism or try again later (an answer with HTTP {status} is not retried)"
    elif context.job_id is not None and key in NOT_FOUND_CODES and (status < 300 or status in (400, 404)):
        cls, summary = errors.JobNotFoundError, "visualization job not found"
    elif not is_api_body:
        cls = errors.ServiceError if transient else errors.InvalidResponseError
        summary = f"HTTP {status}{tries} with a non-API body: {excerpt(response)}"
        if response.proxy:  # a forward proxy's own error page is as likely as the endpoint's
            summary += f", perhaps sent by the proxy {response.proxy} (HTTPS_PROXY / HTTP_PROXY)"
            hint = PROXY_HINT
    elif key not in DENIED_CODES and (status == 401 or key in REJECTED_CODES):
        cls, summary = errors.AuthenticationError, "credentials rejected"
    elif status in (401, 403) or key in DENIED_CODES:
        cls, summary = errors.PermissionDeniedError, "access denied"
    elif key in MISSING_API_CODES:
        cls, summary = errors.ConfigurationError, "the endpoint does not serve this API"
        hint = "Check modelarts:endpoint and region"
    elif status == 404:
        cls, summary = errors.InvalidResponseError, "unexpected HTTP 404"
        if context.job_id is not None:
            summary = "HTTP 404 without a ModelArts not-found code, so not taken for a missing job"
    else:
        summary = f"service failed{tries}{wait}" if transient else "request rejected by the service"
        checks = "the job ID, project" if context.job_id is not None else "the project"
        own = errors.ServiceError in (context.hints or {})  # IAM's: its context names authUrl
        hint = None if transient or own else f"Check {checks} and endpoint against the service's message"
    message = _error_field(document, "error_message", "error_msg", "errorMsg", "message")
    if not (code or message) and document:  # another convention (RFC 9457, OAuth 2): the body says it
        message = excerpt(response)
    if transient and hint is None and cls is errors.ServiceError:
        hint = f"Try again later; if it persists, raise {more}"
    request_id = response.request_id or _first_text(document, "request_id")
    return context.error(
        cls, summary, hint=hint, status=status, error_code=code, error_message=message, request_id=request_id
    )


def invalid_response(
    response: HttpResponse, context: RequestContext, summary: str, hint: str | None = None
) -> ModelArtsError:
    """An answer with a successful status that is not what was asked for."""
    status, request_id = response.status, response.request_id
    return context.error(
        errors.InvalidResponseError, summary, status=status, request_id=request_id, hint=hint
    )


def _invalid(response: HttpResponse, context: RequestContext, what: str) -> ModelArtsError:
    return invalid_response(response, context, f"{what}: {excerpt(response)}")


def json_object(response: HttpResponse, context: RequestContext) -> dict[str, Any]:
    """The body of a successful response as a JSON object, or the error it really is."""
    if not 200 <= response.status < 300:
        raise error_for(response, context)
    try:
        document = decode_json(response)
    except ValueError as exc:
        raise _invalid(response, context, f"response is not readable JSON ({exc})") from None
    if not isinstance(document, dict):
        raise _invalid(response, context, f"expected a JSON object, got {type(document).__name__}")
    success, code = document.get("is_success"), _error_code(document)
    with contextlib.suppress(ValidationError):  # is_success as the models read it ("false", 0 too)
        success = None if success is None else _validators()[bool].validate_python(success)
    if success is False or (success is None and code):  # the details call's failure has no is_success
        raise error_for(response, context)
    if success is True and code:
        raise _invalid(
            response,
            context,
            f"is_success is true, yet the body carries error code {one_line(code, 40)}",
        )
    return document


def read_model(model: type[_V], response: HttpResponse, context: RequestContext) -> _V:
    """The body of a successful response as ``model``; any other answer is a typed error."""
    try:
        return model.model_validate(json_object(response, context))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        # A check of this module's own says what it wanted ("expected a whole number, got float").
        said = first["msg"].removeprefix("Value error, ") if first["type"] == "value_error" else first["type"]
        summary = f"unexpected response shape at '{where}' ({said})"
        raise _invalid(response, context, summary) from None
