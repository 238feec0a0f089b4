"""``get_visualization_job(s)`` and their ``_output`` twins, shaped like the generated SDKs' ``get_x``:
read in the program process (dynamic providers cannot serve invokes) on every preview and up, storing
nothing; an ``_output`` form reads once its inputs and ``depends_on`` are known, on a shared pool."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import itertools
import os
import queue
import threading
import time
import weakref
from collections.abc import Callable, Generator, Mapping, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlencode

import pulumi
from pulumi.runtime.stack import run_pulumi_func

from .errors import InvalidInputError, JobNotFoundError, as_run_errors, secret_inputs
from .outputs import OUTPUT_FIELDS
from .validation import check_name, check_target, parse_job_id

if TYPE_CHECKING:
    from .client import ModelArtsClient
    from .responses import JobModel

#: Reads that may be in flight at once from one program's ``_output`` calls.
MAX_CONCURRENT_READS = 16
#: How long a result may wait to go back with others, per output still waiting (none if no read runs).
BATCH_SECONDS_PER_WAITING = 50e-6
#: Inline reads in a row that each waited longer than this (and than they computed) send reads
#: back to the threads; one alone may be a hiccup of the machine.
INLINE_WAIT_SECONDS = 0.001
INLINE_WAITS = 3
#: Shares of one core's time (process CPU over wall, every 50 ms) above which the process counts
#: as busy (fewer threads, then inline reads) and below which as idle (more threads).
BUSY_SHARE, IDLE_SHARE = 0.9, 0.5
#: How often reads in flight look whether their program has raised meanwhile.
WATCH_SECONDS = 0.1
RESULT_FIELDS: tuple[str, ...] = ("id", "found", *OUTPUT_FIELDS)
_R = TypeVar("_R")
_Read = Callable[[], dict[str, Any]]
_Options = pulumi.InvokeOptions | pulumi.InvokeOutputOptions | None


@pulumi.output_type
class GetVisualizationJobResult:
    """What ``get_visualization_job`` returns: ``id`` (the job ID as a string), ``found`` (False
    only with ``allow_missing=True`` and no such job: ``id`` is then the ID asked for, None for a
    name, and every output None) and the fields of :data:`outputs.OUTPUTS`, in their order."""

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
        _fill(self, values)


class AwaitableGetVisualizationJobResult(GetVisualizationJobResult):
    def __await__(self) -> Generator[Any, None, GetVisualizationJobResult]:
        yield from ()
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
        _fill(self, values)


class AwaitableGetVisualizationJobsResult(GetVisualizationJobsResult):
    def __await__(self) -> Generator[Any, None, GetVisualizationJobsResult]:
        yield from ()
        return GetVisualizationJobsResult(**self.__dict__)


def _fill(result: object, values: dict[str, Any]) -> None:
    """Set the fields where ``pulumi.get()`` looks (a missing one reads None), one by one: unlike
    ``__dict__.update()``, that keeps CPython's (3.11+) key table shared by every result, not one each."""
    fields = result.__dict__
    for name, value in values.items():
        fields[name] = value


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
    """Read one visualization job by ID or by exact name (exactly one of the two); a missing job
    is an error unless ``allow_missing`` is set, then ``found`` is False."""
    return _direct("get_visualization_job", _job_lookup, AwaitableGetVisualizationJobResult, locals())


def get_visualization_job_output(
    job_id: pulumi.Input[int | str | None] = None,
    job_name: pulumi.Input[str | None] = None,
    *,
    project_id: pulumi.Input[str | None] = None,
    region: pulumi.Input[str | None] = None,
    endpoint: pulumi.Input[str | None] = None,
    allow_missing: pulumi.Input[bool] = False,
    opts: pulumi.InvokeOptions | pulumi.InvokeOutputOptions | None = None,
) -> pulumi.Output[GetVisualizationJobResult]:
    """Like :func:`get_visualization_job`, taking ``Input`` values and returning an ``Output``."""
    return _output("get_visualization_job_output", _job_lookup, GetVisualizationJobResult, locals())


