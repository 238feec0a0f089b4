"""`make demo`'s script: the `pulumi up` path (with a stand-in CLI), the fallback when no working
CLI is on PATH, and that the fallback prints what `pulumi stack output --json` prints."""

from __future__ import annotations

import json
import os
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.checks import demo
from tests.programs import clean_environ

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "scripts" / "demo.py"
DEMO_DIR = REPO / ".pulumi-demo"
FALLBACK = "No `pulumi up` ran: "
#: What a user who did the cloud quickstart first may still have in the shell.
CLOUD_SHELL = {
    "HW_ACCESS_KEY": "CLOUDACCESSKEY000001",
    "HW_SECRET_KEY": "CLOUDSECRETKEY0000000000000000000000001",
    "MODELARTS_ENDPOINT": "https://modelarts.eu-de.otc.t-systems.com",
    "PULUMI_CONFIG_PASSPHRASE": "the-cloud-stack-passphrase",
}

FAKE_PULUMI = """import json, os, subprocess, sys
entry = {{"argv": sys.argv[1:], "cwd": os.getcwd(),
         "env": {{k: v for k, v in os.environ.items() if k.startswith(("PULUMI_", "MODELARTS_", "HW_"))}}}}
if sys.argv[1:] == ["version"]:
    print("v3.200.0")
if sys.argv[1:2] == ["up"]:
    # What the real provider process would do: read the job, with the credentials it was given.
    read = subprocess.run([{cli!r}, "get", "197"], capture_output=True, text=True)
    entry["read"] = json.loads(read.stdout)["job_name"] if read.returncode == 0 else read.stderr
if sys.argv[1:3] == ["stack", "output"]:
    print(json.dumps({{"job_name": "from-fake-pulumi"}}))
with open(os.environ["FAKE_PULUMI_LOG"], "a") as handle:
    handle.write(json.dumps(entry) + "\\n")
"""

NO_VERSION = "version` printed no version number on stdout"
LOGGED = '#!/bin/sh\necho "$@" >> "$FAKE_PULUMI_LOG"\n'
DOWNLOAD = 'echo "Downloading pulumi v3.200.0..." >&2\necho "Error: getaddrinfo ENOTFOUND" >&2\nexit 1\n'
#: `pulumi` executables that are on PATH but do not work (or none), and what the one-line reason says.
BROKEN_PULUMIS = {
    "not-on-path": (None, "the pulumi CLI is not on PATH"),
    "npm-shim-cannot-download": (LOGGED + DOWNLOAD, "version` exited with 1: Error: getaddrinfo ENOTFOUND"),
    "exits-127-silently": (LOGGED + "exit 127\n", "version` exited with 127"),
    "killed-by-a-signal": (LOGGED + "kill -9 $$\n", "version` exited with -9"),
    "not-executable": ("#!/bin/sh\necho v3.200.0\n", "version` could not start (Permission denied)"),
    "not-a-program": ("\x7fELF\x00 truncated download\n", "version` could not start (Exec format error)"),
    "prints-no-version": (LOGGED + 'echo "<html>502 Bad Gateway</html>"\n', f"{NO_VERSION}: <html>"),
    "prints-its-version-to-stderr": (LOGGED + 'echo "v3.200.0" >&2\n', f"{NO_VERSION}: v3.200.0"),
    "prints-terminal-escapes": (
        LOGGED + 'printf "\\033[2J\\033]0;t\\007fail\\r\\n"\n',
        f"{NO_VERSION}: \\x1b[2J\\x1b]0;t\\x07fail (install",
    ),
    "exits-1-with-escapes-and-tabs": (
        LOGGED + 'printf "\\033[31mError:\\tno network\\033[0m\\n" >&2\nexit 1\n',
        "version` exited with 1: \\x1b[31mError:\\tno network\\x1b[0m (install",
    ),
    # An npm shim asking before it downloads: the demo's stdin (a terminal that never answers) is
    # not passed on, so the question ends at once instead of at the version check's timeout.
    "asks-before-download": (
        LOGGED + 'printf "Ok to proceed? (y) "\nread a || exit 1\n',
        "version` exited with 1: Ok to",
    ),
}


