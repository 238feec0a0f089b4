"""Drive the SDK's own provider server (``python -m pulumi.dynamic``) over gRPC, as the engine does.

The Pulumi CLI is not available to the tests. :class:`ProviderServer` spawns the process the
``pulumi-resource-pulumi-python`` plugin script runs and calls it with the engine's protobuf
messages; properties pass through the SDK's own ``serialize_properties`` and
``deserialize_properties(keep_unknowns=True)``, so numbers come back as floats and unknowns as
``pulumi.output.Unknown``.

:class:`Engine` plays ``preview``, ``up``, ``refresh`` and ``destroy`` over a stack state with a
fresh provider process per operation (``GetPluginInfo``, ``Configure``, the resource steps), and
issues the call sequences of the engine's step generator (``pkg/resource/deploy/step_generator.go``
and ``step.go``); ``tests/test_engine.py`` checks them row by row:

- new resource: ``Check(olds={})``; up adds ``Create``. Preview shows the checked inputs, with
  declared output-only properties unknown.
- resource in state: ``Check(olds=old inputs)``, ``Diff(olds=old outputs, news=checked)``; no
  changes keeps the old outputs ("same"); changes without replaces: up ``Update``, whose outputs
  become the whole set; replaces: ``Check(olds={})`` again, then up ``Create`` and ``Delete``.
- ``Desired(read_id=...)`` (``ResourceOptions(id=...)``): ``Read(id, inputs, inputs)`` on every
  preview and up, none while the ID is unknown; the resource is external.
- refresh: ``Read(id, old outputs, old inputs)``; a blank ID drops the resource; a managed one
  then gets ``Diff(olds=refreshed outputs, news=old inputs)``.
- destroy, or a resource gone from the program: ``Delete`` (managed) or nothing (external).
- the first failing step stops the operation; with ``parallel``, running steps finish and are
  committed, queued ones are not started.

Not modelled (the provider never asks for them, and the engine refuses them here): DIFF_UNKNOWN,
delete-before-replace; nor secret inputs, dependencies between resources, ``protect``, aliases
and import.
"""

from __future__ import annotations

import asyncio
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any, Literal

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.dynamic import ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from tests.programs import JOB_TYPE, clean_environ

Props = Mapping[str, Any]
_DIFF_CHANGES = {
    provider_pb2.DiffResponse.DIFF_NONE: "none",
    provider_pb2.DiffResponse.DIFF_SOME: "some",
    provider_pb2.DiffResponse.DIFF_UNKNOWN: "unknown",
}


def urn_for(name: str, type_: str = JOB_TYPE, project: str = "project", stack: str = "stack") -> str:
    """The URN the engine gives a resource without a parent."""
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


def serialized_provider(provider: ResourceProvider) -> str:
    """``__provider`` exactly as ``dynamic.Resource`` makes it."""
    return str(serialize_provider(provider))


def _struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    result: struct_pb2.Struct = asyncio.run(rpc.serialize_properties(dict(props), {}))
    return result


def _props(struct: struct_pb2.Struct) -> dict[str, Any]:
    return dict(rpc.deserialize_properties(struct, keep_unknowns=True))


class ProviderCallError(Exception):
    """A failed RPC. The server turns a provider's exception into ``UNKNOWN`` with the whole
    traceback as details; ``last_line`` is its last line, what the CLI shows last."""

    def __init__(self, method: str, code: grpc.StatusCode, details: str) -> None:
        self.method, self.code, self.details = method, code, details
        lines = [line.strip() for line in details.splitlines() if line.strip()]
        self.last_line = lines[-1] if lines else ""
        super().__init__(f"{method} failed with {code.name}: {self.last_line}")


class ProviderStartError(RuntimeError):
    """The provider process printed no port: it died or hung."""


@dataclass(frozen=True)
class CheckOutcome:
    inputs: dict[str, Any]
    failures: list[tuple[str, str]]


@dataclass(frozen=True)
class DiffOutcome:
    changes: Literal["none", "some", "unknown"]
    replaces: list[str] = field(default_factory=list)
    delete_before_replace: bool = False


