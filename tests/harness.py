"""Drive the SDK's own provider server (``python -m pulumi.dynamic``) over gRPC with the SDK's own
(de)serializers (numbers come back as floats, unknowns as ``Unknown``), and :class:`Engine`: preview,
up, refresh and destroy with the call sequences of the engine's step generator
(``pkg/resource/deploy/step_generator.go``), a fresh provider process per operation."""

from __future__ import annotations

import asyncio
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any, Literal, NamedTuple

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.dynamic import ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.output import UNKNOWN, Unknown
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from tests.programs import JOB_TYPE, clean_environ

Props = Mapping[str, Any]


def urn_for(name: str) -> str:
    return f"urn:pulumi:stack::project::{JOB_TYPE}::{name}"


def serialized_provider(provider: ResourceProvider) -> str:
    """``__provider`` exactly as ``dynamic.Resource`` makes it."""
    return str(serialize_provider(provider))


def _struct(props: Props) -> struct_pb2.Struct:
    result: struct_pb2.Struct = asyncio.run(rpc.serialize_properties(dict(props), {}))
    return result


def _props(struct: struct_pb2.Struct) -> dict[str, Any]:
    return dict(rpc.deserialize_properties(struct, keep_unknowns=True))


class ProviderCallError(Exception):
    """A failed RPC: a provider's exception arrives as ``UNKNOWN`` with the whole traceback;
    ``last_line`` is what the CLI shows last."""

    def __init__(self, method: str, code: grpc.StatusCode, details: str) -> None:
        self.method, self.code, self.details = method, code, details
        self.last_line = ([line.strip() for line in details.splitlines() if line.strip()] or [""])[-1]
        super().__init__(f"{method} failed with {code.name}: {self.last_line}")


class Checked(NamedTuple):
    inputs: dict[str, Any]
    failures: list[tuple[str, str]]  # (property, reason)


class Diff(NamedTuple):
    changes: bool
    replaces: list[str]


class Read(NamedTuple):  # what Create and Read answer
    id: str
    outputs: dict[str, Any]


