"""The reliability classes that are theirs alone: fuzz, soak and a server echoing a credential (with
``--full``: 1,000 examples per fuzz property, a 20,000-read soak). Hostile input never reaches another
path: it is refused before any request, or it becomes exactly ``/v1/{project}/visualization-jobs/{n}``."""

from __future__ import annotations

import json
import random
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from typing import Any

import pytest
from hypothesis import example, given, strategies as st

from pulumi_modelarts.client import ModelArtsClient
from pulumi_modelarts.emulator import SAMPLE_JOBS_PATH, ModelArtsEmulator
from pulumi_modelarts.errors import ConfigurationError, InvalidInputError, ModelArtsError
from pulumi_modelarts.provider import VisualizationJobProvider
from pulumi_modelarts.settings import Settings
from pulumi_modelarts.validation import check_target
from tests.checks import CANARY, LeakScanner, mismatches
from tests.programs import proc_kib

Record = Callable[[str, Any], None]


@pytest.fixture(scope="module")
def live() -> Iterator[ModelArtsEmulator]:
    with ModelArtsEmulator.from_seed_file(SAMPLE_JOBS_PATH, credentials=CANARY) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def quiet_client(live: ModelArtsEmulator) -> Iterator[ModelArtsClient]:
    """A client of ``live`` that does not retry: each answer is taken as it comes."""
    settings = Settings.from_sources(args={"max_retries": 0}, environ=live.environ())
    with closing(ModelArtsClient(settings)) as client:
        yield client


def whole(value: Any) -> int | None:
    """The whole number a user's or a server's value means, if any (a bool never means a number)."""
    if isinstance(value, str) and value.strip().lstrip("-").isdecimal():
        return int(value)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return int(value) if number and float(value).is_integer() else None


# -- fuzz ------------------------------------------------------------------------------------------

HOSTILE = ["../197", "197/../../v3/auth/tokens", "%2e%2e%2f197", "197%2F..", "197?x=1", "197#frag", "197;rm"]
HOSTILE += ["\u0661\u0669\u0667", "197\x00", "197\n", " 197", "1" * 20, str(2**63), "-197", "0", "1e9"]


@pytest.mark.parametrize("job_id", HOSTILE)
def test_known_hostile_job_ids_are_refused_before_any_request(
    live: ModelArtsEmulator, quiet_client: ModelArtsClient, job_id: str
) -> None:
    live.clear_requests()
    with pytest.raises(InvalidInputError):
        quiet_client.get_visualization_job(job_id)
    assert live.requests == []


JOB_IDS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([197, 212, 230, 245, 999]).flatmap(
        lambda i: st.sampled_from([i, str(i), f" 0{i}\n", float(i)])
    ),
    st.from_regex(r"[0-9]{1,22}", fullmatch=True),
    st.sampled_from(HOSTILE),
    st.text(max_size=30),
    st.floats(),
    st.booleans(),
    st.none(),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=2),
)
PROJECTS = st.one_of(
    st.sampled_from([None, "6f0c1b1f2a3d4e5f8a9b0c1d2e3f4a5b", "../x", "a/b", "%2F", "..", "p?x", "x" * 65]),
    st.sampled_from(["6F0C1B1F2A3D4E5F8A9B0C1D2E3F4A5B", "6f0C1b1F2a3D4e5F8a9B0c1D2e3F4a5B"]),  # one project
    st.from_regex(r"[0-9a-f]{32}|[A-Za-z0-9_-]{1,64}", fullmatch=True),
    st.text(max_size=40),
)


@pytest.mark.reliability("fuzz: job ID and project through the client")
@given(job_id=JOB_IDS, project=PROJECTS)
@example(job_id=197, project=" 6F0C1B1F2A3D4E5F8A9B0C1D2E3F4A5B\t")  # padded: read where it names
def test_any_job_id_and_project_is_refused_or_read_at_exactly_its_path(
    live: ModelArtsEmulator, leaks: LeakScanner, record_property: Record, job_id: Any, project: Any
) -> None:
    """Either a typed error (no request at all for bad input) or the stored job the input denotes,
    read at exactly its path in the project given (in its one spelling) or looked up."""
    live.clear_requests()
    record_property("examples", 1)
    try:
        environ = live.environ(include_project=False)
        settings = Settings.from_sources(args={"project_id": project}, environ=environ)
        with closing(ModelArtsClient(settings)) as client:
            job = client.get_visualization_job(job_id)
    except ModelArtsError as exc:
        leaks.scan_error("fuzz inputs", exc)
        record_property("outcomes", {type(exc).__name__: 1})
        if isinstance(exc, InvalidInputError | ConfigurationError):
            assert [r for r in live.requests if r.route != "iam_projects"] == []
    else:
        outputs = job.to_outputs(project_id=client.project_id, region=client.region)
        assert mismatches(outputs, live.get_job(job.job_id) or {}, live.project_id, live.region) == []
        assert whole(job_id) == job.job_id
        record_property("outcomes", {"the right job": 1})
    given = (project or "").strip()  # settings take a value without its surrounding whitespace
    for request in (r for r in live.requests if r.route != "iam_projects"):
        assert re.fullmatch(r"/v1/[A-Za-z0-9_-]{1,64}/visualization-jobs/[1-9][0-9]{0,18}", request.path)
        assert request.query == {} and (
            not given or request.path.split("/")[2] == check_target("project_id", given)
        )


