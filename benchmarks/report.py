"""Tables on stdout and JSON under ``build/``: the one way every figure is reported."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from .common import BUILD_DIR, REPO_ROOT

PACKAGES = ("pulumi", "pulumi-modelarts", "requests", "urllib3", "pydantic", "grpcio", "dill", "hypothesis")


@dataclass
class Section:
    """One figure: a titled table plus the raw numbers behind it."""

    title: str
    columns: Sequence[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def add(self, *cells: object) -> None:
        self.rows.append([_cell(cell) for cell in cells])

    def render(self) -> str:
        """A Markdown table (readable on a terminal, pasteable into the docs)."""
        header = [str(column) for column in self.columns]
        widths = [
            max(len(header[i]), *(len(row[i]) for row in self.rows)) if self.rows else len(header[i])
            for i in range(len(header))
        ]

        def line(cells: Sequence[str]) -> str:
            return (
                "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)) + " |"
            )

        out = [f"### {self.title}", "", line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        out.extend(line(row) for row in self.rows)
        out.extend(f"\n{note}" for note in self.notes)
        return "\n".join(out) + "\n"


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value)


def ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}x" if baseline > 0 else "-"


def verdict(met: bool | None) -> str:
    return "-" if met is None else ("met" if met else "MISSED")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return "unknown"
    return out.stdout.strip() or "unknown"


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "uname": " ".join(platform.uname()),
        "python": sys.version.split()[0],
        "load_1min": round(load, 2),
        "commit": _git_commit(),
        "packages": {name: _version(name) for name in PACKAGES},
    }


def machine_lines(info: dict[str, Any]) -> str:
    packages = ", ".join(f"{name} {version}" for name, version in info["packages"].items())
    return (
        f"Machine: {info['cpus']} x {info['cpu']}; {info['uname']}\n"
        f"Python {info['python']}; {packages}\n"
        f"Date {info['date']}, load {info['load_1min']}, commit {info['commit']}\n"
    )


def write_json(name: str, sections: Sequence[Section], info: dict[str, Any], **extra: Any) -> Path:
    """``build/<name>.json`` with the machine, every section and any extra fields."""
    BUILD_DIR.mkdir(exist_ok=True)
    path = BUILD_DIR / f"{name}.json"
    document = {"machine": info, **extra, "sections": [asdict(section) for section in sections]}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    return path
