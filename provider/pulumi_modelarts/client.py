"""Read visualization jobs, every call a GET: by ID, by exact name, or all of them page by page. One
client serves one (endpoint, project, credentials) triple to any number of threads: connection pools
are per thread; authentication and project discovery happen once, under a lock."""

from __future__ import annotations

import contextlib
import itertools
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal, NoReturn, SupportsIndex
from urllib.parse import quote, urlencode, urlsplit

from .auth import IamTokenAuth, build_auth, forget_project, rejected_hint
from .errors import (
    AmbiguousJobNameError,
    AuthenticationError,
    InvalidInputError,
    JobNotFoundError,
    ModelArtsError,
    RequestContext,
    one_line,
)
from .locks import Lock
from .outputs import some_ids
from .responses import JobModel, JobPage, invalid_response, names_another_project, read_model
from .settings import Settings
from .transport import HttpResponse, Transport, held
from .validation import SORT_KEYS, check_name, check_search, parse_job_id, parse_whole_number, path_segment

if TYPE_CHECKING:
    from requests.auth import AuthBase

MAX_PAGE_SIZE = 1000
#: Asked when the caller does not say: the API reference's older pages and its SDK reference cap
#: ``per_page`` at 100, and a server keeping to them refuses 1000 (the current pages' maximum).
PAGE_SIZE = 100
MAX_PAGES = 1000  # a server that makes up jobs for every page asked would be read for ever
MAX_LISTED_JOBS = 100_000  # ... or held until memory runs out (a job costs about 1 KiB)
MAX_LISTINGS = 3  # reads of a listing whose count keeps changing, or jobs moving, between its pages
#: Shared clients, one per place read, each with its token and project: this guards long-lived
#: processes; the most recent keep their connections (one per thread each), the others reconnect.
MAX_SHARED_CLIENTS, CONNECTED_CLIENTS = 1024, 32