ANYTHING = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
NAMES = st.one_of(ANYTHING, st.text(max_size=80), st.sampled_from([None, "eu-de", "cn-north-4", "a" * 64]))


@pytest.mark.reliability("fuzz: resource inputs through check")
@given(
    job_id=st.one_of(ANYTHING, st.integers(), st.integers(1, 10**6).map(str), st.text(max_size=80)),
    project_id=NAMES,
    region=NAMES,
    endpoint=st.one_of(NAMES, st.just("https://modelarts.eu-de.otc.t-systems.com")),
)
def test_any_resource_input_is_checked_without_io(
    record_property: Record, job_id: Any, project_id: Any, region: Any, endpoint: Any
) -> None:
    """``check`` answers check failures, or accepts a whole-number job ID equal to the input."""
    news = {"job_id": job_id, "project_id": project_id, "region": region, "endpoint": endpoint}
    result = VisualizationJobProvider().check({}, news)
    record_property("examples", 1)
    record_property("outcomes", {"check failures" if result.failures else "accepted": 1})
    accepted = result.inputs.get("job_id")
    assert result.failures or (type(accepted) is int and whole(job_id) == accepted)


#: The sample job 197 as the API returns it, with up to three fields given other values.
JOB_197 = {"job_id": 197, "job_name": "apiTest-11", "job_desc": "ModelArts API Dialtest", "status": 8}
JOB_197 |= {"duration": 33000, "create_time": 1565149736000, "job_type": "TB", "flavor": {"code": "c"}}
FIELDS = (*JOB_197, "service_url", "remaining_duration", "is_success", "error_code", "error_message")
VALUES = st.one_of(
    ANYTHING, st.sampled_from([197, "197", " 197 ", 197.0, "apiTest-11", 8, "8", True, -1, 2**64, ""])
)
MUTATED = st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=3).map(lambda change: JOB_197 | change)
ENCODINGS = ["utf-8-sig", "utf-16", "utf-16-be", "utf-32", "latin-1"]
BODIES = st.one_of(
    ANYTHING.map(json.dumps),
    st.fixed_dictionaries({}, optional=dict.fromkeys(FIELDS, VALUES)).map(json.dumps),
    MUTATED.map(json.dumps),
    # Encodings a server might use instead of UTF-8 (only UTF-8, with or without a BOM, is read).
    st.tuples(MUTATED.map(json.dumps), st.sampled_from(ENCODINGS)).map(lambda pair: pair[0].encode(pair[1])),
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda text: text.encode("utf-8", "surrogatepass")),
)


@pytest.mark.reliability("fuzz: status, content type and body of an answer")
@given(
    # No 1xx, 204 or 304: those carry no body (the emulator refuses one).
    status=st.sampled_from([200, 200, 200, 201, 202, 301, 400, 401, 403, 404, 409, 429, 500, 502, 503, 504]),
    body=BODIES,
    content_type=st.sampled_from(["application/json", "application/json;charset=utf-8", "text/html", None]),
)
def test_any_answer_is_the_job_it_says_or_a_typed_error(
    live: ModelArtsEmulator,
    quiet_client: ModelArtsClient,
    leaks: LeakScanner,
    record_property: Record,
    status: int,
    body: bytes,
    content_type: str | None,
) -> None:
    """Random status, content type and body for job 197, no retries: a job is returned only when
    the body really says job 197, with that name and status."""
    live.clear_faults()
    live.inject_fault("get_job", status=status, body=body, content_type=content_type)
    record_property("examples", 1)
    try:
        job = quiet_client.get_visualization_job(197)
    except ModelArtsError as exc:
        leaks.scan_error("fuzz bodies", exc)
        record_property("outcomes", {type(exc).__name__: 1})
        return
    record_property("outcomes", {"the job": 1})
    document = json.loads(body)
    assert 200 <= status < 300 and whole(document["job_id"]) == 197 == job.job_id
    assert (document["job_name"], whole(document["status"])) == (job.job_name, job.status)


# -- soak ------------------------------------------------------------------------------------------

SOAK_FAULTS: dict[str, dict[str, Any]] = {
    "429 Retry-After 0": {"status": 429, "error_code": "APIG.0308", "retry_after": 0},
    "500 ModelArts.5039": {"status": 500, "error_code": "ModelArts.5039"},
    "502 HTML": {"status": 502, "body": "<html>502 Bad Gateway</html>", "content_type": "text/html"},
    "503": {"status": 503, "error_code": "ModelArts.4302"},
    "reset": {"reset": True},
    "dropped": {"drop": True},
    "truncated JSON": {"truncate": True},
    "wrong types": {"body": json.dumps({"job_id": 1, "job_name": 5, "status": "x"})},
    "another job's body": {"body": json.dumps({"job_id": 1, "job_name": "other", "status": 8})},
}


