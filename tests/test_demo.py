"""`make demo`'s script: the `pulumi up` path (with a stand-in CLI) and the no-CLI path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "scripts" / "demo.py"

FAKE_PULUMI = """#!{python}
import json, os, subprocess, sys
log = os.environ["FAKE_PULUMI_LOG"]
entry = {{"argv": sys.argv[1:], "cwd": os.getcwd(),
         "env": {{k: os.environ.get(k) for k in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE",
                                                 "MODELARTS_ENDPOINT", "HW_ACCESS_KEY")}}}}
if sys.argv[1:2] == ["up"]:
    # What the real provider process would do: read the job, with the credentials it was given.
    read = subprocess.run([{cli!r}, "get", "197"], capture_output=True, text=True)
    entry["read"] = json.loads(read.stdout)["job_name"] if read.returncode == 0 else read.stderr
if sys.argv[1:3] == ["stack", "output"]:
    print(json.dumps({{"job_name": "from-fake-pulumi"}}))
with open(log, "a") as handle:
    handle.write(json.dumps(entry) + "\\n")
"""


def _environment(path: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HW_", "OS_", "MODELARTS_", "PULUMI_"))}
    env["PATH"] = path
    return env


def test_demo_runs_pulumi_up_against_the_emulator(tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "pulumi"
    fake.parent.mkdir()
    cli = str(Path(sys.executable).with_name("modelarts-vis"))
    fake.write_text(FAKE_PULUMI.format(python=sys.executable, cli=cli))
    fake.chmod(0o755)
    log = tmp_path / "calls.jsonl"
    env = {**_environment(f"{fake.parent}{os.pathsep}/usr/bin:/bin"), "FAKE_PULUMI_LOG": str(log)}
    done = subprocess.run(
        [sys.executable, str(DEMO)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [call["argv"][:2] for call in calls] == [
        ["stack", "select"],
        ["config", "set"],
        ["up", "--yes"],
        ["stack", "output"],
    ]
    assert calls[1]["argv"][2:4] == ["jobId", "197"]
    assert "--json" in calls[3]["argv"]
    for call in calls:
        assert call["cwd"] == str(REPO)
        assert (
            call["env"]["PULUMI_BACKEND_URL"] == (REPO / ".pulumi-state").as_uri()
        )  # a local backend in the repo
        assert call["env"]["PULUMI_CONFIG_PASSPHRASE"]  # never prompts
        assert call["env"]["MODELARTS_ENDPOINT"].startswith("http://127.0.0.1:")
    assert calls[2]["read"] == "apiTest-11"  # the emulator served the job during `pulumi up`
    assert '"job_name": "from-fake-pulumi"' in done.stdout
    assert "not found on PATH" not in done.stdout


def test_demo_without_the_cli_says_so_and_prints_the_outputs(tmp_path: Path) -> None:
    env = _environment(str(tmp_path))  # an empty PATH entry: no pulumi anywhere
    done = subprocess.run(
        [sys.executable, str(DEMO)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    notice = [line for line in lines if "pulumi CLI not found on PATH" in line]
    assert len(notice) == 1 and "https://www.pulumi.com/" in notice[0] and "no `pulumi up` ran" in notice[0]
    start = lines.index("{")
    record = json.loads("\n".join(lines[start : lines.index("}", start) + 1]))
    assert record["job_id"] == 197 and record["job_name"] == "apiTest-11"