def get_visualization_jobs(
    *,
    status: int | None = None,
    search_content: str | None = None,
    project_id: str | None = None,
    region: str | None = None,
    endpoint: str | None = None,
    opts: pulumi.InvokeOptions | None = None,
) -> AwaitableGetVisualizationJobsResult:
    """List visualization jobs, optionally filtered by status code and name; none matching is no error."""
    return _direct("get_visualization_jobs", _job_listing, AwaitableGetVisualizationJobsResult, locals())


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
    return _output("get_visualization_jobs_output", _job_listing, GetVisualizationJobsResult, locals())


def _direct(form: str, prepare: Callable[..., _Read], result: Callable[..., _R], args: dict[str, Any]) -> _R:
    """A direct form reads at once: it cannot wait for an ``Output`` or ``depends_on``, the other can.
    Its ``opts`` are checked like the generated SDKs'."""
    with as_run_errors():
        opts = _options(args.pop("opts"))
        waits = [  # a coroutine or task is an Input too (Output.future()): the same mistake
            f"{name} is {'an Output' if isinstance(value, pulumi.Output) else 'awaitable'}"
            for name, value in args.items()
            if isinstance(value, pulumi.Output) or asyncio.isfuture(value) or inspect.iscoroutine(value)
        ]
        if isinstance(opts, pulumi.InvokeOutputOptions) and opts.depends_on:
            waits.append("opts.depends_on needs waiting for resources")
        if waits:
            for value in args.values():  # refused, so never awaited: closed, or Python warns of it
                if inspect.iscoroutine(value):
                    value.close()
            raise InvalidInputError(f"{waits[0]}; {form}() takes plain values", hint=f"Use {form}_output()")
    with secret_inputs(*_secret_config(args)), as_run_errors():
        return result(**prepare(*args.values())())


def _secret_config(args: Mapping[str, Any]) -> list[Any]:
    """The place stack config sets as a secret for the arguments ``args`` leave to it: the result
    shows it (secret then) and so may an error (as ``[secret]``)."""
    from .settings import secret_config

    return [value for _, value in secret_config(args)]


def _options(opts: object) -> _Options:
    """``ResourceOptions`` (a common slip) would lose its ``depends_on`` without a word."""
    if opts is not None and not isinstance(opts, pulumi.InvokeOptions):  # InvokeOutputOptions is one
        raise InvalidInputError(
            f"opts must be pulumi.InvokeOptions or pulumi.InvokeOutputOptions, got {type(opts).__name__}",
            hint="A read waits for resources with opts=pulumi.InvokeOutputOptions(depends_on=[...])",
        )
    return opts


def _output(
    form: str, prepare: Callable[..., _Read], result: Callable[..., _R], args: dict[str, Any]
) -> pulumi.Output[_R]:
    """Once inputs and dependencies are known, prepare the read in the program's context (its stack
    config) and run it on the pool; plain inputs without ``depends_on`` skip the ``Output`` plumbing."""

    def start(values: list[Any], secrets: Sequence[bool]) -> asyncio.Future[_R]:
        """The read, on the pool in a copy of this context, shows its secret inputs as [secret] too. Called
        in a copy of the program's context: the context variables set while checking and reading inline
        would leave it a new mapping each read, which the SDK's task of every Output copies."""
        with secret_inputs(*itertools.compress(values, secrets), *configured):
            with as_run_errors():
                call = prepare(*values)
            return _READS.start(asyncio.get_running_loop(), lambda: result(**call()))

    opts = args.pop("opts")
    inputs = list(args.values())
    with as_run_errors():
        _options(opts)
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # not in a running program (a unit test's module level): the general path
            loop = None
            try:  # as the Output would, which asyncio refuses without a word on what to do: in a thread
                asyncio.get_event_loop()  # the program started, or in the main one after asyncio.run()
            except RuntimeError:
                thread = threading.current_thread().name
                raise InvalidInputError(
                    f"{form}() was called in thread {thread!r}, which has no event loop for its Output",
                    hint=f"Call it while the program's event loop runs, or call {form[:-7]}() in this thread",
                ) from None
    configured = _secret_config(args)
    secret = pulumi.Output.secret if configured else None
    plain = all(value is None or isinstance(value, str | int | float) for value in inputs)
    if loop is not None and plain and not (isinstance(opts, pulumi.InvokeOutputOptions) and opts.depends_on):
        try:
            future = contextvars.copy_context().run(start, inputs, ())
        except Exception as exc:  # raised where the result is awaited, as on the general path
            future = loop.create_future()
            future.set_exception(exc)
        output = pulumi.Output(set(), future, _READS.loop(loop).known)
        return secret(output) if secret else output
    outputs = [pulumi.Output.from_input(value) for value in inputs]  # a coroutine is awaited once
    every = pulumi.Output.all(*outputs, _dependencies(opts))

    async def secrets() -> list[bool]:  # each input's own: a secret job ID does not hide the host
        return [await output.is_secret() for output in outputs]

    known_secrets: Any = secrets()  # from_input's overloads do not type an awaitable
    output = pulumi.Output.all(every, pulumi.Output.from_input(known_secrets)).apply(
        lambda v: contextvars.copy_context().run(start, v[0][:-1], v[1])
    )
    return secret(output) if secret else output