@dataclass(frozen=True)
class ReadOutcome:
    """What ``Create`` and ``Read`` answer; ``inputs`` only when a ``ReadResult`` carried them."""

    id: str
    outputs: dict[str, Any]
    inputs: dict[str, Any] | None = None


class ProviderServer:
    """A running ``python -u -m pulumi.dynamic`` with a gRPC stub, as a context manager.

    Like the CLI's plugin host it gets ``cwd`` (the program directory), the environment without
    cloud settings plus ``env``, ``PULUMI_PROJECT``, and ``PULUMI_CONFIG={}``. Safe to call from
    several threads, as the engine does (the server itself runs at most 4 RPCs at once).
    """

    def __init__(
        self,
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        *,
        project: str = "project",
        startup_timeout: float = 20.0,
        rpc_timeout: float = 120.0,
    ) -> None:
        self.cwd = Path(cwd) if cwd is not None else Path.cwd()
        self.env = {**clean_environ(env), "PULUMI_CONFIG": "{}", "PULUMI_PROJECT": project}
        self.startup_timeout, self.rpc_timeout = startup_timeout, rpc_timeout
        self.calls: list[tuple[str, str | None]] = []
        self._lines: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self._readers: list[threading.Thread] = []
        self._proc: subprocess.Popen[str] | None = None
        self._channel: grpc.Channel | None = None

    def __enter__(self) -> ProviderServer:
        self._proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.dynamic"],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        port: queue.Queue[str] = queue.Queue()
        for name, stream in (("stdout", self._proc.stdout), ("stderr", self._proc.stderr)):
            first = port if name == "stdout" else None
            reader = threading.Thread(
                target=self._drain, args=(stream, self._lines[name], first), daemon=True
            )
            reader.start()
            self._readers.append(reader)
        try:
            line = port.get(timeout=self.startup_timeout)
        except queue.Empty:
            line = ""
        if not line.strip().isdigit():
            self.__exit__()
            raise ProviderStartError(
                f"provider server printed {line!r}, not its port; stderr:\n{self.stderr_text()}"
            )
        try:
            self._channel = grpc.insecure_channel(f"127.0.0.1:{int(line)}")
            grpc.channel_ready_future(self._channel).result(timeout=self.startup_timeout)
            self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)
        except BaseException:
            self.__exit__()
            raise
        return self

    @staticmethod
    def _drain(stream: IO[str], into: list[str], first: queue.Queue[str] | None) -> None:
        """Read a pipe so the child never blocks on it; the first stdout line is the port."""
        for line in iter(stream.readline, ""):
            if first is not None:
                first.put(line)
                first = None
            else:
                into.append(line)
        if first is not None:
            first.put("")

    def __exit__(self, *exc_info: object) -> None:
        """Stop the process first: closing a channel to a live server blocks for ~0.2 s."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
        if self._channel is not None:
            self._channel.close()
        for reader in self._readers:
            reader.join(timeout=5)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def stdout_text(self) -> str:
        """What the process printed after the port line (complete once the server is closed)."""
        return "".join(self._lines["stdout"])

    def stderr_text(self) -> str:
        return "".join(self._lines["stderr"])

    def call_names(self, urn: str | None = None) -> list[str]:
        """The RPCs sent so far, in order; only those for ``urn`` if given."""
        return [method for method, of in list(self.calls) if urn is None or of == urn]

    def _call(self, method: str, urn: str | None = None, **fields: Any) -> Any:
        """Send one RPC; property maps become ``Struct``s, resource requests get the fields the
        engine fills in (``urn``, ``name``, ``type``)."""
        if urn is not None:
            parts = urn.split("::")
            fields.update(urn=urn, name=parts[-1], type=parts[-2].rsplit("$", 1)[-1])
        fields = {
            key: _struct(value) if isinstance(value, Mapping) else value for key, value in fields.items()
        }
        request = getattr(provider_pb2, f"{method}Request", empty_pb2.Empty)(**fields)
        self.calls.append((method, urn))
        try:
            return getattr(self._stub, method)(request, timeout=self.rpc_timeout)
        except grpc.RpcError as err:
            raise ProviderCallError(method, err.code(), err.details() or "") from None

    def get_plugin_info(self) -> str:
        return str(self._call("GetPluginInfo").version)

    def configure(self, config: Mapping[str, str], secret_keys: Collection[str] = ()) -> Any:
        """The stack config as the engine sends it: namespaced keys, string values, secrets wrapped."""
        args = {
            key: rpc.wrap_rpc_secret(value) if key in secret_keys else value for key, value in config.items()
        }
        return self._call(
            "Configure",
            args=args,
            acceptSecrets=True,
            acceptResources=True,
            type="pulumi:providers:pulumi-python",
            name="default",
        )

    def check(self, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> CheckOutcome:
        response = self._call("Check", urn, olds=olds, news=news)
        return CheckOutcome(_props(response.inputs), [(f.property, f.reason) for f in response.failures])

    def diff(
        self, urn: str, id: str, olds: Props, news: Props, old_inputs: Props | None = None
    ) -> DiffOutcome:
        """``olds`` are the old outputs; ``old_inputs`` go on the wire, the Python SDK ignores them."""
        response = self._call("Diff", urn, id=id, olds=olds, news=news, old_inputs=old_inputs or {})
        return DiffOutcome(
            _DIFF_CHANGES[response.changes], list(response.replaces), response.deleteBeforeReplace
        )

    def create(self, urn: str, properties: Props) -> ReadOutcome:
        response = self._call("Create", urn, properties=properties)
        return ReadOutcome(response.id, _props(response.properties))

    def update(
        self, urn: str, id: str, olds: Props, news: Props, old_inputs: Props | None = None
    ) -> dict[str, Any]:
        """The new outputs: the engine replaces the whole output set with them."""
        return _props(
            self._call("Update", urn, id=id, olds=olds, news=news, old_inputs=old_inputs or {}).properties
        )

    def read(self, urn: str, id: str, properties: Props, inputs: Props | None = None) -> ReadOutcome:
        """A refresh sends the old outputs and old inputs; a ``get`` sends the inputs as both."""
        response = self._call("Read", urn, id=id, properties=properties, inputs=inputs or {})
        inputs_read = _props(response.inputs) if response.HasField("inputs") else None
        return ReadOutcome(response.id, _props(response.properties), inputs_read)

    def delete(self, urn: str, id: str, properties: Props, old_inputs: Props | None = None) -> None:
        self._call("Delete", urn, id=id, properties=properties, old_inputs=old_inputs or {})


# -- the engine ----------------------------------------------------------------------------------


class EngineError(Exception):
    """A failure the engine raises itself, not a provider's."""