@pytest.mark.reliability("soak")
def test_soak_eight_threads_share_one_client_through_random_faults(
    emulator: ModelArtsEmulator, leaks: LeakScanner, record_property: Record, full: bool
) -> None:
    """Before each read a thread queues, with probability 5 %, a random fault for whichever GET
    comes next: transient ones must be retried into the right job, permanent ones (a bad body)
    give a typed error. IAM password auth, every token expired every 2,000 reads."""
    reads, threads = (20_000 if full else 800), 8
    ids = [197, 212, *(emulator.add_job(f"soak-{n}", status=8)["job_id"] for n in range(48))]
    stored = {job_id: emulator.get_job(job_id) or {} for job_id in ids}
    environ = emulator.environ("password", include_project=False)
    client = ModelArtsClient(Settings.from_sources(environ=environ))
    outcomes, faults, requests = Counter[str](), Counter[str](), Counter[str]()
    rss: dict[str, int] = {}
    lock = threading.Lock()

    def count_requests() -> None:
        with emulator.lock:  # nothing is logged between the count and the clearing
            requests.update(record.route for record in emulator.requests)
            emulator.clear_requests()

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(reads // threads):
            fault = rng.choice(list(SOAK_FAULTS)) if rng.random() < 0.05 else None
            if fault is not None:
                emulator.inject_fault("get_job", **SOAK_FAULTS[fault])
            job_id = rng.choice(ids)
            try:
                job = client.get_visualization_job(job_id)
            except ModelArtsError as exc:
                leaks.scan_error("soak", exc)
                outcome = type(exc).__name__
            else:
                outputs = job.to_outputs(project_id=client.project_id, region=client.region)
                wrong = mismatches(outputs, stored[job_id], emulator.project_id, emulator.region)
                outcome = f"WRONG {wrong}" if wrong else "the right job"
            with lock:
                faults.update([fault] if fault else [])
                outcomes[outcome] += 1
                done = outcomes.total()
            if done == reads // 10:
                rss["warm"] = proc_kib("VmRSS")  # every thread, session and connection exists by now
            if done % 2000 == 0:
                emulator.expire_tokens()
            if done % 500 == 0:  # the request log is counted and emptied as the soak runs: no growth
                count_requests()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads)))
    count_requests()
    growth = proc_kib("VmRSS") / rss.get("warm", proc_kib("VmRSS")) - 1
    assert outcomes.total() == reads and not [name for name in outcomes if name.startswith("WRONG")], outcomes
    assert faults.total() > 0  # faults really were injected
    assert not full or growth < 0.10
    counts = {"GET": requests["get_job"], "IAM token": requests["iam_token"]}
    for name, figure in [("reads", reads), ("outcomes", dict(outcomes)), ("faults injected", dict(faults))]:
        record_property(name, figure)
    record_property("GET and IAM token requests", counts)
    record_property("worst RSS growth % after the first tenth", round(100 * growth, 1))


# -- a server echoing a credential ---------------------------------------------------------------------
# (Each place a server can put text that reaches an error, with the issued token and an escaped
# password, is tests/test_responses.py's; the fault matrix echoes the AK/SK and the password.)


@pytest.mark.reliability("secrets")
@given(
    before=st.one_of(
        st.text(max_size=40), st.integers(0, 600).map(lambda n: " " * n), st.text(" \n\t", max_size=600)
    ),
    after=st.text(max_size=40),
    place=st.sampled_from(["error_message", "error_code", "body", "json job_name", "json request_id"]),
    status=st.sampled_from([200, 400, 403, 404, 500, 502]),
    secret=st.sampled_from([CANARY.access_key, CANARY.secret_key]),
)
def test_a_credential_hidden_anywhere_in_an_answer_is_not_repeated(
    live: ModelArtsEmulator,
    quiet_client: ModelArtsClient,
    leaks: LeakScanner,
    record_property: Record,
    before: str,
    after: str,
    place: str,
    status: int,
    secret: str,
) -> None:
    text = before + secret + after
    error, dumps = max(status, 400), json.dumps
    answers = {
        "error_message": {"status": error, "error_code": "X.1", "error_message": text},
        "error_code": {"status": error, "error_code": text},
        "body": {"status": status, "body": text, "content_type": "text/html"},
        "json job_name": {"status": status, "body": dumps({"job_id": 197, "job_name": text, "status": "x"})},
        "json request_id": {"status": error, "body": dumps({"error_code": "X.1", "request_id": text})},
    }
    live.clear_faults()
    live.inject_fault("get_job", **answers[place])
    record_property("examples", 1)
    with pytest.raises(ModelArtsError) as caught:
        quiet_client.get_visualization_job(197)
    leaks.scan_error(f"echo fuzz ({place})", caught.value)