class ProviderServer:
    """A running ``python -u -m pulumi.dynamic`` with a gRPC stub, as a context manager. Like the
    CLI's plugin host it gets ``cwd``, the environment without cloud settings plus ``env``,
    ``PULUMI_PROJECT`` and ``PULUMI_CONFIG={}``. Thread-safe, as the engine needs."""

    def __init__(
        self,
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        project: str = "project",
    ) -> None:
        self.cwd, self.env = cwd, {**clean_environ(env), "PULUMI_CONFIG": "{}", "PULUMI_PROJECT": project}
        self.calls: list[tuple[str, str | None]] = []
        self.output: dict[str, list[str]] = {"stdout": [], "stderr": []}  # after the port line
        self._readers: list[threading.Thread] = []
        self._proc: subprocess.Popen[str] | None = None
        self._channel: grpc.Channel | None = None
        self.pid: int | None = None

    def __enter__(self) -> ProviderServer:
        pipe, port = subprocess.PIPE, queue.Queue[str]()
        command = [sys.executable, "-u", "-m", "pulumi.dynamic"]
        self._proc = subprocess.Popen(
            command, cwd=self.cwd, env=self.env, stdout=pipe, stderr=pipe, text=True, errors="replace"
        )
        self.pid = self._proc.pid
        for name, stream in (("stdout", self._proc.stdout), ("stderr", self._proc.stderr)):
            args = (stream, self.output[name], port if name == "stdout" else None)
            self._readers.append(threading.Thread(target=self._drain, args=args, daemon=True))
            self._readers[-1].start()
        try:
            line = port.get(timeout=20)
            assert line.strip().isdigit(), f"provider server printed {line!r}, not its port"
            # The engine's limit (rpcutil.MaxRPCMessageSize, 400 MiB), not gRPC's default 4 MiB.
            limit = [("grpc.max_receive_message_length", 400 << 20)]
            self._channel = grpc.insecure_channel(f"127.0.0.1:{int(line)}", options=limit)
            grpc.channel_ready_future(self._channel).result(timeout=20)
            self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)
        except BaseException:
            self.__exit__()
            raise
        return self

    @staticmethod
    def _drain(stream: IO[str], into: list[str], first: queue.Queue[str] | None) -> None:
        """Read a pipe so the child never blocks on it; the first stdout line (the port) to ``first``."""
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
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(timeout=5)
        if self._channel is not None:
            self._channel.close()
        for reader in self._readers:
            reader.join(timeout=5)

    def stop(self, signum: int, timeout: float) -> int:
        """Signal the process as the engine does to stop it; its exit code, if it exits in time."""
        assert self._proc is not None
        self._proc.send_signal(signum)
        return self._proc.wait(timeout=timeout)

    def _call(self, method: str, urn: str | None = None, **fields: Any) -> Any:
        if urn is not None:
            parts = urn.split("::")
            fields.update(urn=urn, name=parts[-1], type=parts[-2].rsplit("$", 1)[-1])
        fields = {
            key: _struct(value) if isinstance(value, Mapping) else value for key, value in fields.items()
        }
        request = getattr(provider_pb2, f"{method}Request", empty_pb2.Empty)(**fields)
        self.calls.append((method, urn))
        try:
            return getattr(self._stub, method)(request, timeout=120)
        except grpc.RpcError as err:
            raise ProviderCallError(method, err.code(), err.details() or "") from None

    def get_plugin_info(self) -> str:
        return str(self._call("GetPluginInfo").version)

    def configure(self, config: Mapping[str, str], secret_keys: Collection[str] = ()) -> Any:
        args = {
            key: rpc.wrap_rpc_secret(value) if key in secret_keys else value for key, value in config.items()
        }
        kind = "pulumi:providers:pulumi-python"
        return self._call(
            "Configure", args=args, type=kind, name="default", acceptSecrets=True, acceptResources=True
        )

    def check(self, urn: str, olds: Props, news: Props) -> Checked:
        response = self._call("Check", urn, olds=olds, news=news)
        return Checked(_props(response.inputs), [(fail.property, fail.reason) for fail in response.failures])

    def diff(self, urn: str, id: str, olds: Props, news: Props, old_inputs: Props) -> Diff:
        response = self._call("Diff", urn, id=id, olds=olds, news=news, old_inputs=old_inputs)
        assert response.changes != provider_pb2.DiffResponse.DIFF_UNKNOWN and not response.deleteBeforeReplace
        return Diff(response.changes == provider_pb2.DiffResponse.DIFF_SOME, list(response.replaces))

    def create(self, urn: str, properties: Props) -> Read:
        response = self._call("Create", urn, properties=properties)
        return Read(response.id, _props(response.properties))

    def update(self, urn: str, id: str, olds: Props, news: Props, old_inputs: Props) -> dict[str, Any]:
        response = self._call("Update", urn, id=id, olds=olds, news=news, old_inputs=old_inputs)
        return _props(response.properties)

    def read(self, urn: str, id: str, properties: Props, inputs: Props | None = None) -> Read:
        """A refresh sends the old outputs and inputs; a ``get`` sends the inputs as both."""
        response = self._call("Read", urn, id=id, properties=properties, inputs=inputs or {})
        return Read(response.id, _props(response.properties))

    def delete(self, urn: str, id: str, properties: Props, old_inputs: Props | None = None) -> None:
        self._call("Delete", urn, id=id, properties=properties, old_inputs=old_inputs or {})


# -- the engine ----------------------------------------------------------------------------------


class Desired(NamedTuple):
    """What a program registers: inputs (``None``: an output-only property, not sent) and
    ``ResourceOptions(id=...)`` as ``read_id``."""

    inputs: dict[str, Any]
    read_id: Any = None


@dataclass
class ResourceState:
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    external: bool = False


Phase = tuple[Mapping[str, Callable[[], "Step"]], int, bool]  # steps, how many at a time, committed
Kind = Literal["create", "same", "update", "replace", "read", "refresh", "delete", "discard"]


@dataclass
class Step:
    """One resource's step: the RPCs sent for its URN, and the ``state`` it commits (None: it leaves)."""

    urn: str
    kind: Kind
    outputs: dict[str, Any] | None
    state: ResourceState | None = field(default=None, repr=False)
    diff: Diff | None = None
    calls: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]

    @property
    def id(self) -> str | None:
        return self.state.id if self.state is not None else None

    @property
    def dropped(self) -> bool:  # a refresh whose Read answered a blank ID
        return self.kind == "refresh" and self.state is None


