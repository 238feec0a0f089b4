"""Run every part of the reliability suite, each with its own leak scanner."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from benchmarks.report import Section

from . import faults, fuzz, hostile, leaks, soak
from .checks import LeakScanner


@dataclass
class SuiteResult:
    sections: list[Section] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def data(self, title_prefix: str) -> dict[str, Any]:
        return next(s.data for s in self.sections if s.title.startswith(title_prefix))


def run(short: bool, *, echo: bool = True) -> SuiteResult:
    """Fault matrix, fuzz, soak, hostile servers, then the secrets table over all of them."""
    result = SuiteResult()
    scanners: dict[str, LeakScanner] = {}
    parts = (
        ("fault matrix (errors, reprs, pickles, logs, gRPC details, provider stderr)", faults.run),
        ("fuzz (every error and log record)", fuzz.run),
        ("soak (every error and log record)", soak.run),
        ("hostile servers and configuration (every error, log record and child output)", hostile.run),
    )
    for name, part in parts:
        started = time.monotonic()
        scanner = leaks.new_scanner()
        section = part(short, scanner)
        scanners[name] = scanner
        result.sections.append(section)
        result.seconds[section.title.split(".")[0]] = time.monotonic() - started
        if echo:
            print(section.render(), flush=True)
    started = time.monotonic()
    section = leaks.run(short, scanners)
    result.sections.append(section)
    result.seconds["R4"] = time.monotonic() - started
    if echo:
        print(section.render(), flush=True)
    return result