class CheckFailedError(EngineError):
    def __init__(self, urn: str, failures: list[tuple[str, str]]) -> None:
        self.failures = failures
        super().__init__(f"resource {urn} has check errors: " + "; ".join(f"{p}: {r}" for p, r in failures))


@dataclass
class Desired:
    """What a program registers for one resource: its inputs (``None`` declares an output-only
    property: not sent) and ``ResourceOptions(id=...)`` as ``read_id``."""

    inputs: dict[str, Any] = field(default_factory=dict)
    read_id: Any = None


@dataclass
class ResourceState:
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    external: bool = False


Kind = Literal["create", "same", "update", "replace", "read", "refresh", "delete", "discard"]


@dataclass
class Step:
    """One resource's step; ``calls`` are the RPCs sent for its URN, in order."""

    urn: str
    kind: Kind
    id: str | None
    outputs: dict[str, Any] | None
    diff: DiffOutcome | None = None
    dropped: bool = False  # refresh: Read answered a blank ID, the resource left the state
    calls: list[str] = field(default_factory=list)
    state: ResourceState | None = field(default=None, repr=False)  # what to commit; None: remove

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]


@dataclass
class OperationResult:
    operation: str
    steps: dict[str, Step] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)  # every RPC, GetPluginInfo and Configure included
    error: Exception | None = None
    stdout: str = ""
    stderr: str = ""
    server_pid: int | None = None  # each operation has a provider process of its own

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def kinds(self) -> dict[str, Kind]:
        """Step kind per resource name, in resource order."""
        return {step.name: step.kind for step in self.steps.values()}

    def step(self, name: str) -> Step:
        return next(step for step in self.steps.values() if step.name == name)

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error


