"""Function forms of the data source: ``get_visualization_job(s)`` and their ``_output`` twins.

They follow the generated Pulumi SDKs (``get_x`` / ``get_x_output`` returning a ``GetXResult``)
but read in the program process: dynamic providers cannot serve invokes. Nothing is stored in
state; the read happens on every preview and up. ``_output`` forms wait for their inputs, give
an unknown result (and send nothing) while an input is unknown in preview, honour
``depends_on``, and run the blocking HTTP call on a thread pool so that many lookups in one
program overlap.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Awaitable, Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import pulumi

from .outputs import OUTPUT_FIELDS

if TYPE_CHECKING:
    from .client import ModelArtsClient
    from .models import VisualizationJob as JobModel
    from .settings import Settings

__all__ = [
    "AwaitableGetVisualizationJobResult",
    "AwaitableGetVisualizationJobsResult",
    "GetVisualizationJobResult",
    "GetVisualizationJobsResult",
    "get_visualization_job",
    "get_visualization_job_output",
    "get_visualization_jobs",
    "get_visualization_jobs_output",
]

#: Reads that may be in flight at once from one program's ``_output`` calls.
MAX_CONCURRENT_READS = 16
RESULT_FIELDS: tuple[str, ...] = ("id", "found", *OUTPUT_FIELDS)


@pulumi.output_type
class GetVisualizationJobResult:
    """A collection of values returned by ``get_visualization_job``."""

    def __init__(
        self,
        id: str | None = None,
        found: bool | None = None,
        job_id: int | None = None,
        job_name: str | None = None,
        job_desc: str | None = None,
        service_url: str | None = None,
        resource_id: str | None = None,
        train_url: str | None = None,
        status: int | None = None,
        status_name: str | None = None,
        is_running: bool | None = None,
        duration: int | None = None,
        create_time: int | None = None,
        created_at: str | None = None,
        job_type: str | None = None,
        flavor_code: str | None = None,
        remaining_duration: float | None = None,
        project_id: str | None = None,
        region: str | None = None,
    ) -> None:
        values = locals()
        for name in RESULT_FIELDS:
            pulumi.set(self, name, values[name])

    @property
    @pulumi.getter
    def id(self) -> str | None:
        """The job ID as a string (None when not found by name)."""
        return pulumi.get(self, "id")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def found(self) -> bool:
        """False only with ``allow_missing=True`` and no such job; the other fields are then None."""
        return pulumi.get(self, "found")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def job_id(self) -> int | None:
        """The job ID, as the API returns it."""
        return pulumi.get(self, "job_id")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def job_name(self) -> str | None:
        """Name of the job."""
        return pulumi.get(self, "job_name")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def job_desc(self) -> str | None:
        """Description of the job."""
        return pulumi.get(self, "job_desc")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def service_url(self) -> str | None:
        """URL of the TensorBoard / MindInsight UI."""
        return pulumi.get(self, "service_url")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def resource_id(self) -> str | None:
        """ID of the charged resource."""
        return pulumi.get(self, "resource_id")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def train_url(self) -> str | None:
        """OBS path of the job's logs."""
        return pulumi.get(self, "train_url")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def status(self) -> int | None:
        """Status code (see ``JobStatus``)."""
        return pulumi.get(self, "status")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def status_name(self) -> str | None:
        """Short status name, e.g. ``RUNNING``."""
        return pulumi.get(self, "status_name")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def is_running(self) -> bool | None:
        """True while the UI is served."""
        return pulumi.get(self, "is_running")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def duration(self) -> int | None:
        """Running time in milliseconds."""
        return pulumi.get(self, "duration")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def create_time(self) -> int | None:
        """Creation time, epoch milliseconds."""
        return pulumi.get(self, "create_time")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def created_at(self) -> str | None:
        """Creation time, RFC 3339 UTC ending in ``Z``."""
        return pulumi.get(self, "created_at")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def job_type(self) -> str | None:
        """``TensorBoard`` or ``MindInsight``."""
        return pulumi.get(self, "job_type")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def flavor_code(self) -> str | None:
        """Resource specification code."""
        return pulumi.get(self, "flavor_code")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def remaining_duration(self) -> float | None:
        """Time left before auto-stop, if scheduled."""
        return pulumi.get(self, "remaining_duration")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def project_id(self) -> str | None:
        """Project the job was read in."""
        return pulumi.get(self, "project_id")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def region(self) -> str | None:
        """Region the job was read in."""
        return pulumi.get(self, "region")  # type: ignore[no-any-return]


