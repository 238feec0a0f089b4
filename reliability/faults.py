"""Fault matrix: each fault against the client (and the critical ones through the provider server).

Retries are at their defaults (``max_retries`` 5, back-off 0.25 s doubling, ``Retry-After``
honoured) except where a case says otherwise. A case passes when its outcome is the one
expected: the correct job (compared field by field with the emulator's stored job), or the
named typed error. Attempts are the ``get_job`` requests in the emulator's log.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import SECRET_CONFIG_KEYS, clean_env, use_test_harness
from benchmarks.report import Section

from pulumi_modelarts.client import ModelArtsClient
from pulumi_modelarts.emulator import ModelArtsEmulator

from .checks import LeakScanner, mismatches
from .env import CANARY, WRONG_SECRETS, client_for, new_emulator

JOB = 197
HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
HTML_404 = "<html><body><h1>404 Not Found</h1>nginx</body></html>"
WRONG_TYPES = json.dumps({"job_id": JOB, "job_name": ["not", "a", "name"], "status": "running"})
BIG_BODY = b'{"job_id": 197, "job_desc": "' + b"x" * (12 * 1024 * 1024) + b'"}'
OTHER_JOB = json.dumps({"job_id": 5, "job_name": "someone-else", "status": 8})


@dataclass
class Case:
    """One fault: how to provoke it, and which outcome is right."""

    name: str
    expect: str  # "recovered" or an error class name
    faults: list[dict[str, Any]] = field(default_factory=list)
    auth: str = "aksk"
    settings: dict[str, Any] = field(default_factory=dict)
    action: str = "read"  # or "expire": read once, expire every token, read again
    short: bool = True


CLIENT_CASES = (
    Case(
        "429 x2 with Retry-After: 1",
        "recovered",
        [dict(status=429, error_code="APIG.0308", retry_after=1, count=2)],
    ),
    Case(
        "429 x6 with Retry-After: 1 (exhausts 5 retries)",
        "ThrottledError",
        [dict(status=429, error_code="APIG.0308", retry_after=1, count=6)],
        short=False,
    ),
    Case(
        "500 ModelArts.5039 x3",
        "recovered",
        [dict(status=500, error_code="ModelArts.5039", count=3)],
        short=False,
    ),
    Case(
        "500 ModelArts.5039 x6 (exhausts 5 retries)",
        "ThrottledError",
        [dict(status=500, error_code="ModelArts.5039", count=6)],
        short=False,
    ),
    Case(
        "502 HTML page x2", "recovered", [dict(status=502, body=HTML_502, content_type="text/html", count=2)]
    ),
    Case(
        "502 HTML page x6 (exhausts 5 retries)",
        "ServiceError",
        [dict(status=502, body=HTML_502, content_type="text/html", count=6)],
        short=False,
    ),
    Case(
        "503 ModelArts.4302 x3",
        "recovered",
        [dict(status=503, error_code="ModelArts.4302", count=3)],
        short=False,
    ),
    Case("connection reset x2", "recovered", [dict(reset=True, count=2)]),
    Case("connection dropped without answer x2", "recovered", [dict(drop=True, count=2)]),
    Case(
        "read timeout x1 (1.5 s stall, readTimeout 0.5 s)",
        "recovered",
        [dict(delay=1.5, count=1)],
        settings={"read_timeout": 0.5},
        short=False,
    ),
    Case("truncated JSON (200, half the body)", "InvalidResponseError", [dict(truncate=True)]),
    Case("wrong field types (200)", "InvalidResponseError", [dict(body=WRONG_TYPES)]),
    Case("12 MiB body (200)", "InvalidResponseError", [dict(body=BIG_BODY, content_type="application/json")]),
    Case("answer for another job (200)", "InvalidResponseError", [dict(body=OTHER_JOB)]),
    Case(
        "404 HTML page (proxy, wrong path)",
        "InvalidResponseError",
        [dict(status=404, body=HTML_404, content_type="text/html")],
    ),
    Case(
        "server echoes the client's AK/SK in error_message",
        "ServiceError",
        [
            dict(
                status=400,
                error_code="ModelArts.0104",
                error_message=f"bad {CANARY.access_key} {CANARY.secret_key}",
            )
        ],
    ),
    Case(
        "server echoes the client's password in error_message",
        "ServiceError",
        [dict(status=400, error_code="ModelArts.0104", error_message=f"bad password {CANARY.password}")],
        auth="password",
    ),
    Case("token expiring mid-run (IAM password)", "recovered", auth="password", action="expire"),
    Case("wrong AK/SK", "AuthenticationError", settings={"secret_key": WRONG_SECRETS["secret_key"]}),
    Case(
        "wrong password",
        "AuthenticationError",
        auth="password",
        settings={"password": WRONG_SECRETS["password"]},
    ),
    Case(
        "wrong project (AK/SK, not in the account)",
        "PermissionDeniedError",
        settings={"project_id": "0" * 28 + "beef"},
    ),
    Case("job does not exist", "JobNotFoundError", action="missing"),
)


@dataclass
class Result:
    case: str
    layer: str
    expect: str
    outcome: str
    attempts: int
    token_requests: int
    seconds: float
    message: str

    @property
    def passed(self) -> bool:
        return self.outcome == self.expect


def _run_client_case(case: Case, scanner: LeakScanner) -> Result:
    emulator = new_emulator()
    try:
        client: ModelArtsClient = client_for(emulator, case.auth, **case.settings)
        job_id = 4242 if case.action == "missing" else JOB
        if case.action == "expire":
            client.get_visualization_job(JOB)
            emulator.expire_tokens()
        emulator.clear_requests()
        for fault in case.faults:
            emulator.inject_fault("get_job", **fault)
        started = time.monotonic()
        message = ""
        try:
            job = client.get_visualization_job(job_id)
        except Exception as exc:
            outcome = type(exc).__name__
            message = str(exc)
            scanner.scan_error(case.name, exc)
        else:
            outputs = job.to_outputs(project_id=client.project_id, region=client.region)
            wrong = mismatches(outputs, emulator.get_job(JOB) or {}, emulator.project_id, emulator.region)
            outcome = "recovered" if not wrong else f"WRONG OUTPUTS {wrong}"
        seconds = time.monotonic() - started
        scanner.scan(case.name, repr(client))
        client.close()
    finally:
        emulator.stop()  # requests still stalled in a fault's delay are logged as they end
    routes = [record.route for record in emulator.requests]
    return Result(
        case.name,
        "client",
        case.expect,
        outcome,
        routes.count("get_job"),
        routes.count("iam_token"),
        seconds,
        message,
    )


def _nothing(_emulator: ModelArtsEmulator) -> None:
    """No fault: the case's configuration is the fault."""


