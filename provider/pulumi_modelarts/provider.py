"""The dynamic provider behind ``VisualizationJob``: data-source semantics, one GET per job per operation
and never a write. The program imports it with the resource: the client loads only when a read needs it."""

from __future__ import annotations

import functools
import sys
import time
import types
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from pulumi import dynamic
from pulumi.output import Unknown

from .errors import InvalidInputError, JobNotFoundError, ModelArtsError, RequestContext, secret_inputs
from .locks import Lock
from .outputs import OUTPUT_FIELDS, OUTPUTS
from .validation import check_one_job, check_target, parse_job_id

if TYPE_CHECKING:
    from .client import ModelArtsClient
    from .settings import Settings

#: Inputs that name *which* job is read; changing any of them reads another job: replace.
TARGET_INPUTS: tuple[str, ...] = ("job_id", "project_id", "region", "endpoint")
#: Input (and output, for a refresh) naming the targets a program gave as secrets: the engine hands
#: the provider plain values, and its errors show these as ``[secret]``, as the function forms' do.
HIDDEN_TARGETS = "__secret_targets"
#: Outputs kept in state: the exported fields plus the endpoint that was read.
STATE_FIELDS: tuple[str, ...] = (*OUTPUT_FIELDS, "endpoint")
#: Stored outputs whose change is drift: all but the clocks that move on their own.
DRIFT_FIELDS: tuple[str, ...] = (*(field.name for field in OUTPUTS if not field.moves), "endpoint")
#: How long a job read in this process may stand in for another read of the same job: the engine
#: runs Read then Diff (refresh), or Diff then Update (up), back to back.
RECENT_READ_SECONDS = 60.0
#: What to do when an update names another job than the resource's ID.
ANOTHER_JOB = "Another job is another resource: run 'pulumi refresh', then 'pulumi up' replaces it"
#: What to do when state holds a place no read can use (edited by hand).
UNUSABLE_PLACE = (
    "A refresh reads the job where its state says it is: "
    "run 'pulumi up' without --refresh to store the place the program names"
)
MAX_RECENT_READS = 4096

_F = TypeVar("_F", bound=Callable[..., Any])


def _one_line_errors(method: _F, *, timed: bool = False) -> _F:
    """Re-raise our errors without the client's stack, so the engine shows one clear line; any other
    exception is a bug, told in one scrubbed line too (the SDK sends the whole traceback as it is).
    Targets the properties (the last argument) name as secret show as ``[secret]`` in them.
    ``timed``: an RPC's requests (the IAM token or project lookup it may need, then the read) are one
    call under one ``modelarts:timeout``, as for the client."""

    @functools.wraps(method)
    def wrapper(provider: VisualizationJobProvider, *args: Any) -> Any:
        with secret_inputs(*_hidden_targets(args[-1], provider._runtime.stack_config)):
            try:
                if not timed:
                    return method(provider, *args)
                from .transport import call_deadline

                with call_deadline(provider._runtime.settings.timeout, engine=True):
                    return method(provider, *args)
            except ModelArtsError as exc:
                raise exc.with_traceback(None) from None
            except Exception as exc:
                bug = f"unexpected {type(exc).__name__} ({exc})"
                hint = "This is a bug in pulumi-modelarts: please report it"
                raise ModelArtsError(bug, hint=hint) from None

    return wrapper  # type: ignore[return-value]


def _one_call(method: _F) -> _F:
    return _one_line_errors(method, timed=True)


class _Target:
    """A job and its place; an unknown project is looked up (an IAM request) only once asked for."""

    def __init__(self, job_id: int, place: Settings, project_id: str | None) -> None:
        self.job_id, self.place, self.known_project_id = job_id, place, project_id or place.project_id
        self.region, self.endpoint, self._given_project_id = place.region, place.resolved_endpoint, project_id

    @functools.cached_property
    def client(self) -> ModelArtsClient:
        """A place's own project keeps the place's client, so one resource's Read and Diff share a token."""
        from .client import shared_client

        client = shared_client(self.place)
        if self._given_project_id not in (None, client.project_id):
            client = shared_client(self.place.with_overrides(project_id=self._given_project_id))
        return client

    @property
    def project_id(self) -> str:
        return self.known_project_id or self.client.project_id

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.endpoint, self.region, self.project_id, self.job_id)


