"""ModelArts v1 visualization-job calls (§1 of the API reference), answered from the job store.

Authentication and the project check happen before these handlers run; here the job ID, query
and body are validated and errors come back in the ModelArts v1 shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from . import routes
from .routes import Match
from .state import LIST_FIELDS, SORT_FIELDS, JobConflictError, JobStore, QuotaExceededError
from .wire import Reply, Request, json_reply, modelarts_error

NOT_FOUND_STYLES: Final = ("400", "404")
MAX_PER_PAGE: Final = 1000
MAX_SEARCH: Final = 64
MAX_DESC: Final = 256
_JOB_ID = re.compile(r"[0-9]{1,19}")
_COUNT = re.compile(r"[0-9]{1,9}")
_JOB_NAME = re.compile(r"[A-Za-z0-9_-]{1,20}")
_JOB_TYPES = {"tensorboard": "TensorBoard", "mindinsight": "MindInsight"}
_SUCCESS: Final = {"is_success": True}


class _BadRequestError(Exception):
    """A parameter the service would reject with HTTP 400."""

    def __init__(self, message: str, code: str = "ModelArts.0104") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Context:
    """What the handlers need besides the request: the store and how "not found" looks."""

    store: JobStore
    own_project: bool
    not_found_style: str


def handle(match: Match, request: Request, context: Context) -> Reply:
    """Answer an authenticated ModelArts call whose route is one of ``MODELARTS_ROUTES``."""
    try:
        if match.route == routes.LIST_JOBS:
            return _list(request, context)
        if match.route == routes.CREATE_JOB:
            return _create(request, context)
        job_id = _job_id(match.job_id or "")
        if not context.own_project or job_id not in context.store:
            return _not_found(match.job_id or "", context.not_found_style)
        return _ITEM_HANDLERS[match.route](job_id, request, context.store)
    except _BadRequestError as error:
        return modelarts_error(400, error.code, error.message)
    except JobConflictError as error:
        return modelarts_error(400, "ModelArts.0105", str(error))


def _not_found(raw_job_id: str, style: str) -> Reply:
    if style == "404":
        return modelarts_error(404, "ModelArts.0015", "The resource you requested is not exist")
    return modelarts_error(400, "ModelArts.2775", f"training job (ID {raw_job_id}) not found")


def _job_id(raw: str) -> int:
    if not _JOB_ID.fullmatch(raw) or int(raw) > 2**63 - 1:
        raise _BadRequestError(f"Invalid parameter: job_id should be a number, got {raw[:64]}")
    return int(raw)


def _count_param(request: Request, name: str, default: int, high: int) -> int:
    raw = request.param(name)
    if raw is None:
        return default
    if not _COUNT.fullmatch(raw) or not 1 <= int(raw) <= high:
        raise _BadRequestError(f"The value of {name} should be in [1,{high}]")
    return int(raw)


def _list(request: Request, context: Context) -> Reply:
    per_page = _count_param(request, "per_page", 10, MAX_PER_PAGE)
    page = _count_param(request, "page", 1, 2**31 - 1)
    sort_by = request.param("sortBy") or "job_id"
    if sort_by not in SORT_FIELDS:
        raise _BadRequestError(
            f"UnsupportedSortBy: sortBy should be one of {', '.join(sorted(SORT_FIELDS))}",
            "ModelArts.2790",
        )
    order = request.param("order") or "asc"
    if order not in ("asc", "desc"):
        raise _BadRequestError("The value of order should be asc or desc")
    search = request.param("search_content") or ""
    if len(search) > MAX_SEARCH:
        raise _BadRequestError(f"The length of search content should be in [0,{MAX_SEARCH}]")
    raw_status = request.param("status") or None
    if raw_status is not None and not _COUNT.fullmatch(raw_status):
        raise _BadRequestError("The value of status should be a job status code")
    store = context.store
    matched = (
        store.query(
            status=None if raw_status is None else int(raw_status),
            search=search,
            sort_by=sort_by,
            descending=order == "desc",
        )
        if context.own_project
        else []
    )
    start = (page - 1) * per_page
    total = len(store) if context.own_project else 0
    return json_reply(
        200,
        {
            "is_success": True,
            "job_total_count": len(matched),
            "job_count_limit": max(0, store.quota - total),
            "quotas": store.quota,
            "jobs": [{name: job[name] for name in LIST_FIELDS} for job in matched[start : start + per_page]],
        },
    )


def _json_object(request: Request) -> dict[str, Any]:
    try:
        document = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        document = None
    if not isinstance(document, dict):
        raise _BadRequestError("Incorrect JSON format of the input data", "ModelArts.4105")
    return document


def _description(document: dict[str, Any], *, required: bool) -> str:
    if "job_desc" not in document and not required:
        return ""
    value = document.get("job_desc")
    if not isinstance(value, str) or len(value) > MAX_DESC:
        raise _BadRequestError(f"Invalid parameter: job_desc should be a string of 0-{MAX_DESC} characters")
    return value


def _schedule(value: object) -> dict[str, Any] | None:
    # The doc's sample sends a one-element array although its table says object; accept both.
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if value is None:
        return None
    duration = value.get("duration") if isinstance(value, dict) else None
    if (
        not isinstance(value, dict)
        or value.get("type") != "stop"
        or value.get("time_unit") != "HOURS"
        or isinstance(duration, bool)
        or not isinstance(duration, int)
        or not 0 <= duration <= 24
    ):
        raise _BadRequestError(
            'Invalid parameter: schedule should be {"type": "stop", "time_unit": "HOURS", "duration": 0-24}'
        )
    return {"type": "stop", "time_unit": "HOURS", "duration": duration}


def _create(request: Request, context: Context) -> Reply:
    if not context.own_project:
        # Other projects of the account exist only so auth can be tested; they hold no jobs.
        return modelarts_error(
            403, "ModelArts.0108", "You are not authorized to perform the (create) operation"
        )
    document = _json_object(request)
    name = document.get("job_name")
    if not isinstance(name, str) or not _JOB_NAME.fullmatch(name):
        raise _BadRequestError(f"Illegal name: {str(name)[:64]}")
    train_url = document.get("train_url")
    if not isinstance(train_url, str) or not train_url:
        raise _BadRequestError("Invalid parameter: train_url is required")
    job_type = document.get("job_type", "TensorBoard")
    canonical_type = _JOB_TYPES.get(job_type.lower()) if isinstance(job_type, str) else None
    if canonical_type is None:
        raise _BadRequestError("Invalid parameter: job_type should be TensorBoard or MindInsight")
    fields: dict[str, Any] = {
        "job_name": name,
        "job_desc": _description(document, required=False),
        "train_url": train_url,
        "job_type": canonical_type,
        "schedule": _schedule(document.get("schedule")),
    }
    flavor = document.get("flavor")
    if flavor is not None:
        if not isinstance(flavor, dict) or not isinstance(flavor.get("code"), str):
            raise _BadRequestError('Invalid parameter: flavor should be {"code": "<spec code>"}')
        fields["flavor"] = {"code": flavor["code"]}
    try:
        job = context.store.create(fields)
    except QuotaExceededError:
        raise _BadRequestError(
            f"QuotaInsufficient: the visualization job quota ({context.store.quota}) is used up",
            "ModelArts.0118",
        ) from None
    return json_reply(
        200,
        {
            "is_success": True,
            **{key: job[key] for key in ("job_id", "job_name", "status", "create_time", "service_url")},
        },
    )


def _get(job_id: int, _request: Request, store: JobStore) -> Reply:
    return json_reply(200, {"is_success": True, **(store.get(job_id) or {})})


def _update(job_id: int, request: Request, store: JobStore) -> Reply:
    store.set_description(job_id, _description(_json_object(request), required=True))
    return json_reply(200, _SUCCESS)


def _delete(job_id: int, _request: Request, store: JobStore) -> Reply:
    store.delete(job_id)
    return json_reply(200, _SUCCESS)


def _stop(job_id: int, _request: Request, store: JobStore) -> Reply:
    store.stop(job_id)
    return json_reply(200, _SUCCESS)


def _restart(job_id: int, _request: Request, store: JobStore) -> Reply:
    store.restart(job_id)
    return json_reply(200, _SUCCESS)


_ITEM_HANDLERS: Final[dict[str, Callable[[int, Request, JobStore], Reply]]] = {
    routes.GET_JOB: _get,
    routes.UPDATE_JOB: _update,
    routes.DELETE_JOB: _delete,
    routes.STOP_JOB: _stop,
    routes.RESTART_JOB: _restart,
}