@dataclass
class OperationResult:
    steps: dict[str, Step] = field(default_factory=dict)
    refreshes: dict[str, Step] = field(default_factory=dict)  # by URN; ``up --refresh``'s own steps too
    calls: list[str] = field(default_factory=list)  # every RPC, GetPluginInfo and Configure included
    error: Exception | None = None
    output: str = ""  # what the provider process printed
    server_pid: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def kinds(self) -> dict[str, Kind]:
        return {step.name: step.kind for step in self.steps.values()}

    def step(self, name: str) -> Step:
        return next(step for step in self.steps.values() if step.name == name)

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error


class Engine:
    """The engine over one stack: its (namespaced) config and state, and the environment of the
    provider processes (``env``: what an operator's ``envRefs`` give them)."""

    urn = staticmethod(urn_for)

    def __init__(
        self, provider: ResourceProvider, *, config: Mapping[str, str], secret_keys: Collection[str] = ()
    ) -> None:
        self.provider, self.secret_keys = serialized_provider(provider), secret_keys
        self.config, self.env = dict(config), dict[str, str]()
        self.state: dict[str, ResourceState] = {}
        self.servers_started = 0

    def preview(self, resources: Mapping[str, Desired], *, parallel: int = 1) -> OperationResult:
        return self._operate(lambda server: self._deploy(server, resources, parallel, preview=True))

    def up(
        self, resources: Mapping[str, Desired], *, parallel: int = 1, refresh: bool = False
    ) -> OperationResult:
        """``refresh``: ``up --refresh``, every resource in state refreshed first, same process."""

        def phases(server: ProviderServer) -> Iterator[Phase]:
            if refresh:
                yield from self._refreshes(server, parallel)
            yield from self._deploy(server, resources, parallel)

        return self._operate(phases)

    def refresh(self, *, parallel: int = 1) -> OperationResult:
        return self._operate(lambda server: self._refreshes(server, parallel))

    def destroy(self, *, parallel: int = 1) -> OperationResult:
        return self._operate(lambda server: self._deletes(server, [*reversed(self.state)], parallel))

    def _operate(self, phases: Callable[[ProviderServer], Iterator[Phase]]) -> OperationResult:
        """Each phase's steps in one fresh provider process, a phase made once the one before is done."""
        result = OperationResult()
        self.servers_started += 1
        with ProviderServer(env=self.env) as server:
            server.get_plugin_info()
            server.configure(self.config, self.secret_keys)
            for jobs, parallel, commit in phases(server):
                self._run(jobs, parallel, result, commit)
        result.calls = [method for method, _ in server.calls]
        for urn, step in result.steps.items():
            step.calls = [method for method, of in server.calls if of == urn]
        result.output = "".join(server.output["stdout"] + server.output["stderr"])
        result.server_pid = server.pid
        return result

    def _run(
        self, jobs: Mapping[str, Callable[[], Step]], parallel: int, result: OperationResult, commit: bool
    ) -> None:
        """Each resource's step, ``parallel`` at a time, nothing new after a failure; finished steps
        are recorded (and committed) in program order."""
        lock = threading.Lock()

        def attempt(urn: str) -> Step | None:
            if result.error is not None:
                return None
            try:
                return jobs[urn]()
            except ProviderCallError as err:
                with lock:
                    result.error = result.error or err
                return None

        with ThreadPoolExecutor(parallel) as pool:
            steps = list(pool.map(attempt, jobs))
        for step in filter(None, steps):
            result.steps[step.urn] = step
            if step.kind == "refresh":
                result.refreshes[step.urn] = step
            if commit and step.state is None:
                self.state.pop(step.urn, None)
            elif commit and step.state is not None:
                self.state[step.urn] = step.state

    def _deploy(
        self, server: ProviderServer, resources: Mapping[str, Desired], parallel: int, preview: bool = False
    ) -> Iterator[Phase]:
        desired = {self.urn(name): goal for name, goal in resources.items()}
        registrations = {
            urn: partial(self._register, server, urn, goal, preview) for urn, goal in desired.items()
        }
        yield registrations, parallel, not preview
        yield from self._deletes(
            server, [urn for urn in reversed(self.state) if urn not in desired], 1, preview
        )

    def _refreshes(self, server: ProviderServer, parallel: int) -> Iterator[Phase]:
        yield {urn: partial(self._refresh, server, urn) for urn in self.state}, parallel, True

    def _deletes(
        self, server: ProviderServer, urns: list[str], parallel: int, preview: bool = False
    ) -> Iterator[Phase]:
        yield {urn: partial(self._delete, server, urn, preview) for urn in urns}, parallel, not preview

    @staticmethod
    def _shown(outputs: Mapping[str, Any], desired: Desired, preview: bool) -> dict[str, Any]:
        """In preview the SDK resolves declared properties the engine has no value for as unknown."""
        return {**(dict.fromkeys(desired.inputs, UNKNOWN) if preview else {}), **outputs}

    def _check(self, server: ProviderServer, urn: str, olds: Props, news: Props) -> dict[str, Any]:
        checked, failures = server.check(urn, olds, news)
        assert not failures, f"the engine refuses {urn} with check errors: {failures}"
        return checked

    def _register(self, server: ProviderServer, urn: str, desired: Desired, preview: bool) -> Step:
        goal = {key: value for key, value in desired.inputs.items() if value is not None}
        goal["__provider"] = self.provider
        if desired.read_id is not None:
            return self._read(server, urn, desired, goal, preview)
        old = self.state.get(urn)
        checked = self._check(server, urn, old.inputs if old else {}, goal)
        if old is None:
            if preview:
                return Step(urn, "create", self._shown(checked, desired, preview))
            created = server.create(urn, checked)
            assert created.id, f"provider returned an empty ID for {urn}"
            return Step(urn, "create", created.outputs, ResourceState(created.id, checked, created.outputs))
        diff = server.diff(urn, old.id, old.outputs, checked, old.inputs)
        if not diff.changes:
            same = ResourceState(old.id, checked, old.outputs)
            return Step(urn, "same", self._shown(old.outputs, desired, preview), same, diff)
        if diff.replaces:
            checked = self._check(server, urn, {}, goal)  # a replacement recomputes defaults without olds
        kind: Kind = "replace" if diff.replaces else "update"
        if preview:
            return Step(urn, kind, self._shown(checked, desired, preview), None, diff)
        if diff.replaces:
            created = server.create(urn, checked)
            server.delete(urn, old.id, old.outputs, old.inputs)
            new = ResourceState(created.id, checked, created.outputs)
        else:
            new = ResourceState(old.id, checked, server.update(urn, old.id, old.outputs, checked, old.inputs))
        return Step(urn, kind, new.outputs, new, diff)

    def _read(self, server: ProviderServer, urn: str, desired: Desired, goal: Props, preview: bool) -> Step:
        read_id = desired.read_id
        if isinstance(read_id, Unknown) or read_id == rpc.UNKNOWN:  # an unknown ID skips the provider
            return Step(urn, "read", self._shown({}, desired, preview))
        read = server.read(urn, read_id, goal, goal)
        new = ResourceState(read.id or read_id, dict(goal), read.outputs, external=True)
        return Step(urn, "read", self._shown(read.outputs, desired, preview), new)

    def _refresh(self, server: ProviderServer, urn: str) -> Step:
        old = self.state[urn]
        read = server.read(urn, old.id, old.outputs, old.inputs)
        if not read.id:  # gone: dropped from the state
            return Step(urn, "refresh", None)
        diff = None if old.external else server.diff(urn, read.id, read.outputs, old.inputs, old.inputs)
        return Step(
            urn, "refresh", read.outputs, ResourceState(read.id, old.inputs, read.outputs, old.external), diff
        )

    def _delete(self, server: ProviderServer, urn: str, preview: bool) -> Step:
        old = self.state[urn]
        if not old.external and not preview:
            server.delete(urn, old.id, old.outputs, old.inputs)
        return Step(urn, "discard" if old.external else "delete", None)
