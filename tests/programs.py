"""Run a Pulumi program under mocks in a fresh child interpreter (``python -m tests.programs``), so
runtime settings and process-wide caches start clean. There a ``VisualizationJob`` is served by the
real provider, unpickled from ``__provider`` and configured with the stack config, as the engine's
provider process would; outputs are made secret as the engine does; other resources echo their
inputs; a ``StackReference`` serves the outputs a test hands it."""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import subprocess
import sys
import textwrap
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pulumi_modelarts.emulator import ModelArtsEmulator

JOB_TYPE = "pulumi-python:dynamic/modelarts:VisualizationJob"
#: Variables that would point a child process at another cloud or stack.
CLOUD_VARIABLE_PREFIXES = ("HW_", "OS_", "MODELARTS_", "PULUMI_")
REPO_ROOT = Path(__file__).resolve().parents[1]
QUICKSTART_DIR = REPO_ROOT
QUICKSTART_PROJECT = "modelarts-quickstart"
EXAMPLES_DIR = REPO_ROOT / "examples"
MARKER = "\n@@RESULT@@"


def _child_pythonpath() -> str:
    """What a child process imports ``tests`` and ``pulumi_modelarts`` from: this checkout, and the
    package this process imports (found, not imported: another checkout's install is another one)."""
    spec = importlib.util.find_spec("pulumi_modelarts")
    package = Path(spec.origin).parents[1] if spec is not None and spec.origin else REPO_ROOT / "provider"
    return os.pathsep.join(dict.fromkeys((str(REPO_ROOT), str(package))))


CHILD_PYTHONPATH = _child_pythonpath()


@dataclass
class ProgramRun:
    outputs: dict[str, dict[str, Any]]  # name -> {"known", "secret", "value"}
    resources: list[dict[str, Any]]
    error: dict[str, Any] | None  # {"type", "mro", "message", "traceback"}
    stdout: str
    stderr: str
    exports: dict[str, Any]  # the stack's outputs as registered: a secret is {SIG: ..., "value": ...}

    def value(self, name: str) -> Any:
        return self.outputs[name]["value"]

    def values(self) -> dict[str, Any]:
        return {name: entry["value"] for name, entry in self.outputs.items()}

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [resource for resource in self.resources if resource["type"] == type_]


def proxy_variables() -> set[str]:
    """The proxy variables the package reads: tests, benchmarks and their child processes read
    servers on loopback, which a proxy in the shell would otherwise take (unless NO_PROXY lists it)."""
    from pulumi_modelarts.settings import PROXY_VARIABLES

    return {name for names in PROXY_VARIABLES.values() for name in names}


def clean_environ(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without cloud settings or proxies, plus ``extra``: a child process
    sees only the credentials (and proxy) a test gives it."""
    dropped = proxy_variables()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(CLOUD_VARIABLE_PREFIXES) and key not in dropped
    }
    return {**env, **(extra or {})}


def proc_kib(name: str, pid: int | str = "self") -> int:
    """``VmRSS``, ``VmHWM`` (peak RSS), ... of a process in KiB, from ``/proc/<pid>/status``."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(f"{name}:"))


def machine(*packages: str) -> dict[str, Any]:
    """What a benchmark or reliability run was measured on."""
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    git = ["git", "rev-parse", "--short", "HEAD"]
    commit = subprocess.run(git, cwd=REPO_ROOT, capture_output=True, text=True)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpu": f"{os.cpu_count()} x {cpu}",
        "system": " ".join(platform.uname()[:3]),
        "python": sys.version.split()[0],
        "load_1min": round(os.getloadavg()[0], 2),
        "commit": commit.stdout.strip() or "unknown",
        "packages": {name: metadata.version(name) for name in packages},
    }


