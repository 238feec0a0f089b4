"""``modelarts-vis`` against the emulator: output shapes, exit codes, one-line errors."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pulumi_modelarts import cli
from pulumi_modelarts.cli import run
from pulumi_modelarts.client import ModelArtsClient
from pulumi_modelarts.emulator import SAMPLE_JOBS_PATH, EmulatorCredentials, ModelArtsEmulator
from pulumi_modelarts.outputs import OUTPUT_FIELDS
from pulumi_modelarts.settings import KEYS_BY_FIELD
from pulumi_modelarts.validation import MAX_WHOLE_NUMBER as MAX
from tests.checks import CANARY_SECRETS, WRONG_SECRET_KEY, LeakScanner, invoke
from tests.hostile import (
    PROJECT,
    SLOW_SERVERS,
    PagingServer,
    RawServer,
    Script,
    listed_job,
    pages_of,
    reply,
    silent,
    silent_in_body,
)
from tests.programs import clean_environ

CLI = os.path.join(os.path.dirname(sys.executable), "modelarts-vis")
STOPPED = "modelarts-vis: interrupted\n"
TABLE_HEAD = ["job_id", "job_name", "status_name", "created_at", "service_url"]


def one_line_error(err: str, fragment: str) -> bool:
    return err.startswith("modelarts-vis: error: ") and err.count("\n") == 1 and fragment in err


def test_get_find_and_list_print_the_pulumi_output_keys(in_env: ModelArtsEmulator) -> None:
    code, out, err = invoke("get", "197")
    assert (code, err, tuple(json.loads(out))) == (0, "", OUTPUT_FIELDS)
    assert (json.loads(out)["job_name"], json.loads(out)["project_id"]) == ("apiTest-11", in_env.project_id)
    assert json.loads(invoke("find", "mnist-insight")[1])["job_id"] == 212
    for argv, ids in [("--status running", [197, 245]), ("--status 8 --order desc", [245, 197])]:
        assert [job["job_id"] for job in json.loads(invoke("list", *argv.split())[1])] == ids
    assert invoke("list", "--search", "nothing-matches") == (0, "[]\n", "")
    for args in (("--format", "table", "list"), ("list", "--format", "table")):  # before or after the command
        code, out, _ = invoke(*args)
        lines = out.splitlines()
        assert (code, lines[0].split(), len(lines)) == (0, TABLE_HEAD, 5)
        assert lines[1].split()[:3] == ["197", "apiTest-11", "RUNNING"]
    assert "job_name            mnist-insight" in invoke("get", "212", "--format", "table")[1]


def test_list_status_takes_every_status_name_it_prints(in_env: ModelArtsEmulator) -> None:
    """A code newer than this release prints as ``UNKNOWN_23``: that name filters by it too, in any
    case; the name of a code the release knows stays its own (``UNKNOWN_8`` is no RUNNING)."""
    in_env.update_job(212, status=23)
    code, out, _ = invoke("list", "--status", "unknown_23")
    assert (code, [(job["job_id"], job["status_name"]) for job in json.loads(out)]) == (
        0,
        [(212, "UNKNOWN_23")],
    )
    code, _, err = invoke("list", "--status", "UNKNOWN_8")
    assert code == 2 and one_line_error(err, "got 'UNKNOWN_8'"), err


def test_a_table_shows_a_null_and_an_empty_text_as_an_empty_cell(in_env: ModelArtsEmulator) -> None:
    in_env.update_job(197, job_desc="")  # remaining_duration is null: the job has no auto-stop
    code, out, _ = invoke("get", "197", "--format", "table")
    cells = [
        line.rstrip() for line in out.splitlines() if line.split()[0] in {"job_desc", "remaining_duration"}
    ]
    assert (code, cells) == (0, ["job_desc", "remaining_duration"])
    for argv in (("get", "197"), ("list",)):  # the empty cell ends its line: no trailing blanks
        assert [
            line for line in invoke(*argv, "--format", "table")[1].splitlines() if line != line.rstrip()
        ] == []


@pytest.mark.parametrize("job_id", [197, 212, 230])  # running (true), completed and failed (false)
def test_a_table_spells_every_value_as_the_json_view_does(in_env: ModelArtsEmulator, job_id: int) -> None:
    """Before, a flag read True or False (Python's spelling) in a table and true or false in JSON."""
    in_env.update_job(job_id, remaining_duration=1800.5)
    shown = json.loads(invoke("get", str(job_id))[1])
    rows = [
        line.split(maxsplit=1) for line in invoke("get", str(job_id), "--format", "table")[1].splitlines()
    ]
    spelled = {key: value if isinstance(value, str) else json.dumps(value) for key, value in shown.items()}
    assert dict(row for row in rows if len(row) == 2) == {k: v for k, v in spelled.items() if v != ""}
    assert spelled["is_running"] == ("true" if job_id == 197 else "false")


BY_ID = "A job whose name holds any other character is read by its ID"


@pytest.mark.parametrize(
    ("argv", "fault", "code", "fragment"),
    [
        (("get", "4242"), None, 3, "visualization job not found (job 4242"),
        (("find", "ghost"), None, 3, "no visualization job is named 'ghost'"),
        (("get", "../etc/passwd"), None, 2, "job_id must be a whole number from 1 to 9007199254740991"),
        (("find", "a/b"), None, 2, "job_name may only contain"),
        # Letters outside ASCII are letters too: the line says which, and how to read such a job.
        *[
            (
                ("find", name),
                None,
                2,
                f"ASCII letters, digits, '_' and '-' (1-64 characters), got {name!r}. {BY_ID}",
            )
            for name in ("\u53ef\u89c6\u5316", "caf\u00e9", "cafe\u0301", " board")
        ],
        # A code that is no whole number by the functions' rule gets their words (fullwidth or
        # Arabic-Indic digits, a sign, a fraction, nothing), and a name only ASCII letters.
        *[
            (
                ("list", "--status", code),
                None,
                2,
                f"status must be a whole number from 0 to {MAX}, got {code!r}",
            )
            for code in ("\uff18", "\u0661\u0669\u0667", "-1", "8.0", "")
        ],
        (
            ("list", "--status", "runn\u0131ng"),
            None,
            2,
            "unknown status 'runn\u0131ng'; use a code or one of",
        ),
        (("list", "--status", "9" * 20), None, 2, f"status must be a whole number from 0 to {MAX}"),
        (("get", "197", "--endpoint", "http://example.com"), None, 2, "must use https://"),
        # What argparse quotes as typed: a line break or escape sequence shown escaped, on one line.
        (("get", "197", "a\nb"), None, 2, "unrecognized arguments: a\\nb"),
        (("get", "197", "--\x1b[2J"), None, 2, "unrecognized arguments: --\\x1b[2J"),
        (("get", "197", "--endpoint", f"https://{'a' * 64}.example"), None, 2, "at most 63"),
        (("get", "197", "--project-id", "a/../b"), None, 2, "--project-id may only contain"),
        (("get", "197"), {"status": 401, "error_code": "APIG.0301"}, 4, "credentials rejected"),
        (("get", "197"), {"status": 500, "error_code": "ModelArts.0010", "count": 20}, 5, "service failed"),
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
        in_env.inject_fault("get_job", **fault)
    before = len(in_env.requests)
    status, out, err = invoke(*argv)
    assert (status, out) == (code, "") and one_line_error(err, fragment)
    assert code != 2 or len(in_env.requests) == before  # bad input never reaches the service


def test_ambiguous_names_debug_and_missing_credentials(in_env: ModelArtsEmulator, monkeypatch: Any) -> None:
    in_env.add_job("twin")
    in_env.add_job("twin")
    code, out, err = invoke("find", "twin")
    assert (code, out) == (2, "") and one_line_error(err, "2 visualization jobs are named 'twin'")
    assert "by its ID, e.g. 'modelarts-vis get " in err and "job_id" not in err  # the CLI has no such option
    code, _, err = invoke("get", "4242", "--debug")  # --debug adds the traceback
    assert code == 3 and "Traceback (most recent call last)" in err
    assert err.rstrip().splitlines()[-1].startswith("modelarts-vis: error:")
    monkeypatch.delenv("HW_SECRET_KEY")
    code, _, err = invoke("get", "197")
    assert code == 2 and one_line_error(err, "modelarts:secretKey (or HW_SECRET_KEY)")


_NO_ORDER = {"job_total_count": 3, "jobs": [listed_job(2, "b"), listed_job(3, "a"), listed_job(1, "c")]}
_TWINS = [listed_job(1, "twin"), listed_job(2, "twin")]
#: name -> (command, the list call's page N, the jobs its details call knows, exit code, and the
#: job IDs printed or a part of the one error line). Servers that page their own way, the CLI's end.
LOOKUPS: dict[str, tuple[str, Any, list[dict[str, Any]], int, list[int] | str]] = {
    "find on page 3 of pages of 10": ("find job-25", pages_of(10), [listed_job(25)], 0, [25]),
    "find: listed, then not found": (
        "find job-7",
        pages_of(10),
        [],
        3,
        "no visualization job is named 'job-7'",
    ),
    "find: listed, then renamed": ("find job-7", pages_of(10), [listed_job(7, "new")], 3, "named 'job-7'"),
    "find: page 1 for every page, no count": (
        "find job-25",
        lambda page: {"jobs": [listed_job(n) for n in range(1, 11)]},
        [listed_job(25)],
        5,
        "page 2 lists only jobs of earlier pages",
    ),
    "find: twins on two pages": (
        "find twin",
        lambda page: {"jobs": _TWINS[page - 1 :][:1]},
        _TWINS,
        2,
        "IDs 1, 2",
    ),
    "list: counted too high": ("list", pages_of(10, total=40), [], 5, "ended at page 3 with 25 of the 40"),
    "list: in no order": ("list", lambda page: _NO_ORDER, [], 0, [1, 2, 3]),
    "list --order desc": ("list --order desc", lambda page: _NO_ORDER, [], 0, [3, 2, 1]),
    "list --sort-by job_name": ("list --sort-by job_name", lambda page: _NO_ORDER, [], 0, [3, 2, 1]),
}


@pytest.mark.parametrize("case", LOOKUPS.values(), ids=LOOKUPS.keys())
def test_find_and_list_against_servers_that_page_their_own_way(
    in_env: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, case: Any
) -> None:
    command, pages, jobs, code, expected = case
    with PagingServer(pages, jobs) as server:
        monkeypatch.setenv("MODELARTS_ENDPOINT", server.url)
        monkeypatch.setenv("HW_MAX_RETRIES", "0")
        status, out, err = invoke(*command.split())
    if code:
        assert (status, out) == (code, "") and one_line_error(err, str(expected)), err
    else:
        printed = json.loads(out)
        ids = [job["job_id"] for job in printed] if isinstance(printed, list) else [printed["job_id"]]
        assert (status, err, ids) == (0, "", expected)


def test_a_table_keeps_its_columns_under_names_of_wide_and_combining_characters(
    in_env: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A terminal gives a CJK or fullwidth character two columns, a combining accent, a Thai vowel
    sign (a mark of combining class 0) or a Hangul vowel or final jamo none: the widest name here takes 11 columns, and every status
    starts two past it."""
    names = [
        "可视化-作业",
        "\uff57\uff49\uff44\uff45",
        "cafe\u0301-x",
        "plain",
        "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35",
        "\u1112\u1161\u11ab\u1100\u116e\u11a8",  # 한국 in NFD: a vowel and final jamo join the initial
        "\u2764\ufe0f-love",  # the emoji selector: the heart takes two columns
    ]
    page = {"job_total_count": 7, "jobs": [listed_job(n, name) for n, name in enumerate(names, 1)]}
    with PagingServer(lambda _: page) as server:
        monkeypatch.setenv("MODELARTS_ENDPOINT", server.url)
        code, out, _ = invoke("list", "--format", "table")
    before_status = [
        line[: line.index(word)]
        for line, word in zip(out.splitlines(), ["status_name"] + ["RUNNING"] * 7, strict=True)
    ]
    assert code == 0 and before_status == [
        "job_id  job_name" + " " * 5,
        "1       可视化-作业  ",
        "2       \uff57\uff49\uff44\uff45" + " " * 5,
        "3       cafe\u0301-x" + " " * 7,
        "4       plain" + " " * 8,
        "5       \u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35" + " " * 9,
        "6       \u1112\u1161\u11ab\u1100\u116e\u11a8" + " " * 9,
        "7       \u2764\ufe0f-love" + " " * 6,
    ], out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        ((), "the following arguments are required: COMMAND"),
        (("get",), "the following arguments are required: JOB_ID"),
        (("find", "-tmp"), "required: NAME; a name that starts with '-' goes after '--' (find -- -name)"),
        (("find",), "required: NAME; a name that starts with '-' goes after '--'"),
        (("list", "--search", "-test"), "--search: expected one argument; a value that starts with '-' goes"),
        (("--region", "-x", "get", "1"), "--region: expected one argument; a value that starts"),
        (("emulator", "--seed"), "a value that starts with '-' goes after '=' (--seed=-value)"),
        (("fetch", "197"), "invalid choice: 'fetch'"),
        (("list", "--status", "sleepy"), "unknown status 'sleepy'"),
        (("get", "197", "--format", "xml"), "invalid choice: 'xml'"),
        (("get", "197", "extra"), "unrecognized arguments: extra"),
        (("list", "--colour"), "unrecognized arguments: --colour"),
        (("emulator", "--port", "70000"), "port must be a whole number from 0 to 65535"),
        (("emulator", "--port", "-1"), "port must be a whole number from 0 to 65535"),
        (("emulator", "--host", "192.0.2.10"), "not a loopback address"),
        (("emulator", "--host", "example.com"), "not a loopback address"),
        (
            ("emulator", "--port", "\u0668\u0660\u0668\u0660"),
            "port must be a whole number",
        ),  # Arabic-Indic 8080
        (("get", "197", "--end", "http://x"), "unrecognized arguments: --end http://x"),  # no abbreviations
        (("list", "--sta", "8"), "unrecognized arguments: --sta 8"),
        (("--deb", "get", "197"), "unrecognized arguments: --deb"),
        # An unknown option's value before the command is not blamed as the command
        (("--reg", "eu-de", "get", "197"), "unrecognized arguments: --reg (see"),
        (("--format", "table", "--regon", "eu-de", "list"), "unrecognized arguments: --regon (see"),
        (("--debug", "--", "get", "197"), "'--' goes after the command (get -- -1, find -- -name)"),
        # Past the 4300 digits int() takes: the same line as a long number, not argparse's "invalid _port value"
        (
            ("list", "--status", "9" * 5000),
            "status must be a whole number from 0 to 9007199254740991, got '999",
        ),
        (("emulator", "--port", "9" * 5000), "argument --port: port must be a whole number from 0 to 65535"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(
    in_env: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...], fragment: str
) -> None:
    monkeypatch.setattr(ModelArtsEmulator, "serve_forever", lambda self: None)  # a mistaken start ends
    code, out, err = invoke(*argv)
    assert (code, out) == (2, "") and one_line_error(err, fragment) and "usage:" not in err, err
    assert in_env.requests == []  # nothing was read


def test_help_and_version_print_to_stdout_and_exit_0() -> None:
    code, out, err = invoke("--help")
    assert (code, err) == (0, "") and "get" in out and "emulator" in out
    code, out, err = invoke("--version")
    assert (code, err) == (0, "") and out.startswith("modelarts-vis ")
    for module in ("pulumi_modelarts.cli", "pulumi_modelarts"):  # without the console script on PATH
        done = subprocess.run(
            [sys.executable, "-m", module, "--version"], capture_output=True, text=True, timeout=30
        )
        assert (done.returncode, done.stdout, done.stderr) == (0, out, ""), module
    # Each place option's help names the variables it defaults to, in the order they are read.
    code, out, err = invoke("get", "--help")
    helped = " ".join(out.split())
    for option, field in (("--region", "region"), ("--project-id", "project_id"), ("--endpoint", "endpoint")):
        said = helped.split(f"{option} {field.upper()} ", 1)[1].split(" --", 1)[0]
        assert ", ".join(KEYS_BY_FIELD[field].env) in said, (option, said)


@pytest.mark.parametrize(
    ("raised", "code", "expected"),
    [
        (RuntimeError, 1, "modelarts-vis: error: unexpected RuntimeError"),
        (KeyboardInterrupt, 130, STOPPED),
        # An OSError of the read's own is no failure to write the output, and --debug shows where it was.
        (FileNotFoundError, 1, "modelarts-vis: error: unexpected FileNotFoundError; this is a bug"),
    ],
)
def test_an_unexpected_failure_or_an_interrupt_is_one_line(
    in_env: ModelArtsEmulator, monkeypatch: Any, raised: type[BaseException], code: int, expected: str
) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise raised(f"internal detail {CANARY_SECRETS[0]}")

    monkeypatch.setattr(ModelArtsClient, "get_visualization_job", explode)
    status, out, err = invoke("get", "197")
    assert (status, out) == (code, "") and err.startswith(expected) and err.count("\n") == 1
    assert CANARY_SECRETS[0] not in err
    if raised is not KeyboardInterrupt:
        debug = invoke("get", "197", "--debug")[2]
        assert "Traceback (most recent call last)" in debug and "internal detail ***" in debug


@pytest.mark.parametrize(
    ("where", "argv"),
    [("_without_credentials", ["get"]), ("redact", ["get", "4242", "--debug"])],
    ids=["scrubbing a usage error", "writing out a traceback"],
)
def test_an_interrupt_as_an_error_is_made_ready_to_say_is_one_line(
    in_env: ModelArtsEmulator, monkeypatch: Any, where: str, argv: list[str]
) -> None:
    """Before, Ctrl-C there (in the error's own handling) left ``run`` as a KeyboardInterrupt: a traceback."""
    original = getattr(cli, where)

    def interrupted(*args: Any) -> Any:
        monkeypatch.setattr(cli, where, original)  # once: the line said instead may need it
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, where, interrupted)
    try:
        said: tuple[int, str, str] | str = invoke(*argv)
    except KeyboardInterrupt:
        said = "escaped run()"
    assert said == (130, "", STOPPED)


@pytest.mark.parametrize(
    "text",
    [
        *(
            "two\nlines",
            "cr\rtab\t",
            "\x1b[2J\x1b[31mred",
            "bell\x07nul\x00",
            "\u202eright-to-left",
            "\u2028\x85",
        ),
        *("a\\nb", "C:\\logs\\", "\\x1b"),  # a backslash the server sent is not taken for an escape
    ],
    ids=["LF", "CR-TAB", "ANSI", "BEL-NUL", "BIDI", "LS-NEL", "backslash-n", "backslashes", "backslash-x"],
)
def test_a_table_shows_server_text_escaped_one_line_per_field_or_job(
    in_env: ModelArtsEmulator, text: str
) -> None:
    in_env.update_job(197, job_desc=f"desc {text}", service_url=f"https://x/{text}")
    for argv, lines in ((("get", "197"), len(OUTPUT_FIELDS)), (("list",), 1 + len(in_env.jobs()))):
        code, out, _ = invoke(*argv, "--format", "table")
        assert code == 0 and out.count("\n") == lines
        assert out.replace("\n", "").isprintable(), out
        assert repr(text)[1:-1] in out  # shown as Python and JSON escape it, not dropped
    assert f"desc {repr(text)[1:-1]}" in invoke("get", "197", "--format", "table")[1]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_a_seed_file_in_the_encodings_editors_save_is_read(
    tmp_path: Path, monkeypatch: Any, encoding: str
) -> None:
    seed = tmp_path / "jobs.json"
    seed.write_bytes(json.dumps([{"job_name": "bom", "job_id": 7}]).encode(encoding))
    monkeypatch.setattr(ModelArtsEmulator, "serve_forever", lambda self: None)
    on_term = signal.getsignal(signal.SIGTERM)
    code, out, err = invoke("emulator", "--seed", str(seed))
    assert (code, err) == (0, "") and "Jobs: 7;" in out
    assert signal.getsignal(signal.SIGTERM) is on_term  # the command's own SIGTERM handling is undone


def test_an_empty_seed_is_announced_as_no_jobs(tmp_path: Path, monkeypatch: Any) -> None:
    seed = tmp_path / "jobs.json"
    seed.write_text("[]", encoding="utf-8")
    monkeypatch.setattr(ModelArtsEmulator, "serve_forever", lambda self: None)
    code, out, err = invoke("emulator", "--seed", str(seed))
    assert (code, err) == (0, "") and "Jobs: none; Ctrl-C stops." in out


def test_a_large_seed_is_announced_by_its_first_ids_and_the_count(tmp_path: Path, monkeypatch: Any) -> None:
    """Before, every ID was listed: 50,000 jobs made a banner of 340 KB on one line."""
    seed = tmp_path / "jobs.json"
    seed.write_text(json.dumps([{"job_name": f"j{n}", "job_id": n} for n in range(1, 5001)]), "utf-8")
    monkeypatch.setattr(ModelArtsEmulator, "serve_forever", lambda self: None)
    code, out, err = invoke("emulator", "--seed", str(seed))
    shown = ", ".join(map(str, range(1, 11)))
    assert (code, err) == (0, "") and f"\nJobs: {shown} and 4990 more; Ctrl-C stops.\n" in out
    assert len(out) < 2000


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt  # as Python's handler raises it for Ctrl-C, and the command's for SIGTERM


@pytest.mark.parametrize("where", ["write", "serve_forever"])
def test_ctrl_c_or_sigterm_once_the_emulator_listens_is_a_clean_stop(monkeypatch: Any, where: str) -> None:
    """Exit code 0 as documented, not 130, wherever the signal lands once it listens: while it prints
    its URL, or before serving; it is stopped either way."""
    stopped: list[int] = []
    stop = ModelArtsEmulator.stop

    def noted_stop(self: ModelArtsEmulator) -> None:
        stopped.append(self.port)
        stop(self)

    monkeypatch.setattr(ModelArtsEmulator, "stop", noted_stop)
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(out if where == "write" else ModelArtsEmulator, where, _interrupt)
    assert (run(["emulator", "--port", "0"], out=out, err=err), err.getvalue()) == (0, "")
    assert stopped and stopped[0] != 0  # it listened, and was stopped


def test_ctrl_c_or_sigterm_while_the_seed_loads_is_the_same_clean_stop(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """Before, a signal while the seed was read (a large file, a FIFO not yet written) ended with
    "interrupted" and 130: a clean stop is exit code 0 in every phase, as documented."""
    monkeypatch.setattr("pulumi_modelarts.emulator.emulator.open", _interrupt, raising=False)
    assert invoke("emulator", "--seed", str(tmp_path / "jobs.json")) == (0, "", "")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "No such file or directory"),
        ("", "Expecting value"),
        ("{not json", "Expecting property name"),
        ("\udcff", "can't decode"),
        ('"a string"', "expected a list of job objects"),
        ('{"jobs": [{"job_id": 7}]}', "a job must be a JSON object with a job_name, got one without it"),
        ("[1, 2]", "a job must be a JSON object with a job_name, got int"),
        ('{"jobs": [[{"job_name": "x"}]]}', "a job must be a JSON object with a job_name, got list"),
        ('{"jobs": [{"job_name": "x", "status": "8"}]}', "job field 'status' must be an int"),
        ('[{"job_name": "x", "self": 1}]', "unknown job field(s): self"),  # was a TypeError's words
        ('{"region": 5, "jobs": []}', "region may only contain"),
        ('{"job": [{"job_name": "x"}]}', "expected a list of job objects or {'jobs': [...]}"),
        ('[{"job_name": "x", "job_id": 0}]', "'job_id' must be an int from 1 to 9007199254740991"),
        ('[{"job_name": "x", "job_id": 9007199254740992}]', "'job_id' must be an int from 1 to"),
        ('[{"job_name": "x", "duration": -1}]', "'duration' must be an int from 0 to"),
        # Past int()'s 4,300 digits: the field and its range, not "use sys.set_int_max_str_digits()".
        ('[{"job_name": "x", "job_id": ' + "9" * 5000 + "}]", "'job_id' must be an int from 1 to"),
        ('[{"job_name": "x", "status": -' + "9" * 5000 + "}]", "'status' must be an int from 0 to"),
        ('[{"job_name": "x", "schedule": {"duration": ' + "9" * 5000 + "}}]", "'schedule' must be JSON"),
        ('{"project_id": ' + "1" * 4301 + ', "jobs": []}', "project_id may only contain"),
        ('[{"job_name": "x", "remaining_duration": NaN}]', "'remaining_duration' must be a finite number"),
        ('[{"job_name": "x", "remaining_duration": "5"}]', "'remaining_duration' must be a finite number"),
        ('[{"job_name": "x", "job_desc": 5}]', "'job_desc' must be text or null, got 5"),
        ('[{"job_name": "x", "flavor": "c"}]', "'flavor' must be {'code': text} or null"),
        ('[{"job_name": "x", "job_desc": "a\\ud800"}]', "'job_desc' must be text or null"),
        ('[{"job_name": "x", "flavor": {"code": "\\udfff"}}]', "'flavor' must be {'code': text} or null"),
        ("a directory", "Is a directory"),
        ("[" * 100_000 + "]" * 100_000, "maximum recursion depth exceeded"),
        ('{"jobs": ' * 50_000 + "[]" + "}" * 50_000, "maximum recursion depth exceeded"),
    ],
    ids=lambda value: value[:40] if isinstance(value, str) else value,
)
def test_an_unusable_seed_file_is_one_line(tmp_path: Path, content: str | None, fragment: str) -> None:
    seed = tmp_path / "jobs.json"
    if content == "a directory":
        seed.mkdir()
    elif content is not None:
        seed.write_bytes(content.encode("utf-8", "surrogateescape"))
    code, out, err = invoke("emulator", "--seed", str(seed))
    assert (code, out) == (2, "") and one_line_error(err, fragment)
    assert err.startswith(f"modelarts-vis: error: cannot load the seed file '{seed}': ")


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("", "No such file or directory"),  # --seed "$UNSET": not the bundled samples
        ("huge.json", "larger than 64 MiB"),  # read up to a bound (as /dev/zero is), not into memory
    ],
)
def test_a_seed_path_that_is_no_seed_file_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str, fragment: str
) -> None:
    monkeypatch.setattr(ModelArtsEmulator, "serve_forever", lambda self: None)  # a mistaken start ends
    if path:
        path = str(tmp_path / path)
        with open(path, "wb") as huge:
            huge.truncate(65 << 20)  # sparse: no disk used
    code, out, err = invoke("emulator", "--seed", path)
    assert (code, out) == (2, "") and one_line_error(err, fragment)
    assert err.startswith(f"modelarts-vis: error: cannot load the seed file '{path}': ")


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "[::1]", "0.0.0.0", "::"])
def test_a_port_in_use_is_one_line_with_exit_2(host: str) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if family == socket.AF_INET6 and not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    with socket.create_server((host.strip("[]"), 0), family=family) as taken:
        port = taken.getsockname()[1]
        code, out, err = invoke("emulator", "--host", host, "--port", str(port))
    assert (code, out) == (2, "") and one_line_error(err, "; pick another --port")
    assert err.startswith(f"modelarts-vis: error: cannot listen on {host.strip('[]')} port {port}: ")