_LAST_LINE_CLASS = re.compile(r"^(?:[\w.]+\.)?(\w+): ")


def _server_cases(short: bool, scanner: LeakScanner) -> list[Result]:
    """Refresh-style Reads through ``python -m pulumi.dynamic``: a fault must never drop a job."""
    use_test_harness()
    from harness import ProviderCallError, ProviderServer, serialized_provider, urn_for
    from pulumi_modelarts.provider import VisualizationJobProvider

    provider = serialized_provider(VisualizationJobProvider())
    results: list[Result] = []
    plans: list[tuple[str, str, str, dict[str, str], Callable[[ModelArtsEmulator], None]]] = [
        (
            "429 x2 with Retry-After: 1",
            "recovered",
            "aksk",
            {},
            lambda em: em.inject_fault("get_job", status=429, error_code="APIG.0308", retry_after=1, count=2),
        ),
        (
            "502 HTML x3, maxRetries 2 (exhausted)",
            "kept: ServiceError",
            "aksk",
            {"modelarts:maxRetries": "2"},
            lambda em: em.inject_fault(
                "get_job", status=502, body=HTML_502, content_type="text/html", count=3
            ),
        ),
        (
            "404 HTML page (not a ModelArts answer)",
            "kept: InvalidResponseError",
            "aksk",
            {},
            lambda em: em.inject_fault("get_job", status=404, body=HTML_404, content_type="text/html"),
        ),
        (
            "truncated JSON",
            "kept: InvalidResponseError",
            "aksk",
            {},
            lambda em: em.inject_fault("get_job", truncate=True),
        ),
        ("token expiring mid-run (IAM password)", "recovered", "password", {}, lambda em: em.expire_tokens()),
        (
            "wrong AK/SK",
            "kept: AuthenticationError",
            "aksk",
            {"modelarts:secretKey": WRONG_SECRETS["secret_key"]},
            _nothing,
        ),
        ("job deleted (real not-found)", "dropped", "aksk", {}, lambda em: em.remove_job(JOB)),
    ]
    if short:
        plans = [plans[1], plans[4], plans[6]]
    for name, expect, auth, extra, provoke in plans:
        emulator = new_emulator()
        try:
            config = {**emulator.stack_config(auth), **extra}
            with (
                tempfile.TemporaryDirectory() as cwd,
                ProviderServer(Path(cwd), clean_env(), project="rel") as server,
            ):
                server.configure(config, SECRET_CONFIG_KEYS)
                urn = urn_for("job")
                inputs = {"job_id": JOB, "__provider": provider}
                stored = dict(emulator.get_job(JOB) or {})
                if "secretKey" not in "".join(extra):
                    stored_outputs = server.create(urn, server.check(urn, {}, inputs).inputs).outputs
                else:
                    stored_outputs = {"job_id": JOB, "status_name": "RUNNING", "__provider": provider}
                provoke(emulator)
                emulator.clear_requests()
                started = time.monotonic()
                message = ""
                try:
                    read = server.read(urn, str(JOB), stored_outputs, inputs)
                except ProviderCallError as exc:
                    match = _LAST_LINE_CLASS.match(exc.last_line)
                    outcome = f"kept: {match.group(1) if match else exc.last_line[:60]}"
                    message = exc.last_line
                    scanner.scan(f"server {name} (gRPC details)", exc.details)
                else:
                    if read.id == "":
                        outcome = "dropped"
                    else:
                        wrong = mismatches(read.outputs, stored, emulator.project_id, emulator.region)
                        outcome = "recovered" if not wrong else f"WRONG OUTPUTS {wrong}"
                seconds = time.monotonic() - started
            scanner.scan(f"server {name} (stderr)", server.stderr_text())
            scanner.scan(f"server {name} (stdout)", server.stdout_text())
            routes = [record.route for record in emulator.requests]
            results.append(
                Result(
                    name,
                    "provider server",
                    expect,
                    outcome,
                    routes.count("get_job"),
                    routes.count("iam_token"),
                    seconds,
                    message,
                )
            )
        finally:
            emulator.stop()
    return results


