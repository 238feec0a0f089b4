"""Read visualization jobs: by ID, by exact name, or all of them page by page.

One client serves one (endpoint, project, credentials) triple and may be shared by any number of
threads: sessions are per thread, and authentication and project discovery happen once, on first
use, under a lock. Every call is a GET; this client has no way to change a job.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Literal

from requests.auth import AuthBase

from .auth import build_auth
from .errors import AmbiguousJobNameError, InvalidInputError, InvalidResponseError, JobNotFoundError
from .models import JobPage, VisualizationJob
from .responses import read_model
from .settings import Settings
from .status import JobStatus
from .transport import HttpResponse, RequestContext, Transport, host_of
from .validation import SORT_KEYS, check_job_name, parse_job_id, path_segment

MAX_PAGE_SIZE = 1000


class ModelArtsClient:
    """Read-only client of ModelArts v1 visualization jobs."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._endpoint = settings.resolved_endpoint
        self._host = host_of(self._endpoint)
        self._transport = Transport(settings)
        self._ready_lock = threading.Lock()
        self._auth: AuthBase | None = None
        self._project_id: str | None = None

    def __repr__(self) -> str:
        return (
            f"ModelArtsClient(endpoint={self._endpoint!r}, region={self._settings.region!r}, "
            f"project_id={self._project_id or self._settings.project_id!r})"
        )

    def __enter__(self) -> ModelArtsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections; the client stays usable and reconnects on demand."""
        self._transport.close()

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def region(self) -> str:
        return self._settings.region

    @property
    def endpoint(self) -> str:
        return self._endpoint

    @property
    def project_id(self) -> str:
        """The project every call is made in; discovered through IAM when not configured."""
        return self._ready()[1]

    def _ready(self) -> tuple[AuthBase, str]:
        auth, project_id = self._auth, self._project_id
        if auth is not None and project_id is not None:
            return auth, project_id
        with self._ready_lock:
            if self._auth is None or self._project_id is None:
                self._auth, self._project_id = build_auth(self._settings, self._transport)
            return self._auth, self._project_id

    def _get(self, path: str, context_job: int | None, operation: str) -> tuple[HttpResponse, RequestContext]:
        """One GET under one deadline, authentication and project discovery included."""
        with self._transport.deadline():
            auth, project_id = self._ready()
            url = f"{self._endpoint}/v1/{path_segment(project_id)}/{path}"
            context = RequestContext(operation, self._host, project_id=project_id, job_id=context_job)
            return self._transport.send("GET", url, context=context, auth=auth), context

    def get_visualization_job(self, job_id: int | str) -> VisualizationJob:
        """The job with this ID; ``JobNotFoundError`` when it does not exist."""
        number = parse_job_id(job_id)
        response, context = self._get(
            f"visualization-jobs/{path_segment(number)}", number, "get visualization job"
        )
        job = read_model(VisualizationJob, response, context)
        if job.job_id != number:
            raise context.error(
                InvalidResponseError,
                f"asked for job {number} but the service answered with job {job.job_id}",
                status=response.status,
                request_id=response.request_id,
            )
        return job

    def list_visualization_jobs(
        self,
        *,
        status: int | JobStatus | None = None,
        search_content: str | None = None,
        sort_by: str = "job_id",
        order: Literal["asc", "desc"] = "asc",
        per_page: int = MAX_PAGE_SIZE,
    ) -> Iterator[VisualizationJob]:
        """Every matching job, fetching pages lazily until ``job_total_count`` is reached."""
        query = self._list_query(status, search_content, sort_by, order, per_page)
        return self._pages(query, per_page)

    def _list_query(
        self,
        status: int | JobStatus | None,
        search_content: str | None,
        sort_by: str,
        order: str,
        per_page: int,
    ) -> dict[str, str]:
        if sort_by not in SORT_KEYS:
            raise InvalidInputError(f"sort_by must be one of {', '.join(SORT_KEYS)}, got {sort_by!r}")
        if order not in ("asc", "desc"):
            raise InvalidInputError(f"order must be 'asc' or 'desc', got {order!r}")
        if not 1 <= per_page <= MAX_PAGE_SIZE:
            raise InvalidInputError(f"per_page must be between 1 and {MAX_PAGE_SIZE}, got {per_page}")
        query = {"sortBy": sort_by, "order": order, "per_page": str(per_page)}
        if status is not None:
            if isinstance(status, bool) or not isinstance(status, int) or status < 0:
                raise InvalidInputError(f"status must be a job status code, got {status!r}")
            query["status"] = str(int(status))
        if search_content:
            query["search_content"] = check_job_name(search_content, field="search_content")
        return query

    def _pages(self, query: dict[str, str], per_page: int) -> Iterator[VisualizationJob]:
        page = 1
        seen = 0
        while True:
            params = "&".join(
                f"{key}={path_segment(value)}" for key, value in {**query, "page": str(page)}.items()
            )
            response, context = self._get(f"visualization-jobs?{params}", None, "list visualization jobs")
            listing = read_model(JobPage, response, context)
            yield from listing.jobs
            seen += len(listing.jobs)
            if not listing.jobs or seen >= listing.job_total_count or len(listing.jobs) < per_page:
                return
            page += 1

    def find_visualization_job(self, job_name: str) -> VisualizationJob:
        """The one job whose name is exactly ``job_name`` (the service's search is fuzzy).

        The match is read again through the details call, so a job found by name has exactly
        the fields (and outputs) it has when read by ID.
        """
        name = check_job_name(job_name)
        matches = [job for job in self.list_visualization_jobs(search_content=name) if job.job_name == name]
        if not matches:
            raise JobNotFoundError(
                f"no visualization job is named '{name}'",
                operation="find visualization job",
                project_id=self.project_id,
                host=self._host,
                hint="Check the name (matched exactly, case included) and that the job belongs to this "
                "project and region",
            )
        if len(matches) > 1:
            ids = ", ".join(str(job.job_id) for job in matches)
            raise AmbiguousJobNameError(
                f"{len(matches)} visualization jobs are named '{name}' (IDs {ids})",
                operation="find visualization job",
                project_id=self.project_id,
                host=self._host,
            )
        return self.get_visualization_job(matches[0].job_id)
