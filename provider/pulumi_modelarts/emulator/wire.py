"""The emulator on the wire, without sockets: routes, the gateway's checks, and the JSON shapes
of ModelArts, the API gateway and IAM (their errors together, so every route answers alike)."""

from __future__ import annotations

import hmac
import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from http.client import responses
from typing import Any, Final, Literal, NamedTuple
from urllib.parse import parse_qs, parse_qsl, unquote

from .. import signing
from .backend import Backend

JSON_CONTENT_TYPE: Final = "application/json;charset=UTF-8"
#: Route names: what faults and the request log refer to. Anything not published is ``unknown``.
ROUTES: Final = ("get_job", "list_jobs", "iam_token", "iam_projects", "unknown")
#: Sort keys the list call accepts (``sortBy``).
SORT_KEYS: Final = ("job_id", "job_name", "job_desc", "create_time", "status")
#: The list call's ``quotas`` (its sample's); ``job_count_limit`` is what is left of it.
JOB_QUOTA: Final = 100
#: Clock skew the gateway tolerates on ``X-Sdk-Date``.
MAX_SKEW_SECONDS: Final = 15 * 60
_NOT_PUBLISHED: Final = "The API does not exist or has not been published in the environment"
_PROJECT_MISMATCH: Final = "The project id in the request URL does not match the token"
_BAD_SIGNATURE: Final = "Incorrect IAM authentication information: verify aksk signature fail"
_IAM_ROUTES: Final = {("POST", "/v3/auth/tokens"): "iam_token", ("GET", "/v3/projects"): "iam_projects"}
_JOB_ID = re.compile(r"[0-9]{1,19}")
_COUNT = re.compile(r"[0-9]{1,9}")
_FIELDS = {"Access", "SignedHeaders", "Signature"}  # of the Authorization header


@dataclass(frozen=True)
class Request:
    """One HTTP request: path and query as sent (signatures cover them), header names lowercased."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    request_id: str

    @cached_property
    def params(self) -> dict[str, list[str]]:
        return parse_qs(self.query, keep_blank_values=True)

    def param(self, name: str) -> str | None:
        """First value of a query parameter (what the Java back end reads), None when absent."""
        return self.params.get(name, [None])[0]

    @property
    def auth(self) -> Literal["token", "aksk"] | None:
        """The kind of credentials presented, valid or not (for the request log)."""
        if self.headers.get("x-auth-token"):
            return "token"
        return "aksk" if (self.headers.get("authorization") or "").startswith(signing.ALGORITHM) else None


@dataclass
class Reply:
    """What to send back; ``action``: a fault's drop or reset, or a refusal's close once answered."""

    status: int
    body: bytes = b""
    content_type: str | None = JSON_CONTENT_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    action: Literal["respond", "refuse", "drop", "reset"] = "respond"


def json_reply(status: int, document: Any, headers: dict[str, str] | None = None) -> Reply:
    """Compact, deterministic JSON: repeated reads of unchanged data are byte-identical."""
    body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return Reply(status, body, headers=headers or {})


def modelarts_error(status: int, code: str, message: str) -> Reply:
    return json_reply(status, {"is_success": False, "error_code": code, "error_message": message})


def gateway_error(status: int, code: str, message: str, request_id: str | None = None) -> Reply:
    """The API gateway's shape (APIG.xxxx), which also carries the request ID, or IAM's, without it."""
    body = {"error_code": code, "error_msg": message}
    return json_reply(status, body | ({"request_id": request_id} if request_id else {}))


def _bad_parameter(message: str) -> Reply:
    return modelarts_error(400, "ModelArts.0104", message)


def fault_error(route: str, status: int, code: str | None, message: str | None, request_id: str) -> Reply:
    """A fault's error in the shape of the route's layer; by default the gateway's APIG.0201."""
    code, message = code or "APIG.0201", message or responses.get(status, "Error")
    if route in ("get_job", "list_jobs"):
        return modelarts_error(status, code, message)
    return gateway_error(status, code, message, request_id)


class Match(NamedTuple):
    """A routed request: the route name, and the project and job ID (decoded) in its path."""

    route: str
    project_id: str | None = None
    job_id: str | None = None


