"""``modelarts-vis`` against the emulator: output shapes, exit codes, one-line errors."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pulumi_modelarts.cli import run
from pulumi_modelarts.emulator import ModelArtsEmulator
from pulumi_modelarts.outputs import OUTPUT_FIELDS
from tests.checks import CANARY_SECRETS, WRONG_SECRET_KEY, LeakScanner
from tests.programs import clean_environ

CLI = os.path.join(os.path.dirname(sys.executable), "modelarts-vis")


def invoke(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_get_prints_the_pulumi_output_keys_as_json(in_env: ModelArtsEmulator) -> None:
    code, out, err = invoke("get", "197")
    assert (code, err) == (0, "")
    record = json.loads(out)
    assert tuple(record) == OUTPUT_FIELDS
    assert record["job_name"] == "apiTest-11" and record["project_id"] == in_env.project_id


def test_find_and_list(in_env: ModelArtsEmulator) -> None:
    code, out, _ = invoke("find", "mnist-insight")
    assert code == 0 and json.loads(out)["job_id"] == 212
    code, out, _ = invoke("list", "--status", "running")
    assert code == 0 and [job["job_id"] for job in json.loads(out)] == [197, 245]
    code, out, _ = invoke("list", "--status", "8", "--order", "desc")
    assert [job["job_id"] for job in json.loads(out)] == [245, 197]
    code, out, _ = invoke("list", "--search", "nothing-matches")
    assert (code, json.loads(out)) == (0, [])


def test_table_format_before_or_after_the_command(in_env: ModelArtsEmulator) -> None:
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
    in_env: ModelArtsEmulator,
    monkeypatch: pytest.MonkeyPatch,
    argv: tuple[str, ...],
    fault: dict[str, object] | None,
    code: int,
    fragment: str,
) -> None:
    monkeypatch.setenv("HW_MAX_RETRIES", "1")
    if fault:
        in_env.inject_fault("get_job", **fault)  # type: ignore[arg-type]
    before = len(in_env.requests)
    status, out, err = invoke(*argv)
    assert status == code
    assert out == ""
    assert err.startswith("modelarts-vis: error: ") and err.count("\n") == 1
    assert fragment in err
    if code == 2:
        assert len(in_env.requests) == before  # bad input never reaches the service


def test_missing_credentials_is_a_usage_error(
    in_env: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HW_SECRET_KEY")
    code, _, err = invoke("get", "197")
    assert code == 2 and "modelarts:secretKey (or HW_SECRET_KEY)" in err


def test_debug_adds_the_traceback(in_env: ModelArtsEmulator) -> None:
    code, _, err = invoke("get", "4242", "--debug")
    assert code == 3
    assert "Traceback (most recent call last)" in err and err.rstrip().splitlines()[-1].startswith(
        "modelarts-vis: error:"
    )


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        ((), "the following arguments are required: COMMAND"),
        (("get",), "the following arguments are required: JOB_ID"),
        (("fetch", "197"), "invalid choice: 'fetch'"),
        (("list", "--status", "sleepy"), "unknown status 'sleepy'"),
        (("get", "197", "--format", "xml"), "invalid choice: 'xml'"),
        (("get", "197", "extra"), "unrecognized arguments: extra"),
        (("list", "--colour"), "unrecognized arguments: --colour"),
        (("emulator", "--port", "70000"), "port must be a number from 0 to 65535"),
        (("emulator", "--port", "-1"), "port must be a number from 0 to 65535"),
        (("emulator", "--host", "192.0.2.10"), "not a loopback address"),
        (("emulator", "--host", "example.com"), "not a loopback address"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(argv: tuple[str, ...], fragment: str) -> None:
    code, out, err = invoke(*argv)
    assert (code, out) == (2, "")
    assert err.startswith("modelarts-vis: error: ") and err.count("\n") == 1, err
    assert fragment in err and "usage:" not in err


def test_help_and_version_print_to_stdout_and_exit_0() -> None:
    code, out, err = invoke("--help")
    assert (code, err) == (0, "") and "get" in out and "emulator" in out
    code, out, err = invoke("--version")
    assert (code, err) == (0, "") and out.startswith("modelarts-vis ")


def test_an_ambiguous_name_hint_names_what_the_cli_can_do(in_env: ModelArtsEmulator) -> None:
    in_env.add_job("twin")
    in_env.add_job("twin")
    code, out, err = invoke("find", "twin")
    assert (code, out) == (2, "")
    assert "2 visualization jobs are named 'twin'" in err and "by its ID" in err
    assert "job_id" not in err  # the CLI has no such option


def test_an_unexpected_failure_is_one_line_without_its_text(
    in_env: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pulumi_modelarts.client import ModelArtsClient

    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(f"internal detail {CANARY_SECRETS[0]}")

    monkeypatch.setattr(ModelArtsClient, "get_visualization_job", explode)
    code, out, err = invoke("get", "197")
    assert (code, out) == (1, "")
    assert err.startswith("modelarts-vis: error: unexpected RuntimeError") and err.count("\n") == 1
    assert CANARY_SECRETS[0] not in err
    code, _, err = invoke("get", "197", "--debug")
    assert code == 1 and "Traceback (most recent call last)" in err


def test_an_interrupt_is_one_line_with_exit_130(
    in_env: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pulumi_modelarts.client import ModelArtsClient

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ModelArtsClient, "get_visualization_job", interrupted)
    assert invoke("get", "197") == (130, "", "modelarts-vis: interrupted\n")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "No such file or directory"),
        ("", "Expecting value"),
        ("{not json", "Expecting property name"),
        ("\udcff", "can't decode"),
        ('"a string"', "expected a list of job objects"),
        ('{"jobs": [{"job_id": 7}]}', "a job needs a job_name"),
        ('{"jobs": [{"job_name": "x", "status": "8"}]}', "job field 'status' must be an int"),
        ('{"region": 5, "jobs": []}', "region may only contain"),
    ],
)
def test_an_unusable_seed_file_is_one_line_with_exit_2(
    tmp_path: Path, content: str | None, fragment: str
) -> None:
    seed = tmp_path / "jobs.json"
    if content is not None:
        seed.write_bytes(content.encode("utf-8", "surrogateescape"))
    code, out, err = invoke("emulator", "--seed", str(seed))
    assert (code, out) == (2, "")
    assert err.startswith(f"modelarts-vis: error: cannot load the seed file '{seed}': ")
    assert err.count("\n") == 1 and fragment in err


def test_a_seed_directory_is_refused(tmp_path: Path) -> None:
    code, _, err = invoke("emulator", "--seed", str(tmp_path))
    assert code == 2 and "Is a directory" in err and err.count("\n") == 1


def test_a_port_in_use_is_one_line_with_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = invoke("emulator", "--port", str(port))
    assert (code, out) == (2, "")
    assert err.startswith(f"modelarts-vis: error: cannot listen on 127.0.0.1 port {port}: ")
    assert "pick another --port" in err and err.count("\n") == 1


@pytest.mark.parametrize("argv", [("get", "197"), ("list",), ("list", "--format", "table"), ("--help",)])
def test_a_closed_stdout_ends_quietly(in_env: ModelArtsEmulator, argv: tuple[str, ...]) -> None:
    """``modelarts-vis get 197 | head -0``: the reader is gone before anything is written."""
    env = {**clean_environ(), **in_env.environ("aksk")}
    proc = subprocess.Popen([CLI, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read()
    assert (proc.wait(timeout=30), err) == (0, "")


@pytest.mark.reliability("secrets")
def test_secrets_never_printed(
    in_env: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, leaks: LeakScanner
) -> None:
    """Success, a server echoing a key, wrong credentials, and ``--debug`` tracebacks."""
    in_env.inject_fault(
        "get_job", status=400, error_code="ModelArts.0104", error_message=f"key {CANARY_SECRETS[1]}", count=2
    )
    outputs = [
        invoke("get", "197"),
        invoke("get", "197", "--debug"),
        invoke("list"),
        invoke("get", "197", "--format", "table"),
    ]
    monkeypatch.setenv("HW_SECRET_KEY", WRONG_SECRET_KEY)
    outputs += [invoke("get", "197"), invoke("--debug", "get", "197"), invoke("--debug", "get", "4242")]
    assert [code for code, _, _ in outputs] == [5, 5, 0, 0, 4, 4, 4]
    for _, out, err in outputs:
        leaks.scan("cli", out + err)


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
def test_emulator_command_serves_the_cli(host: str) -> None:
    """The console script end to end: start the emulator, read a job through it, stop it.

    Listening on every interface still prints a loopback endpoint the client accepts, and says
    on stderr that the demo credentials are exposed."""
    server = subprocess.Popen(
        [CLI, "emulator", "--port", "0", "--host", host],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_environ(),
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
        assert described["url"].startswith("http://127.0.0.1:")
        got = subprocess.run(
            [CLI, "get", "245"],
            env={**clean_environ(), **exports},
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
    assert server.returncode == 0
    assert server.stderr is not None
    warning = server.stderr.read()
    if host == "0.0.0.0":
        assert warning.startswith("modelarts-vis: warning: listening on every interface (0.0.0.0)")
        assert warning.count("\n") == 1
    else:
        assert warning == ""