def write_program(directory: Path, source: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "__main__.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return directory


def run_program(
    program_dir: Path,
    *,
    project: str,
    config: Mapping[str, str] | None = None,
    secret_keys: list[str] | None = None,
    env: Mapping[str, str] | None = None,
    preview: bool = False,
    stack_references: Mapping[str, Mapping[str, Any]] | None = None,
    timeout: float = 120.0,
) -> ProgramRun:
    """Run ``program_dir/__main__.py``; config keys are namespaced, under its Pulumi.yaml's defaults
    as the CLI merges them. The program sees only the credentials the test gives it (``env``, ``config``)."""
    from tests.checks import demo

    config = demo.project_config(program_dir, config or {})
    spec: dict[str, object] = {"project": project, "config": config, "secret_keys": secret_keys}
    spec |= {"preview": preview, "stack_references": dict(stack_references or {})}
    command = [sys.executable, "-m", "tests.programs", json.dumps(spec)]
    env = {**clean_environ(env), "PYTHONPATH": CHILD_PYTHONPATH}
    done = subprocess.run(command, cwd=program_dir, env=env, capture_output=True, text=True, timeout=timeout)
    stdout, marker, payload = done.stdout.rpartition(MARKER)
    if not marker:
        raise RuntimeError(f"program run crashed (exit {done.returncode}):\n{done.stderr}")
    result = json.loads(payload)
    return ProgramRun(
        result["outputs"], result["resources"], result["error"], stdout, done.stderr, result["exports"]
    )


def modelarts_requests(emulator: ModelArtsEmulator) -> list[tuple[str, str]]:
    """``(method, path)`` of every ModelArts (``/v1``) request the emulator saw."""
    return [(record.method, record.path) for record in emulator.requests if record.path.startswith("/v1/")]


# -- the child process ---------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """JSON-friendly mock values: secrets as ``{"__secret": ...}``, anything else not JSON as repr."""
    from pulumi.runtime import rpc

    if rpc.is_rpc_secret(value):
        return {"__secret": _plain(rpc.unwrap_rpc_secret(value))}
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value if isinstance(value, str | int | float | bool | None) else repr(value)


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    import base64
    import runpy
    import traceback

    import dill
    import pulumi
    from google.protobuf import json_format
    from pulumi.dynamic import ConfigureRequest
    from pulumi.dynamic.config import Config
    from pulumi.runtime import rpc
    from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs
    from pulumi.runtime.stack import massage, run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    resources: list[dict[str, Any]] = []
    secret_outputs: dict[str, list[str]] = {}
    stack_exports: dict[str, Any] = {}

    providers: dict[str, Any] = {}  # as the SDK's server keeps them: one per ``__provider`` text

    def served(args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.resource_id == rpc.UNKNOWN:
            return "", {}  # the engine skips a read whose ID is unknown (preview only)
        serialized = rpc.unwrap_rpc_secret(args.inputs["__provider"])
        if (provider := providers.get(serialized)) is None:
            provider = providers[serialized] = dill.loads(base64.b64decode(serialized))
            config = Config(raw_config=spec["config"], project_name=spec["project"])
            provider.configure(ConfigureRequest(config))
        inputs = {k: rpc.unwrap_rpc_secret(v) for k, v in args.inputs.items() if k != "__provider"}
        if args.resource_id:
            read = provider.read(args.resource_id, inputs)
            return read.id or args.resource_id, read.outs
        checked = provider.check({}, inputs)
        if checked.failures:
            raise RuntimeError("; ".join(f"{f.property}: {f.reason}" for f in checked.failures))
        if spec["preview"]:
            return "", checked.inputs  # the engine shows checked inputs; outputs stay unknown
        created = provider.create(checked.inputs)
        return created.id, created.outs

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
            if args.typ == JOB_TYPE:
                resource_id, outputs = served(args)
                # The engine marks outputs secret that additionalSecretOutputs names or that are
                # named like a secret input (the provider, which refuses secrets, never sees one).
                secret = {
                    *secret_outputs.get(args.name, []),
                    *(k for k, v in args.inputs.items() if rpc.is_rpc_secret(v)),
                }
                outputs = {k: rpc.wrap_rpc_secret(v) if k in secret else v for k, v in outputs.items()}
            elif args.typ == "pulumi:pulumi:StackReference":
                resource_id = name = args.inputs["name"]
                stack_outputs = spec["stack_references"][name]  # {rpc._special_sig_key: ...}: a secret
                secrets = [key for key, value in stack_outputs.items() if rpc._special_sig_key in str(value)]
                outputs = {"name": name, "outputs": stack_outputs, "secretOutputNames": secrets}
            else:
                resource_id, outputs = f"{args.name}-id", dict(args.inputs)
            provider, inputs = args.inputs.get("__provider"), dict(args.inputs)
            inputs.pop("__provider", None)
            record: dict[str, object] = {"type": args.typ, "name": args.name}
            record |= {"id": resource_id, "resource_id": args.resource_id}
            record |= {"inputs": _plain(inputs), "provider_secret": rpc.is_rpc_secret(provider)}
            record |= {"provider": provider and rpc.unwrap_rpc_secret(provider), "outputs": _plain(outputs)}
            resources.append(record | {"secret_outputs": secret_outputs.get(args.name, [])})
            return resource_id, outputs

        def call(self, args: MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
            return {}, None

    pulumi.runtime.set_mocks(Mocks(), project=spec["project"], stack="dev", preview=spec["preview"])
    monitor = pulumi.runtime.settings.get_monitor()

    def recording(original: Any) -> Any:
        """The mock monitor drops ``additionalSecretOutputs``: keep them first."""

        def register(request: Any) -> Any:
            if hasattr(request, "additionalSecretOutputs"):
                secret_outputs[request.name] = list(request.additionalSecretOutputs)
            else:  # the stack's exports, as the engine would store them
                stack_exports.update(json_format.MessageToDict(request.outputs))
            return original(request)

        return register

    for method in ("RegisterResource", "ReadResource", "RegisterResourceOutputs"):
        setattr(monitor, method, recording(getattr(monitor, method)))
    pulumi.runtime.set_all_config(spec["config"], spec.get("secret_keys"))

    async def exported(exports: dict[str, Any]) -> dict[str, Any]:
        """Stack exports as plain data; plain values (direct function forms) are exports too."""
        resolved = {}
        for name, export in exports.items():
            output = pulumi.Output.from_input(export)
            known = await output.is_known()
            value = _plain(await output.future()) if known else None
            resolved[name] = {"known": known, "secret": await output.is_secret(), "value": value}
        return resolved

    result: dict[str, Any] = {"error": None, "outputs": {}, "resources": resources, "exports": stack_exports}
    try:
        main = os.path.join(os.getcwd(), "__main__.py")
        root = pulumi.runtime.get_root_resource()

        def program() -> None:
            runpy.run_path(main, run_name="__main__")
            root.register_outputs(massage(root.outputs, []))  # type: ignore[union-attr]

        _sync_await(run_pulumi_func(program))
        result["outputs"] = _sync_await(exported(root.outputs))  # type: ignore[union-attr]
    except Exception as exc:  # reported to the test, which asserts on it
        mro = [cls.__name__ for cls in type(exc).__mro__]
        result["error"] = {"type": mro[0], "mro": mro, "message": str(exc)}
        result["error"]["traceback"] = traceback.format_exc()
    return result


if __name__ == "__main__":
    sys.stdout.write(MARKER + json.dumps(_child(json.loads(sys.argv[1]))))
