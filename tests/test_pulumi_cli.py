"""The real `pulumi` CLI on the quickstart against the emulator: what the README's lifecycle table
claims, end to end, request by request. Runs only where a working `pulumi` is on PATH, and is
skipped, saying why, elsewhere. Everything stays in a temporary directory: a copy of the quickstart
naming this virtualenv, a local file backend, a Pulumi home of its own, the passphrase from env."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from pulumi_modelarts.emulator import ModelArtsEmulator
from tests.checks import CANARY_SECRETS, demo
from tests.programs import QUICKSTART_DIR, clean_environ, modelarts_requests

pytestmark = pytest.mark.slow
STACK = "e2e"
JOB_ID = 197
JOB_NAME = "apiTest-11"  # job 197's name, as the state records it
TIMEOUT = 300.0  # per command


class Cli:
    """Runs `pulumi` in the temporary project and checks each command's requests to ModelArts."""

    def __init__(self, pulumi: str, project: Path, env: dict[str, str], emulator: ModelArtsEmulator) -> None:
        self.pulumi, self.project, self.env, self.emulator = pulumi, project, env, emulator
        self.seen: list[tuple[str, str]] = []

    def run(self, *args: str, succeeds: bool = True) -> str:
        command = [self.pulumi, *args, "--non-interactive"]
        done: subprocess.CompletedProcess[str]
        try:
            done = demo.run_alone(command, self.env, TIMEOUT, cwd=self.project)
        except subprocess.TimeoutExpired:
            pytest.fail(f"pulumi {' '.join(args)} did not finish within {TIMEOUT:.0f} s (stopped)")
        said = f"pulumi {' '.join(args)} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}"
        assert (done.returncode == 0) is succeeds, said
        return done.stdout

    def requests_of(self, *args: str) -> list[tuple[str, str]]:
        """Run one command; the ModelArts requests it sent."""
        self.emulator.clear_requests()
        self.run(*args)
        sent = modelarts_requests(self.emulator)
        self.seen += sent
        return sent


@pytest.fixture
def cli(tmp_path: Path, emulator: ModelArtsEmulator) -> Cli:
    pulumi, reason = demo.working_pulumi(dict(os.environ))
    if pulumi is None:
        pytest.skip(f"needs a working pulumi CLI: {reason}")
    if sys.prefix == sys.base_prefix:
        pytest.skip("needs the tests to run in a virtualenv, which the project's Pulumi.yaml then names")
    if importlib.util.find_spec("pip") is None:  # the language host lists packages with pip (toolchain: pip)
        pytest.skip("needs pip in this virtualenv: the Python language host runs `python -m pip list`")
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(QUICKSTART_DIR / "__main__.py", project / "__main__.py")
    settings = yaml.safe_load((QUICKSTART_DIR / "Pulumi.yaml").read_text(encoding="utf-8"))
    settings["runtime"]["options"]["virtualenv"] = sys.prefix  # where pulumi-modelarts is installed
    (project / "Pulumi.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    env = demo.cli_environ(clean_environ(emulator.environ(auth="aksk")), tmp_path, "e2e-passphrase")
    return Cli(pulumi, project, env, emulator)


def test_the_quickstart_through_the_real_cli(
    cli: Cli, emulator: ModelArtsEmulator, stack_output_json: dict[str, Any], tmp_path: Path
) -> None:
    one_get = [("GET", f"/v1/{emulator.project_id}/visualization-jobs/{JOB_ID}")]
    cli.run("stack", "init", STACK)
    cli.run("config", "set", "jobId", str(JOB_ID))
    # Preview of a new job sends nothing; the update reads it once.
    assert cli.requests_of("up", "--yes") == one_get
    assert json.loads(cli.run("stack", "output", "--json")) == stack_output_json
    # A job in state: preview reads it once and, with no remote change, shows none; nor when only
    # a running job's clock moved.
    assert cli.requests_of("preview", "--expect-no-changes") == one_get
    emulator.update_job(JOB_ID, duration=9_000_000)
    assert cli.requests_of("preview", "--expect-no-changes") == one_get
    # A status change is drift: the gate fails, and the update stores every field fresh, clock included.
    emulator.update_job(JOB_ID, status=10)
    cli.run("preview", "--expect-no-changes", succeeds=False)
    assert cli.requests_of("up", "--yes", "--skip-preview") == one_get
    updated = json.loads(cli.run("stack", "output", "--json"))
    assert (updated["status_name"], updated["is_running"], updated["duration"]) == (
        "COMPLETED",
        False,
        9_000_000,
    )
    assert cli.requests_of("refresh", "--yes", "--skip-preview") == one_get
    assert json.loads(cli.run("stack", "output", "--json")) == updated
    # `up --refresh`, what the operator runs with `refresh: true`: a clock that moved is no update,
    # but the refresh stores it as read, so the clock outputs follow the job (examples/gitops).
    emulator.update_job(JOB_ID, duration=9_500_000)
    assert set(cli.requests_of("up", "--refresh", "--yes", "--skip-preview")) == set(one_get)
    clocked = {**updated["visualization_job"], "duration": 9_500_000}
    assert json.loads(cli.run("stack", "output", "--json")) == {
        **updated,
        "duration": 9_500_000,
        "visualization_job": clocked,
    }
    # The credentials (the emulator's are canaries) reach no state file, checkpoint or backup.
    # Every file of the backend, not only `*.json`: the previous checkpoint is kept as `e2e.json.bak`.
    states = {
        path: path.read_text(encoding="utf-8") for path in (tmp_path / "state").rglob("*") if path.is_file()
    }
    assert any(JOB_NAME in text for text in states.values())
    assert [path for path, text in states.items() if any(secret in text for secret in CANARY_SECRETS)] == []
    # Destroy forgets the job: nothing is sent at all.
    assert cli.requests_of("destroy", "--yes", "--skip-preview") == []
    assert {method for method, _path in cli.seen} == {"GET"}
    assert emulator.get_job(JOB_ID) is not None