#: A `pulumi` whose `up` runs until Ctrl-C, then takes a second to cancel (the real one writes its
#: state and stops its plugins), longer than the 0.25 s `subprocess.run` gives a child before killing it.
CANCELLED_BY_CTRL_C = """import os, signal, sys, time
if sys.argv[1:] == ["version"]:
    print("v3.200.0")
if sys.argv[1:2] == ["up"]:
    def cancel(*_):
        time.sleep(1)
        with open(os.environ["FAKE_PULUMI_LOG"], "a") as handle:
            handle.write("cancelled\\n")
        sys.exit(255)
    signal.signal(signal.SIGINT, cancel)
    print("Updating (demo):", flush=True)
    signal.pause()
"""


def _fake_pulumi(path: Path, source: str = FAKE_PULUMI) -> Path:
    """``source`` (FAKE_PULUMI) as the `pulumi` at ``path``, started by sh: a `#!` line cannot name a
    Python whose path has a space (a checkout in `~/My Projects`)."""
    path.parent.mkdir(exist_ok=True)
    program = path.with_suffix(".py")
    program.write_text(source.format(cli=str(Path(sys.executable).with_name("modelarts-vis"))))
    path.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(program))} "$@"\n')
    path.chmod(0o755)
    return path


def _environment(path: str, **extra: str) -> dict[str, str]:
    return clean_environ({**CLOUD_SHELL, **extra, "PATH": path})