def route(method: str, path: str) -> Match:
    """Route exactly like the gateway (only reads, no empty segment): wrong URLs get APIG.0101."""
    if path.startswith("/v3/"):
        return Match(_IAM_ROUTES.get((method, path), "unknown"))
    parts = [unquote(part) for part in path.split("/")]
    shape = parts[:2] == ["", "v1"] and 4 <= len(parts) <= 5 and parts[3] == "visualization-jobs"
    if method != "GET" or not shape or "" in parts[2:]:
        return Match("unknown")
    return Match("get_job" if len(parts) == 5 else "list_jobs", *parts[2::2])  # project, job ID


def answer(request: Request, match: Match, backend: Backend) -> Reply:
    """The normal answer: the gateway's checks, then the call itself."""
    name, project_id, job_id = match
    if name == "unknown":
        return gateway_error(404, "APIG.0101", _NOT_PUBLISHED, request.request_id)
    if name == "iam_token":
        return _issue_token(request, backend)
    if refused := _gateway_check(request, backend, project_id):
        return refused
    if name == "iam_projects":
        return _list_projects(request, backend)
    own = project_id == backend.project_id
    if name == "list_jobs":
        return _list_jobs(request, backend, own)
    return _get_job(job_id or "", backend, own)


def _gateway_check(request: Request, backend: Backend, project_id: str | None) -> Reply | None:
    """Token or AK/SK signature, as the gateway checks them, its refusal if any; a token works in its
    own project only, AK/SK in any project of the account (and ``X-Project-Id``, if sent, must match)."""
    token_id = request.headers.get("x-auth-token")
    if token_id:
        project, expires_at = backend.tokens.get(token_id, (None, 0.0))
        if time.time() >= expires_at:  # unknown tokens too
            return gateway_error(401, "APIG.0307", "The token must be updated", request.request_id)
        if project is None and project_id is not None:
            return modelarts_error(401, "ModelArts.0212", "Token does not contain a project")
        allowed = project_id in (None, project and project.id)
    else:
        if not _signed(request, backend):
            return gateway_error(401, "APIG.0301", _BAD_SIGNATURE, request.request_id)
        known = backend.project(project_id) is not None  # a project of the account
        allowed = project_id is None or (known and request.headers.get("x-project-id") in (None, project_id))
    return None if allowed else modelarts_error(403, "ModelArts.0210", _PROJECT_MISMATCH)


class Authorization(NamedTuple):
    access_key: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(value: str) -> Authorization | None:
    algorithm, _, rest = value.strip().partition(" ")
    parts = [part.strip().partition("=") for part in rest.split(",")]
    fields = {key: item for key, _, item in parts}
    if algorithm != signing.ALGORITHM or not all(sep for _, sep, _ in parts) or not fields.keys() >= _FIELDS:
        return None
    signed = tuple(filter(None, fields["SignedHeaders"].split(";")))
    return Authorization(fields["Access"], signed, fields["Signature"])


def verify(*, secret_key: str, authorization: Authorization, **request: Any) -> bool:
    """Recompute the client's signature over the headers it declared; compare as bytes, in constant time."""
    access_key, signed, signature = authorization
    expected = signing.sign(**request, access_key=access_key, secret_key=secret_key, signed_headers=signed)
    return hmac.compare_digest(expected.rpartition("Signature=")[2].encode(), signature.encode())


def _signed(request: Request, backend: Backend) -> bool:
    """A valid AK/SK signature of this request, dated within the tolerated skew."""
    try:  # as signing writes it: strptime alone also reads 20261202t070505z and 20261202T07055Z
        signed_at = datetime.strptime(date := request.headers.get("x-sdk-date") or "", signing.DATE_FORMAT)
    except ValueError:
        return False
    signed: dict[str, Any] = {"method": request.method, "path": request.path, "body": request.body}
    signed |= {"query": parse_qsl(request.query, keep_blank_values=True), "headers": request.headers}
    return (
        (parsed := parse_authorization(request.headers.get("authorization") or "")) is not None
        and parsed.access_key == backend.credentials.access_key
        and {"host", "x-sdk-date"} <= set(parsed.signed_headers)
        and signed_at.strftime(signing.DATE_FORMAT) == date
        and abs(signed_at.replace(tzinfo=timezone.utc).timestamp() - time.time()) <= MAX_SKEW_SECONDS
        and verify(**signed, secret_key=backend.credentials.secret_key, authorization=parsed)
    )