class ModelArtsClient:
    """Read-only client of ModelArts v1 visualization jobs."""

    def __init__(self, settings: Settings) -> None:
        self.settings, self.region, self.endpoint = settings, settings.region, settings.resolved_endpoint
        self._host = urlsplit(self.endpoint).netloc
        self._transport = Transport(settings)
        self._ready_lock = Lock()
        self._session: tuple[AuthBase, str] | None = None  # the auth object and the project it works in
        self._hints: dict[type[ModelArtsError], str] = {}  # credentials rejected: those in use, once known

    def __repr__(self) -> str:
        return (
            f"ModelArtsClient(endpoint={self.endpoint!r}, region={self.region!r}, "
            f"project_id={self._session[1] if self._session else self.settings.project_id!r})"
        )

    def __copy__(self) -> ModelArtsClient:
        """Another client of the same settings, with connections of its own."""
        return ModelArtsClient(self.settings)

    def __deepcopy__(self, memo: dict[int, object]) -> ModelArtsClient:
        return self.__copy__()

    def __reduce_ex__(self, protocol: SupportsIndex) -> NoReturn:
        raise TypeError(
            "a ModelArtsClient is not pickled, as it holds credentials and connections: "
            "make one in each process, e.g. ModelArtsClient(Settings.from_sources())"
        )

    def __enter__(self) -> ModelArtsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections; the client stays usable and reconnects on demand."""
        self._transport.close()
        if self._session and isinstance(self._session[0], IamTokenAuth):
            self._session[0].transport.close()

    @property
    def project_id(self) -> str:
        """The project every call is made in; discovered through IAM when not configured."""
        return self._ready()[1]

    def _ready(self) -> tuple[AuthBase, str]:
        if self._session is None:
            waiting = RequestContext("IAM authentication", urlsplit(self.settings.resolved_auth_url).netloc)
            with self._transport.deadline(), held(self._ready_lock, waiting):
                if self._session is None:
                    self._hints = {AuthenticationError: rejected_hint(self.settings, by_modelarts=True)}
                    self._session = build_auth(self.settings, self._transport)
        return self._session

    def _get(self, path: str, job_id: int | None, operation: str) -> tuple[HttpResponse, RequestContext]:
        """A GET of ``visualization-jobs{path}``, authentication and project discovery in its deadline.
        A project not configured that ModelArts says is not the credentials' (a long-lived process
        outlives a project's name) is found again, and the GET sent again, once."""
        with self._transport.deadline():
            for again in (False, True):
                session = auth, project_id = self._ready()
                url = f"{self.endpoint}/v1/{path_segment(project_id)}/visualization-jobs{path}"
                context = RequestContext(operation, self._host, project_id, job_id, hints=self._hints)
                response = self._transport.send("GET", url, context=context, auth=auth)
                if again or self.settings.project_id or not names_another_project(response):
                    break
                forget_project(self.settings, auth, project_id)
                if self._session is session:
                    self._session = None
            return response, context

    def get_visualization_job(self, job_id: int | str) -> JobModel:
        """The job with this ID; ``JobNotFoundError`` when it does not exist. The ID is checked here,
        whoever parsed it before: no request goes to a path other than a valid job's."""
        job_id = parse_job_id(job_id)
        response, context = self._get(f"/{path_segment(job_id)}", job_id, "get visualization job")
        job = read_model(JobModel, response, context)
        if job.job_id != job_id:
            summary = f"asked for job {job_id} but the service answered with job {job.job_id}"
            raise invalid_response(response, context, summary)
        if elsewhere := _elsewhere(job, context):
            raise invalid_response(
                response, context, f"asked in this project, the service answered with {elsewhere}"
            )
        return job

    def list_visualization_jobs(
        self,
        *,
        status: int | float | str | None = None,
        search_content: str | None = None,
        sort_by: str = "job_id",
        order: Literal["asc", "desc"] = "asc",
        per_page: int = PAGE_SIZE,
        operation: str = "list visualization jobs",
    ) -> Iterator[JobModel]:
        """Every matching job, sorted as asked; the pages are read, every one, when iteration starts.
        They are asked for in the order of job IDs, which never change, and sorted once all are read:
        in pages sorted by a status (name, description) that changes as they are read, the job would
        move and shift the pages after it. Their errors name ``operation``: a lookup by name's say
        which name."""
        if sort_by not in SORT_KEYS:
            raise InvalidInputError(f"sort_by must be one of {', '.join(SORT_KEYS)}, got {sort_by!r}")
        if order not in ("asc", "desc"):
            raise InvalidInputError(f"order must be 'asc' or 'desc', got {order!r}")
        per_page = parse_whole_number(per_page, field="per_page", minimum=1, maximum=MAX_PAGE_SIZE)
        query = {"sortBy": "job_id", "order": "asc", "per_page": str(per_page)}
        if status is not None:
            hint = "Use a JobStatus code, e.g. 8 (RUNNING)"
            query["status"] = str(parse_whole_number(status, field="status", hint=hint))
        if search_content is not None and search_content != "":  # "" filters nothing; 0, b"" are refused
            query["search_content"] = check_search(search_content)
        return self._pages(query, operation, sort_by, order == "desc")

    def _pages(self, query: dict[str, str], operation: str, by: str, desc: bool) -> Iterator[JobModel]:
        """Sorted by ``by``, as the service sorts, whatever order a server sends: ties by ID, an absent
        value after every other (so first in descending order, as SQL's NULLs are)."""

        def key(job: JobModel) -> tuple[bool, object, int]:
            value = getattr(job, by)
            return value is None, value, job.job_id

        yield from sorted(self._listed(query, operation).values(), key=key, reverse=desc)

    def _listed(self, query: dict[str, str], operation: str, listings: int = 1) -> dict[int, JobModel]:
        """Each job once (as last listed), once every page is read (a server may send fewer a page
        than asked): up to ``job_total_count`` jobs, else up to an empty or shorter page, which is
        refused while counted jobs are missing, as are a page of jobs already listed (a server that
        ignores ``page``, whose first page may be any part) and a job outside the status asked for.
        A count that changes between pages means jobs came or went and the pages shifted (one
        deleted on page 1 moves a job unread onto it), as does a listing ending short after a page
        listed a job of an earlier one beside new ones (a server paging in an order of its own, in
        which a job moved): the listing is read again from page 1."""
        listed, size, status, counted, moved = dict[int, JobModel](), 0, query.get("status"), None, False
        with self._transport.deadline():  # every page, every listing under the call's one deadline
            for page in range(1, MAX_PAGES + 1):
                params = urlencode({**query, "page": page}, quote_via=quote, safe="")
                response, context = self._get(f"?{params}", None, operation)
                listing, before = read_model(JobPage, response, context), len(listed)
                stray = next((job for job in listing.jobs if status not in (None, str(job.status))), None)
                if stray is not None:
                    wrong = f"job {stray.job_id} in status {stray.status}, not {status}"
                    raise invalid_response(response, context, f"page {page} lists {wrong}")
                if elsewhere := next(filter(None, (_elsewhere(job, context) for job in listing.jobs)), None):
                    raise invalid_response(
                        response, context, f"page {page} lists {elsewhere}, not of this one"
                    )
                again = any(job.job_id in listed for job in listing.jobs)  # listed on an earlier page
                listed.update((job.job_id, job) for job in listing.jobs)
                if len(listed) > MAX_LISTED_JOBS:
                    raise invalid_response(
                        response, context, f"the listing holds over {MAX_LISTED_JOBS} jobs"
                    )
                # A page that leaves the count out (or null) keeps the last one given, as if sent again.
                total = counted if listing.job_total_count is None else listing.job_total_count
                ended = len(listed) == before or len(listing.jobs) < size
                moved = moved or (again and len(listed) > before)  # beside new jobs: the pages shifted
                changed = None not in (counted, total) and total != counted
                short = total is not None and len(listed) < total and ended
                if changed or (short and moved):
                    if listings == MAX_LISTINGS:
                        why = f"jobs moved from page to page, {len(listed)} of the {total} listed"
                        if changed:
                            why = f"{counted} jobs counted on page {page - 1}, {total} on page {page}"
                        summary = f"the listing changed while it was read {listings} times ({why})"
                        hint = "Jobs are being created, deleted or changed: try again, or narrow the listing"
                        raise invalid_response(response, context, summary, hint)
                    return self._listed(query, operation, listings + 1)
                counted = total
                if short:
                    read = f"{len(listed)} of the {total} jobs it counts"
                    raise invalid_response(response, context, f"the listing ended at page {page} with {read}")
                if listing.jobs and len(listed) == before:  # without a count, a part read as the whole
                    summary = f"page {page} lists only jobs of earlier pages (the page parameter is ignored)"
                    raise invalid_response(response, context, summary)
                if len(listed) == total or ended:
                    return listed
                size = max(size, len(listing.jobs))
            raise invalid_response(response, context, f"the listing goes on past {MAX_PAGES} pages")

    def find_visualization_job(
        self, job_name: str, *, read_by_id: str = "get_visualization_job({})"
    ) -> JobModel:
        """The one job whose name is exactly ``job_name`` (the service's search is fuzzy), read
        again by ID so that it has exactly the fields (and outputs) it has when read by ID. Several
        of that name are an error whose hint reads one by ID as the caller's surface does
        (``read_by_id`` with ``{}`` for the ID)."""
        name = check_name(job_name, field="job_name")
        with self._transport.deadline():  # the listing and the read: one call, one deadline
            operation = f"find visualization job '{name}'"  # a listing's errors say which lookup failed
            listed = list(self.list_visualization_jobs(search_content=name, operation=operation))
            ids = [job.job_id for job in listed if job.job_name == name]
            context = RequestContext("find visualization job", self._host, project_id=self.project_id)
            if len(ids) > 1:
                summary = f"{len(ids)} visualization jobs are named '{name}' (IDs {some_ids(ids)})"
                hint = f"Read the one you mean by its ID, e.g. {read_by_id.format(ids[0])}"
                raise context.error(AmbiguousJobNameError, summary, hint=hint)
            with contextlib.suppress(JobNotFoundError):  # deleted or renamed since it was listed
                if ids and (job := self.get_visualization_job(ids[0])).job_name == name:
                    return job
        hint = "Check the name (matched exactly, case included), the project and the region"
        # A job whose name differs in case alone (the service's search ignores case) is named.
        differs = (job for job in listed if job.job_name != name and job.job_name.lower() == name.lower())
        if near := next(differs, None):
            shown = f"Job {near.job_id} is named '{one_line(near.job_name)}'"
            hint = f"{shown}: a name is matched exactly, case included"
        raise context.error(JobNotFoundError, f"no visualization job is named '{name}'", hint=hint)


