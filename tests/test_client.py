"""The client against the emulator over loopback HTTP: reads, errors, faults, auth, threads."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from pulumi_modelarts.client import ModelArtsClient
from pulumi_modelarts.emulator import SAMPLE_JOBS_PATH, ModelArtsEmulator
from pulumi_modelarts.errors import (
    AmbiguousJobNameError,
    AuthenticationError,
    ConfigurationError,
    InvalidResponseError,
    JobNotFoundError,
    ModelArtsError,
    PermissionDeniedError,
    ServiceError,
    ThrottledError,
)
from pulumi_modelarts.outputs import OUTPUT_FIELDS
from pulumi_modelarts.settings import KEYS_BY_FIELD, Settings
from tests.checks import CANARY, CANARY_SECRETS, WRONG_PASSWORD, WRONG_SECRET_KEY, LeakScanner, mismatches

ClientFactory = Callable[..., ModelArtsClient]


def routes(emulator: ModelArtsEmulator) -> list[tuple[str, int]]:
    return [(record.route, record.status) for record in emulator.requests]


# -- reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["aksk", "token", "password"])
@pytest.mark.parametrize("include_project", [True, False])
def test_get_job_with_every_auth_mode(
    client_for: ClientFactory, emulator: ModelArtsEmulator, auth: str, include_project: bool
) -> None:
    client = client_for(auth, include_project)
    job = client.get_visualization_job(197)
    assert (job.job_id, job.job_name, job.status_name, job.duration) == (197, "apiTest-11", "RUNNING", 33000)
    assert job.created_at == "2019-08-07T03:48:56Z" and client.project_id == emulator.project_id
    [details] = [r for r in emulator.requests if r.route == "get_job"]
    assert (details.method, details.path) == ("GET", f"/v1/{emulator.project_id}/visualization-jobs/197")
    assert details.auth == ("aksk" if auth == "aksk" else "token")


def test_outputs_from_a_live_read(client: ModelArtsClient, emulator: ModelArtsEmulator) -> None:
    outputs = client.get_visualization_job("197").to_outputs(
        project_id=client.project_id, region=client.region
    )
    assert tuple(outputs) == OUTPUT_FIELDS
    assert outputs["job_type"] == "TensorBoard" and outputs["flavor_code"] == "modelarts.vm.cpu.2u"
    assert mismatches(outputs, emulator.get_job(197) or {}, emulator.project_id, emulator.region) == []
    again = client.get_visualization_job(197).to_outputs(project_id=client.project_id, region=client.region)
    assert outputs == again


def test_list_pages_filters_and_order(client: ModelArtsClient, emulator: ModelArtsEmulator) -> None:
    for index in range(21):
        emulator.add_job(f"bulk-{index:02d}", status=10)
    emulator.clear_requests()
    jobs = list(client.list_visualization_jobs(per_page=10))
    assert len(jobs) == 25 and [job.job_id for job in jobs] == sorted(job.job_id for job in jobs)
    assert [r.query["page"] for r in emulator.requests if r.route == "list_jobs"] == [["1"], ["2"], ["3"]]
    assert [job.job_id for job in client.list_visualization_jobs(status=8)] == [197, 245]
    descending = [job.job_id for job in client.list_visualization_jobs(order="desc")]
    assert descending == sorted(descending, reverse=True)
    assert list(client.list_visualization_jobs(search_content="no-such-name")) == []


def test_find_picks_the_exact_name_and_its_errors_name_the_problem(
    client: ModelArtsClient, emulator: ModelArtsEmulator
) -> None:
    exact = emulator.add_job("board", status=8)
    emulator.add_job("board-2", status=8)
    emulator.add_job("dashboard", status=8)
    job = client.find_visualization_job("board")
    assert job.job_id == exact["job_id"] and job.job_type == "TensorBoard"  # full details, not the list item
    with pytest.raises(JobNotFoundError, match="no visualization job is named 'ghost'") as missing:
        client.find_visualization_job("ghost")
    assert "Check the name" in str(missing.value) and "job ID" not in str(missing.value)
    first, second = (emulator.add_job("twin")["job_id"] for _ in range(2))
    with pytest.raises(AmbiguousJobNameError, match=f"IDs {first}, {second}"):
        client.find_visualization_job("twin")


# -- errors and faults ----------------------------------------------------------------------------


@pytest.mark.reliability("fault matrix")
@pytest.mark.parametrize(
    ("style", "status", "code"), [("400", 400, "ModelArts.2775"), ("404", 404, "ModelArts.0015")]
)
def test_not_found_in_both_styles(style: str, status: int, code: str) -> None:
    with ModelArtsEmulator(not_found_style=style) as emulator:
        client = ModelArtsClient(Settings.from_sources(environ=emulator.environ()))
        with pytest.raises(JobNotFoundError) as caught:
            client.get_visualization_job(4242)
    error = caught.value
    assert (error.status, error.error_code, error.job_id) == (status, code, 4242)
    parts = ("get visualization job", "job 4242", f"project {emulator.project_id}", f"HTTP {status}", code)
    for part in (*parts, f"host {emulator.url.split('//')[1]}", f"request-id {error.request_id}"):
        assert part in str(error)
    assert error.request_id and "\n" not in str(error)
    assert len(emulator.requests) == 1  # not retried


def test_success_status_with_is_success_false_is_an_error(
    client: ModelArtsClient, emulator: ModelArtsEmulator
) -> None:
    body = {"is_success": False, "error_code": "ModelArts.2775", "error_message": "job gone"}
    emulator.inject_fault("get_job", status=200, body=json.dumps(body), content_type="application/json")
    with pytest.raises(JobNotFoundError, match="job gone"):
        client.get_visualization_job(197)
    body["error_code"] = "ModelArts.0104"
    emulator.inject_fault("get_job", status=200, body=json.dumps(body), content_type="application/json")
    with pytest.raises(ServiceError, match="ModelArts.0104"):
        client.get_visualization_job(197)


def test_a_project_that_does_not_match_the_token(
    client_for: ClientFactory, emulator: ModelArtsEmulator
) -> None:
    emulator.add_project("eu-de_other", "0000000000000000000000000000beef")
    client = client_for("token", project_id="0000000000000000000000000000beef")
    with pytest.raises(PermissionDeniedError, match="does not match the credentials") as caught:
        client.get_visualization_job(197)
    assert caught.value.error_code == "ModelArts.0210"


def test_endpoint_without_the_api_is_a_configuration_error(
    client_for: ClientFactory, emulator: ModelArtsEmulator
) -> None:
    with pytest.raises(ConfigurationError, match="does not serve this API"):
        client_for(endpoint=f"{emulator.url}/wrong-prefix").get_visualization_job(197)


HTML = {"body": "<html><body>502 Bad Gateway</body></html>", "content_type": "text/html"}
ECHO = f"bad key {CANARY.secret_key} for {CANARY.access_key}"
#: name -> (fault on the next GETs of job 197, settings (``auth`` picks the mode), the outcome:
#: "recovered" or (error, part of its message), GET attempts). Retries at their defaults (5,
#: back-off 0.25 s doubling, Retry-After honoured) unless a case sets ``max_retries``.
FAULTS: dict[str, tuple[dict[str, Any], dict[str, Any], Any, int | None]] = {
    "500 ModelArts.5039 x3": (
        {"status": 500, "error_code": "ModelArts.5039", "count": 3},
        {},
        "recovered",
        4,
    ),
    "503 ModelArts.4302 x3": (
        {"status": 503, "error_code": "ModelArts.4302", "count": 3},
        {},
        "recovered",
        4,
    ),
    "502 HTML page x2": ({"status": 502, **HTML, "count": 2}, {}, "recovered", 3),
    "504 ModelArts.4503": ({"status": 504, "error_code": "ModelArts.4503"}, {}, "recovered", 2),
    "connection reset x2": ({"reset": True, "count": 2}, {}, "recovered", 3),
    "connection dropped without answer x2": ({"drop": True, "count": 2}, {}, "recovered", 3),
    "429 with Retry-After: 1": (
        {"status": 429, "error_code": "APIG.0308", "retry_after": 1},
        {},
        "recovered",
        2,
    ),
    # The stalled request is logged only when its stall ends: its attempts are not counted.
    "1 s stall, readTimeout 0.3 s": ({"delay": 1.0}, {"read_timeout": 0.3}, "recovered", None),
    "503 beyond 2 retries": (
        {"status": 503, "error_code": "ModelArts.4302", "count": 50},
        {"max_retries": 2},
        (ServiceError, "after 3 attempts"),
        3,
    ),
    "429 beyond 2 retries": (
        {"status": 429, "error_code": "APIG.0308", "count": 50},
        {"max_retries": 2},
        (ThrottledError, "throttled after 3 attempts"),
        3,
    ),
    "500 ModelArts.5039 beyond 2 retries": (
        {"status": 500, "error_code": "ModelArts.5039", "count": 50},
        {"max_retries": 2},
        (ThrottledError, "ModelArts.5039"),
        3,
    ),
    "dropped beyond 2 retries": (
        {"drop": True, "count": 50},
        {"max_retries": 2},
        (ServiceError, "after 3 attempt(s)"),
        3,
    ),
    "502 HTML page beyond 1 retry": (
        {"status": 502, **HTML, "count": 9},
        {"max_retries": 1},
        (ServiceError, "502 Bad Gateway"),
        2,
    ),
    "HTML page (200)": ({**HTML}, {}, (InvalidResponseError, "not JSON"), 1),
    "truncated JSON (200, half the body)": ({"truncate": True}, {}, (InvalidResponseError, "not JSON"), 1),
    "wrong field types (200)": (
        {"body": json.dumps({"job_id": 197, "job_name": "apiTest-11", "status": "running"})},
        {},
        (InvalidResponseError, "'status'"),
        1,
    ),
    "a JSON list (200)": ({"body": "[1, 2]"}, {}, (InvalidResponseError, "expected a JSON object"), 1),
    "12 MiB body (200)": ({"body": b"{" + b" " * (12 << 20) + b"}"}, {}, (InvalidResponseError, "10 MiB"), 1),
    "answer for another job (200)": (
        {"body": json.dumps({"job_id": 5, "job_name": "x", "status": 8})},
        {},
        (InvalidResponseError, "answered with job 5"),
        1,
    ),
    "404 HTML page (a proxy, a wrong path)": (
        {"status": 404, **HTML},
        {},
        (InvalidResponseError, "non-API body"),
        1,
    ),
    "the server echoes the AK/SK": (
        {"status": 400, "error_code": "ModelArts.0104", "error_message": ECHO},
        {},
        (ServiceError, "bad key *** for ***"),
        1,
    ),
    "the server echoes the password": (
        {"status": 400, "error_code": "ModelArts.0104", "error_message": f"bad password {CANARY.password}"},
        {"auth": "password"},
        (ServiceError, "bad password ***"),
        1,
    ),
    "wrong AK/SK: not retried": ({}, {"secret_key": WRONG_SECRET_KEY}, (AuthenticationError, "APIG.0301"), 1),
    "wrong password: fails at IAM": (
        {},
        {"auth": "password", "password": WRONG_PASSWORD},
        (AuthenticationError, "IAM token request"),
        0,
    ),
    "a project not in the account": (
        {},
        {"project_id": "0" * 28 + "beef"},
        (PermissionDeniedError, "HTTP"),
        1,
    ),
}
SLOW_FAULTS = {  # the default 5 retries exhausted: several seconds of back-off each
    "429 x6 with Retry-After: 1": (
        {"status": 429, "error_code": "APIG.0308", "retry_after": 1},
        ThrottledError,
    ),
    "500 ModelArts.5039 x6": ({"status": 500, "error_code": "ModelArts.5039"}, ThrottledError),
    "502 HTML page x6": ({"status": 502, **HTML}, ServiceError),
}
CASES = [
    *(pytest.param(*case, id=name) for name, case in FAULTS.items()),
    *(
        pytest.param(
            {**fault, "count": 6}, {}, (error, "after 6 attempt"), 6, id=name, marks=pytest.mark.slow
        )
        for name, (fault, error) in SLOW_FAULTS.items()
    ),
]


@pytest.mark.reliability("fault matrix")
@pytest.mark.parametrize(("fault", "settings", "expected", "attempts"), CASES)
def test_fault_matrix(
    client_for: ClientFactory,
    emulator: ModelArtsEmulator,
    leaks: LeakScanner,
    fault: dict[str, Any],
    settings: dict[str, Any],
    expected: Any,
    attempts: int | None,
) -> None:
    """Each fault ends in the right job, or in the named typed error saying it in one line."""
    client = client_for(**settings)
    if fault:
        emulator.inject_fault("get_job", **fault)
    try:
        job = client.get_visualization_job(197)
    except ModelArtsError as exc:
        leaks.scan_error("fault matrix", exc)
        outcome: Any = (type(exc), str(exc))
    else:
        outputs = job.to_outputs(project_id=client.project_id, region=client.region)
        stored = emulator.get_job(197) or {}
        outcome = (
            "recovered" if not mismatches(outputs, stored, emulator.project_id, emulator.region) else outputs
        )
    if expected == "recovered":
        assert outcome == "recovered"
    else:
        error, fragment = expected
        assert issubclass(outcome[0], error) and fragment in outcome[1], outcome
        assert "\n" not in outcome[1] and len(outcome[1]) < 700
    assert attempts is None or [r.route for r in emulator.requests].count("get_job") == attempts
    if expected != "recovered" and fault:
        emulator.clear_faults()
        assert client.get_visualization_job(197).job_id == 197  # the client is still usable


def test_a_retry_after_is_honoured_within_the_call_deadline(
    client_for: ClientFactory, emulator: ModelArtsEmulator
) -> None:
    client = client_for()
    emulator.inject_fault("get_job", status=429, error_code="APIG.0308", retry_after=1)
    assert client.get_visualization_job(197).job_id == 197
    first, second = (r.time for r in emulator.requests if r.route == "get_job")
    assert second - first >= 1.0  # waited as told
    emulator.clear_requests()
    emulator.inject_fault("get_job", status=429, retry_after=3600, count=50)
    with pytest.raises(ThrottledError, match="server asks to wait 3600 s"):  # not an hour, nor the 60 s cap
        client_for(timeout=5).get_visualization_job(197)
    assert [r.route for r in emulator.requests].count("get_job") == 1
    emulator.clear_requests()
    emulator.clear_faults()
    emulator.inject_fault("get_job", status=429, retry_after=1, count=50)
    with pytest.raises(ThrottledError):
        client_for(timeout=1.6, max_retries=20).get_visualization_job(197)
    # One attempt a second within 1.6 s: the second wait would end past the deadline.
    assert [r.route for r in emulator.requests].count("get_job") == 2


def test_retry_after_is_capped_at_a_minute() -> None:
    from urllib3 import HTTPResponse

    from pulumi_modelarts.transport import RETRY_AFTER_CAP_SECONDS, BoundedRetry

    retry = BoundedRetry(total=3, respect_retry_after_header=True, retry_after_max=RETRY_AFTER_CAP_SECONDS)
    for value, seconds in {
        "3600": 60,
        "2": 2,
        "soon": None,
        "nan": None,
        "inf": None,
        "1e999": None,
        "-1": None,
    }.items():
        assert retry.get_retry_after(HTTPResponse(status=429, headers={"Retry-After": value})) == seconds


# -- authentication -----------------------------------------------------------------------------


def test_one_token_for_a_hundred_reads_and_for_sixteen_threads_at_once(
    client_for: ClientFactory, emulator: ModelArtsEmulator
) -> None:
    client = client_for("password")
    for _ in range(100):
        client.get_visualization_job(197)
    assert [r.route for r in emulator.requests].count("iam_token") == 1
    emulator.clear_requests()
    client = client_for("password", include_project=False)
    barrier = threading.Barrier(16)

    def read(_: int) -> int:
        barrier.wait()
        return client.get_visualization_job(212).job_id

    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(read, range(16))) == {212}
    assert [r.route for r in emulator.requests].count("iam_token") == 1


@pytest.mark.reliability("fault matrix")
def test_an_expired_token_is_renewed_once_and_the_read_replayed(
    client_for: ClientFactory, emulator: ModelArtsEmulator
) -> None:
    client = client_for("password")
    client.get_visualization_job(197)
    emulator.expire_tokens()
    emulator.clear_requests()
    assert client.get_visualization_job(197).job_id == 197
    assert routes(emulator) == [("get_job", 401), ("iam_token", 201), ("get_job", 200)]
    emulator.clear_requests()
    emulator.inject_fault(
        "get_job", status=401, error_code="APIG.0307", error_message="The token must be updated", count=5
    )
    with pytest.raises(AuthenticationError, match="APIG.0307"):  # a 401 after renewal
        client.get_visualization_job(197)
    assert [route for route, _ in routes(emulator)] == ["get_job", "iam_token", "get_job"]


def test_an_expired_static_token_cannot_be_renewed(
    client_for: ClientFactory, emulator: ModelArtsEmulator
) -> None:
    client = client_for("token")
    emulator.expire_tokens()
    with pytest.raises(AuthenticationError, match="The token must be updated"):
        client.get_visualization_job(197)
    assert [r.route for r in emulator.requests].count("get_job") == 1


def test_a_token_is_renewed_shortly_before_it_expires() -> None:
    """Read until the client fetches a second token: it must come before the first expires (in the
    last tenth of its life), never after a 401."""
    with ModelArtsEmulator(token_ttl=1.0) as emulator:
        emulator.add_job("short-lived")
        client = ModelArtsClient(Settings.from_sources(environ=emulator.environ("password")))
        deadline = time.monotonic() + 10
        while [r.route for r in emulator.requests].count("iam_token") < 2 and time.monotonic() < deadline:
            client.get_visualization_job(1)
    assert [(route, status) for route, status in routes(emulator) if route == "iam_token"] == [
        ("iam_token", 201)
    ] * 2
    assert {status for route, status in routes(emulator) if route == "get_job"} == {200}


def test_project_discovery_is_cached_per_process_and_needs_exactly_one_match(
    emulator: ModelArtsEmulator,
) -> None:
    environ = emulator.environ("aksk", include_project=False)
    for _ in range(3):
        assert (
            ModelArtsClient(Settings.from_sources(environ=environ)).get_visualization_job(197).job_id == 197
        )
    lookups = [r for r in emulator.requests if r.route == "iam_projects"]
    assert len(lookups) == 1 and lookups[0].query == {"name": ["eu-de"]}
    emulator.add_project("eu-de_twins", "11111111111111111111111111111111")
    emulator.add_project("eu-de_twins", "22222222222222222222222222222222")
    with pytest.raises(ConfigurationError) as caught:
        ModelArtsClient(
            Settings.from_sources(environ={**environ, "HW_PROJECT_NAME": "eu-de_twins"})
        ).get_visualization_job(197)
    assert "2 IAM projects named 'eu-de_twins'" in str(caught.value)
    assert "11111111111111111111111111111111, 22222222222222222222222222222222" in str(caught.value)
    with pytest.raises(ConfigurationError, match="no IAM project named 'eu-de_nothing'"):
        ModelArtsClient(
            Settings.from_sources(environ={**environ, "HW_PROJECT_NAME": "eu-de_nothing"})
        ).get_visualization_job(197)


#: Credentials as files and shells give them: the padding must never reach IAM or the gateway.
PADDINGS = ["\n", "\r\n", " \t", "\n\n ", " \r\n\t"]
PADDED = {
    "aksk": ("access_key", "secret_key"),
    "token": ("auth_token",),
    "password": ("user_name", "password", "domain_name"),
}


@pytest.mark.reliability("whitespace secrets")
@pytest.mark.parametrize("source", ["HW_ variables", "OS_ variables", "stack config"])
@pytest.mark.parametrize("padding", PADDINGS, ids=repr)
@pytest.mark.parametrize("auth", PADDED)
def test_credentials_with_stray_whitespace_still_read(
    emulator: ModelArtsEmulator, auth: str, padding: str, source: str
) -> None:
    environ, config = emulator.environ(auth), {}
    for name in PADDED[auth]:
        key = KEYS_BY_FIELD[name]
        value = environ.pop(key.env[0]) + padding
        if source == "stack config":
            config[key.config_key] = value
        else:
            environ[key.env[0 if source.startswith("HW") else -1]] = value
    client = ModelArtsClient(Settings.from_sources(stack_config=config, environ=environ))
    assert client.get_visualization_job(197).job_id == 197


def test_a_password_outside_ascii_logs_in() -> None:
    credentials = dataclasses.replace(CANARY, password="p\u00e4ss-w\u00f6rd-\u5bc6\u7801-9e107d")
    with ModelArtsEmulator.from_seed_file(SAMPLE_JOBS_PATH, credentials=credentials) as emulator:
        client = ModelArtsClient(Settings.from_sources(environ=emulator.environ("password")))
        assert client.get_visualization_job(197).job_id == 197


# -- connections and threads --------------------------------------------------------------------


def test_sixteen_threads_share_one_client_over_kept_alive_connections(
    client_for: ClientFactory, emulator: ModelArtsEmulator
) -> None:
    client = client_for("password")
    expected = {job["job_id"]: job["job_name"] for job in emulator.jobs()}
    ids = sorted(expected)

    def worker(index: int) -> list[int]:
        jobs = [client.get_visualization_job(ids[(index + n) % len(ids)]) for n in range(50)]
        return [job.job_id for job in jobs if job.job_name != expected[job.job_id]]

    with ThreadPoolExecutor(16) as pool:
        assert [wrong for wrongs in pool.map(worker, range(16)) for wrong in wrongs] == []
    found = [r.route for r in emulator.requests]
    assert found.count("get_job") == 800 and found.count("iam_token") == 1
    one = client_for()
    for _ in range(50):
        one.get_visualization_job(197)
    pools = one._transport.session().get_adapter(emulator.url).poolmanager.pools  # type: ignore[attr-defined]
    assert [pools[key].num_connections for key in pools.keys()] == [1]  # noqa: SIM118 - no __iter__


def test_repr_of_client_and_transport_hide_secrets(client_for: ClientFactory) -> None:
    for auth in ("aksk", "password"):
        client = client_for(auth)
        client.get_visualization_job(197)
        text = repr(client) + repr(client._transport) + repr(client._ready()[0])
        assert not [secret for secret in CANARY_SECRETS if secret in text]


def test_tls_verification_settings_reach_the_session(client_for: ClientFactory, tmp_path: Path) -> None:
    assert client_for()._transport.session().verify is True
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n", encoding="ascii")
    assert client_for(ca_cert_file=str(bundle))._transport.session().verify == str(bundle)
    assert client_for(insecure=True, ca_cert_file=str(bundle))._transport.session().verify is False
