"""The emulator on the wire: routes, the gateway's checks, and the ModelArts and IAM JSON shapes.

Requests and replies are plain values, so nothing here touches sockets. The three error shapes
(ModelArts v1, API gateway, IAM) live together so that every route answers consistently.
"""

from __future__ import annotations

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
from .backend import Backend, Project

JSON_CONTENT_TYPE: Final = "application/json;charset=UTF-8"
GET_JOB: Final = "get_job"
LIST_JOBS: Final = "list_jobs"
IAM_TOKEN: Final = "iam_token"  # noqa: S105 - a route name, not a secret
IAM_PROJECTS: Final = "iam_projects"
UNKNOWN: Final = "unknown"
#: Route names: what faults and the request log refer to. Anything not published is ``unknown``.
ROUTES: Final = (GET_JOB, LIST_JOBS, IAM_TOKEN, IAM_PROJECTS, UNKNOWN)
#: Sort keys the list call accepts (``sortBy``).
SORT_KEYS: Final = ("job_id", "job_name", "job_desc", "create_time", "status")
#: Clock skew the gateway tolerates on ``X-Sdk-Date``.
MAX_SKEW_SECONDS: Final = 15 * 60
DOMAIN_ID: Final = "0d1e2f3a4b5c4d6e8f7a9b0c1d2e3f40"
USER_ID: Final = "5e6f7a8b9c0d4e1f8a2b3c4d5e6f7a81"
_NOT_PUBLISHED: Final = "The API does not exist or has not been published in the environment"
_PROJECT_MISMATCH: Final = "The project id in the request URL does not match the token"
_JOB_ID = re.compile(r"[0-9]{1,19}")
_COUNT = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True)
class Request:
    """One HTTP request: raw path and query exactly as sent (signatures cover them), header names
    lowercased."""

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
    """What to send back; ``action`` lets a fault drop or reset the connection instead."""

    status: int
    body: bytes = b""
    content_type: str | None = JSON_CONTENT_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    action: Literal["respond", "drop", "reset"] = "respond"


class Refused(Exception):
    """A request answered with an error; carries the reply."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply


def json_reply(status: int, document: Any, headers: dict[str, str] | None = None) -> Reply:
    """Compact, deterministic JSON: repeated reads of unchanged data are byte-identical."""
    body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return Reply(status, body, headers=headers or {})


def modelarts_error(status: int, code: str, message: str) -> Reply:
    return json_reply(status, {"is_success": False, "error_code": code, "error_message": message})


def gateway_error(status: int, code: str, message: str, request_id: str) -> Reply:
    """The API gateway's shape (APIG.xxxx), which also carries the request ID."""
    return json_reply(status, {"error_code": code, "error_msg": message, "request_id": request_id})


def iam_error(status: int, code: str, message: str) -> Refused:
    return Refused(json_reply(status, {"error_code": code, "error_msg": message}))


def _bad_parameter(message: str, code: str = "ModelArts.0104") -> Refused:
    return Refused(modelarts_error(400, code, message))


def fault_error(route: str, status: int, code: str | None, message: str | None, request_id: str) -> Reply:
    """A fault's error answer in the shape of the layer that owns the route; by default the
    gateway's catch-all for an upstream failure, APIG.0201."""
    code, message = code or "APIG.0201", message or responses.get(status, "Error")
    if route in (GET_JOB, LIST_JOBS):
        return modelarts_error(status, code, message)
    return gateway_error(status, code, message, request_id)


class Match(NamedTuple):
    """A routed request: the route name, and the project and job ID (decoded) in its path."""

    route: str
    project_id: str | None = None
    job_id: str | None = None


def route(method: str, path: str) -> Match:
    """Match a request exactly like the gateway does (no trailing slash, no empty segment), so a
    client that builds URLs wrongly sees APIG.0101 here first. Only reads are published."""
    if path == "/v3/auth/tokens":
        return Match(IAM_TOKEN if method == "POST" else UNKNOWN)
    if path == "/v3/projects":
        return Match(IAM_PROJECTS if method == "GET" else UNKNOWN)
    parts = [unquote(part) for part in path.split("/")]
    if method != "GET" or not 4 <= len(parts) <= 5 or "" in parts[2:]:
        return Match(UNKNOWN)
    if parts[:2] != ["", "v1"] or parts[3] != "visualization-jobs":
        return Match(UNKNOWN)
    if len(parts) == 4:
        return Match(LIST_JOBS, parts[2])
    return Match(GET_JOB, parts[2], parts[4])


