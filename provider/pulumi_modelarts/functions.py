"""Function forms of the data source: ``get_visualization_job(s)`` and their ``_output`` twins.

They follow the generated Pulumi SDKs (``get_x`` / ``get_x_output`` returning a ``GetXResult``)
but read in the program process: dynamic providers cannot serve invokes. Nothing is stored in
state; the read happens on every preview and up. ``_output`` forms wait for their inputs, give
an unknown result (and send nothing) while an input is unknown in preview, honour
``depends_on``, and run the blocking HTTP call on a thread pool so that many lookups in one
program overlap. The client and pydantic load on the first read, not on import.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import weakref
from collections.abc import Awaitable, Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import pulumi

from .errors import InvalidInputError, JobNotFoundError, ModelArtsError
from .outputs import OUTPUT_FIELDS
from .validation import check_name, parse_job_id, parse_whole_number

if TYPE_CHECKING:
    from .client import ModelArtsClient
    from .responses import JobModel
    from .settings import Settings

#: Reads that may be in flight at once from one program's ``_output`` calls.
MAX_CONCURRENT_READS = 16
RESULT_FIELDS: tuple[str, ...] = ("id", "found", *OUTPUT_FIELDS)
_R = TypeVar("_R")


@pulumi.output_type
class GetVisualizationJobResult:
    """What ``get_visualization_job`` returns: ``id`` (the job ID as a string), ``found`` (False
    only with ``allow_missing=True`` and no such job, every other field then None) and the fields
    of :data:`outputs.OUTPUTS`, whose names, types and order these annotations follow."""

    id: str | None
    found: bool
    job_id: int | None
    job_name: str | None
    job_desc: str | None
    service_url: str | None
    resource_id: str | None
    train_url: str | None
    status: int | None
    status_name: str | None
    is_running: bool | None
    duration: int | None
    create_time: int | None
    created_at: str | None
    job_type: str | None
    flavor_code: str | None
    remaining_duration: float | None
    project_id: str | None
    region: str | None

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)  # where pulumi.get() looks; a missing field reads None


class AwaitableGetVisualizationJobResult(GetVisualizationJobResult):
    """What ``get_visualization_job`` returns: usable directly or with ``await``."""

    def __await__(self) -> Generator[Any, None, GetVisualizationJobResult]:
        if False:
            yield self
        return GetVisualizationJobResult(**self.__dict__)


@pulumi.output_type
class GetVisualizationJobsResult:
    """What ``get_visualization_jobs`` returns: the matching jobs sorted by ID (empty when none
    match; the list call does not return ``job_type``, ``flavor_code`` or ``remaining_duration``),
    the filters applied, the place listed and a stable ``id`` of the query, never random."""

    id: str
    jobs: list[GetVisualizationJobResult]
    status: int | None
    search_content: str | None
    project_id: str
    region: str

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


class AwaitableGetVisualizationJobsResult(GetVisualizationJobsResult):
    """What ``get_visualization_jobs`` returns: usable directly or with ``await``."""

    def __await__(self) -> Generator[Any, None, GetVisualizationJobsResult]:
        if False:
            yield self
        return GetVisualizationJobsResult(**self.__dict__)


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
    del opts  # accepted like the generated SDKs'; the read happens in this process
    with _as_run_errors():
        read = _job_lookup(job_id, job_name, project_id, region, endpoint, allow_missing=allow_missing)
        return AwaitableGetVisualizationJobResult(**read())


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
    lookup = functools.partial(_job_lookup, allow_missing=allow_missing)
    return _output(lookup, GetVisualizationJobResult, [job_id, job_name, project_id, region, endpoint], opts)


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
        return AwaitableGetVisualizationJobsResult(
            **_job_listing(status, search_content, project_id, region, endpoint)()
        )


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
    return _output(
        _job_listing, GetVisualizationJobsResult, [status, search_content, project_id, region, endpoint], opts
    )


def _output(
    prepare: Callable[..., Callable[[], dict[str, Any]]],
    result: Callable[..., _R],
    inputs: list[Any],
    opts: pulumi.InvokeOptions | pulumi.InvokeOutputOptions | None,
) -> pulumi.Output[_R]:
    """An ``_output`` form: once every input and dependency is known, prepare the read in the
    program's context (where its stack config is) and run it on the shared pool."""

    def read(values: list[Any]) -> Awaitable[_R]:
        with _as_run_errors():
            call = prepare(*values[:-1])
        return _in_thread(lambda: result(**call()))

    return pulumi.Output.all(*inputs, _dependencies(opts)).apply(read)