def _is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown) or (isinstance(value, str) and value == rpc.UNKNOWN)


class Engine:
    """The engine over one stack (see the module docstring). Config keys without a namespace get
    ``<project>:``, as ``pulumi config set`` stores them."""

    def __init__(
        self,
        provider: ResourceProvider,
        *,
        config: Mapping[str, str] | None = None,
        secret_keys: Collection[str] = (),
        project: str = "project",
        stack: str = "stack",
    ) -> None:
        self.provider = serialized_provider(provider)
        self.project, self.stack = project, stack
        self.config = {self._qualify(key): value for key, value in (config or {}).items()}
        self.secret_keys = {self._qualify(key) for key in secret_keys}
        self.state: dict[str, ResourceState] = {}
        self.servers_started = 0

    def _qualify(self, key: str) -> str:
        return key if ":" in key else f"{self.project}:{key}"

    def urn(self, name: str) -> str:
        return urn_for(name, JOB_TYPE, self.project, self.stack)

    def preview(self, resources: Mapping[str, Desired], *, parallel: int = 1) -> OperationResult:
        return self._deploy("preview", resources, parallel)

    def up(
        self, resources: Mapping[str, Desired], *, parallel: int = 1, refresh: bool = False
    ) -> OperationResult:
        """``refresh`` is ``up --refresh``: every resource in state is refreshed first, same process."""
        return self._deploy("up", resources, parallel, refresh)

    def refresh(self, *, parallel: int = 1) -> OperationResult:
        return self._operate("refresh", partial(self._refresh_all, parallel=parallel))

    def destroy(self, *, parallel: int = 1) -> OperationResult:
        def body(server: ProviderServer, result: OperationResult) -> None:
            jobs = {urn: partial(self._delete, server, urn, False) for urn in reversed(self.state)}
            self._run(jobs, parallel, result, commit=True)

        return self._operate("destroy", body)

    def _operate(
        self, operation: str, body: Callable[[ProviderServer, OperationResult], None]
    ) -> OperationResult:
        result = OperationResult(operation)
        self.servers_started += 1
        with ProviderServer(project=self.project) as server:
            try:
                server.get_plugin_info()
                server.configure(self.config, self.secret_keys)
                body(server, result)
            except (ProviderCallError, EngineError) as err:
                result.error = err
        result.calls = server.call_names()
        for urn, step in result.steps.items():
            step.calls = server.call_names(urn)
        result.stdout, result.stderr, result.server_pid = (
            server.stdout_text(),
            server.stderr_text(),
            server.pid,
        )
        return result

    def _run(
        self, jobs: Mapping[str, Callable[[], Step]], parallel: int, result: OperationResult, *, commit: bool
    ) -> None:
        """Each resource's steps, ``parallel`` at a time; after a failure nothing new starts.
        Finished steps are recorded (and committed) in program order."""
        lock = threading.Lock()

        def attempt(urn: str) -> Step | None:
            if result.error is not None:
                return None
            try:
                return jobs[urn]()
            except (ProviderCallError, EngineError) as err:
                with lock:
                    result.error = result.error or err
                return None

        with ThreadPoolExecutor(parallel) as pool:
            steps = list(pool.map(attempt, jobs))
        for step in filter(None, steps):
            result.steps[step.urn] = step
            if commit and step.state is None:
                self.state.pop(step.urn, None)
            elif commit:
                self.state[step.urn] = step.state

    def _deploy(
        self, operation: str, resources: Mapping[str, Desired], parallel: int, refresh: bool = False
    ) -> OperationResult:
        preview = operation == "preview"
        desired = {self.urn(name): goal for name, goal in resources.items()}

        def body(server: ProviderServer, result: OperationResult) -> None:
            if refresh:
                self._refresh_all(server, result, parallel)
            registrations = {
                urn: partial(self._register, server, urn, goal, preview) for urn, goal in desired.items()
            }
            self._run(registrations, parallel, result, commit=not preview)
            gone = {
                urn: partial(self._delete, server, urn, preview)
                for urn in reversed(self.state)
                if urn not in desired
            }
            self._run(gone, 1, result, commit=not preview)

        return self._operate(operation, body)

    def _refresh_all(self, server: ProviderServer, result: OperationResult, parallel: int) -> None:
        self._run(
            {urn: partial(self._refresh, server, urn) for urn in self.state}, parallel, result, commit=True
        )

    @staticmethod
    def _shown(outputs: Mapping[str, Any], desired: Desired, preview: bool) -> dict[str, Any]:
        """In preview the SDK resolves declared properties the engine has no value for as unknown."""
        shown = dict(outputs)
        for key in desired.inputs if preview else ():
            shown.setdefault(key, Unknown())
        return shown

    def _check(
        self, server: ProviderServer, urn: str, olds: Mapping[str, Any], news: dict[str, Any]
    ) -> dict[str, Any]:
        checked = server.check(urn, olds, news)
        if checked.failures:
            raise CheckFailedError(urn, checked.failures)
        return checked.inputs

    def _create(self, server: ProviderServer, urn: str, checked: dict[str, Any]) -> ResourceState:
        created = server.create(urn, checked)
        if not created.id:
            raise EngineError(f"provider returned an empty ID for {urn}")
        return ResourceState(created.id, checked, created.outputs)

    def _register(self, server: ProviderServer, urn: str, desired: Desired, preview: bool) -> Step:
        goal = {key: value for key, value in desired.inputs.items() if value is not None}
        goal["__provider"] = self.provider
        if desired.read_id is not None:
            return self._read(server, urn, desired, goal, preview)
        old = self.state.get(urn)
        checked = self._check(server, urn, old.inputs if old else {}, goal)
        if old is None:
            if preview:
                return Step(urn, "create", None, self._shown(checked, desired, preview))
            new = self._create(server, urn, checked)
            return Step(urn, "create", new.id, new.outputs, state=new)
        diff = server.diff(urn, old.id, old.outputs, checked, old.inputs)
        if diff.changes == "unknown" or diff.delete_before_replace:
            raise EngineError(f"{urn}: {diff} is not modelled")
        if diff.changes == "none":
            same = ResourceState(old.id, checked, old.outputs)
            return Step(urn, "same", old.id, self._shown(old.outputs, desired, preview), diff, state=same)
        if diff.replaces:
            checked = self._check(server, urn, {}, goal)  # a replacement recomputes defaults without olds
        kind: Kind = "replace" if diff.replaces else "update"
        if preview:
            return Step(
                urn, kind, None if diff.replaces else old.id, self._shown(checked, desired, preview), diff
            )
        if diff.replaces:
            new = self._create(server, urn, checked)
            server.delete(urn, old.id, old.outputs, old.inputs)
        else:
            new = ResourceState(old.id, checked, server.update(urn, old.id, old.outputs, checked, old.inputs))
        return Step(urn, kind, new.id, new.outputs, diff, state=new)

    def _read(
        self, server: ProviderServer, urn: str, desired: Desired, goal: dict[str, Any], preview: bool
    ) -> Step:
        if _is_unknown(desired.read_id):  # an unknown ID (preview only) skips the provider
            return Step(urn, "read", None, self._shown({}, desired, preview))
        read = server.read(urn, desired.read_id, goal, goal)
        new = ResourceState(read.id or desired.read_id, goal, read.outputs, external=True)
        return Step(urn, "read", new.id, self._shown(read.outputs, desired, preview), state=new)

    def _refresh(self, server: ProviderServer, urn: str) -> Step:
        old = self.state[urn]
        read = server.read(urn, old.id, old.outputs, old.inputs)
        if not read.id:
            return Step(urn, "refresh", None, None, dropped=True)
        inputs = old.inputs if read.inputs is None else read.inputs
        diff = None if old.external else server.diff(urn, read.id, read.outputs, old.inputs, inputs)
        new = ResourceState(read.id, inputs, read.outputs, old.external)
        return Step(urn, "refresh", read.id, read.outputs, diff, state=new)

    def _delete(self, server: ProviderServer, urn: str, preview: bool) -> Step:
        old = self.state[urn]
        if old.external:
            return Step(urn, "discard", old.id, None)
        if not preview:
            server.delete(urn, old.id, old.outputs, old.inputs)
        return Step(urn, "delete", old.id, None)
