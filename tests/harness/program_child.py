"""Child process of :func:`harness.programs.run_program`: one Pulumi program under mocks.

Mocks stand in for the engine and the resource monitor. A ``VisualizationJob`` is served by the
real provider, unpickled from ``__provider`` and configured with the stack config, calling the
emulator over loopback, as the engine's provider process would on ``up`` (or, on ``preview``,
with outputs left unknown as the engine leaves them; a read whose ID is unknown is skipped, as
the engine skips it). Like the engine, the provider gets secret inputs unwrapped, and outputs
named like a secret input or in the registration's ``additionalSecretOutputs`` come back secret
(the mock monitor itself ignores that option; each registration records it). Other resources
echo their inputs.
"""

from __future__ import annotations

import base64
import json
import os
import runpy
import sys
import traceback
from typing import Any

import dill
import pulumi
from pulumi.dynamic import CheckResult, ConfigureRequest
from pulumi.dynamic.config import Config
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

JOB_TYPE = "pulumi-python:dynamic/modelarts:VisualizationJob"


def _plain(value: Any) -> Any:
    """JSON-friendly view of mock values (secrets unwrapped, unknowns as a marker)."""
    if rpc.is_rpc_secret(value):
        return {"__secret": _plain(rpc.unwrap_rpc_secret(value))}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return repr(value)


class ProgramMocks(pulumi.runtime.Mocks):
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.resources: list[dict[str, Any]] = []
        self.secret_outputs: dict[str, list[str]] = {}

    def watch(self, monitor: Any) -> None:
        """Record each request's ``additionalSecretOutputs`` before the mock monitor drops them."""
        for method in ("RegisterResource", "ReadResource"):
            original = getattr(monitor, method)

            def recording(request: Any, original: Any = original) -> Any:
                self.secret_outputs[request.name] = list(request.additionalSecretOutputs)
                return original(request)

            setattr(monitor, method, recording)

    def _provider(self, serialized: Any) -> Any:
        provider = dill.loads(base64.b64decode(rpc.unwrap_rpc_secret(serialized)))
        config = Config(raw_config=self.spec["config"], project_name=self.spec["project"])
        provider.configure(ConfigureRequest(config=config))
        return provider

    def _job(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        resource_id, outputs = self._served(args)
        # The engine marks outputs secret that are named by additionalSecretOutputs or like a
        # secret input (the provider itself never sees secrets: it does not accept them).
        secret = {
            *self.secret_outputs.get(args.name, []),
            *(k for k, v in args.inputs.items() if rpc.is_rpc_secret(v)),
        }
        return resource_id, {k: rpc.wrap_rpc_secret(v) if k in secret else v for k, v in outputs.items()}

    def _served(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.resource_id == rpc.UNKNOWN:
            return "", {}  # the engine skips a read whose ID is unknown (preview only)
        inputs = {k: rpc.unwrap_rpc_secret(v) for k, v in args.inputs.items() if k != "__provider"}
        provider = self._provider(args.inputs["__provider"])
        if args.resource_id:
            read = provider.read(args.resource_id, inputs)
            return read.id or args.resource_id, read.outs
        checked: CheckResult = provider.check({}, inputs)
        if checked.failures:
            raise RuntimeError("; ".join(f"{f.property}: {f.reason}" for f in checked.failures))
        if self.spec["preview"]:
            return "", checked.inputs  # the engine shows checked inputs; outputs stay unknown
        created = provider.create(checked.inputs)
        return created.id, created.outs

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        if args.typ == JOB_TYPE:
            resource_id, outputs = self._job(args)
        elif args.typ == "pulumi:pulumi:StackReference":
            name = args.inputs["name"]
            outputs = {"name": name, "outputs": self.spec["stack_references"][name], "secretOutputNames": []}
            resource_id = name
        else:
            resource_id, outputs = f"{args.name}-id", dict(args.inputs)
        self.resources.append(
            {
                "type": args.typ,
                "name": args.name,
                "id": resource_id,
                "resource_id": args.resource_id,
                "inputs": _plain({k: v for k, v in args.inputs.items() if k != "__provider"}),
                "provider_secret": rpc.is_rpc_secret(args.inputs.get("__provider")),
                "provider": rpc.unwrap_rpc_secret(args.inputs["__provider"])
                if "__provider" in args.inputs
                else None,
                "outputs": _plain(outputs),
                "secret_outputs": self.secret_outputs.get(args.name, []),
            }
        )
        return resource_id, outputs

    def call(self, args: MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None


async def _resolve(exports: dict[str, Any]) -> dict[str, Any]:
    """Stack exports as plain data; plain values (direct function forms) are exports too."""
    resolved: dict[str, Any] = {}
    for name, export in exports.items():
        output = pulumi.Output.from_input(export)
        known = await output.is_known()
        value = await output.future() if known else None
        resolved[name] = {"known": known, "secret": await output.is_secret(), "value": _plain(value)}
    return resolved


def _run_program() -> None:
    runpy.run_path(os.path.join(os.getcwd(), "__main__.py"), run_name="__main__")


def main() -> None:
    spec = json.loads(sys.argv[1])
    mocks = ProgramMocks(spec)
    pulumi.runtime.set_mocks(mocks, project=spec["project"], stack=spec["stack"], preview=spec["preview"])
    mocks.watch(pulumi.runtime.settings.get_monitor())
    pulumi.runtime.set_all_config(spec["config"], spec.get("secret_keys"))
    result: dict[str, Any] = {"error": None, "outputs": {}, "resources": mocks.resources}
    try:
        _sync_await(run_pulumi_func(_run_program))
        root = pulumi.runtime.get_root_resource()
        result["outputs"] = _sync_await(_resolve(root.outputs))  # type: ignore[union-attr]
    except Exception as exc:  # reported to the test, which asserts on it
        result["error"] = {
            "type": type(exc).__name__,
            "mro": [c.__name__ for c in type(exc).__mro__],
            "message": str(exc),
            "traceback": traceback.format_exc(),
        }
    sys.stdout.write("\n@@RESULT@@" + json.dumps(result))


if __name__ == "__main__":
    main()
