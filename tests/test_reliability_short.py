"""The reliability suite's short form (``python -m reliability --short``), as part of ``make test``.

Runs the suite's own code with few faults, a small fuzz and a small soak, and asserts what must
hold at any size: no wrong outputs, no unhandled exceptions, every fault case ending as expected,
and no secret in any output, message, log line or pickle. Nothing here asserts on timing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # the suite lives in reliability/ at the repository root

from reliability import faults, fuzz, hostile, leaks, soak  # noqa: E402

#: Probes whose leak is a known package bug; strict, so the fix turns them into failures to remove.


@pytest.mark.slow
def test_fault_matrix_short_form() -> None:
    scanner = leaks.new_scanner()
    data = faults.run(True, scanner).data
    assert data["wrong_outputs"] == 0
    assert data["failed"] == [], [case for case in data["cases"] if not case["passed"]]
    assert scanner.leaks == []


def test_fuzz_short_form() -> None:
    scanner = leaks.new_scanner()
    data = fuzz.run(True, scanner).data
    for name, part in data["results"].items():
        assert part["total"] == data["examples_per_property"], name
        assert (part["wrong"], part["unhandled"]) == (0, 0), (name, part["examples"])
    assert scanner.leaks == []


def test_soak_short_form() -> None:
    scanner = leaks.new_scanner()
    data = soak.run(True, scanner).data
    assert data["total"] == 800
    assert (data["wrong"], data["unhandled"]) == (0, 0), data["examples"]
    assert sum(data["faults"].values()) > 0  # faults really were injected
    assert scanner.leaks == []


def test_hostile_servers_short_form() -> None:
    scanner = leaks.new_scanner()
    data = hostile.run(True, scanner).data
    assert data["failed"] == []
    timed = ("compression bombs", "trickling and silent servers")  # tests/test_transport.py has them
    assert all(part["tried"] > 0 for name, part in data["classes"].items() if name not in timed)
    assert scanner.leaks == []


@pytest.mark.slow
def test_no_secret_in_cli_output_provider_pickle_or_state() -> None:
    scanner = leaks.new_scanner()
    leaks.cli_paths(scanner)
    leaks.state_paths(scanner)
    assert scanner.scanned > 20
    assert scanner.leaks == []


@pytest.mark.parametrize("probe", leaks.PROBES, ids=lambda probe: probe.name)
def test_a_credential_echoed_by_the_server_is_not_repeated(probe: leaks.Probe) -> None:
    assert leaks.run_probe(probe) == []
