"""Map (method, path) to a route name: the names faults, the request log and tests refer to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote

GET_JOB: Final = "get_job"
LIST_JOBS: Final = "list_jobs"
CREATE_JOB: Final = "create_job"
UPDATE_JOB: Final = "update_job"
DELETE_JOB: Final = "delete_job"
STOP_JOB: Final = "stop_job"
RESTART_JOB: Final = "restart_job"
IAM_TOKEN: Final = "iam_token"  # noqa: S105 - a route name, not a secret
IAM_PROJECTS: Final = "iam_projects"
UNKNOWN: Final = "unknown"

#: Every route name, in the order the API reference lists the calls.
ROUTES: Final = (
    GET_JOB,
    LIST_JOBS,
    CREATE_JOB,
    UPDATE_JOB,
    DELETE_JOB,
    STOP_JOB,
    RESTART_JOB,
    IAM_TOKEN,
    IAM_PROJECTS,
    UNKNOWN,
)
MODELARTS_ROUTES: Final = frozenset(ROUTES[:7])
IAM_ROUTES: Final = frozenset({IAM_TOKEN, IAM_PROJECTS})

_COLLECTION = {"GET": LIST_JOBS, "POST": CREATE_JOB}
_ITEM = {"GET": GET_JOB, "PUT": UPDATE_JOB, "DELETE": DELETE_JOB}
_ACTIONS = {"stop": STOP_JOB, "restart": RESTART_JOB}


@dataclass(frozen=True)
class Match:
    """A routed request; ``job_id`` is the raw (decoded) path segment, validated by the handler."""

    route: str
    project_id: str | None = None
    job_id: str | None = None


_NO_MATCH = Match(UNKNOWN)


def match(method: str, path: str) -> Match:
    """Route a request; anything not published (path or method) is ``unknown``.

    Paths are matched exactly (no trailing slash, no empty segments), like the gateway does,
    so a client that builds URLs wrongly sees APIG.0101 here before it sees it in production.
    """
    if path == "/v3/auth/tokens":
        return Match(IAM_TOKEN) if method == "POST" else _NO_MATCH
    if path == "/v3/projects":
        return Match(IAM_PROJECTS) if method == "GET" else _NO_MATCH
    parts = path.split("/")
    if len(parts) < 4 or parts[0] or parts[1] != "v1" or parts[3] != "visualization-jobs":
        return _NO_MATCH
    project_id, rest = unquote(parts[2]), parts[4:]
    if not project_id or any(not part for part in rest):
        return _NO_MATCH
    route: str | None
    if not rest:
        route = _COLLECTION.get(method)
    elif len(rest) == 1:
        route = _ITEM.get(method)
    elif len(rest) == 2 and method == "POST":
        route = _ACTIONS.get(rest[1])
    else:
        route = None
    if route is None:
        return _NO_MATCH
    return Match(route, project_id, unquote(rest[0]) if rest else None)
