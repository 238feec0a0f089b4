"""``python -m reliability [--short] [pytest options]``: the reliability classes at full size (or,
with ``--short``, at the size ``make test`` runs them); a table on stdout, JSON in build/."""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Any

import pytest

from tests.programs import REPO_ROOT, machine

PACKAGES = ("pulumi", "requests", "urllib3", "pydantic", "hypothesis")


class Report:
    """A pytest plugin: per reliability class, the variants (tests) tried, the ones that ended as
    expected, and the figures they recorded (``record_property``: numbers and counts add up,
    ``worst ...`` keeps the largest)."""

    def __init__(self, full: bool) -> None:
        self.full = full
        self.class_of: dict[str, str] = {}
        self.ok: dict[str, bool | None] = {}  # None: skipped
        self.figures: dict[str, dict[str, Any]] = {}

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            if (marker := item.get_closest_marker("reliability")) is not None:
                self.class_of[item.nodeid] = marker.args[0]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        name, was = self.class_of.get(report.nodeid), self.ok.get(report.nodeid, True)
        if name is None or was is None:
            return
        self.ok[report.nodeid] = None if report.skipped else was and report.passed
        if report.when != "teardown" or self.ok[report.nodeid] is None:
            return
        figures = self.figures.setdefault(name, {})
        for key, value in report.user_properties:
            if isinstance(value, dict):
                figures[key] = Counter(figures.get(key)) + Counter(value)
            elif key.startswith("worst"):
                figures[key] = max(figures.get(key, value), value)
            else:
                figures[key] = figures.get(key, 0) + value

    def classes(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = {}
        for nodeid, ok in self.ok.items():
            if ok is not None:
                empty = {"tried": 0, "as expected": 0, "not as expected": []}
                part = result.setdefault(self.class_of[nodeid], empty)
                part["tried"] += 1
                part["as expected"] += ok
                part["not as expected"] += [] if ok else [nodeid]
        for name, part in result.items():
            figures = self.figures.get(name, {}).items()
            part["figures"] = {key: dict(v) if isinstance(v, Counter) else v for key, v in figures}
        return dict(sorted(result.items()))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        classes, info = self.classes(), machine(*PACKAGES)
        lines = [
            f"\n# pulumi-modelarts reliability ({'full' if self.full else 'short'})\n",
            f"{info['cpu']}; Python {info['python']}; load {info['load_1min']}; commit {info['commit']}\n",
            "| class | variants tried | as expected | figures |",
            "|---|---|---|---|",
        ]
        for name, part in classes.items():
            figures = "; ".join(f"{key} {_shown(value)}" for key, value in part["figures"].items())
            lines.append(f"| {name} | {part['tried']:,} | {part['as expected']:,} | {figures or '-'} |")
        scanned = sum(part["figures"].get("texts scanned for secrets", 0) for part in classes.values())
        lines.append(f"\nSecrets: {scanned:,} texts scanned in every class (errors as message, repr, details")
        lines.append(
            "and pickle; log records; outputs); a test fails on any 12 characters of a canary credential."
        )
        failed = [nodeid for part in classes.values() for nodeid in part["not as expected"]]
        lines += [f"\nNot as expected: {nodeid}" for nodeid in failed]
        (REPO_ROOT / "build").mkdir(exist_ok=True)
        path = REPO_ROOT / "build" / f"reliability{'' if self.full else '-short'}.json"
        path.write_text(json.dumps({"machine": info, "full": self.full, "classes": classes}, indent=2) + "\n")
        terminalreporter.write_line("\n".join(lines) + f"\n\nResults in {path.relative_to(REPO_ROOT)}")


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key} {count:,}" for key, count in sorted(value.items())) or "0"
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


def main() -> int:
    full = "--short" not in sys.argv[1:]
    options = [arg for arg in sys.argv[1:] if arg != "--short"]
    selection = "reliability" if full else "reliability and not slow"
    # pytest's log capture would keep every DEBUG record the secret scan asks for: the soak's memory.
    plugins = ["-p", "no:cacheprovider", "-p", "no:logging"]
    arguments = ["-q", "-m", selection, *plugins, *(["--full"] if full else []), *options]
    return int(pytest.main(arguments, plugins=[Report(full)]))


if __name__ == "__main__":
    sys.exit(main())
