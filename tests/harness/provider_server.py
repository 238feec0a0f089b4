"""Drive the Pulumi SDK's own dynamic-provider server (``python -m pulumi.dynamic``) over gRPC.

The Pulumi CLI is not available to the test suite, so these helpers stand in for the engine's
plugin host: they spawn the same server process the ``pulumi-resource-pulumi-python`` plugin
script would, talk to it with the same protobuf messages, and hand back plain Python dicts.

Property maps are converted the way the SDK converts them on both ends:
``rpc.serialize_properties`` on the way in and ``rpc.deserialize_properties(...,
keep_unknowns=True)`` on the way out. Unknown values therefore come back as
``pulumi.output.Unknown`` instances, and they may be sent either as such or as the wire sentinel
``pulumi.runtime.rpc.UNKNOWN``. Numbers come back as floats (protobuf ``Struct`` has no ints).
"""

from __future__ import annotations

import asyncio
import os
import queue
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, TypedDict

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.dynamic import ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

DEFAULT_TYPE = "pulumi-python:dynamic/modelarts:VisualizationJob"
"""Type token of the product's resource (``Resource`` subclass with module/name set)."""

PROVIDER_KEY = "__provider"

DiffChanges = Literal["none", "some", "unknown"]

_DIFF_CHANGES: dict[int, DiffChanges] = {
    provider_pb2.DiffResponse.DIFF_NONE: "none",
    provider_pb2.DiffResponse.DIFF_SOME: "some",
    provider_pb2.DiffResponse.DIFF_UNKNOWN: "unknown",
}


def urn_for(
    name: str,
    type_: str = DEFAULT_TYPE,
    project: str = "project",
    stack: str = "stack",
) -> str:
    """Build the URN the engine would give a top-level resource (no parent)."""
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


def serialized_provider(provider_instance: ResourceProvider) -> str:
    """Return the base64 ``__provider`` string, exactly as ``dynamic.Resource.__init__`` makes it."""
    result: str = serialize_provider(provider_instance)
    return result


def pythonpath_for(cls: type) -> str:
    """Return the ``sys.path`` entry from which ``cls`` is importable under its current module name.

    dill pickles an importable class *by reference* (module name + qualified name), so the
    provider process must import it under the same dotted name as the test process did. Deriving
    the root from ``__module__`` and ``__file__`` keeps that true whether pytest imported the test
    helpers as ``harness.x`` (``tests/`` on ``sys.path``) or ``tests.harness.x`` (repo root).
    Installed packages such as ``pulumi_modelarts`` need no extra path at all.
    """
    module = sys.modules[cls.__module__]
    if module.__file__ is None:
        raise ValueError(f"{cls.__module__} has no __file__; cannot derive its import root")
    path = Path(module.__file__).resolve()
    depth = cls.__module__.count(".") + 1
    if path.name == "__init__.py":
        depth += 1
    return str(path.parents[depth - 1])