def answer(request: Request, match: Match, backend: Backend, *, not_found_style: str, iam_url: str) -> Reply:
    """The normal answer: the gateway's checks, then the call itself."""
    name, project_id, job_id = match
    if name == UNKNOWN:
        return gateway_error(404, "APIG.0101", _NOT_PUBLISHED, request.request_id)
    try:
        if name == IAM_TOKEN:
            return _issue_token(request, backend)
        _gateway_check(request, backend, project_id)
        if name == IAM_PROJECTS:
            return _list_projects(request, backend, iam_url)
        own = project_id == backend.project_id
        if name == LIST_JOBS:
            return _list_jobs(request, backend, own)
        return _get_job(job_id or "", backend, own, not_found_style)
    except Refused as refused:
        return refused.reply


# -- the API gateway -------------------------------------------------------------------------------


def _gateway_check(request: Request, backend: Backend, project_id: str | None) -> None:
    """Token or AK/SK signature, as the gateway checks them; a token works in its own project
    only, AK/SK in any project of the account (and ``X-Project-Id``, if sent, must match)."""
    token_id = request.headers.get("x-auth-token")
    if token_id:
        token = backend.tokens.get(token_id)
        if token is None or not token.valid:
            raise Refused(gateway_error(401, "APIG.0307", "The token must be updated", request.request_id))
        allowed = project_id in (None, token.project.id)
    else:
        failure = _signature_failure(request, backend)
        if failure:
            raise Refused(gateway_error(401, "APIG.0301", failure, request.request_id))
        allowed = project_id is None or (
            backend.project(project_id) is not None
            and request.headers.get("x-project-id") in (None, project_id)
        )
    if not allowed:
        raise Refused(modelarts_error(403, "ModelArts.0210", _PROJECT_MISMATCH))


def _signature_failure(request: Request, backend: Backend) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return "Incorrect IAM authentication information: Authorization header not found"
    parsed = signing.parse_authorization(header)
    if parsed is not None and parsed.access_key != backend.credentials.access_key:
        return "Get secretKey failed, ak not exist"
    try:
        signed_at = signing.parse_sdk_date(request.headers.get(signing.DATE_HEADER.lower()) or "").timestamp()
    except ValueError:
        signed_at = 0.0
    valid = (
        parsed is not None
        and {"host", "x-sdk-date"} <= set(parsed.signed_headers)
        and abs(signed_at - time.time()) <= MAX_SKEW_SECONDS
        and signing.verify(
            method=request.method,
            path=request.path,
            query=parse_qsl(request.query, keep_blank_values=True),
            headers=request.headers,
            body=request.body,
            secret_key=backend.credentials.secret_key,
            authorization=parsed,
        )
    )
    return None if valid else "verify aksk signature fail"


# -- ModelArts v1 ----------------------------------------------------------------------------------


def _get_job(raw_id: str, backend: Backend, own: bool, not_found_style: str) -> Reply:
    if not _JOB_ID.fullmatch(raw_id) or int(raw_id) > 2**63 - 1:
        raise _bad_parameter(f"Invalid parameter: job_id should be a number, got {raw_id[:64]}")
    job = backend.by_id.get(int(raw_id)) if own else None
    if job is not None:
        return json_reply(200, {"is_success": True, **job})
    if not_found_style == "404":
        return modelarts_error(404, "ModelArts.0015", "The resource you requested is not exist")
    return modelarts_error(400, "ModelArts.2775", f"training job (ID {raw_id}) not found")


def _count(request: Request, name: str, default: int, high: int) -> int:
    raw = request.param(name)
    if raw is None:
        return default
    if not _COUNT.fullmatch(raw) or not 1 <= int(raw) <= high:
        raise _bad_parameter(f"The value of {name} should be in [1,{high}]")
    return int(raw)