def _elsewhere(job: JobModel, context: RequestContext) -> str | None:
    """The job, when it says it belongs to another project than the one read; else None (also
    when it names none: empty, as one not sent)."""
    theirs, ours = (job.project_id or "").strip(), context.project_id or ""
    if not theirs or theirs.lower() == ours.lower():
        return None
    return f"job {job.job_id} of project {one_line(theirs, 40)}"


#: One client per distinct settings, so that reads share connections, tokens and project discovery.
_SHARED: OrderedDict[Settings, ModelArtsClient] = OrderedDict()
_SHARED_LOCK = Lock()


def shared_client(settings: Settings) -> ModelArtsClient:
    """The process-wide client for these settings, created on first use. Settings without usable
    credentials are refused first, naming where these set them: equal settings share a client,
    whatever their sources, and a shared one's messages would name its own."""
    settings.auth_mode()
    with _SHARED_LOCK:
        client = _SHARED.get(settings)
        if client is None:
            client = _SHARED[settings] = ModelArtsClient(settings)
            if len(_SHARED) > MAX_SHARED_CLIENTS:
                _SHARED.popitem(last=False)[1].close()
        _SHARED.move_to_end(settings)
        if idle := next(itertools.islice(reversed(_SHARED.values()), CONNECTED_CLIENTS, None), None):
            idle.close()
        return client
