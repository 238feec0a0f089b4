"""Fuzz: hypothesis over user inputs (job ID, project) and over response bodies.

Every example ends in one of two acceptable outcomes: the correct result or a typed
``ModelArtsError``. Anything else (a wrong result, any other exception) is counted, never
raised, so that every example runs and the counts are complete.
"""

from __future__ import annotations

import json
import math
from typing import Any

from benchmarks.report import Section
from hypothesis import HealthCheck, given, settings, strategies as st

from pulumi_modelarts.client import ModelArtsClient
from pulumi_modelarts.emulator import ModelArtsEmulator
from pulumi_modelarts.provider import VisualizationJobProvider
from pulumi_modelarts.settings import Settings

from .checks import LeakScanner, Tally, mismatches
from .env import client_for, new_emulator

JOB = 197
JOB_FIELDS = (
    "job_id",
    "job_name",
    "job_desc",
    "status",
    "service_url",
    "duration",
    "create_time",
    "remaining_duration",
    "job_type",
    "flavor",
    "is_success",
    "error_code",
    "error_message",
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
FIELD_VALUE = st.one_of(
    JSON, st.sampled_from([JOB, str(JOB), f" {JOB} ", 197.0, "apiTest-11", 8, "8", True, -1, 2**64, ""])
)
JOB_LIKE = st.fixed_dictionaries({}, optional=dict.fromkeys(JOB_FIELDS, FIELD_VALUE))
#: The sample job 197 as the API returns it, with up to three fields given random values.
VALID_JOB = {
    "job_id": JOB,
    "job_name": "apiTest-11",
    "job_desc": "ModelArts API Dialtest",
    "status": 8,
    "duration": 33000,
    "create_time": 1565149736000,
    "job_type": "TensorBoard",
    "flavor": {"code": "modelarts.vm.cpu.2u"},
}
MUTATED_JOB = st.dictionaries(st.sampled_from(JOB_FIELDS), FIELD_VALUE, max_size=3).map(
    lambda changes: {**VALID_JOB, **changes}
)
#: Encodings a server might use instead of UTF-8 (only UTF-8, with or without a BOM, is read).
ENCODINGS = st.sampled_from(["utf-8-sig", "utf-16", "utf-16-be", "utf-32", "latin-1"])
BODIES = st.one_of(
    JSON.map(json.dumps),
    JOB_LIKE.map(json.dumps),
    MUTATED_JOB.map(json.dumps),
    st.tuples(MUTATED_JOB.map(json.dumps), ENCODINGS).map(lambda pair: pair[0].encode(pair[1])),
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda text: text.encode("utf-8", "surrogatepass")),
)
#: No 1xx/204/304: those must not carry a body, and the emulator would send one anyway.
STATUSES = st.sampled_from([200, 200, 200, 201, 202, 301, 400, 401, 403, 404, 409, 429, 500, 502, 503, 504])
CONTENT_TYPES = st.sampled_from(["application/json", "application/json;charset=utf-8", "text/html", None])