def _list_jobs(request: Request, backend: Backend, own: bool) -> Reply:
    """Other projects of the account exist only so auth can be tested: they hold no jobs."""
    per_page = _count(request, "per_page", 10, 1000)
    page = _count(request, "page", 1, 2**31 - 1)
    sort_by = request.param("sortBy") or "job_id"
    if sort_by not in SORT_KEYS:
        message = f"UnsupportedSortBy: sortBy should be one of {', '.join(SORT_KEYS)}"
        raise _bad_parameter(message, "ModelArts.2790")
    order = request.param("order") or "asc"
    if order not in ("asc", "desc"):
        raise _bad_parameter("The value of order should be asc or desc")
    search = request.param("search_content") or ""
    if len(search) > 64:
        raise _bad_parameter("The length of search content should be in [0,64]")
    status = request.param("status") or None
    if status is not None and not _COUNT.fullmatch(status):
        raise _bad_parameter("The value of status should be a job status code")
    wanted = None if status is None else int(status)
    found = backend.query(wanted, search, sort_by, order == "desc") if own else []
    shown = [
        {name: job[name] for name in _LIST_FIELDS} for job in found[(page - 1) * per_page : page * per_page]
    ]
    return json_reply(200, {"is_success": True, "job_total_count": len(found), "jobs": shown})


#: Fields of one item of the list call (§1.3), in the documented order.
_LIST_FIELDS: Final = (
    "job_name",
    "status",
    "create_time",
    "duration",
    "job_desc",
    "service_url",
    "train_url",
    "job_id",
    "resource_id",
)


# -- IAM -------------------------------------------------------------------------------------------


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise iam_error(400, "IAM.0011", f"Request parameter {where} is invalid")
    return value


def _issue_token(request: Request, backend: Backend) -> Reply:
    """``POST /v3/auth/tokens``: a password or a valid token for a project-scoped token (201)."""
    try:
        document = json.loads(request.body or b"null")
    except ValueError:  # UnicodeDecodeError included
        document = None
    auth = _object(_object(document, "body").get("auth"), "auth")
    ident = _object(auth.get("identity"), "auth.identity")
    methods = ident.get("methods")
    if methods == ["password"]:
        user = _object(_object(ident.get("password"), "auth.identity.password").get("user"), "user")
        domain = _object(user.get("domain", {}), "user.domain").get("name")
        # One message for every mismatch, as IAM answers.
        if not backend.check_password(user.get("name"), user.get("password"), domain):
            raise iam_error(401, "IAM.0062", "Incorrect IAM user name, password or account name")
    elif methods == ["token"]:
        section = ident.get("token")
        # Huawei IAM falls back to the X-Auth-Token header when identity.token.id is absent.
        token_id = section.get("id") if isinstance(section, dict) else None
        token_id = token_id or request.headers.get("x-auth-token")
        token = backend.tokens.get(token_id) if isinstance(token_id, str) else None
        if token is None:
            raise iam_error(401, "IAM.0067", "Invalid token")
        if not token.valid:
            raise iam_error(401, "IAM.0066", "The token has expired")
    else:
        raise iam_error(400, "IAM.0011", "Request parameter auth.identity.methods is invalid")
    project = _scope(auth, backend)
    token_id = backend.mint(project)
    token = backend.tokens[token_id]
    domain_info = {"id": DOMAIN_ID, "name": backend.credentials.domain_name}
    body = {
        "expires_at": _iso(token.expires_at),
        "issued_at": _iso(token.issued_at),
        "methods": methods,
        "project": {"id": project.id, "name": project.name, "domain": domain_info},
        "user": {"id": USER_ID, "name": backend.credentials.user_name, "domain": domain_info},
    }
    return json_reply(201, {"token": body}, {"X-Subject-Token": token_id})


def _scope(auth: dict[str, Any], backend: Backend) -> Project:
    scope = auth.get("scope")
    wanted = scope.get("project") if isinstance(scope, dict) else None
    if not isinstance(wanted, dict) or not (wanted.get("id") or wanted.get("name")):
        message = "The token must be scoped to a project: set auth.scope.project.id or .name"
        raise iam_error(400, "IAM.0008", message)
    if wanted.get("id"):
        project = backend.project(str(wanted["id"]))
    else:
        project = backend.project(name=str(wanted["name"]))
    if project is None:
        raise iam_error(400, "IAM.1109", "The project does not exist")
    return project


def _list_projects(request: Request, backend: Backend, iam_url: str) -> Reply:
    """``GET /v3/projects``: the account's projects, filtered by exact ``name`` when given."""
    name = request.param("name")
    listed = [
        {"id": project.id, "name": project.name, "domain_id": DOMAIN_ID, "enabled": True}
        for project in backend.projects
        if name in (None, project.name)
    ]
    self_link = f"{iam_url}/projects" + (f"?{request.query}" if request.query else "")
    return json_reply(200, {"projects": listed, "links": {"self": self_link, "next": None, "previous": None}})
