"""A small stand-in for the Pulumi engine's deployment loop, driving the real provider server.

``Engine`` keeps a stack state (per URN: id, inputs, outputs, external) and runs ``preview``,
``up``, ``refresh`` and ``destroy`` against it, issuing the provider calls the engine issues, in
the same order and with the same property maps (``pkg/resource/deploy/step_generator.go`` and
``step.go``). Like the CLI, every operation starts a **fresh** provider process, calls
``GetPluginInfo`` and ``Configure`` (whole stack config, namespaced keys, secrets wrapped), runs
its resource steps and shuts the process down.

Modelled:

- preview/up of a new resource: ``Check(olds={})``; up adds ``Create`` (an empty id is an error).
  Preview shows the checked inputs as outputs, with declared output-only properties unknown.
- existing resource: ``Check(olds=old inputs)`` then ``Diff(olds=old outputs, news=checked,
  old_inputs=old inputs)``. DIFF_NONE is a "same" step that keeps the old outputs (the stored
  inputs become the new checked inputs). DIFF_SOME without replaces is an "update" (up:
  ``Update``; its outputs become the whole output set). DIFF_SOME with replaces re-runs
  ``Check(olds={})`` (in preview too, as the engine does), then in up ``Create`` + ``Delete`` of
  the old id, or ``Delete`` first when delete-before-replace. DIFF_UNKNOWN is resolved by the
  engine comparing old and new inputs (any difference counts as a change; only ``replaces`` the
  provider returned can turn it into a replacement).
- ``Desired(read_id=...)`` (``ResourceOptions(id=...)``): ``Read(id, properties=inputs,
  inputs=inputs)`` on every preview and up (skipped when the id is unknown), no Check/Diff;
  the resource is external. A blank returned id keeps the requested id.
- resources in state but absent from ``up``: ``Delete`` (managed) or "discard" (external), after
  all other steps, in reverse state order. Preview shows them without calling the provider.
- refresh: ``Read(id, properties=old outputs, inputs=old inputs)``; a blank id drops the resource;
  otherwise the outputs (and inputs, if returned) replace the stored ones, and for managed
  resources ``Diff(olds=refreshed outputs, news=old inputs, old_inputs=refreshed inputs)`` runs to
  show drift (the raw Diff is kept on the step; the engine displays it inverted).
- ``up --refresh``: the refresh above for every resource in state, then the up, in one provider
  process.
- destroy: ``Delete(id, old outputs)`` for managed resources in reverse order; external ones are
  discarded without a call.
- secrets: wrapped values (``rpc.wrap_rpc_secret``) in inputs are unwrapped before they are sent
  (the server reports ``acceptSecrets=False``), and top-level outputs named like a secret input are
  marked secret again (the engine's ``annotateSecrets``).
- errors: the operation stops at the first failing resource; state is committed per resource only
  when its whole step sequence succeeded. With ``parallel > 1``, steps already running finish and
  are committed, queued ones are cancelled.

Not modelled: dependencies between resources (steps run in the given order, or all at once with
``parallel``), pending deletes (a create-before-delete replacement whose Delete fails leaves the
new resource uncommitted; a delete-before-replace whose Create fails leaves the deleted old one in
state), ``protect``, ``ignoreChanges``, aliases, targets, ``additional_secret_outputs``, import,
``refresh --preview-only``, a URN switching between managed and read (the engine's
read-replacement), the engine's CheckConfig/DiffConfig fallbacks for the default provider (the
Python server does not implement them), and the program side (the harness passes inputs directly).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Literal

from pulumi.dynamic import ResourceProvider
from pulumi.output import Unknown
from pulumi.runtime import rpc

from .provider_server import (
    DEFAULT_TYPE,
    PROVIDER_KEY,
    DiffOutcome,
    ProviderCallError,
    ProviderServer,
    serialized_provider,
    urn_for,
)

StepKind = Literal["create", "same", "update", "replace", "read", "refresh", "delete", "discard"]
Operation = Literal["preview", "up", "refresh", "destroy"]


class EngineError(Exception):
    """A failure the engine itself raises (not a provider RPC failure)."""


class CheckFailedError(EngineError):
    """``Check`` returned failures; the engine refuses to proceed with the resource."""

    def __init__(self, urn: str, failures: Sequence[tuple[str, str]]) -> None:
        self.urn = urn
        self.failures = list(failures)
        detail = "; ".join(f"{prop}: {reason}" for prop, reason in self.failures)
        super().__init__(f"resource {urn} has check errors: {detail}")


@dataclass
class Desired:
    """What the program registers for one resource.

    ``inputs`` are the props given to ``dynamic.Resource`` (without ``__provider``). ``None``
    values declare output-only properties: like the SDK, they are not sent, and in preview they
    show as unknown when the engine has no value for them. ``read_id`` is ``ResourceOptions(id=)``.
    ``provider`` overrides the serialized ``__provider`` (e.g. to simulate a new pickle).
    """

    inputs: dict[str, Any] = field(default_factory=dict)
    read_id: str | None = None
    provider: str | None = None


@dataclass
class ResourceState:
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    external: bool = False


@dataclass
class StepResult:
    """One resource's step. ``calls`` are the provider methods issued for this URN, in order."""

    urn: str
    kind: StepKind
    id: str | None
    outputs: dict[str, Any] | None
    diff: DiffOutcome | None = None
    dropped: bool = False
    """Refresh only: ``Read`` returned a blank id, so the resource left the state."""
    calls: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]