def _job_lookup(
    job_id: int | str | None,
    job_name: str | None,
    project_id: str | None,
    region: str | None,
    endpoint: str | None,
    allow_missing: object,
) -> _Read:
    """Validate one lookup by ID or name and bind it to the client of its place, before any I/O."""
    if (job_id is None) == (job_name is None):
        raise InvalidInputError(
            "get_visualization_job needs exactly one of job_id or job_name",
            hint=f"got job_id={job_id!r}, job_name={job_name!r}",
        )
    if not isinstance(allow_missing, bool):  # "false" from pulumi.Config().get() would read as True
        raise InvalidInputError(f"allow_missing must be True or False, got {allow_missing!r}")
    number = parse_job_id(job_id) if job_id is not None else None
    name = check_name(job_name, field="job_name") if job_name is not None else ""
    client = _client(project_id, region, endpoint)

    def read() -> dict[str, Any]:
        try:
            if number is not None:
                job = client.get_visualization_job(number)
            else:
                job = client.find_visualization_job(name, read_by_id="job_id={} instead of job_name")
        except JobNotFoundError:
            if not allow_missing:
                raise
            return {"id": None if number is None else str(number), "found": False}
        return _result_values(job, client)

    return read


def _job_listing(status: int | float | str | None, search_content: str | None, *place: str | None) -> _Read:
    """Validate a list query and bind it to its client, before any I/O (pages load when read)."""
    client = _client(*place)
    listed = client.list_visualization_jobs(status=status, search_content=search_content)
    status = None if status is None else int(status)  # checked by the client: "8", 8.0 and 8 are 8

    def read() -> dict[str, Any]:
        jobs = [GetVisualizationJobResult(**_result_values(job, client)) for job in listed]
        filters = {"status": status, "search_content": search_content or None}  # "" filters nothing
        query = urlencode({k: v for k, v in filters.items() if v is not None}, quote_via=quote)
        path = f"{client.project_id}/visualization-jobs" + (f"?{query}" if query else "")
        return {"id": path, "jobs": jobs, **filters, "project_id": client.project_id, "region": client.region}

    return read


def _result_values(job: JobModel, client: ModelArtsClient) -> dict[str, Any]:
    outputs = job.to_outputs(project_id=client.project_id, region=client.region)
    return {"id": str(job.job_id), "found": True, **outputs}


#: The clients of each program run (its root stack resource), by the lookup's overrides; the
#: settings are resolved once per run from its ``modelarts:*`` stack config and the environment.
#: Under mocks one root serves every program of the process: other stack config or another
#: environment (read by settings and, as ``PULUMI_CONFIG*``, by the SDK's config) is a new run there.
_PROGRAM_CLIENTS: weakref.WeakKeyDictionary[
    pulumi.Resource,
    tuple[tuple[dict[str, Any], dict[Any, Any]], dict[tuple[str | None, ...], ModelArtsClient]],
] = weakref.WeakKeyDictionary()