def test_a_host_that_cannot_be_listened_on_is_blamed_on_the_host(monkeypatch: Any) -> None:
    """Not every failure to listen is a port in use (here: ::1 on a machine without IPv6)."""

    def unavailable(_self: object) -> None:
        raise OSError(errno.EADDRNOTAVAIL, os.strerror(errno.EADDRNOTAVAIL))

    monkeypatch.setattr(ModelArtsEmulator, "start", unavailable)
    code, out, err = invoke("emulator", "--host", "::1")
    assert (code, out) == (2, "") and one_line_error(err, "Cannot assign requested address; check --host")


@pytest.mark.parametrize("argv", [("get", "197"), ("list",), ("list", "--format", "table"), ("--help",)])
def test_a_closed_stdout_ends_quietly(in_env: ModelArtsEmulator, argv: tuple[str, ...]) -> None:
    """``modelarts-vis get 197 | head -0``: the reader is gone before anything is written."""
    env = {**clean_environ(), **in_env.environ("aksk")}
    proc = subprocess.Popen([CLI, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read()
    assert (proc.wait(timeout=30), err) == (0, "")


def _full_pipe() -> tuple[int, int]:
    """A pipe whose write end blocks at once: a reader that has stopped reading."""
    read, write = os.pipe()
    fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, 4096)
    os.set_blocking(write, False)
    with contextlib.suppress(BlockingIOError):
        while os.write(write, b"-" * 4096):
            pass
    os.set_blocking(write, True)
    return read, write


def _blocked_writing(pid: int) -> bool:
    """Whether the process waits in a write to a full pipe (its kernel wait channel, which no event tells)."""
    reached = time.monotonic() + 30
    while time.monotonic() < reached:
        if Path(f"/proc/{pid}/wchan").read_text(encoding="ascii").endswith("pipe_write"):
            return True
        time.sleep(0.01)
    return False


#: A command whose last output (stdout) or error line (stderr) a reader that stopped reading blocks,
#: and the line it ends with once a Ctrl-C or SIGTERM stops it.
BLOCKED = {
    "JSON output": ("stdout", ["get", "197"], STOPPED),
    "table output": ("stdout", ["list", "--format", "table"], STOPPED),
    "error line": ("stderr", ["get", "4242"], "visualization job not found (job 4242"),
    "usage error line": ("stderr", ["get", "--status", "8"], "error: unrecognized arguments: --status"),
    "error with --debug": ("stderr", ["get", "4242", "--debug"], "visualization job not found (job 4242"),
}


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
@pytest.mark.parametrize(("stream", "argv", "said"), BLOCKED.values(), ids=BLOCKED.keys())
def test_an_interrupt_as_the_last_output_or_error_line_is_written_ends_in_one_line(
    in_env: ModelArtsEmulator, stream: str, argv: list[str], said: str, stop: signal.Signals
) -> None:
    """Before, Ctrl-C as the error line was written printed a traceback after it (exit -2, not 130); as
    the output is written, it ends the CLI with one line even if the output's reader never reads again."""
    read, write = _full_pipe()
    pipes: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, stream: write}
    env = {**clean_environ(), **in_env.environ("aksk")}
    with subprocess.Popen([CLI, *argv], env=env, **pipes) as proc:
        os.close(write)
        assert _blocked_writing(proc.pid)
        proc.send_signal(stop)
        if stream == "stdout":  # the output's reader never reads again: the CLI ends all the same
            assert proc.wait(timeout=30) == 130
        with os.fdopen(read, "rb") as blocked:  # stderr: the pipe's filling, then what the CLI said
            text = (proc.stderr or blocked).read().lstrip(b"-").decode()
        assert proc.wait(timeout=30) == 130
    lines = text.splitlines(keepends=True)
    assert (
        lines and lines[-1].startswith("modelarts-vis: ") and said in lines[-1] and lines[-1].endswith("\n")
    )
    assert len(lines) == 1 or ("--debug" in argv and "Traceback" in text and "KeyboardInterrupt" not in text)


