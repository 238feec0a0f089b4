"""What every figure shares: paired measurement, the non-verifying server, targets and reporting.
Every ratio is against a baseline of the same run, in interleaved blocks, so that noise falls on
both alike; a run's figure is the median of its paired blocks, a target is judged on the median over
runs, quoted with its spread."""

from __future__ import annotations

import http.client
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.programs import clean_environ

REPO_ROOT = Path(__file__).resolve().parents[1]
BUILD_DIR = REPO_ROOT / "build"
BIN_DIR = Path(sys.executable).parent
PROJECT = "0123456789abcdef0123456789abcdef"
PACKAGES = ("pulumi", "requests", "urllib3", "pydantic", "grpcio", "dill")


@dataclass
class Spread:
    values: list[float]

    @property
    def median(self) -> float:
        return float(statistics.median(self.values))

    def show(self, unit: str = "x", digits: int = 2) -> str:
        """``1.04x (1.01 to 1.07 over 9 runs)``: the range, or from ten runs on the middle half."""
        ordered, n = sorted(self.values), len(self.values)
        low, high = (ordered[n // 4], ordered[3 * n // 4]) if n >= 10 else (ordered[0], ordered[-1])
        kind = "IQR" if n >= 10 else "range"
        return f"{self.median:.{digits}f}{unit} ({kind} {low:.{digits}f} to {high:.{digits}f}, {n} runs)"


def paired(a: Sequence[float], b: Sequence[float]) -> float:
    """The median over blocks of ``a/b``, each block's two measured side by side."""
    return float(statistics.median(x / y for x, y in zip(a, b, strict=True)))


def blocks(
    calls: Mapping[str, Callable[[], object]], count: int, per_block: int
) -> dict[str, list[tuple[float, float]]]:
    """Wall and CPU (this thread's) seconds per call of each callable, ``count`` blocks of
    ``per_block`` calls, the callables taking turns block by block (their order rotates)."""
    names = list(calls)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for block in range(count):
        for name in names[block % len(names) :] + names[: block % len(names)]:
            call, wall, cpu = calls[name], time.perf_counter(), time.thread_time()
            for _ in range(per_block):
                call()
            wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
            samples[name].append((wall / per_block, cpu / per_block))
    return samples


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return clean_environ({"PYTHONPATH": str(REPO_ROOT), **(extra or {})})


def run_json(argv: Sequence[str], env: Mapping[str, str] | None = None) -> Any:
    """Run a command and parse the last line it prints as JSON; a failure raises with its stderr."""
    env = dict(env or clean_env())
    done = subprocess.run(list(argv), env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@contextmanager
def server() -> Iterator[str]:
    """``benchmarks.server`` in a process of its own (it answers without verifying anything); its URL."""
    argv = [sys.executable, "-m", "benchmarks.server"]
    with subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        try:
            yield f"http://127.0.0.1:{int(process.stdout.readline())}"
        finally:
            process.kill()


def control(url: str, what: str) -> Any:
    """Ask ``benchmarks.server`` at ``url`` for ``latency/<seconds>`` or ``stats``."""
    connection = http.client.HTTPConnection(urlsplit(url).netloc)
    connection.request("GET", f"/control/{what}")
    return json.loads(connection.getresponse().read())


def client_environ(url: str, auth: str = "aksk") -> dict[str, str]:
    """Settings for our client: this endpoint, a fixed project (no IAM), AK/SK or a token."""
    env = {"MODELARTS_ENDPOINT": url, "HW_PROJECT_ID": PROJECT, "HW_REGION_NAME": "eu-de"}
    if auth == "aksk":
        return {**env, "HW_ACCESS_KEY": "BENCHACCESSKEY000001", "HW_SECRET_KEY": "BENCHSECRET" * 4}
    return {**env, "HW_AUTH_TOKEN": "BENCH-TOKEN-" + "0" * 52}


def stack_config(environ: Mapping[str, str]) -> dict[str, str]:
    """The same settings as ``client_environ`` gives them, as ``modelarts:*`` stack config."""
    names = {"MODELARTS_ENDPOINT": "endpoint", "HW_PROJECT_ID": "projectId", "HW_REGION_NAME": "region"}
    names |= {"HW_ACCESS_KEY": "accessKey", "HW_SECRET_KEY": "secretKey", "HW_AUTH_TOKEN": "authToken"}
    return {f"modelarts:{names[key]}": value for key, value in environ.items()}


@dataclass
class Target:
    """One target of issue #10 (or an earlier one kept): a measured figure and whether it is met."""

    name: str
    shown: str
    met: bool

    @classmethod
    def limit(cls, name: str, figure: Spread, limit: float, unit: str = "x", digits: int = 2) -> Target:
        return cls(name, f"{figure.show(unit, digits)} ≤ {limit:g}{unit}", figure.median <= limit)

    def show(self) -> str:
        return f"{self.name}: {self.shown}: {'met' if self.met else 'MISSED'}"


@dataclass
class Section:
    """One figure: a titled table, its targets, notes, and the raw numbers behind it."""

    title: str
    columns: Sequence[str]
    rows: list[list[str]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def add(self, *cells: object) -> None:
        self.rows.append([_cell(cell) for cell in cells])

    def render(self) -> str:
        """A Markdown table (readable on a terminal, pasteable into the docs), then the targets."""
        widths = [max(len(str(c)), *(len(row[i]) for row in self.rows)) for i, c in enumerate(self.columns)]
        table = [list(map(str, self.columns)), ["-" * width for width in widths], *self.rows]
        out = [f"### {self.title}", ""]
        out += ["| " + " | ".join(map(str.ljust, row, widths)) + " |" for row in table]
        out += ["", *(f"Target: {target.show()}" for target in self.targets)]
        out += [f"\n{note}" for note in self.notes]
        return "\n".join(out) + "\n"


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return str(value)


def write_json(sections: Sequence[Section], info: dict[str, Any], **extra: Any) -> Path:
    BUILD_DIR.mkdir(exist_ok=True)
    path = BUILD_DIR / "bench.json"
    document = {"machine": info, **extra, "sections": [asdict(section) for section in sections]}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    return path