def _get_job(raw_id: str, backend: Backend, own: bool) -> Reply:
    if not _JOB_ID.fullmatch(raw_id) or int(raw_id) > 2**63 - 1:
        return _bad_parameter(f"Invalid parameter: job_id should be a number, got {raw_id[:64]}")
    if own and (job := backend.by_id.get(int(raw_id))) is not None:
        return json_reply(200, {"is_success": True, **job})
    return modelarts_error(400, "ModelArts.2775", f"training job (ID {raw_id}) not found")


def _list_jobs(request: Request, backend: Backend, own: bool) -> Reply:
    """Other projects of the account exist only so auth can be tested: they hold no jobs."""
    per_page, page = request.param("per_page") or "10", request.param("page") or "1"
    sort_by, order = request.param("sortBy") or "job_id", request.param("order") or "asc"
    search, status = request.param("search_content") or "", request.param("status") or None
    valid = {
        "per_page": _COUNT.fullmatch(per_page) and 1 <= int(per_page) <= 1000,
        "page": _COUNT.fullmatch(page) and int(page) >= 1,
        "sortBy": sort_by in SORT_KEYS,
        "order": order in ("asc", "desc"),
        "search_content": len(search) <= 64,
        "status": status is None or _COUNT.fullmatch(status),
    }
    if not valid["search_content"]:  # the documented message, with the parameter table's bound
        return _bad_parameter("The length of search content should be in [0,64]")
    if not all(valid.values()):
        return _bad_parameter(f"Invalid parameter: {', '.join(name for name, ok in valid.items() if not ok)}")
    wanted = None if status is None else int(status)
    found = backend.query(wanted, search, sort_by, order == "desc") if own else []
    start = (int(page) - 1) * int(per_page)
    shown = [{name: job[name] for name in _LIST_FIELDS} for job in found[start : start + int(per_page)]]
    left = max(0, JOB_QUOTA - len(backend.by_id)) if own else JOB_QUOTA
    counts = {"job_total_count": len(found), "job_count_limit": left, "quotas": JOB_QUOTA}
    return json_reply(200, {"is_success": True, **counts, "jobs": shown})


#: Fields of one item of the list call (§1.3), in the documented order.
_LIST_FIELDS: Final = (
    *("job_name", "status", "create_time", "duration", "job_desc"),
    *("service_url", "train_url", "job_id", "resource_id"),
)


def _issue_token(request: Request, backend: Backend) -> Reply:
    """``POST /v3/auth/tokens`` with a password (201): a project-scoped token, or without a project
    in the scope a global one, which ModelArts refuses. Only what the package reads is answered:
    the ``X-Subject-Token`` header, the expiry and the project."""
    try:
        auth = json.loads(request.body)["auth"]
        methods, user = auth["identity"]["methods"], auth["identity"]["password"]["user"]
        given = [user["name"], user["password"], user.get("domain", {}).get("name")]
        wanted = (auth.get("scope") or {}).get("project") or {}
        project_id, project_name = wanted.get("id"), wanted.get("name")
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):  # UnicodeDecodeError too
        return gateway_error(400, "IAM.0011", "Request parameter auth is invalid")
    creds = backend.credentials
    if methods != ["password"]:
        return gateway_error(400, "IAM.0011", "Request parameter auth.identity.methods is invalid")
    if given != [creds.user_name, creds.password, creds.domain_name]:
        # One message for every mismatch, as IAM answers, so a refusal never tells which was wrong.
        return gateway_error(401, "IAM.0062", "Incorrect IAM user name, password or account name")
    project = backend.project(str(project_id)) if project_id else backend.project(name=str(project_name))
    if project is None and (project_id or project_name):
        return gateway_error(400, "IAM.1109", "The project does not exist")
    token_id = backend.mint(project)
    expires = datetime.fromtimestamp(backend.tokens[token_id][1], timezone.utc)
    body: dict[str, Any] = {"expires_at": expires.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    body |= {"project": {"id": project.id, "name": project.name}} if project else {}
    return json_reply(201, {"token": body}, {"X-Subject-Token": token_id})


def _list_projects(request: Request, backend: Backend) -> Reply:
    """``GET /v3/projects``: the account's projects, filtered by exact ``name`` when given."""
    name = request.param("name")
    listed = [{"id": p.id, "name": p.name} for p in backend.projects if name in (None, p.name)]
    return json_reply(200, {"projects": listed})