class AwaitableGetVisualizationJobResult(GetVisualizationJobResult):
    """What ``get_visualization_job`` returns: usable directly or with ``await``."""

    def __await__(self) -> Generator[Any, None, GetVisualizationJobResult]:
        if False:
            yield self
        return GetVisualizationJobResult(**{name: getattr(self, name) for name in RESULT_FIELDS})


@pulumi.output_type
class GetVisualizationJobsResult:
    """A collection of values returned by ``get_visualization_jobs``."""

    def __init__(
        self,
        id: str | None = None,
        jobs: list[GetVisualizationJobResult] | None = None,
        status: int | None = None,
        search_content: str | None = None,
        project_id: str | None = None,
        region: str | None = None,
    ) -> None:
        pulumi.set(self, "id", id)
        pulumi.set(self, "jobs", jobs)
        pulumi.set(self, "status", status)
        pulumi.set(self, "search_content", search_content)
        pulumi.set(self, "project_id", project_id)
        pulumi.set(self, "region", region)

    @property
    @pulumi.getter
    def id(self) -> str:
        """A stable ID of this query (project and filters), never random."""
        return pulumi.get(self, "id")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def jobs(self) -> list[GetVisualizationJobResult]:
        """Matching jobs sorted by ID; empty when nothing matches. Fields the list call does not
        return (``job_type``, ``flavor_code``, ``remaining_duration``) are None."""
        return pulumi.get(self, "jobs")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def status(self) -> int | None:
        """The status filter that was applied."""
        return pulumi.get(self, "status")  # type: ignore[no-any-return]

    @property
    @pulumi.getter(name="search_content")
    def search_content(self) -> str | None:
        """The name filter that was applied."""
        return pulumi.get(self, "search_content")  # type: ignore[no-any-return]

    @property
    @pulumi.getter(name="project_id")
    def project_id(self) -> str:
        """Project the jobs were listed in."""
        return pulumi.get(self, "project_id")  # type: ignore[no-any-return]

    @property
    @pulumi.getter
    def region(self) -> str:
        """Region the jobs were listed in."""
        return pulumi.get(self, "region")  # type: ignore[no-any-return]


class AwaitableGetVisualizationJobsResult(GetVisualizationJobsResult):
    """What ``get_visualization_jobs`` returns: usable directly or with ``await``."""

    def __await__(self) -> Generator[Any, None, GetVisualizationJobsResult]:
        if False:
            yield self
        return GetVisualizationJobsResult(
            id=self.id,
            jobs=self.jobs,
            status=self.status,
            search_content=self.search_content,
            project_id=self.project_id,
            region=self.region,
        )


def get_visualization_job(
    job_id: int | str | None = None,
    job_name: str | None = None,
    *,
    project_id: str | None = None,
    region: str | None = None,
    endpoint: str | None = None,
    allow_missing: bool = False,
    opts: pulumi.InvokeOptions | None = None,
) -> AwaitableGetVisualizationJobResult:
    """Read one visualization job by ID or by exact name (exactly one of the two).

    A missing job is an error unless ``allow_missing`` is set; then ``found`` is False.
    """
    del opts  # accepted for signature compatibility; the read happens in this process
    with _as_run_errors():
        values = _JobLookup.prepare(job_id, job_name, project_id, region, endpoint, allow_missing).run()
    return AwaitableGetVisualizationJobResult(**values)


def get_visualization_job_output(
    job_id: pulumi.Input[int | str | None] = None,
    job_name: pulumi.Input[str | None] = None,
    *,
    project_id: pulumi.Input[str | None] = None,
    region: pulumi.Input[str | None] = None,
    endpoint: pulumi.Input[str | None] = None,
    allow_missing: bool = False,
    opts: pulumi.InvokeOptions | pulumi.InvokeOutputOptions | None = None,
) -> pulumi.Output[GetVisualizationJobResult]:
    """Like :func:`get_visualization_job`, taking ``Input`` values and returning an ``Output``."""
    inputs = pulumi.Output.all(job_id, job_name, project_id, region, endpoint, _dependencies(opts))

    def read(values: list[Any]) -> Awaitable[GetVisualizationJobResult]:
        job, name, project, region_, endpoint_ = values[:5]
        with _as_run_errors():  # settings resolve here, in the program's context
            lookup = _JobLookup.prepare(job, name, project, region_, endpoint_, allow_missing)
        return _in_thread(lambda: GetVisualizationJobResult(**lookup.run()))

    return inputs.apply(read)