def _run_demo(
    env: dict[str, str], script: Path = DEMO, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The demo as a user starts it, its stdin a terminal that stays open and never answers."""
    never_answers, held_open = os.pipe()
    try:
        command = [sys.executable, str(script)]
        return subprocess.run(
            command, cwd=cwd, env=env, stdin=never_answers, capture_output=True, text=True, timeout=120
        )
    finally:
        os.close(never_answers)
        os.close(held_open)


def _printed_json(stdout: str) -> str:
    lines = stdout.splitlines()
    start = lines.index("{")
    return "\n".join(lines[start : lines.index("}", start) + 1])


def test_demo_runs_pulumi_up_on_its_own_stack_against_the_emulator(tmp_path: Path) -> None:
    fake = _fake_pulumi(tmp_path / "bin" / "pulumi")
    log = tmp_path / "calls.jsonl"
    done = _run_demo(_environment(f"{fake.parent}{os.pathsep}/usr/bin:/bin", FAKE_PULUMI_LOG=str(log)))
    assert done.returncode == 0, done.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [call["argv"] for call in calls] == [
        ["version"],
        ["stack", "select", "--create", "demo", "--non-interactive"],
        ["config", "set", "jobId", "197", "--stack", "demo"],
        ["up", "--yes", "--skip-preview", "--non-interactive", "--stack", "demo"],
        ["stack", "output", "--json", "--stack", "demo"],
    ]
    for call in calls[1:]:
        assert call["cwd"] == str(REPO)
        # Its own file backend and Pulumi home: the user's stacks, logins and selection are untouched.
        assert call["env"]["PULUMI_BACKEND_URL"] == (DEMO_DIR / "state").as_uri()
        assert call["env"]["PULUMI_HOME"] == str(DEMO_DIR / "home")
        assert call["env"]["PULUMI_CONFIG_PASSPHRASE"] == "modelarts-demo"  # never prompts
        # No update check, no plugin download: names as the CLI reads them (sdk/go/common/env/env.go).
        assert call["env"]["PULUMI_SKIP_UPDATE_CHECK"] == "true"
        assert call["env"]["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"
        assert call["env"]["MODELARTS_ENDPOINT"].startswith("http://127.0.0.1:")
        assert call["env"]["HW_ACCESS_KEY"] != CLOUD_SHELL["HW_ACCESS_KEY"]
    assert calls[3]["read"] == "apiTest-11"  # the emulator served the job during `pulumi up`
    assert '"job_name": "from-fake-pulumi"' in done.stdout
    assert FALLBACK not in done.stdout


#: A `Pulumi.demo.yaml` already in the checkout: one of the user's own stack named `demo` is left as
#: it is (`pulumi config set` would change it, `pulumi up` would read it); one the demo wrote is used.
DEMO_STACK_CONFIGS = {
    "another-job-and-endpoint": (
        'encryptionsalt: v1:c2FsdA==:v1:bm9uY2U=:Y2lwaGVy\nconfig:\n  modelarts-quickstart:jobId: "4242"\n'
        "  modelarts:endpoint: https://modelarts.eu-de.otc.t-systems.com\n"
    ),
    "another-secrets-provider": "secretsprovider: awskms://alias/pulumi\nencryptedkey: a2V5\n",
    "not-yaml": "config: [\n",
    "written-by-the-demo": 'encryptionsalt: v1:c2FsdA==\nconfig:\n  modelarts-quickstart:jobId: "197"\n',
}


def _checkout_with(tmp_path: Path, stack_config: str, *files: str) -> tuple[Path, Path]:
    """A checkout of the quickstart, the demo and ``files``, whose ``Pulumi.demo.yaml`` holds
    ``stack_config``: the checkout and that file."""
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    for name in ("Pulumi.yaml", "scripts/demo.py", *files):
        shutil.copy(REPO / name, checkout / name)
    config = checkout / "Pulumi.demo.yaml"
    config.write_text(stack_config)
    return checkout, config


@pytest.mark.parametrize("written", sorted(DEMO_STACK_CONFIGS))
def test_a_demo_stack_config_of_the_users_own_is_left_alone(
    tmp_path: Path, written: str, stack_output_json: dict[str, Any]
) -> None:
    checkout, config = _checkout_with(tmp_path, DEMO_STACK_CONFIGS[written], "__main__.py")
    fake, log = _fake_pulumi(tmp_path / "bin" / "pulumi"), tmp_path / "calls.jsonl"
    env = _environment(f"{fake.parent}{os.pathsep}/usr/bin:/bin", FAKE_PULUMI_LOG=str(log))
    done = _run_demo(env, checkout / "scripts" / "demo.py")
    assert done.returncode == 0, done.stderr
    calls = [json.loads(line)["argv"] for line in log.read_text().splitlines()]
    assert config.read_text() == DEMO_STACK_CONFIGS[written]
    if written == "written-by-the-demo":
        assert calls[3][0] == "up" and FALLBACK not in done.stdout
        return
    assert calls == [["version"]]
    [notice] = [line for line in done.stdout.splitlines() if FALLBACK in line]
    assert "Pulumi.demo.yaml holds settings the demo did not write" in notice
    assert json.loads(_printed_json(done.stdout)) == stack_output_json


@pytest.mark.parametrize("venv", ["working", "absent"])
@pytest.mark.parametrize("written", sorted(DEMO_STACK_CONFIGS))
def test_make_clean_leaves_a_demo_stack_config_of_the_users_own_alone(
    tmp_path: Path, written: str, venv: str
) -> None:
    """`make clean` takes the demo's state and the stack config the demo wrote, never a `Pulumi.demo.yaml`
    of the user's own (its passphrase's salt and secrets would be lost with it), nor, with no
    virtualenv to tell them apart, any."""
    checkout, config = _checkout_with(tmp_path, DEMO_STACK_CONFIGS[written], "Makefile")
    (checkout / ".pulumi-demo" / "state").mkdir(parents=True)
    if venv == "working":  # this virtualenv's Python, by a script: `make clean` removes the directory
        python = checkout / ".venv" / "bin" / "python"
        python.parent.mkdir(parents=True)
        python.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
        python.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    command = ["make", "--no-print-directory", "clean"]
    done = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not (checkout / ".venv").exists() and not (checkout / ".pulumi-demo").exists()
    if written == "written-by-the-demo" and venv == "working":
        assert not config.exists() and done.stderr == ""
        return
    assert config.read_text() == DEMO_STACK_CONFIGS[written]
    if venv == "working":
        assert "make clean: Pulumi.demo.yaml holds settings the demo did not write" in done.stderr


@pytest.mark.parametrize("broken", sorted(BROKEN_PULUMIS))
def test_demo_without_a_working_cli_says_why_in_one_line_and_prints_the_stack_outputs(
    tmp_path: Path, broken: str, stack_output_json: dict[str, Any]
) -> None:
    script, reason = BROKEN_PULUMIS[broken]
    shim, log = tmp_path / "bin" / "pulumi", tmp_path / "calls.log"
    shim.parent.mkdir()
    log.touch()
    if script is not None:
        shim.write_text(script)
        shim.chmod(0o644 if broken == "not-executable" else 0o755)
    path = f"{shim.parent}{os.pathsep}/usr/bin:/bin" if script else str(shim.parent)  # no pulumi anywhere
    done = _run_demo(_environment(path, FAKE_PULUMI_LOG=str(log)))
    assert done.returncode == 0, done.stderr
    [notice] = [line for line in done.stdout.splitlines() if FALLBACK in line]
    assert (
        f"`{shim} {reason}" if script else reason
    ) in notice and "Traceback" not in done.stdout + done.stderr
    assert script or "https://www.pulumi.com/" in notice
    printed = _printed_json(done.stdout)
    # What `pulumi stack output --json` prints: sorted keys, two-space indent, whole numbers
    # without ".0", no top-level null.
    assert printed == json.dumps(stack_output_json, indent=2, sort_keys=True, ensure_ascii=False)
    assert '\n  "job_id": 197,\n' in printed and "remaining_duration" not in json.loads(printed)
    assert json.loads(printed)["visualization_job"]["remaining_duration"] is None
    assert log.read_text().split() in ([], ["version"])  # asked for its version, nothing else


#: A proxy in the user's shell (nothing listens at it): the loopback emulator is read without it,
#: also one the package could not use at all (SOCKS, a malformed URL); so is a CA bundle the shell
#: names for other tools, since removed or no bundle at all.
DEAD_PROXY = "http://127.0.0.1:9"
SHELL_PROXIES = {
    "HTTP_PROXY+HTTPS_PROXY": ("fallback", {"HTTP_PROXY": DEAD_PROXY, "HTTPS_PROXY": DEAD_PROXY}),
    "http_proxy+no_proxy": ("pulumi up", {"http_proxy": DEAD_PROXY, "no_proxy": "example.com"}),
    "ALL_PROXY+NO_PROXY": ("fallback", {"ALL_PROXY": DEAD_PROXY, "NO_PROXY": ".internal"}),
    "ALL_PROXY-socks5": ("fallback", {"ALL_PROXY": "socks5://127.0.0.1:1080"}),
    "all_proxy-socks5h+NO_PROXY": ("pulumi up", {"all_proxy": "socks5h://127.0.0.1:1080", "NO_PROXY": "*"}),
    "HTTP_PROXY-malformed": ("fallback", {"HTTP_PROXY": "http://[::1", "no_proxy": "localhost"}),
    "http_proxy-port-out-of-range": ("pulumi up", {"http_proxy": "http://127.0.0.1:99999"}),
    "REQUESTS_CA_BUNDLE-not-pem": ("pulumi up", {"REQUESTS_CA_BUNDLE": "/etc/hostname"}),
    "CURL_CA_BUNDLE-removed": ("fallback", {"REQUESTS_CA_BUNDLE": "", "CURL_CA_BUNDLE": "/gone/ca.pem"}),
}


@pytest.mark.parametrize("proxy", sorted(SHELL_PROXIES))
def test_a_proxy_or_ca_bundle_in_the_shell_is_not_used_for_the_emulator(
    tmp_path: Path, proxy: str, stack_output_json: dict[str, Any]
) -> None:
    path, variables = SHELL_PROXIES[proxy]
    log = tmp_path / "calls.jsonl"
    if path == "pulumi up":
        _fake_pulumi(tmp_path / "pulumi")
    else:
        (tmp_path / "pulumi").write_text("exit 1\n")
        (tmp_path / "pulumi").chmod(0o755)
    done = _run_demo(
        _environment(f"{tmp_path}{os.pathsep}/usr/bin:/bin", FAKE_PULUMI_LOG=str(log), **variables)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    if path == "pulumi up":
        assert json.loads(log.read_text().splitlines()[3])["read"] == "apiTest-11"
    else:
        assert json.loads(_printed_json(done.stdout)) == stack_output_json


def test_a_pulumi_that_hangs_is_stopped_with_what_it_started(tmp_path: Path) -> None:
    shim, started = tmp_path / "pulumi", tmp_path / "started.pid"
    shim.write_text(f"#!/bin/sh\nsleep 300 &\necho $! > {started}\nwait\n")
    shim.chmod(0o755)
    pulumi, reason = demo.working_pulumi({"PATH": f"{tmp_path}{os.pathsep}/usr/bin:/bin"}, timeout=1)
    assert (pulumi, reason) == (None, f"`{shim} version` did not answer within 1 s")
    assert _ended_within(int(started.read_text()), 10)


def _ended_within(pid: int, seconds: float) -> bool:
    """Whether process ``pid`` (not a child of ours) ends within ``seconds``: its pidfd becomes
    readable when it ends, reaped or not."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], seconds)[0])
    finally:
        os.close(fd)