def _job_lookup(
    job_id: int | str | None,
    job_name: str | None,
    project_id: str | None,
    region: str | None,
    endpoint: str | None,
    *,
    allow_missing: bool,
) -> Callable[[], dict[str, Any]]:
    """Validate one lookup by ID or name and bind it to its client, before any I/O."""
    if (job_id is None) == (job_name is None):
        raise InvalidInputError(
            "get_visualization_job needs exactly one of job_id or job_name",
            hint=f"got job_id={job_id!r}, job_name={job_name!r}",
        )
    number = parse_job_id(job_id) if job_id is not None else None
    name = check_name(job_name, field="job_name") if job_name is not None else ""
    client = _client(project_id, region, endpoint)

    def read() -> dict[str, Any]:
        try:
            job = client.read_job(number) if number is not None else client.find_visualization_job(name)
        except JobNotFoundError:
            if not allow_missing:
                raise
            return {"id": None if number is None else str(number), "found": False}
        return _result_values(job, client)

    return read


def _job_listing(
    status: int | float | str | None,
    search_content: str | None,
    project_id: str | None,
    region: str | None,
    endpoint: str | None,
) -> Callable[[], dict[str, Any]]:
    """Validate a list query and bind it to its client, before any I/O."""
    if status is not None:
        status = parse_whole_number(status, field="status", hint="Use a JobStatus code, e.g. 8 (RUNNING)")
    client = _client(project_id, region, endpoint)

    def read() -> dict[str, Any]:
        listed = client.list_visualization_jobs(status=status, search_content=search_content)
        jobs = [GetVisualizationJobResult(**_result_values(job, client)) for job in listed]
        filters = (("status", status), ("search_content", search_content))
        query = "&".join(f"{key}={value}" for key, value in filters if value is not None)
        return {
            "id": f"{client.project_id}/visualization-jobs" + (f"?{query}" if query else ""),
            "jobs": jobs,
            "status": status,
            "search_content": search_content,
            "project_id": client.project_id,
            "region": client.region,
        }

    return read


def _result_values(job: JobModel, client: ModelArtsClient) -> dict[str, Any]:
    return {
        "id": str(job.job_id),
        "found": True,
        **job.to_outputs(project_id=client.project_id, region=client.region),
    }


#: The settings of each program run (its root stack resource), resolved once per run from its
#: ``modelarts:*`` stack config and the environment; gone with the run.
_PROGRAM_SETTINGS: weakref.WeakKeyDictionary[pulumi.Resource, Settings] = weakref.WeakKeyDictionary()


def _client(project_id: str | None, region: str | None, endpoint: str | None) -> ModelArtsClient:
    """The shared client for the program's settings with this lookup's overrides."""
    from .client import shared_client
    from .settings import CONFIG_NAMESPACE, Settings, stack_config_from

    root = pulumi.runtime.get_root_resource()
    settings = _PROGRAM_SETTINGS.get(root) if root is not None else None
    if settings is None:
        config = pulumi.Config(CONFIG_NAMESPACE)  # reads "modelarts:<key>" given "<key>"
        settings = Settings.from_sources(
            stack_config=stack_config_from(lambda key: config.get(key.partition(":")[2]))
        )
        if root is not None:
            _PROGRAM_SETTINGS[root] = settings
    overrides = {"project_id": project_id, "region": region, "endpoint": endpoint}
    return shared_client(settings.with_overrides(**{key: value or None for key, value in overrides.items()}))


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


def _in_thread(call: Callable[[], _R]) -> Awaitable[_R]:
    """Run a blocking read on the shared pool so the program's event loop keeps going."""
    global _EXECUTOR
    with _EXECUTOR_LOCK:
        if _EXECUTOR is None:
            _EXECUTOR = ThreadPoolExecutor(MAX_CONCURRENT_READS, thread_name_prefix="modelarts-read")

    def guarded() -> _R:
        with _as_run_errors():
            return call()

    return asyncio.get_running_loop().run_in_executor(_EXECUTOR, guarded)


_RUN_ERROR_TYPES: dict[type[BaseException], type[BaseException]] = {}


@contextmanager
def _as_run_errors() -> Iterator[None]:
    """Raise our errors as ``pulumi.RunError`` too, so a program fails with one clear line
    instead of a traceback; they stay instances of their own class for ``except`` clauses."""
    try:
        yield
    except ModelArtsError as exc:
        cls = type(exc)
        run_error_type = _RUN_ERROR_TYPES.setdefault(cls, type(cls.__name__, (cls, pulumi.RunError), {}))
        clean = run_error_type.__new__(run_error_type)
        clean.__dict__.update(exc.__dict__)
        clean.args = exc.args
        raise clean from None
