"""`make demo`: the quickstart stack against the bundled emulator, no cloud account needed.

With the `pulumi` CLI on PATH it runs `pulumi up` on the root stack (local file backend inside
the repository, non-interactive passphrase) and prints `pulumi stack output --json`. Without it,
it says so and prints the same outputs through `modelarts-vis get`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from pulumi_modelarts.emulator import SAMPLE_JOBS_PATH, ModelArtsEmulator

REPO = Path(__file__).resolve().parent.parent
STATE_DIR = REPO / ".pulumi-state"
STACK = "dev"
JOB_ID = "197"
INSTALL_URL = "https://www.pulumi.com/docs/iac/download-install/"


def _run(command: list[str], env: dict[str, str]) -> None:
    print(f"$ {' '.join(command)}", flush=True)
    subprocess.run(command, cwd=REPO, env=env, check=True)


def with_pulumi(pulumi: str, env: dict[str, str]) -> None:
    """The real thing: `pulumi up` on the quickstart, then its outputs as JSON."""
    STATE_DIR.mkdir(exist_ok=True)
    env = {
        **env,
        "PULUMI_BACKEND_URL": STATE_DIR.as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": env.get("PULUMI_CONFIG_PASSPHRASE", "modelarts-demo"),
        "PULUMI_SKIP_UPDATE_CHECKS": "true",
    }
    _run([pulumi, "stack", "select", "--create", STACK, "--non-interactive"], env)
    _run([pulumi, "config", "set", "jobId", JOB_ID, "--stack", STACK], env)
    _run([pulumi, "up", "--yes", "--non-interactive", "--stack", STACK], env)
    _run([pulumi, "stack", "output", "--json", "--stack", STACK], env)


def without_pulumi(env: dict[str, str]) -> None:
    """No CLI: say so, and show the same fields through the package's own CLI."""
    print(
        f"pulumi CLI not found on PATH, so no `pulumi up` ran (install it from {INSTALL_URL}); "
        f"showing the quickstart's outputs for job {JOB_ID} via `modelarts-vis get` instead:",
        flush=True,
    )
    _run([str(Path(sys.executable).with_name("modelarts-vis")), "get", JOB_ID], env)


def main() -> int:
    with ModelArtsEmulator.from_seed_file(SAMPLE_JOBS_PATH) as emulator:
        print(
            f"ModelArts emulator running at {emulator.url} with jobs "
            f"{', '.join(str(job['job_id']) for job in emulator.jobs())}",
            flush=True,
        )
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("HW_", "OS_", "MODELARTS_"))
        }
        env.update(emulator.environ(auth="aksk"))
        pulumi = shutil.which("pulumi")
        try:
            if pulumi:
                with_pulumi(pulumi, env)
            else:
                without_pulumi(env)
        except subprocess.CalledProcessError as exc:
            print(
                f"demo failed: `{' '.join(map(str, exc.cmd))}` exited with {exc.returncode}", file=sys.stderr
            )
            return 1
    print("Emulator stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