class _Runtime:
    """Settings, clients and recent reads of one provider process (one ``pulumi`` command): a job
    read by ``read`` or ``diff`` is not fetched again by the ``diff``/``update`` that follows; a
    refresh's ``read`` keeps the outputs it replaces for a ``diff`` to tell its drift, one per read: the
    engine refreshes in parallel, so several reads of one job may come before their diffs."""

    def __init__(self, stack_config: Mapping[str, str]) -> None:
        self.stack_config = dict(stack_config)
        self._lock = Lock()
        self._recent: OrderedDict[tuple[str, str, str, int], tuple[float, dict[str, Any]]] = OrderedDict()
        #: Per job, held by the read of it in flight: the engine runs four RPCs at once, and those
        #: naming one job wait for that read's answer rather than send their own.
        self._reading: dict[tuple[str, str, str, int], Lock] = {}
        #: Per job ID, then job and resource URN, the states refresh reads replaced, each with how many
        #: reads replaced it: equal states are kept once, so reads without a diff (a ``.get``'s) cannot
        #: pile them up; resources reading one job may hold other states (``up --target``).
        self._refreshed: dict[int, dict[tuple[tuple[str, str, str, int], str], list[list[Any]]]] = {}

    @functools.cached_property
    def settings(self) -> Settings:
        """Provider-wide settings, resolved on first use so that ``delete`` never needs them."""
        from .settings import Settings

        return Settings.from_sources(stack_config=self.stack_config)

    def target(self, inputs: Mapping[str, Any], job_id: int | None = None) -> _Target:
        """The job and place named by inputs (overrides only) or stored outputs, in their one spelling;
        ``job_id`` is the job when the caller has parsed it already, so no value is parsed twice."""
        job_id = parse_job_id(inputs.get("job_id")) if job_id is None else job_id
        project_id, region, endpoint = (
            None if inputs.get(key) is None else check_target(key, inputs[key]) for key in TARGET_INPUTS[1:]
        )
        return _Target(job_id, self.settings.with_overrides(region=region, endpoint=endpoint), project_id)

    def keep_replaced(self, key: tuple[str, str, str, int], state: Mapping[str, Any]) -> None:
        of = (key, _engine_urn())
        with self._lock:
            states = self._refreshed.setdefault(key[3], {}).setdefault(of, [])
            if kept := next((kept for kept in states if kept[0] == state), None):
                kept[1] += 1
            else:
                states.append([state, 1])

    def replaced_by_refresh(self, key: tuple[str, str, str, int]) -> Mapping[str, Any] | None:
        of = (key, _engine_urn())
        with self._lock:
            if not (states := self._refreshed.get(key[3], {}).get(of)):
                return None
            states[-1][1] -= 1
            state: Mapping[str, Any] = states[-1][0] if states[-1][1] else states.pop()[0]
            return state

    def end_refreshes(self, job_id: int) -> None:
        """Drop the states refresh reads of job ``job_id`` replaced: its Check came, their Diffs will not."""
        with self._lock:  # as keep_replaced, which may be filling the one dropped
            self._refreshed.pop(job_id, None)

    def read(self, target: _Target, *, reuse_recent: bool) -> dict[str, Any]:
        """The job's state outputs; ``reuse_recent`` accepts this process's last read of it, or the
        answer to the read of it in flight (waited for no longer than this call may still take)."""
        if not reuse_recent:
            return self._fetch(target, target.key)
        from .transport import held

        key = target.key
        with self._lock:
            reading = self._reading.setdefault(key, Lock())
        waiting = RequestContext("get visualization job", urlsplit(key[0]).netloc, key[2], target.job_id)
        with held(reading, waiting):
            recent = self._recent.get(key)
            if recent is not None and time.monotonic() - recent[0] <= RECENT_READ_SECONDS:
                return dict(recent[1])
            return self._fetch(target, key)

    def _fetch(self, target: _Target, key: tuple[str, str, str, int]) -> dict[str, Any]:
        job = target.client.get_visualization_job(target.job_id)
        outputs = job.to_outputs(project_id=target.project_id, region=target.region)
        outputs["endpoint"] = target.endpoint
        with self._lock:
            self._recent[key] = (time.monotonic(), outputs)
            self._recent.move_to_end(key)
            if len(self._recent) > MAX_RECENT_READS:
                self._recent.popitem(last=False)
        return dict(outputs)


#: The runtime of each stack config in this process. The SDK's server unpickles one provider per
#: distinct ``__provider`` text, and state can hold two for one resource (another Python's or
#: SDK's pickle of this class stays in the outputs of a resource an up left unchanged, while its
#: inputs take the new one): a refresh's Read and Diff must share their reads.
_RUNTIMES: weakref.WeakValueDictionary[tuple[tuple[str, str], ...], _Runtime] = weakref.WeakValueDictionary()
_RUNTIMES_LOCK = Lock()