def get_visualization_jobs(
    *,
    status: int | None = None,
    search_content: str | None = None,
    project_id: str | None = None,
    region: str | None = None,
    endpoint: str | None = None,
    opts: pulumi.InvokeOptions | None = None,
) -> AwaitableGetVisualizationJobsResult:
    """List visualization jobs, optionally filtered by status code and name; never an error
    when nothing matches."""
    del opts
    with _as_run_errors():
        values = _JobListing.prepare(status, search_content, project_id, region, endpoint).run()
    return AwaitableGetVisualizationJobsResult(**values)


def get_visualization_jobs_output(
    *,
    status: pulumi.Input[int | None] = None,
    search_content: pulumi.Input[str | None] = None,
    project_id: pulumi.Input[str | None] = None,
    region: pulumi.Input[str | None] = None,
    endpoint: pulumi.Input[str | None] = None,
    opts: pulumi.InvokeOptions | pulumi.InvokeOutputOptions | None = None,
) -> pulumi.Output[GetVisualizationJobsResult]:
    """Like :func:`get_visualization_jobs`, taking ``Input`` values and returning an ``Output``."""
    inputs = pulumi.Output.all(status, search_content, project_id, region, endpoint, _dependencies(opts))

    def read(values: list[Any]) -> Awaitable[GetVisualizationJobsResult]:
        status_, search, project, region_, endpoint_ = values[:5]
        with _as_run_errors():
            listing = _JobListing.prepare(status_, search, project, region_, endpoint_)
        return _in_thread(lambda: GetVisualizationJobsResult(**listing.run()))

    return inputs.apply(read)


_PROGRAM_SETTINGS: weakref.WeakKeyDictionary[pulumi.Resource, Settings] = weakref.WeakKeyDictionary()
_PROGRAM_SETTINGS_LOCK = threading.Lock()


def _program_settings() -> Settings:
    """The program's ``modelarts:*`` stack config and environment, resolved once per program run
    (keyed by the run's root stack), in the program's context where the stack config is set."""
    from .runtime import stack_config_from
    from .settings import CONFIG_NAMESPACE, Settings

    root = pulumi.runtime.get_root_resource()
    with _PROGRAM_SETTINGS_LOCK:
        cached = _PROGRAM_SETTINGS.get(root) if root is not None else None
    if cached is not None:
        return cached
    config = pulumi.Config(CONFIG_NAMESPACE)  # reads "modelarts:<key>" given "<key>"
    settings = Settings.from_sources(
        stack_config=stack_config_from(lambda namespaced: config.get(namespaced.partition(":")[2]))
    )
    if root is not None:
        with _PROGRAM_SETTINGS_LOCK:
            _PROGRAM_SETTINGS[root] = settings
    return settings


def _client(project_id: str | None, region: str | None, endpoint: str | None) -> ModelArtsClient:
    """The shared client for the program's settings with this lookup's overrides."""
    from .pool import shared_client

    settings = _program_settings().with_overrides(
        project_id=project_id or None, region=region or None, endpoint=endpoint or None
    )
    return shared_client(settings)


def _result_values(job: JobModel, client: ModelArtsClient) -> dict[str, Any]:
    return {
        "id": str(job.job_id),
        "found": True,
        **job.to_outputs(project_id=client.project_id, region=client.region),
    }


@dataclass(frozen=True)
class _JobLookup:
    """One job to read by ID or by name: validated and bound to a client before any I/O."""

    client: ModelArtsClient
    job_id: int | None
    job_name: str | None
    allow_missing: bool

    @classmethod
    def prepare(
        cls,
        job_id: int | str | None,
        job_name: str | None,
        project_id: str | None,
        region: str | None,
        endpoint: str | None,
        allow_missing: bool,
    ) -> _JobLookup:
        from .errors import InvalidInputError
        from .validation import check_job_name, parse_job_id

        if (job_id is None) == (job_name is None):
            raise InvalidInputError(
                "get_visualization_job needs exactly one of job_id or job_name",
                hint=f"got job_id={job_id!r}, job_name={job_name!r}",
            )
        number = parse_job_id(job_id) if job_id is not None else None
        name = check_job_name(job_name) if job_name is not None else None
        return cls(_client(project_id, region, endpoint), number, name, allow_missing)

    def run(self) -> dict[str, Any]:
        from .errors import JobNotFoundError

        try:
            job = (
                self.client.get_visualization_job(self.job_id)
                if self.job_id is not None
                else self.client.find_visualization_job(str(self.job_name))
            )
        except JobNotFoundError:
            if not self.allow_missing:
                raise
            return {"id": None if self.job_id is None else str(self.job_id), "found": False}
        return _result_values(job, self.client)


