"""``modelarts-vis`` against the emulator: output shapes, exit codes, one-line errors."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys

import pytest

from canaries import CANARY_SECRETS
from pulumi_modelarts.cli import run
from pulumi_modelarts.emulator import ModelArtsEmulator
from pulumi_modelarts.outputs import OUTPUT_FIELDS

CLEAN_ENV = {
    key: value for key, value in os.environ.items() if not key.startswith(("HW_", "OS_", "MODELARTS_"))
}


@pytest.fixture
def cli_env(emulator: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch) -> ModelArtsEmulator:
    for key in list(os.environ):
        if key.startswith(("HW_", "OS_", "MODELARTS_")):
            monkeypatch.delenv(key)
    for key, value in emulator.environ("aksk").items():
        monkeypatch.setenv(key, value)
    return emulator


def invoke(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_get_prints_the_pulumi_output_keys_as_json(cli_env: ModelArtsEmulator) -> None:
    code, out, err = invoke("get", "197")
    assert (code, err) == (0, "")
    record = json.loads(out)
    assert tuple(record) == OUTPUT_FIELDS
    assert record["job_name"] == "apiTest-11" and record["project_id"] == cli_env.project_id


def test_find_and_list(cli_env: ModelArtsEmulator) -> None:
    code, out, _ = invoke("find", "mnist-insight")
    assert code == 0 and json.loads(out)["job_id"] == 212
    code, out, _ = invoke("list", "--status", "running")
    assert code == 0 and [job["job_id"] for job in json.loads(out)] == [197, 245]
    code, out, _ = invoke("list", "--status", "8", "--order", "desc")
    assert [job["job_id"] for job in json.loads(out)] == [245, 197]
    code, out, _ = invoke("list", "--search", "nothing-matches")
    assert (code, json.loads(out)) == (0, [])


def test_table_format_before_or_after_the_command(cli_env: ModelArtsEmulator) -> None:
    for argv in (("--format", "table", "list"), ("list", "--format", "table")):
        code, out, _ = invoke(*argv)
        lines = out.splitlines()
        assert code == 0
        assert lines[0].split() == ["job_id", "job_name", "status_name", "created_at", "service_url"]
        assert len(lines) == 5 and lines[1].split()[:3] == ["197", "apiTest-11", "RUNNING"]
    code, out, _ = invoke("get", "212", "--format", "table")
    assert code == 0 and "job_name            mnist-insight" in out


@pytest.mark.parametrize(
    ("argv", "fault", "code", "fragment"),
    [
        (("get", "4242"), None, 3, "visualization job not found (job 4242"),
        (("find", "ghost"), None, 3, "no visualization job is named 'ghost'"),
        (("get", "../etc/passwd"), None, 2, "job_id must be a whole number from 1 to 9007199254740991"),
        (("find", "a/b"), None, 2, "job_name may only contain"),
        (("get", "197", "--endpoint", "http://example.com"), None, 2, "must use https://"),
        (("get", "197", "--project-id", "a/../b"), None, 2, "projectId may only contain"),
        (("get", "197"), {"status": 401, "error_code": "APIG.0301"}, 4, "credentials rejected"),
        (("get", "197"), {"status": 403, "error_code": "ModelArts.0108"}, 4, "access denied"),
        (("get", "197"), {"status": 500, "error_code": "ModelArts.0010", "count": 20}, 5, "service failed"),
        (("get", "197"), {"body": "<html>oops</html>", "content_type": "text/html"}, 5, "not JSON"),
    ],
)
def test_errors_are_one_line_with_documented_exit_codes(
    cli_env: ModelArtsEmulator,
    monkeypatch: pytest.MonkeyPatch,
    argv: tuple[str, ...],
    fault: dict[str, object] | None,
    code: int,
    fragment: str,
) -> None:
    monkeypatch.setenv("HW_MAX_RETRIES", "1")
    if fault:
        cli_env.inject_fault("get_job", **fault)  # type: ignore[arg-type]
    before = len(cli_env.requests)
    status, out, err = invoke(*argv)
    assert status == code
    assert out == ""
    assert err.startswith("modelarts-vis: error: ") and err.count("\n") == 1
    assert fragment in err
    if code == 2:
        assert len(cli_env.requests) == before  # bad input never reaches the service


def test_missing_credentials_is_a_usage_error(
    cli_env: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HW_SECRET_KEY")
    code, _, err = invoke("get", "197")
    assert code == 2 and "modelarts:secretKey (or HW_SECRET_KEY)" in err


def test_debug_adds_the_traceback(cli_env: ModelArtsEmulator) -> None:
    code, _, err = invoke("get", "4242", "--debug")
    assert code == 3
    assert "Traceback (most recent call last)" in err and err.rstrip().splitlines()[-1].startswith(
        "modelarts-vis: error:"
    )


def test_usage_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as caught:
        run(["get"], out=io.StringIO(), err=io.StringIO())
    assert caught.value.code == 2
    with pytest.raises(SystemExit) as caught:
        run(["list", "--status", "sleepy"], out=io.StringIO(), err=io.StringIO())
    assert caught.value.code == 2


def test_secrets_never_printed(cli_env: ModelArtsEmulator) -> None:
    cli_env.inject_fault(
        "get_job", status=400, error_code="ModelArts.0104", error_message=f"key {CANARY_SECRETS[1]}"
    )
    outputs = [invoke("get", "197"), invoke("get", "197", "--debug"), invoke("list")]
    text = "".join(out + err for _, out, err in outputs)
    for secret in CANARY_SECRETS:
        assert secret not in text


def test_emulator_command_serves_the_cli(tmp_path: object) -> None:
    """The console script end to end: start the emulator, read a job through it, stop it."""
    script = os.path.join(os.path.dirname(sys.executable), "modelarts-vis")
    server = subprocess.Popen(
        [script, "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=CLEAN_ENV,
    )
    try:
        assert server.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("{"):  # the banner ends with a JSON description
            line = server.stdout.readline()
            assert line, f"emulator exited: {server.stderr.read() if server.stderr else ''}"
            lines.append(line)
        described = json.loads(lines[-1])
        exports = dict(
            line.strip().removeprefix("export ").split("=", 1) for line in lines if "export " in line
        )
        assert exports["MODELARTS_ENDPOINT"] == described["url"]
        got = subprocess.run(
            [script, "get", "245"],
            env={**CLEAN_ENV, **exports},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert got.returncode == 0, got.stderr
        assert json.loads(got.stdout)["job_name"] == "flowers_vis-2"
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)
    assert server.returncode in (0, 130)