@pytest.mark.parametrize("encoding", ["ascii", "cp1252", "latin-1"])
def test_a_console_without_utf8_gets_the_whole_table_with_what_it_cannot_show_escaped(
    in_env: ModelArtsEmulator, encoding: str
) -> None:
    in_env.update_job(197, job_desc="Gr\u00f6\u00dfe \u53ef\u89c6\u5316 \U0001f600")
    env = {**clean_environ(), **in_env.environ("aksk"), "PYTHONIOENCODING": encoding}
    proc = subprocess.run([CLI, "get", "197", "--format", "table"], env=env, capture_output=True, timeout=30)
    assert (proc.returncode, proc.stderr) == (0, b"") and proc.stdout.count(b"\n") == len(OUTPUT_FIELDS)
    shown = proc.stdout.decode(encoding)
    german = "Gr\\xf6\\xdfe" if encoding == "ascii" else "Gr\u00f6\u00dfe"
    assert f"{german} \\u53ef\\u89c6\\u5316 \\U0001f600" in shown and "region" in shown


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    ("command", "code", "fragment"),
    [
        ("get 197 >&-", 0, ""),  # stdout not open at all: the output goes nowhere, quietly
        ("list --format table >&-", 0, ""),
        ("--help >&-", 0, ""),
        ("get 4242 >&-", 3, "visualization job not found"),  # an error still says so
        ("get 4242 2>&-", 3, ""),  # and still ends with its exit code without a stderr
        ("get 197 >/dev/full", 1, "cannot write the output: No space left on device"),
        ("list --format table >/dev/full", 1, "cannot write the output: No space left on device"),
        ("--version >/dev/full", 1, "cannot write the output: No space left on device"),
        ("get -h >/dev/full", 1, "cannot write the output: No space left on device"),
        ("--version >&-", 0, ""),
        ("get 4242 2>/dev/full", 3, ""),  # a stderr that cannot take the line: the exit code still tells
        ("get 4242 --debug 2>/dev/full", 3, ""),
        ("get 2>/dev/full", 2, ""),
        ("get 197 >/dev/full 2>/dev/full", 1, ""),
    ],
)
def test_output_that_cannot_be_written(
    in_env: ModelArtsEmulator, command: str, code: int, fragment: str
) -> None:
    env = {**clean_environ(), **in_env.environ("aksk")}
    shell = ["sh", "-c", f'exec "$0" {command}', CLI]
    proc = subprocess.run(shell, env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == code and (
        one_line_error(proc.stderr, fragment) if fragment else proc.stderr == ""
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_output_that_cannot_be_written_shows_where_with_debug(in_env: ModelArtsEmulator) -> None:
    env = {**clean_environ(), **in_env.environ("aksk")}
    shell = ["sh", "-c", 'exec "$0" get 197 --debug >/dev/full', CLI]
    proc = subprocess.run(shell, env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1 and "Traceback (most recent call last)" in proc.stderr
    assert proc.stderr.endswith("modelarts-vis: error: cannot write the output: No space left on device\n")


def test_a_working_directory_deleted_under_the_cli_is_no_place_for_clouds_yaml(tmp_path: Path) -> None:
    """clouds.yaml is looked for in the working directory first: one that was removed (a build's
    temporary directory) holds none, it is no failure to write the output."""
    gone = tmp_path / "gone"
    gone.mkdir()
    script = 'cd "$1" && rmdir "$1" && exec "$0" get 197'
    env = clean_environ({"OS_CLOUD": "c", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)})
    proc = subprocess.run(
        ["sh", "-c", script, CLI, gone], env=env, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 2 and one_line_error(
        proc.stderr, "cloud 'c' is not defined in clouds.yaml (no file"
    )


def test_utf8_typed_or_in_the_environment_is_read_as_utf8_under_a_c_locale(tmp_path: Path) -> None:
    """``LC_ALL=C`` with ``PYTHONUTF8=0`` decodes the command line and the environment as ASCII: a
    terminal's UTF-8 ``café`` is still a search for café (no job's name holds it), and an error
    quotes it as typed; a UTF-8 password in the environment is that password (before: refused as
    "not valid UTF-8"), scrubbed whole when typed as an argument (before: its first letters shown);
    a ``--seed`` path is opened as given (before: "'ascii' codec can't encode")."""
    password = "p\u00e4ssw\u00f6rd-geheim-0042"
    seed = tmp_path / "j\u00f6bs.json"
    seed.write_bytes(SAMPLE_JOBS_PATH.read_bytes())
    credentials = EmulatorCredentials(password=password)
    with (
        ModelArtsEmulator.from_seed_file(seed, credentials=credentials) as em,
        socket.create_server(("127.0.0.1", 0)) as taken,
    ):
        env = {**clean_environ(), **em.environ("password"), "LC_ALL": "C", "PYTHONUTF8": "0"}
        runs = [
            ["list", "--search", "caf\u00e9"],
            ["find", "caf\u00e9"],
            ["get", "197"],
            ["get", "197", "--format", password],
            ["emulator", "--seed", str(seed), "--port", str(taken.getsockname()[1])],  # loaded, then busy
        ]
        done = [subprocess.run([CLI, *argv], env=env, capture_output=True, timeout=30) for argv in runs]
    assert [(run.returncode, run.stderr.count(b"\n")) for run in done] == [
        (0, 0),
        (2, 1),
        (0, 0),
        (2, 1),
        (2, 1),
    ]
    assert done[0].stdout == b"[]\n" and b"got 'caf\\xe9'. " in done[1].stderr, done[1].stderr
    assert json.loads(done[2].stdout)["job_name"] == "apiTest-11"
    assert b"invalid choice: '***'" in done[3].stderr, done[3].stderr
    assert b"Address already in use" in done[4].stderr, done[4].stderr


@pytest.mark.reliability("secrets")
@pytest.mark.parametrize(
    "argv",
    [
        [
            b"list",
            b"--search",
            b"\xe9t\xe9",
        ],  # before: "must be 1-64 printable characters (no line break ...)"
        [b"--region", b"eu-\xe9", b"get", b"197"],
        [b"find", b"caf\xe9"],
        [b"get", b"19\xb7"],
    ],
)
def test_an_argument_in_another_encoding_than_utf8_is_refused_as_such(
    in_env: ModelArtsEmulator, argv: list[bytes]
) -> None:
    """A Latin-1 terminal's ``été`` is bytes no UTF-8 reading gives: said so, not blamed as control
    characters or letters a check does not take, under a UTF-8 or a C locale alike."""
    for locale in ({}, {"LC_ALL": "C", "PYTHONUTF8": "0"}):
        env = {**os.environ, **locale}
        proc = subprocess.run([CLI.encode(), *argv], env=env, capture_output=True, text=True, timeout=30)
        assert (proc.returncode, proc.stdout) == (2, "") and one_line_error(
            proc.stderr, "is not UTF-8 text"
        ), proc.stderr
    assert in_env.requests == []


def test_secrets_never_printed(in_env: ModelArtsEmulator, monkeypatch: Any, leaks: LeakScanner) -> None:
    """Success, a server echoing a key, wrong credentials, and ``--debug`` tracebacks."""
    echo = {"status": 400, "error_code": "ModelArts.0104", "error_message": f"key {CANARY_SECRETS[1]}"}
    in_env.inject_fault("get_job", **echo, count=2)
    runs = ["get 197", "get 197 --debug", "list", "get 197 --format table"]
    outputs = [invoke(*argv.split()) for argv in runs]
    monkeypatch.setenv("HW_SECRET_KEY", WRONG_SECRET_KEY)
    outputs += [invoke("get", "197"), invoke("--debug", "get", "197"), invoke("--debug", "get", "4242")]
    assert [code for code, _, _ in outputs] == [5, 5, 0, 0, 4, 4, 4]
    for _, out, err in outputs:
        leaks.scan("cli", out + err)


@pytest.mark.parametrize("padding", ["", "\n", "\ufeff", "\u200b \r\n"])  # as a mounted Secret file has it
@pytest.mark.parametrize("argv", [["get", "197", "--format", "{}"], ["{}"], ["get", "197", "--sk", "{}"]])
def test_a_usage_error_quoting_a_credential_of_the_environment_scrubs_it(
    in_env: ModelArtsEmulator, monkeypatch: Any, argv: list[str], padding: str
) -> None:
    """argparse quotes what was typed before any setting is read: ``"$HW_SECRET_KEY"`` pasted
    where an option's value belongs came back whole."""
    secret = f"sk{uuid.uuid4().hex}"  # none this process has seen, so only the environment names it
    monkeypatch.setenv("HW_SECRET_KEY", padding + secret + padding)
    code, out, err = invoke(*(arg.format(secret) for arg in argv))
    assert (code, out) == (2, "") and one_line_error(err, "***") and secret[:12] not in err


@pytest.mark.parametrize(
    ("options", "looked_up"),
    [
        ("--region xx-yy", "xx-yy"),  # another region: the configured project is its region's no more
        ("--region EU-DE", None),  # the same region in other case keeps it
        ("--region xx-yy --project-id {project}", None),
        ("--region  --project-id {project}", None),  # a blank option is unset
        ("--region {padded}", None),  # ... and padding is no part of a value, as in a variable
    ],
)
def test_options_name_a_place_as_a_functions_arguments_do(
    in_env: ModelArtsEmulator, options: str, looked_up: str | None
) -> None:
    in_env.clear_requests()
    argv = options.format(project=in_env.project_id, padded="\tEU-DE\n").split(" ")
    code, out, err = invoke("get", "197", *argv)
    lookups = [r.query.get("name") for r in in_env.requests if r.path == "/v3/projects"]
    if looked_up is None:
        assert (code, err, lookups) == (0, "", []) and json.loads(out)["project_id"] == in_env.project_id
    else:
        assert code == 2 and one_line_error(err, f"'{looked_up}'") and lookups == [[looked_up]]


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("--project-id", "a/b", "may only contain ASCII letters"),
        ("--project-id", "x\ny", "may only contain ASCII letters"),
        ("--region", "../v3", "may only contain ASCII letters"),
        ("--endpoint", "ftp://x", "must be a URL"),
        ("--endpoint", "http://127.0.0.1:1/v1", "must not end in an API version"),
    ],
)
def test_a_refused_option_is_named_as_typed(
    in_env: ModelArtsEmulator, option: str, value: str, fragment: str
) -> None:
    """Before, a refused ``--project-id`` was named projectId, the stack config key no one typed."""
    code, out, err = invoke(option, value, "get", "197")
    assert (code, out) == (2, "") and one_line_error(err, f"error: {option} {fragment}")
    assert in_env.requests == []


@pytest.mark.parametrize("source", ["--project-id", "HW_PROJECT_ID", "OS_PROJECT_ID"])
@pytest.mark.parametrize("secret", CANARY_SECRETS[:2])  # the credentials in use
def test_a_secret_set_as_the_project_is_not_printed(
    in_env: ModelArtsEmulator, monkeypatch: Any, leaks: LeakScanner, source: str, secret: str
) -> None:
    """A credential pasted into a setting that is no secret (the project, named in every error's
    context) is scrubbed there too: it is still a secret this process holds."""
    monkeypatch.delenv("HW_PROJECT_ID")
    if source.startswith("--"):
        code, out, err = invoke("get", "197", source, secret)
    else:
        monkeypatch.setenv(source, secret)
        code, out, err = invoke("get", "197")
    assert code in (3, 4) and out == "" and "project ***" in err
    leaks.scan("cli", err)
    assert leaks.leaks == []


def _backing_off(_: bytes) -> list[bytes]:
    return [reply(503, {"error_code": "ModelArts.4302"}, Retry_After="20")]


def _answer_read(server: RawServer) -> bool:
    """The server has answered and the client's end of the connection holds nothing unread (its
    receive queue in /proc/net/tcp): the client has read the answer (or its head), and backs off
    (or waits for the body) from there."""
    client, listening = server.clients[0].getpeername()[1], server.server_address[1]
    rows = [line.split() for line in Path("/proc/net/tcp").read_text(encoding="ascii").splitlines()[1:]]
    ends = [(int(row[1][-4:], 16), int(row[2][-4:], 16), int(row[4][-8:], 16)) for row in rows]
    return bool(server.sent) and (client, listening, 0) in ends  # local port, remote port, unread


#: Where a read may be when it is interrupted: the server, its scheme, the request it waits on (none
#: in a TLS handshake), and the login (a fixed project with AK/SK; a password login or a project
#: lookup, at the server's IAM).
LOGIN = {"HW_USER_NAME": "u", "HW_USER_PASSWORD": "p", "HW_DOMAIN_NAME": "d"}
PHASES: dict[str, tuple[Script, str, bytes, dict[str, str]]] = {
    "TLS handshake": (*SLOW_SERVERS["TLS handshake trickled"], b"", {"HW_PROJECT_ID": PROJECT}),
    "headers": (silent, "http", b"GET /v1/", {"HW_PROJECT_ID": PROJECT}),
    "body": (silent_in_body, "http", b"GET /v1/", {"HW_PROJECT_ID": PROJECT}),
    "back-off": (_backing_off, "http", b"GET /v1/", {"HW_PROJECT_ID": PROJECT}),
    "IAM token request": (silent, "http", b"POST /v3/auth/tokens", LOGIN),
    "project lookup": (silent, "http", b"GET /v3/projects", {}),
}


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
@pytest.mark.parametrize(("script", "scheme", "request_line", "login"), PHASES.values(), ids=PHASES.keys())
def test_a_read_interrupted_in_any_phase_ends_at_once_in_one_line(
    script: Script, scheme: str, request_line: bytes, login: dict[str, str], stop: signal.Signals
) -> None:
    """Ctrl-C, or SIGTERM as ``kill`` and ``docker stop`` send, ends a read wherever it waits, well
    before its timeout: one line, exit code 130."""
    with RawServer(script, scheme) as server:
        env = {"MODELARTS_ENDPOINT": server.url, "HW_AUTH_URL": f"{server.url}/v3", "MODELARTS_TIMEOUT": "60"}
        if login is not LOGIN:
            env |= {"HW_ACCESS_KEY": "AK-CLI", "HW_SECRET_KEY": "SK-CLI-SECRET"}
        command, pipe = [CLI, "get", "197"], subprocess.PIPE
        reader = subprocess.Popen(command, env=clean_environ({**env, **login}), stdout=pipe, stderr=pipe)
        waits_on = (1, 1 if request_line else 0)
        assert server.wait_until(lambda: (len(server.clients), len(server.heads)) >= waits_on)
        reached, backs_off = time.monotonic() + 30, script in (_backing_off, silent_in_body)
        while backs_off and not _answer_read(server) and time.monotonic() < reached:
            time.sleep(0.01)  # the kernel's receive queue tells when the client has read: no event does
        reader.send_signal(stop)
        stopped = time.monotonic()
        out, err = reader.communicate(timeout=30)
    assert (reader.returncode, out, err.decode()) == (130, b"", STOPPED)
    assert time.monotonic() - stopped < 5  # a loaded machine's margin; the timeout is 60 s
    assert [head.startswith(request_line) for head in server.heads] == [True] * waits_on[1]


@pytest.mark.slow
@pytest.mark.parametrize(
    "test",
    [
        "test_a_read_interrupted_in_any_phase_ends_at_once_in_one_line[headers-Ctrl-C]",
        "test_emulator_command_serves_the_cli[127.0.0.1-Ctrl-C]",
    ],
)
def test_ctrl_c_tests_pass_in_a_run_started_with_ctrl_c_ignored(test: str) -> None:
    """`nohup make test-all &` (or any background job of a script) starts the tests with SIGINT ignored."""
    ignoring = 'trap "" INT; exec "$0" -m pytest -q -p no:cacheprovider -p no:xdist "$1"'
    command = ["sh", "-c", ignoring, sys.executable, f"{__file__}::{test}"]
    cwd = Path(__file__).parents[1]
    done = subprocess.run(command, cwd=cwd, env=clean_environ(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout[-2000:]


@pytest.mark.parametrize(
    ("host", "stop"),
    [("127.0.0.1", signal.SIGINT), ("0.0.0.0", signal.SIGINT), ("127.0.0.1", signal.SIGTERM)],
    ids=["127.0.0.1-Ctrl-C", "0.0.0.0-Ctrl-C", "127.0.0.1-SIGTERM"],  # as named on every Python
)
def test_emulator_command_serves_the_cli(host: str, stop: signal.Signals) -> None:
    """The console script end to end: start the emulator, read a job through it, stop it (Ctrl-C, or
    SIGTERM as ``docker stop`` and ``kill`` send: the same clean stop). Listening on every interface
    still prints a loopback endpoint, and warns that the demo credentials are exposed."""
    command = [CLI, "emulator", "--port", "0", "--host", host]
    pipe = subprocess.PIPE
    server = subprocess.Popen(command, stdout=pipe, stderr=pipe, text=True, env=clean_environ())
    assert server.stdout is not None and server.stderr is not None
    try:
        lines = [server.stdout.readline()]
        while lines[-1] and not lines[-1].startswith("{"):  # the banner ends with a JSON description
            lines.append(server.stdout.readline())
        assert lines[-1], f"emulator exited: {server.stderr.read()}"
        exports = dict(line.split()[-1].split("=", 1) for line in lines if "export " in line)
        assert exports["MODELARTS_ENDPOINT"] == json.loads(lines[-1])["url"]
        assert exports["MODELARTS_ENDPOINT"].startswith("http://127.0.0.1:")
        env = {**clean_environ(), **exports}
        got = subprocess.run([CLI, "get", "245"], env=env, capture_output=True, text=True, timeout=30)
        assert got.returncode == 0 and json.loads(got.stdout)["job_name"] == "flowers_vis-2", got.stderr
    finally:
        server.send_signal(stop)
        try:
            server.wait(timeout=30)  # a loaded machine may take seconds to stop it
        finally:
            server.kill()  # a no-op once it has exited: no emulator outlives a stop that failed
    warning = server.stderr.read()
    assert server.returncode == 0 and warning.count("\n") == (host == "0.0.0.0")
    port = int(exports["MODELARTS_ENDPOINT"].rsplit(":", 1)[1])
    socket.create_server((host, port)).close()  # released: the same --port serves again at once
    assert host != "0.0.0.0" or warning.startswith("modelarts-vis: warning: listening on every interface")


@contextlib.contextmanager
def exported(
    tmp_path: Path, command: list[str], env: dict[str, str], stop: signal.Signals = signal.SIGINT
) -> Iterator[tuple[subprocess.Popen[str], Path, dict[str, Any]]]:
    """The emulator ``command`` starts: its export lines as a script to source and the JSON line that
    describes it, until ``stop`` ends it."""
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert server.stdout is not None and server.stderr is not None
    try:
        lines = [server.stdout.readline()]
        while lines[-1] and not lines[-1].startswith("{"):
            lines.append(server.stdout.readline())
        assert lines[-1], f"emulator exited: {server.stderr.read()}"
        script = tmp_path / "exports.sh"
        script.write_text("".join(line for line in lines if line.lstrip().startswith("export ")))
        yield server, script, json.loads(lines[-1])
    finally:
        server.send_signal(stop)
        try:
            server.wait(timeout=30)
        finally:
            server.kill()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_the_emulator_started_in_the_background_of_a_script_stops_and_its_exports_run_in_a_shell(
    tmp_path: Path, stop: signal.Signals
) -> None:
    """``modelarts-vis emulator &`` in a script starts with SIGINT ignored; ``kill -INT`` still stops
    it cleanly. The export lines, pasted into ``sh`` as printed, set exactly what it describes."""
    command = ["sh", "-c", 'trap "" INT; exec "$0" emulator --port 0', CLI]
    with exported(tmp_path, command, clean_environ(), stop) as (server, script, described):
        shown = 'printf "%s\\n" "$MODELARTS_ENDPOINT" "$HW_AUTH_URL" "$HW_PROJECT_ID"'
        pasted = subprocess.run(
            ["sh", "-c", f". {script}; {shown}"], capture_output=True, text=True, timeout=30
        )
        assert pasted.stdout.split() == [described["url"], described["iam_url"], described["project_id"]]
    assert server.stderr is not None and (server.returncode, server.stderr.read()) == (0, "")


#: A proxy set in the shell the emulator starts in: its variables -> the NO_PROXY the exports set.
SHELL_PROXIES = {
    "HTTP_PROXY": ({"HTTP_PROXY": "http://127.0.0.1:9"}, "127.0.0.1"),
    "all_proxy, NO_PROXY with a space": (
        {"all_proxy": "http://127.0.0.1:9", "NO_PROXY": "corp.example, .internal"},
        "corp.example, .internal,127.0.0.1",
    ),
    "no_proxy listing it": ({"http_proxy": "http://127.0.0.1:9", "no_proxy": "127.0.0.0/8"}, None),
    "none": ({"NO_PROXY": "corp.example"}, None),
}


@pytest.mark.parametrize("form", ["exports", "environ()"])
@pytest.mark.parametrize(("proxies", "bypass"), SHELL_PROXIES.values(), ids=SHELL_PROXIES)
def test_the_emulator_exports_read_it_past_a_proxy_of_the_shell(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    emulator: ModelArtsEmulator,
    proxies: dict[str, str],
    bypass: str | None,
    form: str,
) -> None:
    """A proxy elsewhere cannot reach this machine's loopback (Squid refuses it by default): the
    exports add the emulator's host to NO_PROXY, as the shell sets it, when a proxy would carry the
    reads, and so does ``environ()``, what a program or test puts in ``os.environ``. Before, a read
    with either went to the proxy (here nothing listens there)."""
    if form == "exports":
        env = {**clean_environ(), **proxies}
        with exported(tmp_path, [CLI, "emulator", "--port", "0"], env) as (_, script, _):
            shell = f'. {script}; printf "%s|%s" "$no_proxy" "$NO_PROXY"; exec "$0" get 245'
            pasted = subprocess.run(
                ["sh", "-c", shell, CLI], env=env, capture_output=True, text=True, timeout=30
            )
        code, (shown, _, document), err = pasted.returncode, pasted.stdout.partition("{"), pasted.stderr
        document = "{" + document
    else:
        for name in set(os.environ) - set(clean_environ()):
            monkeypatch.delenv(name)
        for name, value in proxies.items():
            monkeypatch.setenv(name, value)
        for name, value in emulator.environ().items():  # called where the shell's proxies are set
            monkeypatch.setenv(name, value)
        code, document, err = invoke("get", "245")
        shown = f"{os.environ.get('no_proxy', '')}|{os.environ.get('NO_PROXY', '')}"
    listed = proxies.get("no_proxy") or proxies.get("NO_PROXY", "")
    assert shown == (
        f"{bypass}|{bypass}" if bypass else f"{proxies.get('no_proxy', '')}|{proxies.get('NO_PROXY', '')}"
    )
    assert code == 0 and json.loads(document)["job_id"] == 245, err
    assert bypass is None or bypass.startswith(listed)