def _client(project_id: str | None, region: str | None, endpoint: str | None) -> ModelArtsClient:
    """The shared client for the program's settings with this lookup's overrides."""
    root = pulumi.runtime.get_root_resource()
    holder = getattr(pulumi.runtime.config, "CONFIG", None)  # the SDK's, as set_all_config left it
    # The environment as os.environ holds it: compared per read without decoding every value (0.2 µs
    # against 15 µs for os.environ.copy() with 35 variables); os.environ itself if it was replaced.
    environ: Mapping[Any, Any] = getattr(os.environ, "_data", os.environ)
    sources = (dict(holder.get()) if holder is not None else {}, environ)
    run = _PROGRAM_CLIENTS.get(root) if root is not None else None
    clients = run[1] if run is not None and run[0] == sources else {}
    key = (project_id, region, endpoint)  # a blank override is refused below, as the resource does
    client = clients.get(key)
    if client is None:
        from .client import shared_client
        from .settings import Settings, stack_config_from

        program = clients.get((None, None, None))
        if program is not None:
            settings = program.settings
        else:  # the program's stack config, as pulumi.Config reads it
            settings = Settings.from_sources(stack_config=stack_config_from(pulumi.runtime.get_config))
        overrides = {"project_id": project_id, "region": region, "endpoint": endpoint}
        for name, value in overrides.items():
            if value is not None:  # named as the argument, not as the setting it overrides
                check_target(name, value)
        client = clients[key] = shared_client(settings.with_overrides(**overrides))
        if root is not None:
            _PROGRAM_CLIENTS[root] = (sources[0], dict(environ)), clients
    return client


def _dependencies(opts: _Options) -> pulumi.Output[Any]:
    """An output that resolves once every ``depends_on`` resource exists (unknown until then); a
    component stands for its children, as in Pulumi's own ``invoke_output``."""
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


