"""Run a Pulumi program (the quickstart or an example) under mocks, in a child process.

Each run gets a fresh interpreter, so the Pulumi runtime's global settings, the program's
module-level code and process-wide caches start clean, as under ``pulumi up``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HARNESS_DIR = Path(__file__).resolve().parent
REPO_ROOT = HARNESS_DIR.parents[1]
MARKER = "\n@@RESULT@@"
CLOUD_VARIABLE_PREFIXES = ("HW_", "OS_", "MODELARTS_", "PULUMI_CONFIG")


@dataclass
class ProgramRun:
    """What a program registered and exported, and what it printed."""

    outputs: dict[str, dict[str, Any]]
    resources: list[dict[str, Any]]
    error: dict[str, Any] | None
    stdout: str
    stderr: str

    def value(self, name: str) -> Any:
        return self.outputs[name]["value"]

    def values(self) -> dict[str, Any]:
        return {name: entry["value"] for name, entry in self.outputs.items()}

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [resource for resource in self.resources if resource["type"] == type_]


def write_program(directory: Path, source: str) -> Path:
    """A program directory whose ``__main__.py`` is ``source`` (dedented)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "__main__.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return directory


def run_program(
    program_dir: Path,
    *,
    project: str,
    stack: str = "dev",
    config: Mapping[str, str] | None = None,
    secret_keys: list[str] | None = None,
    env: Mapping[str, str] | None = None,
    preview: bool = False,
    stack_references: Mapping[str, Mapping[str, Any]] | None = None,
    timeout: float = 120.0,
) -> ProgramRun:
    """Run ``program_dir/__main__.py`` with mocks; config keys must be namespaced."""
    spec = {
        "project": project,
        "stack": stack,
        "config": dict(config or {}),
        "secret_keys": secret_keys,
        "preview": preview,
        "stack_references": dict(stack_references or {}),
    }
    # A program sees only the credentials a test gives it: cloud variables of the test process
    # (HW_*, OS_*, MODELARTS_*, PULUMI_CONFIG*) are not passed on.
    base = {key: value for key, value in os.environ.items() if not key.startswith(CLOUD_VARIABLE_PREFIXES)}
    child_env = {**base, **(env or {}), "PYTHONPATH": str(HARNESS_DIR.parent)}
    completed = subprocess.run(
        [sys.executable, "-m", "harness.program_child", json.dumps(spec)],
        cwd=program_dir,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    stdout, marker, payload = completed.stdout.rpartition(MARKER)
    if not marker:
        raise RuntimeError(f"program run crashed (exit {completed.returncode}):\n{completed.stderr}")
    result = json.loads(payload)
    return ProgramRun(result["outputs"], result["resources"], result["error"], stdout, completed.stderr)