def _denotes(value: Any, number: int) -> bool:
    """Whether a user-supplied job ID means ``number`` (a bool never means a number)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value == number
    if isinstance(value, float):
        return math.isfinite(value) and value == number
    if isinstance(value, str):
        try:
            return int(value.strip()) == number
        except ValueError:
            return False
    return False


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _settings(count: int) -> settings:
    return settings(
        max_examples=count,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
    )


def fuzz_inputs(emulator: ModelArtsEmulator, count: int, scanner: LeakScanner) -> Tally:
    """Random job IDs and project IDs through the client, one GET each when they validate."""
    tally = Tally()
    clients: dict[Any, ModelArtsClient | Exception] = {}
    environ = emulator.environ("aksk", include_project=False)
    ids = [int(job["job_id"]) for job in emulator.jobs()]
    job_ids = st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70),
        st.sampled_from(ids),
        st.sampled_from(ids).map(str),
        st.sampled_from(ids).map(lambda i: f" 0{i}\\n"),
        st.sampled_from(ids).map(float),
        st.text(max_size=24),
        st.floats(),
        st.booleans(),
        st.none(),
        st.binary(max_size=8),
        st.lists(st.integers(), max_size=2),
    )
    projects = st.one_of(
        st.none(),
        st.just(emulator.project_id),
        st.text(max_size=40),
        st.from_regex(r"[0-9a-f]{32}", fullmatch=True),
    )

    @_settings(count)
    @given(job_id=job_ids, project=projects)
    def example(job_id: Any, project: Any) -> None:
        key = repr(project)
        if key not in clients:
            try:
                clients[key] = ModelArtsClient(
                    Settings.from_sources(args={"project_id": project}, environ=environ)
                )
            except Exception as exc:
                clients[key] = exc
        client = clients[key]
        try:
            if isinstance(client, Exception):
                raise client
            job = client.get_visualization_job(job_id)
        except Exception as exc:
            tally.error(exc)
            scanner.scan_error("fuzz inputs", exc)
            return
        stored = emulator.get_job(job.job_id) or {}
        outputs = job.to_outputs(project_id=client.project_id, region=client.region)
        wrong = mismatches(outputs, stored, emulator.project_id, emulator.region)
        if wrong or not _denotes(job_id, job.job_id):
            tally.bad(f"job_id={job_id!r} project={project!r} gave job {job.job_id} ({wrong})")
        else:
            tally.ok()

    example()
    for client in clients.values():
        if isinstance(client, ModelArtsClient):
            client.close()
    return tally


def fuzz_check(count: int) -> Tally:
    """Random resource inputs through the provider's ``check`` (no I/O): a result or failures."""
    tally = Tally()
    provider = VisualizationJobProvider()
    anything = st.one_of(JSON, st.integers(), st.text(max_size=80))
    job_ids = st.one_of(anything, st.integers(1, 10**6), st.integers(1, 10**6).map(str))
    names = st.one_of(st.none(), st.none(), anything, st.sampled_from(["eu-de", "cn-north-4", "a" * 64]))
    endpoints = st.one_of(st.none(), anything, st.just("https://modelarts.eu-de.otc.t-systems.com"))

    @_settings(count)
    @given(job_id=job_ids, project_id=names, region=names, endpoint=endpoints)
    def example(job_id: Any, project_id: Any, region: Any, endpoint: Any) -> None:
        news = {"job_id": job_id, "project_id": project_id, "region": region, "endpoint": endpoint}
        try:
            result = provider.check({}, news)
        except Exception as exc:
            tally.error(exc)
            return
        accepted = result.inputs.get("job_id")
        if result.failures:
            tally.typed("CheckFailure")
        elif isinstance(accepted, int) and _denotes(job_id, accepted):
            tally.ok()
        else:
            tally.bad(f"check accepted job_id={job_id!r} as {accepted!r}")

    example()
    return tally


def fuzz_bodies(emulator: ModelArtsEmulator, count: int, scanner: LeakScanner) -> Tally:
    """Random status, content type and body for ``GET job 197`` (no retries, so no back-off)."""
    tally = Tally()
    client = client_for(emulator, max_retries=0)

    @_settings(count)
    @given(status=STATUSES, body=BODIES, content_type=CONTENT_TYPES)
    def example(status: int, body: bytes, content_type: str | None) -> None:
        emulator.clear_faults()
        emulator.inject_fault("get_job", status=status, body=body, content_type=content_type)
        try:
            job = client.get_visualization_job(JOB)
        except Exception as exc:
            tally.error(exc)
            scanner.scan_error("fuzz bodies", exc)
            return
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        consistent = (
            200 <= status < 300
            and isinstance(document, dict)
            and _whole(document.get("job_id")) == JOB == job.job_id
            and document.get("job_name") == job.job_name
            and _whole(document.get("status")) == job.status
        )
        if consistent:
            tally.ok()
        else:
            tally.bad(f"HTTP {status} body {body[:80]!r} gave {job!r}"[:300])

    example()
    client.close()
    return tally


def run(short: bool, scanner: LeakScanner) -> Section:
    count = 40 if short else 1000
    emulator = new_emulator()
    try:
        with scanner.capturing_logs("fuzz"):
            bodies = fuzz_bodies(emulator, count, scanner)
            results = {
                "job_id x project_id through the client (live GETs)": fuzz_inputs(emulator, count, scanner),
                "resource inputs through provider.check (no I/O)": fuzz_check(count),
                "status x content type x body of GET job (JSON, a mutated job in 6 encodings, bytes)": bodies,
            }
    finally:
        emulator.stop()
    section = Section(
        f"R2. Fuzz (hypothesis, {count} examples per property)",
        ["property", "examples", "correct result", "typed errors", "wrong", "unhandled"],
    )
    for name, tally in results.items():
        errors = ", ".join(f"{cls} {n}" for cls, n in sorted(tally.typed_errors.items()))
        section.add(name, tally.total, tally.correct, errors or "0", len(tally.wrong), len(tally.unhandled))
    section.data = {
        "examples_per_property": count,
        "results": {name: t.summary() for name, t in results.items()},
    }
    return section