def _stop_process(proc: subprocess.Popen[str]) -> None:
    """Terminate, then kill, and reap; used by ``close()`` and as the at-exit safety net."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _urn_name_and_type(urn: str) -> tuple[str, str]:
    parts = urn.split("::")
    if len(parts) < 4:
        return "", ""
    return parts[-1], parts[-2].rsplit("$", 1)[-1]


class _ResourceFields(TypedDict):
    urn: str
    name: str
    type: str


def _resource_fields(urn: str) -> _ResourceFields:
    """The ``urn``/``name``/``type`` fields every resource request carries, as the engine fills them."""
    name, type_ = _urn_name_and_type(urn)
    return {"urn": urn, "name": name, "type": type_}


def _serialize(props: Mapping[str, Any]) -> struct_pb2.Struct:
    """Dict -> Struct on a private event loop (safe to call from any thread, even inside a loop)."""
    loop = asyncio.new_event_loop()
    try:
        result: struct_pb2.Struct = loop.run_until_complete(rpc.serialize_properties(dict(props), {}))
        return result
    finally:
        loop.close()


def _deserialize(struct: struct_pb2.Struct) -> dict[str, Any]:
    result: dict[str, Any] = rpc.deserialize_properties(struct, keep_unknowns=True)
    return result


class ProviderCallError(Exception):
    """A gRPC call to the provider server failed.

    The SDK server turns any exception raised by the provider into ``StatusCode.UNKNOWN`` whose
    details are the full Python traceback; ``last_line`` is the exception line at its end, which is
    what the CLI user sees last and what tests usually want to match.
    """

    def __init__(self, method: str, code: grpc.StatusCode, details: str) -> None:
        self.method = method
        self.code = code
        self.details = details
        lines = [line for line in details.splitlines() if line.strip()]
        self.last_line = lines[-1].strip() if lines else ""
        super().__init__(f"{method} failed with {code.name}: {self.last_line}")


class ProviderStartError(RuntimeError):
    """The provider process did not print its port (it died or hung)."""


@dataclass(frozen=True)
class ConfigureOutcome:
    accept_secrets: bool
    supports_preview: bool
    accept_resources: bool
    accept_outputs: bool


@dataclass(frozen=True)
class CheckOutcome:
    inputs: dict[str, Any]
    failures: list[tuple[str, str]]


@dataclass(frozen=True)
class DiffOutcome:
    changes: DiffChanges
    replaces: list[str] = field(default_factory=list)
    delete_before_replace: bool = False


@dataclass(frozen=True)
class CreateOutcome:
    id: str
    outputs: dict[str, Any]


@dataclass(frozen=True)
class ReadOutcome:
    id: str
    outputs: dict[str, Any]
    inputs: dict[str, Any] | None
    """Only set when the provider's ``ReadResult`` carried ``inputs`` (SDK >= 3.216)."""


@dataclass(frozen=True)
class CallRecord:
    """One RPC as seen from the client side; ``urn`` is None for plugin-level calls."""

    method: str
    urn: str | None
    started: float
    finished: float
    ok: bool


class _StreamReader(threading.Thread):
    """Drain a pipe into a buffer so the child never blocks on a full pipe.

    For stdout the first line is the port and goes to ``first_line`` instead of the buffer.
    """

    def __init__(self, stream: IO[str], name: str, *, port_line: bool) -> None:
        super().__init__(name=name, daemon=True)
        self._stream = stream
        self._lock = threading.Lock()
        self._chunks: list[str] = []
        self.first_line: queue.Queue[str | None] | None = queue.Queue() if port_line else None

    def run(self) -> None:
        try:
            if self.first_line is not None:
                line = self._stream.readline()
                self.first_line.put(line if line else None)
            for line in iter(self._stream.readline, ""):
                with self._lock:
                    self._chunks.append(line)
        except ValueError:  # stream closed under us during shutdown
            pass
        finally:
            if self.first_line is not None and self.first_line.empty():
                self.first_line.put(None)

    def text(self) -> str:
        with self._lock:
            return "".join(self._chunks)


