"""Running the quickstart and the examples under mocks, and what the tests check on the result.

:func:`run_example` is :func:`harness.programs.run_program` with a child process that also accepts
exports of plain values (see :mod:`harness.plain_exports_child`). The other helpers build the
stack config that points a program at an emulator and look for credentials where none may be.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from harness.programs import HARNESS_DIR, MARKER, REPO_ROOT, ProgramRun
from pulumi_modelarts.emulator import ModelArtsEmulator

QUICKSTART_DIR = REPO_ROOT
QUICKSTART_PROJECT = "modelarts-quickstart"
EXAMPLES_DIR = REPO_ROOT / "examples"
#: Stack config keys that carry credentials: what ``pulumi config set --secret`` would mark.
SECRET_CONFIG_KEYS = ("modelarts:accessKey", "modelarts:secretKey", "modelarts:password")


def run_example(
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
    """Run ``program_dir/__main__.py`` with mocks, like ``run_program``; exports may be plain values.

    The child's environment is the test process's minus every ModelArts/cloud variable, plus
    ``env``: a program sees only the credentials a test gives it.
    """
    spec = {
        "project": project,
        "stack": stack,
        "config": dict(config or {}),
        "secret_keys": secret_keys,
        "preview": preview,
        "stack_references": dict(stack_references or {}),
    }
    base = {key: value for key, value in os.environ.items() if not _is_cloud_variable(key)}
    child_env = {**base, **(env or {}), "PYTHONPATH": str(HARNESS_DIR.parent)}
    completed = subprocess.run(
        [sys.executable, "-m", "harness.plain_exports_child", json.dumps(spec)],
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


def _is_cloud_variable(name: str) -> bool:
    return name.startswith(("HW_", "OS_", "MODELARTS_", "PULUMI_CONFIG"))


def emulator_config(emulator: ModelArtsEmulator, *, with_credentials: bool = True) -> dict[str, str]:
    """``modelarts:*`` stack config pointing at the emulator, with its AK/SK unless told not to."""
    config = {"modelarts:endpoint": emulator.url, "modelarts:authUrl": emulator.iam_url}
    if with_credentials:
        creds = emulator.credentials
        config.update({"modelarts:accessKey": creds.access_key, "modelarts:secretKey": creds.secret_key})
    return config


def modelarts_requests(emulator: ModelArtsEmulator) -> list[tuple[str, str]]:
    """``(method, path)`` of every ModelArts (``/v1``) request the emulator saw."""
    return [(record.method, record.path) for record in emulator.requests if record.path.startswith("/v1/")]


def find_text(value: Any, needles: tuple[str, ...], *, outside_secrets: bool = False) -> list[str]:
    """JSON paths of the strings in ``value`` that contain one of ``needles``.

    With ``outside_secrets``, values wrapped by the harness as ``{"__secret": ...}`` (secret
    inputs and outputs) are skipped: only plain-text occurrences are reported.
    """
    return list(_find(value, needles, "$", outside_secrets))


def _find(value: Any, needles: tuple[str, ...], path: str, outside_secrets: bool) -> Iterator[str]:
    if isinstance(value, dict):
        if outside_secrets and set(value) == {"__secret"}:
            return
        for key, item in value.items():
            if any(needle in str(key) for needle in needles):
                yield f"{path}.{key} (key)"
            yield from _find(item, needles, f"{path}.{key}", outside_secrets)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _find(item, needles, f"{path}[{index}]", outside_secrets)
    elif isinstance(value, str) and any(needle in value for needle in needles):
        yield path