@dataclass
class OperationResult:
    operation: Operation
    steps: dict[str, StepResult] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    """Every RPC of the operation in start order, including ``GetPluginInfo`` and ``Configure``."""
    error: Exception | None = None
    failed_urn: str | None = None
    stdout: str = ""
    stderr: str = ""
    server_pid: int | None = None
    """PID of this operation's provider process (each operation gets a fresh one)."""

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def kinds(self) -> dict[str, StepKind]:
        """Step kind per resource *name*, in resource order."""
        return {step.name: step.kind for step in self.steps.values()}

    def step(self, name_or_urn: str) -> StepResult:
        for urn, step in self.steps.items():
            if name_or_urn in (urn, step.name):
                return step
        raise KeyError(f"no step for {name_or_urn!r}; steps: {list(self.kinds)}")

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error


@dataclass
class _Outcome:
    step: StepResult
    state: ResourceState | None = None
    remove: bool = False


def _is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown) or (isinstance(value, str) and value == rpc.UNKNOWN)


def _contains_unknowns(value: Any) -> bool:
    if _is_unknown(value):
        return True
    if isinstance(value, dict):
        return any(_contains_unknowns(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_unknowns(v) for v in value)
    return False


def _strip_secrets(value: Any) -> Any:
    """Unwrap secrets recursively: what the engine sends to a provider with acceptSecrets=False."""
    if rpc.is_rpc_secret(value):
        return _strip_secrets(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: _strip_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_secrets(v) for v in value]
    return value


def _annotate_secrets(outs: dict[str, Any], reference: Mapping[str, Any]) -> dict[str, Any]:
    """Re-mark top-level values secret when the same-named reference value was secret."""
    result = dict(outs)
    for key, value in reference.items():
        if rpc.is_rpc_secret(value) and key in result and not rpc.is_rpc_secret(result[key]):
            result[key] = rpc.wrap_rpc_secret(result[key])
    return result


class Engine:
    """Simulated engine over one stack; see the module docstring for what is modelled.

    ``provider`` is a provider instance (serialized like ``dynamic.Resource`` does) or an already
    serialized ``__provider`` string. Config keys without a namespace get ``<project>:``, as
    ``pulumi config set`` would store them. ``cwd``/``env``/``pythonpath`` go to each
    :class:`ProviderServer`.
    """

    def __init__(
        self,
        provider: ResourceProvider | str,
        *,
        config: Mapping[str, str] | None = None,
        secret_keys: Collection[str] = (),
        project: str = "project",
        stack: str = "stack",
        type_: str = DEFAULT_TYPE,
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        pythonpath: Sequence[str] = (),
    ) -> None:
        self.provider = provider if isinstance(provider, str) else serialized_provider(provider)
        self.project = project
        self.stack = stack
        self.type_ = type_
        self.config = {self._qualify(k): v for k, v in (config or {}).items()}
        self.secret_keys = {self._qualify(k) for k in secret_keys}
        self.cwd = cwd
        self.env = dict(env or {})
        self.pythonpath = list(pythonpath)
        self.state: dict[str, ResourceState] = {}
        self.servers_started = 0

    def _qualify(self, key: str) -> str:
        return key if ":" in key else f"{self.project}:{key}"

    def urn(self, name_or_urn: str) -> str:
        if name_or_urn.startswith("urn:pulumi:"):
            return name_or_urn
        return urn_for(name_or_urn, self.type_, self.project, self.stack)

    # -- operations ------------------------------------------------------------------------------

    def preview(self, resources: Mapping[str, Desired], *, parallel: int = 1) -> OperationResult:
        """Plan against the state without changing it (unknown inputs allowed)."""
        return self._deploy("preview", resources, parallel)

    def up(
        self, resources: Mapping[str, Desired], *, parallel: int = 1, refresh: bool = False
    ) -> OperationResult:
        """Apply ``resources``; ``parallel`` runs per-resource step sequences concurrently.

        ``refresh`` is ``pulumi up --refresh``: every resource in state is refreshed first, by the
        same provider process; ``steps`` then show the up's steps and ``calls`` both.
        """
        for key, desired in resources.items():
            if (
                _contains_unknowns(desired.inputs)
                or _is_unknown(desired.read_id)
                or _is_unknown(desired.provider)
            ):
                raise ValueError(f"{key}: unknown values are only possible in preview")
        return self._deploy("up", resources, parallel, refresh=refresh)

    def refresh(self, *, parallel: int = 1) -> OperationResult:
        """Read every resource in state; the program is not run."""
        return self._operate("refresh", lambda server, result: self._refresh_all(server, result, parallel))

    def destroy(self, *, parallel: int = 1) -> OperationResult:
        """Delete managed resources (reverse state order) and discard external ones."""

        def body(server: ProviderServer, result: OperationResult) -> None:
            jobs = [
                (urn, self._bind(self._delete_one, server, urn, self.state[urn], False))
                for urn in reversed(self.state)
            ]
            self._run(jobs, parallel, result, commit=True)

        return self._operate("destroy", body)

    # -- plumbing --------------------------------------------------------------------------------

    @staticmethod
    def _bind(fn: Callable[..., _Outcome], *args: Any) -> Callable[[], _Outcome]:
        return lambda: fn(*args)

    def _operate(
        self, operation: Operation, body: Callable[[ProviderServer, OperationResult], None]
    ) -> OperationResult:
        result = OperationResult(operation=operation)
        server = ProviderServer(self.cwd, self.env, project=self.project, pythonpath=self.pythonpath)
        self.servers_started += 1
        try:
            with server:
                server.get_plugin_info()
                server.configure(self.config, self.secret_keys)
                body(server, result)
        except (ProviderCallError, EngineError) as err:
            result.error = err
        finally:
            result.calls = server.call_names()
            for urn, step in result.steps.items():
                step.calls = server.call_names(urn)
            result.stdout = server.stdout_text()
            result.stderr = server.stderr_text()
            result.server_pid = server.pid
        return result

    def _run(
        self,
        jobs: Sequence[tuple[str, Callable[[], _Outcome]]],
        parallel: int,
        result: OperationResult,
        *,
        commit: bool,
    ) -> None:
        """Run per-resource step sequences; stop at the first error; commit in job order."""
        outcomes: dict[str, _Outcome] = {}

        def fail(urn: str, err: Exception) -> None:
            if result.error is None:
                result.error, result.failed_urn = err, urn

        if parallel <= 1:
            for urn, job in jobs:
                try:
                    outcomes[urn] = job()
                except (ProviderCallError, EngineError) as err:
                    fail(urn, err)
                    break
        else:
            with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="engine") as pool:
                futures: dict[Future[_Outcome], str] = {pool.submit(job): urn for urn, job in jobs}
                for future in as_completed(futures):
                    if future.cancelled():
                        continue
                    urn = futures[future]
                    try:
                        outcomes[urn] = future.result()
                    except (ProviderCallError, EngineError) as err:
                        fail(urn, err)
                        for other in futures:
                            other.cancel()
        for urn, _ in jobs:
            outcome = outcomes.get(urn)
            if outcome is None:
                continue
            result.steps[urn] = outcome.step
            if not commit:
                continue
            if outcome.remove:
                self.state.pop(urn, None)
            elif outcome.state is not None:
                self.state[urn] = outcome.state

    def _refresh_all(self, server: ProviderServer, result: OperationResult, parallel: int) -> None:
        jobs = [(urn, self._bind(self._refresh_one, server, urn, old)) for urn, old in self.state.items()]
        self._run(jobs, parallel, result, commit=True)

    def _deploy(
        self, operation: Operation, resources: Mapping[str, Desired], parallel: int, *, refresh: bool = False
    ) -> OperationResult:
        preview = operation == "preview"
        desired = {self.urn(key): value for key, value in resources.items()}

        def body(server: ProviderServer, result: OperationResult) -> None:
            if refresh:
                self._refresh_all(server, result, parallel)
                if result.error is not None:
                    return
            jobs = [
                (urn, self._bind(self._register, server, urn, goal, preview)) for urn, goal in desired.items()
            ]
            self._run(jobs, parallel, result, commit=not preview)
            if result.error is not None:
                return
            gone = [urn for urn in reversed(self.state) if urn not in desired]
            deletes = [
                (urn, self._bind(self._delete_one, server, urn, self.state[urn], preview)) for urn in gone
            ]
            self._run(deletes, 1, result, commit=not preview)

        return self._operate(operation, body)

    def _goal(self, desired: Desired) -> dict[str, Any]:
        if PROVIDER_KEY in desired.inputs:
            raise ValueError("A dynamic resource must not define the __provider key")
        goal = {k: v for k, v in desired.inputs.items() if v is not None}
        goal[PROVIDER_KEY] = desired.provider if desired.provider is not None else self.provider
        return goal

    @staticmethod
    def _shown(outputs: Mapping[str, Any], desired: Desired, preview: bool) -> dict[str, Any]:
        """In preview the SDK resolves declared properties the engine has no value for as unknown."""
        shown = dict(outputs)
        if preview:
            for key in desired.inputs:
                shown.setdefault(key, Unknown())  # type: ignore[no-untyped-call]
        return shown

    def _check(
        self, server: ProviderServer, urn: str, olds: Mapping[str, Any], news: dict[str, Any]
    ) -> dict[str, Any]:
        checked = server.check(urn, _strip_secrets(olds), _strip_secrets(news))
        if checked.failures:
            raise CheckFailedError(urn, checked.failures)
        return _annotate_secrets(checked.inputs, news)

    def _create(
        self, server: ProviderServer, urn: str, checked: dict[str, Any], goal: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        created = server.create(urn, _strip_secrets(checked))
        if not created.id:
            raise EngineError(f"provider returned an empty ID for {urn}")
        return created.id, _annotate_secrets(created.outputs, goal)

    # -- per-resource step sequences -------------------------------------------------------------

    def _register(self, server: ProviderServer, urn: str, desired: Desired, preview: bool) -> _Outcome:
        goal = self._goal(desired)
        old = self.state.get(urn)
        if desired.read_id is not None:
            return self._read_resource(server, urn, desired, goal, old, preview)
        if old is not None and old.external:
            raise EngineError(f"{urn}: switching a read resource to managed is not modelled")

        if old is None:
            checked = self._check(server, urn, {}, goal)
            if preview:
                return _Outcome(StepResult(urn, "create", None, self._shown(checked, desired, True)))
            new_id, outputs = self._create(server, urn, checked, goal)
            step = StepResult(urn, "create", new_id, outputs)
            return _Outcome(step, ResourceState(new_id, checked, outputs))

        checked = self._check(server, urn, old.inputs, goal)
        diff = server.diff(
            urn,
            old.id,
            _strip_secrets(old.outputs),
            _strip_secrets(checked),
            _strip_secrets(old.inputs),
        )
        changes = diff.changes
        if changes == "unknown":
            differs = _strip_secrets(old.inputs) != _strip_secrets(checked)
            changes = "some" if differs else "none"

        if changes == "none":
            step = StepResult(urn, "same", old.id, self._shown(old.outputs, desired, preview), diff)
            return _Outcome(step, ResourceState(old.id, checked, old.outputs))

        if not diff.replaces:
            if preview:
                shown = self._shown(checked, desired, True)
                return _Outcome(StepResult(urn, "update", old.id, shown, diff))
            outs = server.update(
                urn,
                old.id,
                _strip_secrets(old.outputs),
                _strip_secrets(checked),
                _strip_secrets(old.inputs),
            )
            outputs = _annotate_secrets(outs, goal)
            step = StepResult(urn, "update", old.id, outputs, diff)
            return _Outcome(step, ResourceState(old.id, checked, outputs))

        # Replacement: the engine recomputes defaults with a Check that has no olds.
        checked = self._check(server, urn, {}, goal)
        if preview:
            shown = self._shown(checked, desired, True)
            return _Outcome(StepResult(urn, "replace", None, shown, diff))
        old_outputs, old_inputs = _strip_secrets(old.outputs), _strip_secrets(old.inputs)
        if diff.delete_before_replace:
            server.delete(urn, old.id, old_outputs, old_inputs)
            new_id, outputs = self._create(server, urn, checked, goal)
        else:
            new_id, outputs = self._create(server, urn, checked, goal)
            server.delete(urn, old.id, old_outputs, old_inputs)
        step = StepResult(urn, "replace", new_id, outputs, diff)
        return _Outcome(step, ResourceState(new_id, checked, outputs))

    def _read_resource(
        self,
        server: ProviderServer,
        urn: str,
        desired: Desired,
        goal: dict[str, Any],
        old: ResourceState | None,
        preview: bool,
    ) -> _Outcome:
        assert desired.read_id is not None
        if old is not None and not old.external:
            raise EngineError(f"{urn}: read-replacement of a managed resource is not modelled")
        if _is_unknown(desired.read_id):
            # ReadStep.Apply: an unknown id (preview only) skips the provider entirely.
            return _Outcome(StepResult(urn, "read", None, self._shown({}, desired, preview)))
        props = _strip_secrets(goal)
        read = server.read(urn, desired.read_id, props, props)
        new_id = read.id or desired.read_id
        outputs = _annotate_secrets(read.outputs, goal)
        step = StepResult(urn, "read", new_id, self._shown(outputs, desired, preview))
        return _Outcome(step, ResourceState(new_id, goal, outputs, external=True))

    def _refresh_one(self, server: ProviderServer, urn: str, old: ResourceState) -> _Outcome:
        read = server.read(urn, old.id, _strip_secrets(old.outputs), _strip_secrets(old.inputs))
        if not read.id:
            return _Outcome(StepResult(urn, "refresh", None, None, dropped=True), remove=True)
        inputs = _annotate_secrets(read.inputs, old.inputs) if read.inputs is not None else old.inputs
        outputs = _annotate_secrets(read.outputs, old.outputs)
        diff = None
        if not old.external:
            diff = server.diff(
                urn,
                read.id,
                _strip_secrets(outputs),
                _strip_secrets(old.inputs),
                _strip_secrets(inputs),
            )
        step = StepResult(urn, "refresh", read.id, outputs, diff)
        return _Outcome(step, ResourceState(read.id, inputs, outputs, old.external))

    def _delete_one(self, server: ProviderServer, urn: str, old: ResourceState, preview: bool) -> _Outcome:
        if old.external:
            return _Outcome(StepResult(urn, "discard", old.id, None), remove=True)
        if not preview:
            server.delete(urn, old.id, _strip_secrets(old.outputs), _strip_secrets(old.inputs))
        return _Outcome(StepResult(urn, "delete", old.id, None), remove=True)
