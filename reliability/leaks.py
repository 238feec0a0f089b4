"""Secrets: canary credentials through every path; zero occurrences anywhere.

The fault matrix, fuzz and soak scan every error they see (message, ``repr``, structured
details, pickle) and every log record. This module adds the paths they do not cover:

* the CLI's stdout/stderr (success, wrong credentials, ``--debug`` traceback);
* ``__provider`` after ``configure()`` saw the secrets, the provider's and runtime's ``repr``,
  and the stack state and provider-process output of an engine lifecycle (up, refresh);
* the server echoing a credential back: targeted probes (one per place a server can put text
  that reaches an error message) and a hypothesis fuzz that hides a secret at random offsets.

A leak is any run of 12 or more characters of a secret (see ``checks.FRAGMENT``).
"""

from __future__ import annotations

import base64
import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import BIN_DIR, SECRET_CONFIG_KEYS, clean_env, use_test_harness
from benchmarks.report import Section
from hypothesis import HealthCheck, given, settings, strategies as st

from .checks import LeakScanner
from .env import CANARY, CANARY_SECRETS, WRONG_SECRETS, client_for, new_emulator

JOB = 197


def new_scanner() -> LeakScanner:
    return LeakScanner([*CANARY_SECRETS, *WRONG_SECRETS.values()])


@dataclass(frozen=True)
class Probe:
    """A server answer that carries one of the client's own credentials back."""

    name: str
    auth: str
    fault: dict[str, Any]


SECRET = CANARY.secret_key
PROBES = (
    Probe(
        "error_message (AK/SK)",
        "aksk",
        {"status": 400, "error_code": "ModelArts.0104", "error_message": SECRET},
    ),
    Probe(
        "error_message (password)",
        "password",
        {"status": 400, "error_code": "ModelArts.0104", "error_message": CANARY.password},
    ),
    Probe("error_code", "aksk", {"status": 400, "error_code": SECRET, "error_message": "bad"}),
    Probe(
        "request_id in a JSON error body",
        "aksk",
        {"status": 400, "body": json.dumps({"error_code": "X.1", "request_id": SECRET})},
    ),
    Probe(
        "non-API body, secret first",
        "aksk",
        {"status": 502, "body": SECRET, "content_type": "text/html", "count": 6},
    ),
    Probe(
        "non-API body, secret after 440 spaces",
        "aksk",
        {"status": 502, "body": " " * 440 + SECRET, "content_type": "text/html", "count": 6},
    ),
    Probe(
        "ill-typed job body naming the secret",
        "aksk",
        {"status": 200, "body": json.dumps({"job_id": JOB, "job_name": SECRET, "status": []})},
    ),
    Probe(
        "non-JSON 200 body", "aksk", {"status": 200, "body": "<html>" + SECRET, "content_type": "text/html"}
    ),
)


def run_probe(probe: Probe) -> list[str]:
    """Leaks (where, which secret) when the server answers as ``probe`` says."""
    return probe_scanner(probe).leaks


def probe_scanner(probe: Probe) -> LeakScanner:
    """The scanner that saw the error caused by a ``probe`` answer (message, repr, details, pickle)."""
    scanner = new_scanner()
    emulator = new_emulator()
    try:
        client = client_for(emulator, probe.auth, max_retries=0)
        emulator.inject_fault("get_job", **probe.fault)
        try:
            client.get_visualization_job(JOB)
        except Exception as exc:
            scanner.scan_error(probe.name, exc)
        client.close()
    finally:
        emulator.stop()
    return scanner