def run(short: bool, scanner: LeakScanner) -> Section:
    results: list[Result] = []
    with scanner.capturing_logs("fault matrix"):
        for case in CLIENT_CASES:
            if short and not case.short:
                continue
            results.append(_run_client_case(case, scanner))
        results.extend(_server_cases(short, scanner))
    section = Section(
        "R1. Fault matrix (retries at defaults unless stated; job 197 on the loopback emulator)",
        ["fault", "layer", "expected", "outcome", "GET attempts", "token requests", "seconds", "pass"],
    )
    for result in results:
        section.add(
            result.case,
            result.layer,
            result.expect,
            result.outcome,
            result.attempts,
            result.token_requests,
            result.seconds,
            "yes" if result.passed else "NO",
        )
    wrong = sum(1 for result in results if result.outcome.startswith("WRONG"))
    failed = [result.case for result in results if not result.passed]
    section.notes.append(
        f"{len(results)} cases, {len(results) - len(failed)} as expected, {wrong} wrong outputs. "
        "'kept' = the Read failed with that error, so the engine keeps the job in state; 'dropped' = the "
        "provider reported the job gone (correct only for a real not-found)."
    )
    section.data = {
        "cases": [{**vars(result), "passed": result.passed} for result in results],
        "wrong_outputs": wrong,
        "failed": failed,
    }
    return section