@dataclass(frozen=True)
class _JobListing:
    """A list query bound to a client."""

    client: ModelArtsClient
    status: int | None
    search_content: str | None

    @classmethod
    def prepare(
        cls,
        status: int | float | str | None,
        search_content: str | None,
        project_id: str | None,
        region: str | None,
        endpoint: str | None,
    ) -> _JobListing:
        from .validation import parse_whole_number

        if status is not None:
            status = parse_whole_number(status, field="status", hint="Use a JobStatus code, e.g. 8 (RUNNING)")
        return cls(_client(project_id, region, endpoint), status, search_content)

    def run(self) -> dict[str, Any]:
        client = self.client
        jobs = [
            GetVisualizationJobResult(**_result_values(job, client))
            for job in client.list_visualization_jobs(status=self.status, search_content=self.search_content)
        ]
        filters = "&".join(
            f"{key}={value}"
            for key, value in (("status", self.status), ("search_content", self.search_content))
            if value is not None
        )
        return {
            "id": f"{client.project_id}/visualization-jobs" + (f"?{filters}" if filters else ""),
            "jobs": jobs,
            "status": self.status,
            "search_content": self.search_content,
            "project_id": client.project_id,
            "region": client.region,
        }


def _dependencies(opts: pulumi.InvokeOptions | pulumi.InvokeOutputOptions | None) -> pulumi.Output[Any]:
    """An output that resolves once every ``depends_on`` resource exists (unknown until then).

    A component stands for its children, as in Pulumi's own ``invoke_output``: the SDK's helpers
    expand it, and the read waits for the ID of every custom resource found.
    """
    if not isinstance(opts, pulumi.InvokeOutputOptions) or opts.depends_on is None:
        return pulumi.Output.from_input(None)
    from pulumi.runtime._depends_on import _resolve_depends_on
    from pulumi.runtime.rpc import _expand_dependencies

    depends_on = opts._depends_on_list()

    async def existence() -> list[pulumi.Output[Any]]:
        resources = await _expand_dependencies(await _resolve_depends_on(depends_on), None)
        return [
            res.id if isinstance(res, pulumi.CustomResource) and "id" in vars(res) else res.urn
            for res in resources.values()
        ]

    awaited: Any = existence()  # from_input's overloads do not type an awaitable list of outputs
    return pulumi.Output.from_input(awaited).apply(lambda outputs: pulumi.Output.all(*outputs))


_EXECUTOR: ThreadPoolExecutor | None = None
_EXECUTOR_LOCK = threading.Lock()
_T = TypeVar("_T")


def _in_thread(call: Callable[[], _T]) -> Awaitable[_T]:
    """Run a blocking read on the shared pool so the program's event loop keeps going."""
    global _EXECUTOR
    with _EXECUTOR_LOCK:
        if _EXECUTOR is None:
            _EXECUTOR = ThreadPoolExecutor(MAX_CONCURRENT_READS, thread_name_prefix="modelarts-read")

    def guarded() -> _T:
        with _as_run_errors():
            return call()

    return asyncio.get_running_loop().run_in_executor(_EXECUTOR, guarded)


_RUN_ERROR_TYPES: dict[type[BaseException], type[BaseException]] = {}


@contextmanager
def _as_run_errors() -> Iterator[None]:
    """Raise our errors as ``pulumi.RunError`` too, so a program fails with one clear line
    instead of a traceback; they stay instances of their own class for ``except`` clauses."""
    from .errors import ModelArtsError

    try:
        yield
    except ModelArtsError as exc:
        cls = type(exc)
        run_error_type = _RUN_ERROR_TYPES.setdefault(cls, type(cls.__name__, (cls, pulumi.RunError), {}))
        clean = run_error_type.__new__(run_error_type)
        clean.__dict__.update(exc.__dict__)
        clean.args = exc.args
        raise clean from None