def echo_fuzz(count: int) -> tuple[int, LeakScanner]:
    """A client secret hidden in random padding in the error text, error code or raw body."""
    scanner = new_scanner()
    emulator = new_emulator()
    client = client_for(emulator, "aksk", max_retries=0)
    examples = 0
    padding = st.one_of(
        st.text(max_size=40), st.integers(0, 600).map(lambda n: " " * n), st.text(" \n\t", max_size=600)
    )
    where = st.sampled_from(["error_message", "error_code", "body", "json job_name", "json request_id"])

    @settings(max_examples=count, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(
        before=padding,
        after=st.text(max_size=40),
        place=where,
        status=st.sampled_from([200, 400, 403, 404, 500, 502]),
        secret=st.sampled_from([CANARY.access_key, CANARY.secret_key]),
    )
    def example(before: str, after: str, place: str, status: int, secret: str) -> None:
        nonlocal examples
        examples += 1
        text = before + secret + after
        fault: dict[str, Any]
        if place in ("error_message", "error_code"):
            fault = {
                "status": max(status, 400),
                place: text,
                **({"error_code": "X.1"} if place == "error_message" else {}),
            }
        elif place == "body":
            fault = {"status": status, "body": text, "content_type": "text/html"}
        elif place == "json job_name":
            fault = {"status": status, "body": json.dumps({"job_id": JOB, "job_name": text, "status": "x"})}
        else:
            fault = {
                "status": max(status, 400),
                "body": json.dumps({"error_code": "X.1", "request_id": text}),
            }
        emulator.clear_faults()
        emulator.inject_fault("get_job", **fault)
        try:
            client.get_visualization_job(JOB)
        except Exception as exc:
            scanner.scan_error(f"echo fuzz ({place})", exc)

    try:
        example()
    finally:
        client.close()
        emulator.stop()
    return examples, scanner


def cli_paths(scanner: LeakScanner) -> None:
    """The CLI's output and error output, with and without ``--debug``."""
    emulator = new_emulator()
    try:
        good = clean_env(emulator.environ("aksk"))
        bad = {**good, "HW_SECRET_KEY": WRONG_SECRETS["secret_key"]}
        password = clean_env(emulator.environ("password"))
        runs = [
            ("cli get", good, ["get", str(JOB)]),
            ("cli get --format table", good, ["get", str(JOB), "--format", "table"]),
            ("cli list", password, ["list"]),
            ("cli get, wrong secret key", bad, ["get", str(JOB)]),
            ("cli get --debug, wrong secret key", bad, ["--debug", "get", str(JOB)]),
            ("cli get --debug, missing job", password, ["--debug", "get", "4242"]),
        ]
        for name, env, argv in runs:
            done = subprocess.run(  # noqa: S603 - fixed argv
                [str(BIN_DIR / "modelarts-vis"), *argv], env=env, capture_output=True, text=True, check=False
            )
            scanner.scan(f"{name} (stdout)", done.stdout)
            scanner.scan(f"{name} (stderr)", done.stderr)
    finally:
        emulator.stop()


def state_paths(scanner: LeakScanner) -> None:
    """``__provider`` after configure, reprs, and an engine lifecycle's state and process output."""
    use_test_harness()
    from pulumi.dynamic import ConfigureRequest
    from pulumi.dynamic.config import Config
    from pulumi.dynamic.dynamic import serialize_provider

    from harness import Desired, Engine
    from pulumi_modelarts.provider import STATE_FIELDS, VisualizationJobProvider

    emulator = new_emulator()
    try:
        for auth in ("aksk", "password"):
            config = emulator.stack_config(auth, include_project=False)
            provider = VisualizationJobProvider()
            provider.configure(ConfigureRequest(config=Config(raw_config=config, project_name="rel")))
            provider.create({"job_id": JOB})
            pickled = serialize_provider(provider)
            scanner.scan(f"__provider after configure ({auth})", pickled)
            scanner.scan(f"__provider after configure ({auth}, decoded)", base64.b64decode(pickled))
            scanner.scan(f"provider repr ({auth})", repr(provider) + repr(provider.__dict__))

            inputs: dict[str, Any] = dict.fromkeys(STATE_FIELDS)
            inputs.update(job_id=JOB, project_id=None, region=None, endpoint=None)
            with tempfile.TemporaryDirectory() as cwd:
                engine = Engine(
                    VisualizationJobProvider(),
                    config=config,
                    secret_keys=SECRET_CONFIG_KEYS,
                    project="rel",
                    cwd=Path(cwd),
                )
                for result in (engine.up({"board": Desired(inputs)}), engine.refresh()):
                    scanner.scan(f"engine {result.operation} ({auth}) stdout", result.stdout)
                    scanner.scan(f"engine {result.operation} ({auth}) stderr", result.stderr)
                    scanner.scan(f"engine {result.operation} ({auth}) error", str(result.error or ""))
                state = {urn: vars(item) for urn, item in engine.state.items()}
                scanner.scan(f"engine state ({auth})", json.dumps(state, default=repr))
    finally:
        emulator.stop()


def run(short: bool, scanners: dict[str, LeakScanner]) -> Section:
    """The secrets table: every part's scanner plus the paths above."""
    for name, fill in (
        ("CLI stdout/stderr (incl. --debug tracebacks)", cli_paths),
        ("__provider, reprs, engine state and provider output", state_paths),
    ):
        scanner = new_scanner()
        fill(scanner)
        scanners[name] = scanner
    examples, fuzz_scanner = echo_fuzz(30 if short else 500)
    section = Section(
        "R4. Secrets: canary credentials (3 valid, 2 wrong) through every path",
        ["path", "texts scanned", "characters", "texts with a secret", "where"],
    )
    for name, scanner in scanners.items():
        summary = scanner.summary()
        where = "; ".join(summary["where"][:2]) or "-"
        section.add(name, summary["texts_scanned"], summary["chars_scanned"], summary["leaks"], where)
    probes: dict[str, dict[str, Any]] = {}
    for probe in PROBES:
        scanner = probe_scanner(probe)
        probes[probe.name] = scanner.summary()
        kinds = sorted({leak.split(": ")[0].removeprefix(probe.name) for leak in scanner.leaks})
        section.add(
            f"server echoes a credential: {probe.name}",
            scanner.scanned,
            scanner.scanned_chars,
            len(scanner.leaks),
            "message, repr, details and pickle" if len(scanner.leaks) >= 4 else ("; ".join(kinds) or "-"),
        )
    fuzz_summary = fuzz_scanner.summary()
    section.add(
        f"server echoes a credential: hypothesis, {examples} examples",
        fuzz_summary["texts_scanned"],
        fuzz_summary["chars_scanned"],
        fuzz_summary["leaks"],
        ", ".join(sorted({w.split("(")[1].split(")")[0] for w in fuzz_summary["where"] if "(" in w})) or "-",
    )
    total = (
        sum(s.summary()["leaks"] for s in scanners.values())
        + sum(p["leaks"] for p in probes.values())
        + fuzz_summary["leaks"]
    )
    section.notes.append(
        f"Total texts with a secret: {total}. A leak is any run of >= 12 characters of a secret; each error "
        "is scanned as message, repr, structured details and pickle."
    )
    section.data = {
        "paths": {name: scanner.summary() for name, scanner in scanners.items()},
        "probes": probes,
        "echo_fuzz": {"examples": examples, **fuzz_summary},
        "total_leaks": total,
    }
    return section