class _Loop:
    """One program run's event loop: its results waiting to go back, and the count it waits for;
    its reads not yet answered, and the SDK's ``run_pulumi_func`` running the program."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop, self.waiting = loop, 0
        self.done: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        self.known: asyncio.Future[bool] = loop.create_future()  # what every result's output awaits
        self.known.set_result(True)
        self.pending: set[asyncio.Future[Any]] = set()
        self.run: Any = None  # the coroutine of the SDK's run_pulumi_func running the program

    def watch(self) -> None:
        """Once the program has raised (Ctrl-C in a direct form's read too), the SDK still waits for every
        output before it reports the error: reads not answered by then end in it at once, not at their
        deadlines. Its ``run_pulumi_func`` holds the error: the only place it is kept."""
        if self.run is None or self.run.cr_frame is None:  # none yet, or a new run on this loop
            self.run = next(filter(None, map(_running, asyncio.all_tasks(self.loop))), None)
        error = self.run and self.run.cr_frame.f_locals.get("ex")
        if isinstance(error, BaseException):
            for future in list(self.pending):
                future.set_exception(error)
        elif self.pending:
            self.loop.call_later(WATCH_SECONDS, self.watch)


def _running(task: asyncio.Task[Any]) -> Any:
    """The coroutine of ``run_pulumi_func`` if ``task`` awaits it."""
    coroutine: Any = task.get_coro()
    while getattr(coroutine, "cr_frame", None) is not None:
        if coroutine.cr_code is run_pulumi_func.__code__:
            return coroutine
        coroutine = coroutine.cr_await
    return None


_Job = tuple[_Loop, asyncio.Future[Any], Callable[[], Any]]


class _Reads:
    """The threads that run every program's reads. Reads waiting on the network want many threads;
    reads keeping the interpreter busy gain nothing from more than two and pay for every lock switch.

    So the threads halve (to two) while the process is busy and double while it is idle; still busy
    with two, reads run inline until they wait on the network again (see the constants). Results go
    back in batches: the SDK's ``wait_for_rpcs`` waits anew on every pending output whenever one
    completes (``benchmarks/sdk_output_wait.py``)."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = self._busy = 0
        self._inline, self._waits = False, 0
        self._limit = MAX_CONCURRENT_READS
        self._since = (0.0, 0.0)  # start of the current measure: wall and process CPU seconds
        self._loops: dict[asyncio.AbstractEventLoop, _Loop] = {}  # not weak: each _Loop holds its loop

    def loop(self, loop: asyncio.AbstractEventLoop) -> _Loop:
        with self._lock:
            state = self._loops.get(loop)
            if state is None:  # a new run: those whose loop has closed are over
                self._loops = {key: value for key, value in self._loops.items() if not key.is_closed()}
                state = self._loops[loop] = _Loop(loop)
            return state

    def start(self, loop: asyncio.AbstractEventLoop, read: Callable[[], _R]) -> asyncio.Future[_R]:
        """Run ``read`` on a pool thread (or inline) for a future of ``loop``, in a copy of the caller's
        context as the SDK runs its invokes: the program's settings and tracing context hold there."""
        future = loop.create_future()
        state = None if self._inline else self.loop(loop)
        if state is not None:
            with self._lock:
                self._busy += 1
                self._start_threads()
                if self._threads:
                    state.waiting += 1
                else:  # none could start (at interpreter shutdown): read inline
                    self._busy, state = self._busy - 1, None
        if state is not None:
            if not state.pending:
                loop.call_later(WATCH_SECONDS, state.watch)
            state.pending.add(future)
            future.add_done_callback(state.pending.discard)
            self._jobs.put((state, future, functools.partial(contextvars.copy_context().run, read)))
            return future
        wall, cpu = time.perf_counter(), time.thread_time()
        try:  # an interrupt stops the program here, as the direct form's would
            with as_run_errors():
                future.set_result(read())
        except Exception as exc:
            future.set_exception(exc)
        cpu = time.thread_time() - cpu
        waited = time.perf_counter() - wall - cpu > max(cpu, INLINE_WAIT_SECONDS)
        self._waits = self._waits + 1 if waited else 0
        self._inline = self._waits < INLINE_WAITS
        return future

    def _start_threads(self) -> None:
        while self._threads < min(self._busy, self._limit):
            try:
                threading.Thread(target=self._work, name="modelarts-read", daemon=True).start()
            except RuntimeError:  # refused at interpreter shutdown (3.12+) or the system's limit
                return  # the threads running take the reads
            self._threads += 1

    def _work(self) -> None:
        while True:
            state, future, read = self._jobs.get()
            outcome: tuple[Any, BaseException | None] = (None, None)
            if not (future.done() or state.loop.is_closed()):  # else its program has ended
                try:
                    with as_run_errors():
                        outcome = (read(), None)
                except BaseException as exc:  # handed to the awaiting output
                    outcome = (None, exc)
            with self._lock:
                self._busy -= 1
                state.done.append((future, *outcome))
                delay = state.waiting * BATCH_SECONDS_PER_WAITING
                now, first = self._busy == 0 or delay < 0.001, len(state.done) == 1
                self._resize()
                leave = self._threads > self._limit
                self._threads -= leave
            with suppress(RuntimeError):  # raised once the loop is closed: nothing awaits the result
                if now:
                    state.loop.call_soon_threadsafe(self._deliver, state)
                elif first:
                    state.loop.call_soon_threadsafe(state.loop.call_later, delay, self._deliver, state)
            del state, future, read  # an idle thread keeps no ended run's loop alive
            if leave:
                return

    def _resize(self) -> None:
        """Every 50 ms: fewer threads while the process is busy, more while it is idle."""
        now = time.perf_counter()
        if now - self._since[0] >= 0.05:
            busy = (time.process_time() - self._since[1]) / (now - self._since[0])
            if busy > BUSY_SHARE:
                self._inline, self._waits = self._limit == 2, 0
                self._limit = max(2, self._limit // 2)
            elif busy < IDLE_SHARE:
                self._limit = min(MAX_CONCURRENT_READS, self._limit * 2)
            self._since = (now, time.process_time())
        self._start_threads()

    def _deliver(self, state: _Loop) -> None:
        with self._lock:
            batch, state.done = state.done, []
            state.waiting -= len(batch)
        for future, result, error in batch:
            if not future.done():
                future.set_exception(error) if error else future.set_result(result)


_READS = _Reads()
if hasattr(os, "register_at_fork"):  # the child has none of the threads: the next read starts them
    os.register_at_fork(after_in_child=_READS.__init__)  # type: ignore[misc]
