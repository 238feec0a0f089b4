"""Shared measuring helpers: paths, statistics, process timing, /proc memory, the emulator."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from pulumi_modelarts.emulator import SAMPLE_JOBS_PATH, ModelArtsEmulator, RequestRecord

REPO_ROOT = Path(__file__).resolve().parents[1]
BUILD_DIR = REPO_ROOT / "build"
BIN_DIR = Path(sys.executable).parent
#: Variables that would point a child process at another cloud or change its settings.
_CLOUD_PREFIXES = ("HW_", "OS_", "MODELARTS_", "PULUMI_", "HUAWEICLOUD_")


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def quantile(values: Sequence[float], q: float) -> float:
    """Nearest-rank quantile (``q`` in [0, 1]) of a non-empty sequence."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return float(ordered[index])


def ms(seconds: float) -> float:
    return seconds * 1000.0


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without cloud settings, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(_CLOUD_PREFIXES)}
    env.update(extra or {})
    return env


def run_ok(argv: Sequence[str], *, env: Mapping[str, str], cwd: Path | None = None) -> str:
    """Run a command, returning stdout; any failure raises with the command's stderr."""
    completed = subprocess.run(
        list(argv), env=dict(env), cwd=cwd, capture_output=True, text=True, check=False, timeout=300
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {completed.returncode}: {completed.stderr[-2000:]}")
    return completed.stdout


def time_commands(
    commands: Mapping[str, Sequence[str]],
    runs: int,
    *,
    env: Mapping[str, str],
    cwd: Path | None = None,
    warmups: int = 2,
) -> dict[str, list[float]]:
    """Wall seconds of each command, spawned ``runs`` times, interleaved round-robin so that
    machine noise falls on every command alike. ``warmups`` rounds fill the page cache first."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(warmups + runs):
        for name, argv in commands.items():
            started = time.perf_counter()
            run_ok(argv, env=env, cwd=cwd)
            elapsed = time.perf_counter() - started
            if round_ >= warmups:
                samples[name].append(elapsed)
    return samples


def proc_status(pid: int) -> dict[str, int]:
    """``VmRSS``/``VmHWM`` (peak RSS) of a process in KiB, read from ``/proc/<pid>/status``."""
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0])
    return values


def sample_emulator(**kwargs: object) -> ModelArtsEmulator:
    """An emulator seeded with the bundled sample jobs (not started)."""
    return ModelArtsEmulator.from_seed_file(SAMPLE_JOBS_PATH, **kwargs)  # type: ignore[arg-type]


def add_jobs(emulator: ModelArtsEmulator, count: int, prefix: str) -> list[int]:
    """Store ``count`` RUNNING jobs named ``<prefix>-<n>``; their IDs in creation order."""
    return [int(emulator.add_job(f"{prefix}-{index}", status=8)["job_id"]) for index in range(count)]


def max_in_flight(records: Iterable[RequestRecord], service_seconds: float) -> tuple[int, float]:
    """Peak and mean number of requests the emulator was serving at once.

    A request occupies ``[arrival, arrival + service_seconds]`` (the emulator sleeps its latency
    before answering, so this is a lower bound of its real service time).
    """
    events: list[tuple[float, int]] = []
    for record in records:
        events.append((record.time, 1))
        events.append((record.time + service_seconds, -1))
    if not events:
        return 0, 0.0
    events.sort(key=lambda event: (event[0], event[1]))
    peak = current = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    span = events[-1][0] - events[0][0]
    mean = (len(events) // 2) * service_seconds / span if span > 0 else float(peak)
    return peak, mean


#: Stack config keys a user would set with ``pulumi config set --secret``.
SECRET_CONFIG_KEYS = ("modelarts:accessKey", "modelarts:secretKey", "modelarts:password")