class ProviderServer:
    """A running ``python -u -m pulumi.dynamic`` process plus a gRPC stub, as a context manager.

    Like the CLI's plugin host, the process gets ``cwd`` (the program directory), the caller's
    environment plus ``env`` and ``PULUMI_PROJECT``, and ``PULUMI_CONFIG={}`` (the engine only
    puts ``pulumi-python:`` keys there). ``pythonpath`` entries are prepended to ``PYTHONPATH`` for
    provider modules that are not installed (see :func:`pythonpath_for`).

    All methods are thread-safe, so one server can serve concurrent calls, as it does for the
    engine; the server itself runs at most 4 RPCs at once and queues the rest.

    ``stdout_text()``/``stderr_text()`` return what the process printed after the port line. The
    reader threads see output asynchronously; the text is complete once the server is closed.
    """

    def __init__(
        self,
        cwd: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        *,
        project: str = "project",
        pythonpath: Sequence[str] = (),
        startup_timeout: float = 20.0,
        rpc_timeout: float | None = 120.0,
    ) -> None:
        self.cwd = Path(cwd) if cwd is not None else Path.cwd()
        self.project = project
        self.startup_timeout = startup_timeout
        self.rpc_timeout = rpc_timeout
        merged = {**os.environ, "PULUMI_CONFIG": "{}", **(env or {}), "PULUMI_PROJECT": project}
        if pythonpath:
            existing = [p for p in merged.get("PYTHONPATH", "").split(os.pathsep) if p]
            merged["PYTHONPATH"] = os.pathsep.join([*pythonpath, *existing])
        self.env = merged
        self._proc: subprocess.Popen[str] | None = None
        self._channel: Any = None
        self._stub: provider_pb2_grpc.ResourceProviderStub | None = None
        self._stdout: _StreamReader | None = None
        self._stderr: _StreamReader | None = None
        self._finalizer: weakref.finalize[[subprocess.Popen[str]], ProviderServer] | None = None
        self._calls: list[CallRecord] = []
        self._calls_lock = threading.Lock()
        self.port: int | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> ProviderServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        """Spawn the server and wait for its port line, failing with its stderr if it dies."""
        if self._proc is not None:
            raise RuntimeError("ProviderServer already started")
        self._proc = subprocess.Popen(  # the argv is fixed; nothing comes from a shell
            [sys.executable, "-u", "-m", "pulumi.dynamic"],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        # The server waits forever; never leave one behind if a test forgets to close it.
        self._finalizer = weakref.finalize(self, _stop_process, self._proc)
        assert self._proc.stdout is not None
        assert self._proc.stderr is not None
        self._stdout = _StreamReader(self._proc.stdout, "provider-stdout", port_line=True)
        self._stderr = _StreamReader(self._proc.stderr, "provider-stderr", port_line=False)
        self._stdout.start()
        self._stderr.start()
        try:
            self.port = self._wait_for_port()
            self._channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
            grpc.channel_ready_future(self._channel).result(timeout=self.startup_timeout)
            self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)
        except BaseException:
            self.close()
            raise

    def _wait_for_port(self) -> int:
        assert self._proc is not None
        assert self._stdout is not None
        assert self._stdout.first_line is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            try:
                line = self._stdout.first_line.get(timeout=0.05)
                break
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise ProviderStartError(
                        f"provider server printed no port within {self.startup_timeout}s; "
                        f"stderr so far:\n{self.stderr_text()}"
                    ) from None
        if line is None or not line.strip().isdigit():
            rc = None
            if line is None:  # stdout closed: the process is exiting; collect all of stderr
                rc = self._proc.wait(timeout=5)
                if self._stderr is not None:
                    self._stderr.join(timeout=5)
            raise ProviderStartError(
                f"provider server did not start (exit code {rc}, first stdout line {line!r}); "
                f"stderr:\n{self.stderr_text()}"
            )
        return int(line)

    def close(self) -> None:
        """Terminate and reap the process, close the channel, and flush the output buffers.

        The process goes first: closing a grpc channel to a live server blocks for ~0.2 s, while
        closing it after the server is gone returns at once.
        """
        self._stub = None
        proc = self._proc
        if proc is not None:
            _stop_process(proc)
        if self._finalizer is not None:
            self._finalizer.detach()
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        for reader in (self._stdout, self._stderr):
            if reader is not None:
                reader.join(timeout=5)
        if proc is not None:
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    @property
    def stub(self) -> provider_pb2_grpc.ResourceProviderStub:
        """The raw stub, for calls the typed methods do not cover (e.g. UNIMPLEMENTED probes)."""
        if self._stub is None:
            raise RuntimeError("ProviderServer is not running")
        return self._stub

    def stdout_text(self) -> str:
        return self._stdout.text() if self._stdout is not None else ""

    def stderr_text(self) -> str:
        return self._stderr.text() if self._stderr is not None else ""

    @property
    def calls(self) -> list[CallRecord]:
        """Every RPC made through this object, in the order they were started."""
        with self._calls_lock:
            return list(self._calls)

    def call_names(self, urn: str | None = None) -> list[str]:
        """Method names in call order, optionally only those made for ``urn``."""
        return [c.method for c in self.calls if urn is None or c.urn == urn]

    # -- RPC plumbing ----------------------------------------------------------------------------

    def _invoke(self, method: str, request: Any, urn: str | None = None) -> Any:
        stub_method = getattr(self.stub, method)
        started = time.monotonic()
        ok = False
        with self._calls_lock:
            index = len(self._calls)
            self._calls.append(CallRecord(method, urn, started, started, ok))
        try:
            response = stub_method(request, timeout=self.rpc_timeout)
            ok = True
            return response
        except grpc.RpcError as err:
            raise ProviderCallError(method, err.code(), err.details() or "") from None
        finally:
            with self._calls_lock:
                self._calls[index] = CallRecord(method, urn, started, time.monotonic(), ok)

    # -- typed methods ---------------------------------------------------------------------------

    def get_plugin_info(self) -> str:
        response = self._invoke("GetPluginInfo", empty_pb2.Empty())
        version: str = response.version
        return version

    def configure(
        self,
        config: Mapping[str, str],
        secret_keys: Collection[str] = (),
        *,
        accept_secrets: bool = True,
        accept_resources: bool = True,
    ) -> ConfigureOutcome:
        """Send the stack config as the engine does: namespaced string values, secrets wrapped."""
        args = {k: rpc.wrap_rpc_secret(v) if k in secret_keys else v for k, v in config.items()}
        request = provider_pb2.ConfigureRequest(
            args=_serialize(args),
            acceptSecrets=accept_secrets,
            acceptResources=accept_resources,
            type="pulumi:providers:pulumi-python",
            name="default",
        )
        response = self._invoke("Configure", request)
        return ConfigureOutcome(
            accept_secrets=response.acceptSecrets,
            supports_preview=response.supportsPreview,
            accept_resources=response.acceptResources,
            accept_outputs=response.acceptOutputs,
        )

    def check(self, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> CheckOutcome:
        request = provider_pb2.CheckRequest(
            **_resource_fields(urn), olds=_serialize(olds), news=_serialize(news)
        )
        response = self._invoke("Check", request, urn)
        failures = [(f.property, f.reason) for f in response.failures]
        return CheckOutcome(inputs=_deserialize(response.inputs), failures=failures)

    def diff(
        self,
        urn: str,
        id: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        old_inputs: Mapping[str, Any] | None = None,
    ) -> DiffOutcome:
        """``olds`` are the old *outputs*, ``old_inputs`` the old inputs (the Python SDK ignores them)."""
        request = provider_pb2.DiffRequest(
            id=id,
            **_resource_fields(urn),
            olds=_serialize(olds),
            news=_serialize(news),
            old_inputs=_serialize(old_inputs or {}),
        )
        response = self._invoke("Diff", request, urn)
        return DiffOutcome(
            changes=_DIFF_CHANGES[response.changes],
            replaces=list(response.replaces),
            delete_before_replace=response.deleteBeforeReplace,
        )

    def create(self, urn: str, properties: Mapping[str, Any]) -> CreateOutcome:
        request = provider_pb2.CreateRequest(**_resource_fields(urn), properties=_serialize(properties))
        response = self._invoke("Create", request, urn)
        return CreateOutcome(id=response.id, outputs=_deserialize(response.properties))

    def update(
        self,
        urn: str,
        id: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        old_inputs: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Return the new outputs; the engine replaces the whole output set with them."""
        request = provider_pb2.UpdateRequest(
            id=id,
            **_resource_fields(urn),
            olds=_serialize(olds),
            news=_serialize(news),
            old_inputs=_serialize(old_inputs or {}),
        )
        response = self._invoke("Update", request, urn)
        return _deserialize(response.properties)

    def read(
        self,
        urn: str,
        id: str,
        properties: Mapping[str, Any],
        inputs: Mapping[str, Any] | None = None,
    ) -> ReadOutcome:
        """Refresh sends old outputs + old inputs; a ``get`` sends the inputs as both."""
        request = provider_pb2.ReadRequest(
            id=id,
            **_resource_fields(urn),
            properties=_serialize(properties),
            inputs=_serialize(inputs or {}),
        )
        response = self._invoke("Read", request, urn)
        new_inputs = _deserialize(response.inputs) if response.HasField("inputs") else None
        return ReadOutcome(id=response.id, outputs=_deserialize(response.properties), inputs=new_inputs)

    def delete(
        self,
        urn: str,
        id: str,
        properties: Mapping[str, Any],
        old_inputs: Mapping[str, Any] | None = None,
    ) -> None:
        request = provider_pb2.DeleteRequest(
            id=id,
            **_resource_fields(urn),
            properties=_serialize(properties),
            old_inputs=_serialize(old_inputs or {}),
        )
        self._invoke("Delete", request, urn)