def test_the_demo_emulator_keeps_its_port_between_runs_and_takes_another_when_it_is_busy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The endpoint is in the demo stack's state: a new port on every run would replace the resource.
    # A port of this test's own: the demos other tests run at the same time hold the real one.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        monkeypatch.setattr(demo, "DEMO_PORT", probe.getsockname()[1])
    with demo.start_emulator() as first:
        assert first.port == demo.DEMO_PORT
        with demo.start_emulator() as second:  # the port is taken: any free one serves as well
            assert second.port not in (0, demo.DEMO_PORT)
            assert [job["job_id"] for job in second.jobs()] == [job["job_id"] for job in first.jobs()]
    with demo.start_emulator() as again:
        assert again.port == demo.DEMO_PORT


@pytest.mark.parametrize("path", ["fallback", "pulumi up"])
@pytest.mark.parametrize("lines_read", [0, 1, 2])
def test_a_reader_that_stops_early_ends_the_demo_quietly(tmp_path: Path, path: str, lines_read: int) -> None:
    """`make demo | head -n N`: exit 0, nothing on stderr, as `modelarts-vis` does."""
    fake = tmp_path / "pulumi"
    cli = str(Path(sys.executable).with_name("modelarts-vis"))
    fake.write_text(FAKE_PULUMI.format(python=sys.executable, cli=cli) if path == "pulumi up" else "exit 1\n")
    fake.chmod(0o755)
    env = _environment(f"{tmp_path}{os.pathsep}/usr/bin:/bin", FAKE_PULUMI_LOG=str(tmp_path / "calls.jsonl"))
    with subprocess.Popen(
        [sys.executable, str(DEMO)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        read = [process.stdout.readline() for _ in range(lines_read)]
        process.stdout.close()
        error = process.stderr.read()
        assert process.wait(timeout=120) == 0, error
    assert all(read) and error == ""


#: A `pulumi version` that never answers, its process ID sent where FAKE_PULUMI_LOG names.
HANGS_IN_VERSION = '#!/bin/sh\nsleep 300 &\necho $! > "$FAKE_PULUMI_LOG"\nwait\n'


@pytest.mark.parametrize("phase", ["pulumi version", "pulumi up"])
def test_ctrl_c_ends_the_demo_in_one_line_once_pulumi_has_stopped(tmp_path: Path, phase: str) -> None:
    """The terminal sends Ctrl-C to the demo and the `pulumi up` it runs: the demo lets pulumi cancel
    cleanly, stops the emulator and says so in one line, exit code 130. A `pulumi version` runs in a
    session of its own, which Ctrl-C does not reach: it is stopped. Before, the demo printed a
    traceback after killing pulumi up mid-cancel, or waited for ever on pulumi version."""
    log, shim = tmp_path / "calls.log", tmp_path / "bin" / "pulumi"
    if phase == "pulumi up":
        _fake_pulumi(shim, CANCELLED_BY_CTRL_C)
    else:
        os.mkfifo(log)  # the shim's process ID arrives when it has started
        shim.parent.mkdir()
        shim.write_text(HANGS_IN_VERSION)
        shim.chmod(0o755)
    env = _environment(f"{shim.parent}{os.pathsep}/usr/bin:/bin", FAKE_PULUMI_LOG=str(log))
    pipe = subprocess.PIPE
    with subprocess.Popen(
        [sys.executable, str(DEMO)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=pipe,
        stderr=pipe,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    ) as process:
        assert process.stdout is not None
        if phase == "pulumi up":
            while not (line := process.stdout.readline()).startswith("Updating"):
                assert line, process.communicate(timeout=60)
        else:
            hanging = int(log.read_text())
        os.killpg(process.pid, signal.SIGINT)
        _, error = process.communicate(timeout=60)
    assert (process.returncode, error) == (130, "demo interrupted\n")
    assert log.read_text() == "cancelled\n" if phase == "pulumi up" else _ended_within(hanging, 10)


def test_ctrl_c_while_the_version_check_starts_still_stops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C between the `pulumi version` process's start and the wait on it (a loaded machine
    widens that moment): the check still ends with everything it started, its session included."""
    log, shim = tmp_path / "pid", tmp_path / "pulumi"
    os.mkfifo(log)
    shim.write_text(HANGS_IN_VERSION)
    shim.chmod(0o755)
    started = subprocess.Popen
    hanging: list[int] = []

    def interrupted_as_it_starts(*args: Any, **kwargs: Any) -> subprocess.Popen[str]:
        process = started(*args, **kwargs)
        hanging.append(int(log.read_text()))  # once it runs, before run_alone waits on it
        os.kill(os.getpid(), signal.SIGINT)
        return process

    monkeypatch.setattr(subprocess, "Popen", interrupted_as_it_starts)
    with pytest.raises(KeyboardInterrupt):
        demo.working_pulumi({"PATH": f"{tmp_path}{os.pathsep}/usr/bin:/bin", "FAKE_PULUMI_LOG": str(log)})
    assert _ended_within(hanging[0], 10) and signal.getsignal(signal.SIGINT) is signal.default_int_handler


#: A project whose Pulumi.yaml declares config with defaults in each form the CLI takes, and a
#: value for another package's key; the program exports what it reads, each under its own name.
DEFAULTS_PROJECT = """name: defaults
runtime: python
config:
  greeting:
    type: string
    default: hello
  size:
    type: integer
    default: 3
  loud:
    type: boolean
    default: false
  tags:
    type: array
    items:
      type: string
    default: [a, b]
  short: hi
  required:
    type: string
  modelarts:region:
    value: eu-nl
"""
DEFAULTS_PROGRAM = """import pulumi
config = pulumi.Config()
for key in ("greeting", "size", "loud", "tags", "short", "required", "unset"):
    pulumi.export(key, config.get(key))
pulumi.export("size_int", config.get_int("size"))
pulumi.export("loud_bool", config.get_bool("loud"))
pulumi.export("tags_list", config.get_object("tags"))
pulumi.export("region", pulumi.Config("modelarts").get("region"))
"""


def test_the_fallback_runs_the_program_with_its_pulumi_yaml_defaults_as_the_cli_does(tmp_path: Path) -> None:
    """The CLI merges the project's `config:` defaults (and other packages' values) into the stack's
    config before the program runs, as text; the stack's own values win."""
    (tmp_path / "Pulumi.yaml").write_text(DEFAULTS_PROJECT)
    (tmp_path / "__main__.py").write_text(DEFAULTS_PROGRAM)
    script = (
        "import json, sys; from pathlib import Path; from tests.checks import demo; "
        "print(demo.as_cli_json(demo.stack_outputs(Path(sys.argv[1]), {'required': 'yes', 'greeting': 'hey'})))"
    )
    env = clean_environ({"PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "provider")])})
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "greeting": "hey",
        "size": "3",
        "loud": "false",
        "tags": '["a","b"]',
        "short": "hi",
        "required": "yes",
        "size_int": 3,
        "loud_bool": False,
        "tags_list": ["a", "b"],
        "region": "eu-nl",
    }


#: A `pulumi` that works, but whose `up` fails (the program or the backend refused).
UP_FAILS = """import sys
if sys.argv[1:] == ["version"]:
    print("v3.200.0")
if sys.argv[1:2] == ["up"]:
    print("error: update failed", file=sys.stderr)
    sys.exit(255)
"""


def test_a_failing_pulumi_in_a_directory_with_a_space_is_named_as_a_shell_would_run_it(
    tmp_path: Path,
) -> None:
    """`pulumi up` fails: the demo ends with one line naming the command, each command shown as it
    can be pasted into a shell (a PATH directory such as `~/My Tools` quoted)."""
    shim = _fake_pulumi(tmp_path / "my tools" / "pulumi", UP_FAILS)
    done = _run_demo(_environment(f"{shim.parent}{os.pathsep}/usr/bin:/bin"))
    up = [str(shim), "up", "--yes", "--skip-preview", "--non-interactive", "--stack", "demo"]
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"$ {shlex.join(up)}" in done.stdout.splitlines()
    assert done.stderr.splitlines()[-1] == f"demo failed: `{shlex.join(up)}` exited with 255"
    assert FALLBACK not in done.stdout


def test_a_pulumi_found_through_a_relative_path_entry_runs_from_the_checkout(tmp_path: Path) -> None:
    """PATH=node_modules/.bin:… (or an empty entry, the current directory), the demo started from
    another directory: the `pulumi` found there is the one every command runs, from the checkout."""
    fake, log = _fake_pulumi(tmp_path / "bin" / "pulumi"), tmp_path / "calls.jsonl"
    done = _run_demo(_environment(f"bin{os.pathsep}/usr/bin:/bin", FAKE_PULUMI_LOG=str(log)), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    calls = [json.loads(line)["argv"] for line in log.read_text().splitlines()]
    assert [call[0] for call in calls] == ["version", "stack", "config", "up", "stack"]
    assert f"$ {shlex.join([str(fake), 'up'])} " in done.stdout