def _runtime_for(stack_config: Mapping[str, str]) -> _Runtime:
    key = tuple(sorted(stack_config.items()))
    with _RUNTIMES_LOCK:
        runtime = _RUNTIMES.get(key)
        if runtime is None:
            runtime = _RUNTIMES[key] = _Runtime(stack_config)
        return runtime


class VisualizationJobProvider(dynamic.ResourceProvider):
    """Reads a ModelArts visualization job; never creates, changes or deletes one.

    Every stack stores this class by reference as ``__provider``: it must never move or be renamed
    (pinned in tests/test_programs.py). It pickles no state, so ``__provider`` is constant and safe."""

    serialize_as_secret_always = False

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        """Nothing to restore: the runtime is rebuilt in the provider process."""

    def configure(self, req: dynamic.ConfigureRequest) -> None:
        """Keep the ``modelarts:*`` stack config (secrets arrive decrypted) for lazy use."""
        from .settings import stack_config_from

        _one_line_over_grpc()
        self._runtime = _runtime_for(stack_config_from(req.config.get))

    @functools.cached_property
    def _runtime(self) -> _Runtime:
        """Unconfigured (used directly, not by the engine): settings from the environment only."""
        return _Runtime({})

    @_one_line_errors
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.CheckResult:
        """Validate and normalise inputs without any I/O; unknowns (preview) pass unchecked. The
        refresh (``up --refresh``) of the job checked is over: a ``.get``'s has no Diff, and its state
        must not stand in for this resource's in its Diff. Others may not be: ``--run-program``
        refreshes each resource as the program registers it, while others are checked."""
        inputs = dict(news)
        missing = dynamic.CheckFailure("job_id", "job_id is required: the ID of the visualization job")
        failures = [missing] if inputs.get("job_id") is None else []
        for key in TARGET_INPUTS:
            value = inputs.get(key)
            if value is not None and not isinstance(value, Unknown):
                try:
                    inputs[key] = check_target(key, value)
                except InvalidInputError as exc:
                    failures.append(dynamic.CheckFailure(key, str(exc)))
        if type(inputs.get("job_id")) is int:
            self._runtime.end_refreshes(inputs["job_id"])
        return dynamic.CheckResult(inputs, failures)

    @_one_call
    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        """Read the job (one GET); its ID becomes the resource ID."""
        target = self._runtime.target(props)
        outputs = _marked(props, self._runtime.read(target, reuse_recent=True))
        return dynamic.CreateResult(str(target.job_id), outputs)

    @_one_call
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        """Replace for another job (or one unknown in preview); otherwise re-read and report drift,
        or an update when other targets are secret now: state keeps their names for a refresh's errors."""
        replaces = [key for key in TARGET_INPUTS if isinstance(news.get(key), Unknown)]
        if not replaces:  # the resource ID names its job, whatever state holds (an older version's
            # or one edited by hand); also for a refresh's news (its stored inputs) naming none
            target = self._runtime.target({**news, "job_id": news.get("job_id") or _id})
            replaces = _replaced({**olds, "job_id": _id}, target)
        if replaces:
            return dynamic.DiffResult(changes=True, replaces=replaces, delete_before_replace=False)
        current = self._runtime.read(target, reuse_recent=True)
        before = self._runtime.replaced_by_refresh(target.key) or olds  # a refresh's: the state read over
        changed = any(not _same(key, before.get(key), current[key]) for key in DRIFT_FIELDS)
        changed = changed or olds.get(HIDDEN_TARGETS) != news.get(HIDDEN_TARGETS)
        return dynamic.DiffResult(changes=changed, replaces=[], delete_before_replace=False)

    @_one_call
    def update(self, id_: str, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        """The full, freshly read output set (never empty, unlike the SDK default) of the resource's
        job: another job is a replacement (``diff``), never outputs stored under this one's ID."""
        target = self._runtime.target(news)
        check_one_job(target.job_id, id_, hint=ANOTHER_JOB)
        return dynamic.UpdateResult(_marked(news, self._runtime.read(target, reuse_recent=True)))

    @_one_call
    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        """Refresh (props = stored outputs): one GET of job ``id_``. ``.get`` (props = inputs, always
        naming the job): the same, or this process's read of the job (``up --refresh`` reads each job
        once). Outputs of ``__provider`` alone are state an SDK default ``update`` wiped (#7809)."""
        outputs_of = (key for key in OUTPUT_FIELDS if key not in TARGET_INPUTS)
        from_state = "job_id" not in props or any(key in props for key in outputs_of)
        named = None if from_state else props.get("job_id")  # the constructor given an id option too
        stored = {key: value for key, value in props.items() if value != ""} if from_state else props
        job_id = check_one_job(named, id_) if isinstance(named, int | float | str) else parse_job_id(id_)
        try:
            target = self._runtime.target(stored, job_id)
        except InvalidInputError as exc:
            if not from_state:
                raise
            raise InvalidInputError(f"the state's {exc.summary}", hint=UNUSABLE_PLACE) from None
        try:
            outputs = self._runtime.read(target, reuse_recent=not from_state)
            if from_state:
                self._runtime.keep_replaced(target.key, props)
        except JobNotFoundError:
            if from_state:
                return dynamic.ReadResult("", {})  # gone: refresh drops it from state
            raise
        return dynamic.ReadResult(str(target.job_id), _marked(props, outputs))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Deliberately nothing: a data source never deletes the job it reads."""


def _engine_urn() -> str:
    """The URN of the engine's Read or Diff this thread serves ("" outside the SDK's server, which
    passes the provider no URN): a refresh's Diff takes the state its own resource's Read replaced."""
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None:
        request: Any = frame.f_locals.get("request")
        if type(request).__name__ in ("ReadRequest", "DiffRequest"):
            return str(request.urn)
        frame = frame.f_back
    return ""


def _one_line_over_grpc() -> None:
    """In the SDK's provider server, which sends ``traceback.format_exc()`` as an error's gRPC details
    (the engine shows them whole; pulumi/pulumi#10416), our errors go as their one line alone; any
    other error as before (``tests/test_engine.py`` shows both)."""
    server = sys.modules.get("__main__")
    real = getattr(server, "traceback", None)
    if not hasattr(server, "_abort_with_traceback") or not isinstance(real, types.ModuleType):
        return
    if getattr(real, "one_line_errors", False):  # configured before in this process
        return

    def format_exc(*args: Any, **kwargs: Any) -> str:
        error = sys.exc_info()[1]
        if isinstance(error, ModelArtsError):
            return f"{type(error).__module__}.{type(error).__qualname__}: {error}\n"
        return str(real.format_exc(*args, **kwargs))

    one_line = types.ModuleType("traceback")
    vars(one_line).update(vars(real), format_exc=format_exc, one_line_errors=True)
    server.traceback = one_line  # type: ignore[union-attr]


def _hidden_targets(props: Mapping[str, Any], stack_config: Mapping[str, str]) -> list[Any]:
    """The values of the targets ``props`` name as secret (``HIDDEN_TARGETS``), in stack config for
    those ``props`` leave to it."""
    names = props.get(HIDDEN_TARGETS)
    if not isinstance(names, list):
        return []
    from .settings import SHOWN_CONFIG, secret_config

    configured = secret_config(props, stack_config.get, lambda key: SHOWN_CONFIG[key] in names)
    return [
        *(props.get(name) for name in names if name in TARGET_INPUTS),
        *(value for _, value in configured),
    ]


def _marked(props: Mapping[str, Any], outputs: dict[str, Any]) -> dict[str, Any]:
    """``outputs`` naming the secret targets ``props`` name, for a refresh's read of them."""
    return (
        outputs if props.get(HIDDEN_TARGETS) is None else {**outputs, HIDDEN_TARGETS: props[HIDDEN_TARGETS]}
    )


def _replaced(olds: Mapping[str, Any], target: _Target) -> list[str]:
    """The inputs naming another job or place than stored outputs, told without a request when any
    does: a project still to be looked up in another region is another project."""
    place = {
        key: not _same(key, olds.get(key), getattr(target, key)) for key in ("job_id", "region", "endpoint")
    }
    if target.known_project_id is None and any(place.values()):
        project = place["region"] and olds.get("project_id") is not None
    else:
        project = not _same("project_id", olds.get("project_id"), target.project_id)
    return [key for key in TARGET_INPUTS if place.get(key, project)]


def _same(key: str, old: Any, new: Any) -> bool:
    """Whether a stored output means ``new``: a job or place in any spelling (an ID as text, an endpoint
    ending in "/" or in other case; one not stored or blank names no other), a number sent as a float."""
    if key in TARGET_INPUTS:
        try:
            old = new if old in (None, "") else check_target(key, old)
        except InvalidInputError:
            return False
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and old == new
    return bool(old == new)
