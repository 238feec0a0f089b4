"""The client against the emulator over loopback HTTP: reads, errors, retries, auth, threads."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from canaries import CANARY, CANARY_SECRETS
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
from pulumi_modelarts.settings import Settings

ClientFactory = Callable[..., ModelArtsClient]


def _routes(emulator: ModelArtsEmulator) -> list[tuple[str, int]]:
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
    assert job.created_at == "2019-08-07T03:48:56Z"
    assert client.project_id == emulator.project_id
    details = [r for r in emulator.requests if r.route == "get_job"]
    assert [(r.method, r.path) for r in details] == [
        ("GET", f"/v1/{emulator.project_id}/visualization-jobs/197")
    ]
    assert details[0].auth == ("aksk" if auth == "aksk" else "token")


def test_outputs_from_a_live_read(client: ModelArtsClient, emulator: ModelArtsEmulator) -> None:
    outputs = client.get_visualization_job("197").to_outputs(
        project_id=client.project_id, region=client.region
    )
    assert tuple(outputs) == OUTPUT_FIELDS
    assert outputs["job_type"] == "TensorBoard" and outputs["flavor_code"] == "modelarts.vm.cpu.2u"
    assert outputs["service_url"] == emulator.get_job(197)["service_url"]  # type: ignore[index]
    assert outputs == client.get_visualization_job(197).to_outputs(
        project_id=client.project_id, region=client.region
    )


def test_list_pages_until_the_total_is_reached(client: ModelArtsClient, emulator: ModelArtsEmulator) -> None:
    for index in range(21):
        emulator.add_job(f"bulk-{index:02d}", status=10)
    emulator.clear_requests()
    jobs = list(client.list_visualization_jobs(per_page=10))
    assert len(jobs) == 25 and [job.job_id for job in jobs] == sorted(job.job_id for job in jobs)
    pages = [record.query["page"] for record in emulator.requests if record.route == "list_jobs"]
    assert pages == [["1"], ["2"], ["3"]]


def test_list_filters_and_order(client: ModelArtsClient) -> None:
    running = [job.job_id for job in client.list_visualization_jobs(status=8)]
    assert running and all(job.status == 8 for job in client.list_visualization_jobs(status=8))
    descending = [job.job_id for job in client.list_visualization_jobs(order="desc")]
    assert descending == sorted(descending, reverse=True)
    assert list(client.list_visualization_jobs(search_content="no-such-name")) == []


def test_find_picks_the_exact_name_among_fuzzy_matches(
    client: ModelArtsClient, emulator: ModelArtsEmulator
) -> None:
    exact = emulator.add_job("board", status=8)
    emulator.add_job("board-2", status=8)
    emulator.add_job("dashboard", status=8)
    job = client.find_visualization_job("board")
    assert job.job_id == exact["job_id"] and job.job_type == "TensorBoard"  # full details, not the list item


def test_find_errors_name_the_problem(client: ModelArtsClient, emulator: ModelArtsEmulator) -> None:
    with pytest.raises(JobNotFoundError, match="no visualization job is named 'ghost'"):
        client.find_visualization_job("ghost")
    first = emulator.add_job("twin")["job_id"]
    second = emulator.add_job("twin")["job_id"]
    with pytest.raises(AmbiguousJobNameError) as caught:
        client.find_visualization_job("twin")
    assert f"IDs {first}, {second}" in str(caught.value)


# -- errors -------------------------------------------------------------------------------------


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
    message = str(error)
    for part in (
        "get visualization job",
        "job 4242",
        f"project {emulator.project_id}",
        f"host {emulator.url.split('//')[1]}",
        f"HTTP {status}",
        code,
        f"request-id {error.request_id}",
    ):
        assert part in message
    assert error.request_id and "\n" not in message
    assert len(emulator.requests) == 1  # not retried


def test_success_status_with_is_success_false_is_an_error(
    client: ModelArtsClient, emulator: ModelArtsEmulator
) -> None:
    body = {"is_success": False, "error_code": "ModelArts.2775", "error_message": "job gone"}
    emulator.inject_fault("get_job", status=200, body=json.dumps(body), content_type="application/json")
    with pytest.raises(JobNotFoundError, match="job gone"):
        client.get_visualization_job(197)
    emulator.inject_fault(
        "get_job",
        status=200,
        body=json.dumps({**body, "error_code": "ModelArts.0104"}),
        content_type="application/json",
    )
    with pytest.raises(ServiceError, match="ModelArts.0104"):
        client.get_visualization_job(197)


def test_wrong_credentials_are_not_retried(client_for: ClientFactory, emulator: ModelArtsEmulator) -> None:
    bad = client_for(secret_key="not-the-secret-key")
    with pytest.raises(AuthenticationError) as caught:
        bad.get_visualization_job(197)
    assert caught.value.status == 401 and caught.value.error_code == "APIG.0301"
    assert _routes(emulator) == [("get_job", 401)]


def test_wrong_password_fails_at_iam(client_for: ClientFactory, emulator: ModelArtsEmulator) -> None:
    bad = client_for("password", password="not-the-password")
    with pytest.raises(AuthenticationError, match="IAM token request"):
        bad.get_visualization_job(197)


def test_project_that_does_not_match_the_token(
    client_for: ClientFactory, emulator: ModelArtsEmulator
) -> None:
    emulator.add_project("eu-de_other", "0000000000000000000000000000beef")
    client = client_for("token", project_id="0000000000000000000000000000beef")
    with pytest.raises(PermissionDeniedError) as caught:
        client.get_visualization_job(197)
    assert caught.value.error_code == "ModelArts.0210" and "does not match the credentials" in str(
        caught.value
    )


def test_endpoint_without_the_api_is_a_configuration_error(
    client_for: ClientFactory, emulator: ModelArtsEmulator
) -> None:
    client = client_for(endpoint=f"{emulator.url}/wrong-prefix")
    with pytest.raises(ConfigurationError, match="does not serve this API"):
        client.get_visualization_job(197)


@pytest.mark.parametrize(
    ("fault", "error", "fragment"),
    [
        (
            {
                "body": "<html><body>502 Bad Gateway</body></html>",
                "status": 502,
                "content_type": "text/html",
                "count": 9,
            },
            ServiceError,
            "502 Bad Gateway",
        ),
        ({"body": "<html>maintenance</html>", "content_type": "text/html"}, InvalidResponseError, "not JSON"),
        ({"truncate": True}, InvalidResponseError, "not JSON"),
        (
            {"body": json.dumps({"job_id": 197, "job_name": "apiTest-11", "status": "running"})},
            InvalidResponseError,
            "'status'",
        ),
        ({"body": json.dumps([1, 2])}, InvalidResponseError, "expected a JSON object"),
        (
            {"body": b"{" + b" " * (12 * 1024 * 1024) + b"}", "content_type": "application/json"},
            InvalidResponseError,
            "10 MiB",
        ),
        (
            {"body": "<html>not here</html>", "status": 404, "content_type": "text/html"},
            InvalidResponseError,
            "non-API body",
        ),
    ],
)
def test_broken_responses_give_typed_errors_with_an_excerpt(
    client_for: ClientFactory,
    emulator: ModelArtsEmulator,
    fault: dict[str, object],
    error: type[ModelArtsError],
    fragment: str,
) -> None:
    client = client_for(max_retries=1)
    emulator.inject_fault("get_job", **fault)  # type: ignore[arg-type]
    with pytest.raises(error) as caught:
        client.get_visualization_job(197)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 700
    emulator.clear_faults()
    assert client.get_visualization_job(197).job_id == 197  # the client is still usable


def test_the_answer_must_be_the_job_asked_for(client: ModelArtsClient, emulator: ModelArtsEmulator) -> None:
    emulator.inject_fault("get_job", body=json.dumps({"job_id": 5, "job_name": "x", "status": 8}))
    with pytest.raises(InvalidResponseError, match="answered with job 5"):
        client.get_visualization_job(197)


def test_server_text_is_scrubbed_of_secrets(client: ModelArtsClient, emulator: ModelArtsEmulator) -> None:
    leak = f"bad key {CANARY_SECRETS[1]} for {CANARY_SECRETS[0]}"
    emulator.inject_fault("get_job", status=400, error_code="ModelArts.0104", error_message=leak)
    with pytest.raises(ServiceError) as caught:
        client.get_visualization_job(197)
    for secret in CANARY_SECRETS:
        assert secret not in str(caught.value)
    assert "bad key *** for ***" in str(caught.value)


# -- retries ------------------------------------------------------------------------------------


def test_429_with_retry_after_is_honoured(client: ModelArtsClient, emulator: ModelArtsEmulator) -> None:
    emulator.inject_fault("get_job", status=429, error_code="APIG.0308", retry_after=1, count=2)
    started = time.monotonic()
    assert client.get_visualization_job(197).job_id == 197
    assert time.monotonic() - started >= 2.0  # waited as told, twice
    assert _routes(emulator)[-3:] == [("get_job", 429), ("get_job", 429), ("get_job", 200)]


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500, "error_code": "ModelArts.5039", "count": 3},
        {"status": 503, "error_code": "ModelArts.4302", "count": 3},
        {"status": 502, "count": 2},
        {"status": 504, "error_code": "ModelArts.4503", "count": 1},
        {"drop": True, "count": 2},
        {"reset": True, "count": 2},
    ],
)
def test_transient_faults_recover_within_the_budget(
    client: ModelArtsClient, emulator: ModelArtsEmulator, fault: dict[str, object]
) -> None:
    emulator.inject_fault("get_job", **fault)  # type: ignore[arg-type]
    assert client.get_visualization_job(197).job_name == "apiTest-11"
    assert [r.route for r in emulator.requests].count("get_job") == int(fault["count"]) + 1  # type: ignore[call-overload]


def test_read_timeout_is_retried(client_for: ClientFactory, emulator: ModelArtsEmulator) -> None:
    client = client_for(read_timeout=0.3)
    emulator.inject_fault("get_job", delay=1.0)
    assert client.get_visualization_job(197).job_id == 197


@pytest.mark.parametrize(
    ("fault", "error", "fragment"),
    [
        ({"status": 503, "error_code": "ModelArts.4302"}, ServiceError, "after 3 attempts"),
        ({"status": 429, "error_code": "APIG.0308"}, ThrottledError, "throttled after 3 attempts"),
        ({"status": 500, "error_code": "ModelArts.5039"}, ThrottledError, "ModelArts.5039"),
        ({"drop": True}, ServiceError, "after 3 attempt(s)"),
    ],
)
def test_faults_beyond_the_budget_give_a_clear_error(
    client_for: ClientFactory,
    emulator: ModelArtsEmulator,
    fault: dict[str, object],
    error: type[ModelArtsError],
    fragment: str,
) -> None:
    client = client_for(max_retries=2)
    emulator.inject_fault("get_job", count=50, **fault)  # type: ignore[arg-type]
    with pytest.raises(error) as caught:
        client.get_visualization_job(197)
    assert fragment in str(caught.value)
    assert [r.route for r in emulator.requests].count("get_job") == 3


def test_a_long_retry_after_is_not_slept_past_the_deadline(
    client_for: ClientFactory, emulator: ModelArtsEmulator
) -> None:
    client = client_for(timeout=5)
    emulator.inject_fault("get_job", status=429, retry_after=3600, count=50)
    started = time.monotonic()
    with pytest.raises(ThrottledError, match="server asks to wait 3600 s"):
        client.get_visualization_job(197)
    assert time.monotonic() - started < 5  # gave up instead of sleeping an hour (or the 60 s cap)
    assert [r.route for r in emulator.requests].count("get_job") == 1


def test_retries_stop_at_the_call_deadline(client_for: ClientFactory, emulator: ModelArtsEmulator) -> None:
    client = client_for(timeout=2.5, max_retries=20)
    emulator.inject_fault("get_job", status=429, retry_after=1, count=50)
    with pytest.raises(ThrottledError):
        client.get_visualization_job(197)
    attempts = [r.route for r in emulator.requests].count("get_job")
    assert 2 <= attempts <= 3  # about one attempt per second within 2.5 s, not 21


# -- authentication -----------------------------------------------------------------------------


def test_one_token_request_for_a_hundred_reads(
    client_for: ClientFactory, emulator: ModelArtsEmulator
) -> None:
    client = client_for("password")
    for _ in range(100):
        client.get_visualization_job(197)
    routes = [r.route for r in emulator.requests]
    assert routes.count("iam_token") == 1 and routes.count("get_job") == 100


def test_concurrent_first_use_fetches_one_token(
    client_for: ClientFactory, emulator: ModelArtsEmulator
) -> None:
    client = client_for("password", include_project=False)
    barrier = threading.Barrier(16)

    def read(_: int) -> int:
        barrier.wait()
        return client.get_visualization_job(212).job_id

    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(read, range(16))) == {212}
    assert [r.route for r in emulator.requests].count("iam_token") == 1


def test_expired_token_is_renewed_once_and_the_read_replayed(
    client_for: ClientFactory, emulator: ModelArtsEmulator
) -> None:
    client = client_for("password")
    client.get_visualization_job(197)
    emulator.expire_tokens()
    emulator.clear_requests()
    assert client.get_visualization_job(197).job_id == 197
    assert _routes(emulator) == [("get_job", 401), ("iam_token", 201), ("get_job", 200)]


def test_a_401_after_renewal_is_an_authentication_error(
    client_for: ClientFactory, emulator: ModelArtsEmulator
) -> None:
    client = client_for("password")
    client.get_visualization_job(197)
    emulator.clear_requests()
    emulator.inject_fault(
        "get_job", status=401, error_code="APIG.0307", error_message="The token must be updated", count=5
    )
    with pytest.raises(AuthenticationError, match="APIG.0307"):
        client.get_visualization_job(197)
    assert [route for route, _ in _routes(emulator)] == ["get_job", "iam_token", "get_job"]


def test_an_expired_static_token_cannot_be_renewed(
    client_for: ClientFactory, emulator: ModelArtsEmulator
) -> None:
    client = client_for("token")
    emulator.expire_tokens()
    with pytest.raises(AuthenticationError, match="The token must be updated"):
        client.get_visualization_job(197)
    assert [r.route for r in emulator.requests].count("get_job") == 1


def test_project_discovery_is_cached_per_process(emulator: ModelArtsEmulator) -> None:
    environ = emulator.environ("aksk", include_project=False)
    for _ in range(3):
        client = ModelArtsClient(Settings.from_sources(environ=environ))
        assert client.get_visualization_job(197).job_id == 197
    lookups = [r for r in emulator.requests if r.route == "iam_projects"]
    assert len(lookups) == 1 and lookups[0].query == {"name": ["eu-de"]}


def test_project_discovery_needs_exactly_one_match(emulator: ModelArtsEmulator) -> None:
    environ = {**emulator.environ("aksk", include_project=False), "HW_PROJECT_NAME": "eu-de_twins"}
    emulator.add_project("eu-de_twins", "11111111111111111111111111111111")
    emulator.add_project("eu-de_twins", "22222222222222222222222222222222")
    with pytest.raises(ConfigurationError) as caught:
        ModelArtsClient(Settings.from_sources(environ=environ)).get_visualization_job(197)
    assert "2 IAM projects named 'eu-de_twins'" in str(caught.value)
    assert "11111111111111111111111111111111, 22222222222222222222222222222222" in str(caught.value)
    environ["HW_PROJECT_NAME"] = "eu-de_nothing"
    with pytest.raises(ConfigurationError, match="no IAM project named 'eu-de_nothing'"):
        ModelArtsClient(Settings.from_sources(environ=environ)).get_visualization_job(197)


# -- connections and threads --------------------------------------------------------------------


def test_keep_alive_reuses_one_connection(client: ModelArtsClient, emulator: ModelArtsEmulator) -> None:
    for _ in range(50):
        client.get_visualization_job(197)
    pools = client._transport.session().get_adapter(emulator.url).poolmanager.pools  # type: ignore[attr-defined]
    assert [pools[key].num_connections for key in pools.keys()] == [1]  # noqa: SIM118 - no __iter__


def test_sixteen_threads_share_one_client(client_for: ClientFactory, emulator: ModelArtsEmulator) -> None:
    client = client_for("password")
    expected = {job["job_id"]: job["job_name"] for job in emulator.jobs()}
    ids = sorted(expected)
    errors: list[BaseException] = []

    def worker(index: int) -> int:
        done = 0
        for round_ in range(50):
            job_id = ids[(index + round_) % len(ids)]
            job = client.get_visualization_job(job_id)
            if job.job_name != expected[job_id] or job.job_id != job_id:
                errors.append(AssertionError(f"thread {index} got {job.job_id} for {job_id}"))
            done += 1
        return done

    with ThreadPoolExecutor(16) as pool:
        assert sum(pool.map(worker, range(16))) == 800
    assert errors == []
    routes = [r.route for r in emulator.requests]
    assert routes.count("get_job") == 800 and routes.count("iam_token") == 1


def test_repr_of_client_and_transport_hide_secrets(client_for: ClientFactory) -> None:
    for auth in ("aksk", "password"):
        client = client_for(auth)
        client.get_visualization_job(197)
        text = repr(client) + repr(client._transport) + repr(client._ready()[0])
        for secret in CANARY_SECRETS:
            assert secret not in text


def test_retry_after_is_capped_at_a_minute() -> None:
    from urllib3 import HTTPResponse

    from pulumi_modelarts.transport import RETRY_AFTER_CAP_SECONDS, BoundedRetry

    retry = BoundedRetry(total=3, respect_retry_after_header=True, retry_after_max=RETRY_AFTER_CAP_SECONDS)
    assert retry.get_retry_after(HTTPResponse(status=429, headers={"Retry-After": "3600"})) == 60
    assert retry.get_retry_after(HTTPResponse(status=429, headers={"Retry-After": "2"})) == 2
    for garbled in ("soon", "nan", "inf", "1e999", "-1"):
        assert retry.get_retry_after(HTTPResponse(status=429, headers={"Retry-After": garbled})) is None


def test_tls_verification_settings_reach_the_session(client_for: ClientFactory, tmp_path: Path) -> None:
    assert client_for()._transport.session().verify is True
    bundle = str(tmp_path / "ca.pem")
    Path(bundle).write_text("-----BEGIN CERTIFICATE-----\n", encoding="ascii")
    assert client_for(ca_cert_file=bundle)._transport.session().verify == bundle
    assert client_for(insecure=True, ca_cert_file=bundle)._transport.session().verify is False


def test_token_is_renewed_shortly_before_it_expires() -> None:
    with ModelArtsEmulator(token_ttl=1.0) as emulator:
        emulator.add_job("short-lived")
        client = ModelArtsClient(Settings.from_sources(environ=emulator.environ("password")))
        client.get_visualization_job(1)
        time.sleep(0.95)  # within the last tenth of the token's life
        client.get_visualization_job(1)
    assert _routes(emulator) == [("iam_token", 201), ("get_job", 200), ("iam_token", 201), ("get_job", 200)]


# -- hardening (issue 7) ------------------------------------------------------------------------


@pytest.mark.parametrize("padding", ["\n", "\r\n", " \t"], ids=repr)
@pytest.mark.parametrize("auth", ["aksk", "token", "password"])
def test_credentials_with_stray_whitespace_still_read(
    emulator: ModelArtsEmulator, auth: str, padding: str
) -> None:
    """A Secret made from a file ends in a newline; it must reach IAM and the gateway without it."""
    environ = {
        name: value + padding if name in SECRET_VARIABLES else value
        for name, value in emulator.environ(auth).items()
    }
    client = ModelArtsClient(Settings.from_sources(environ=environ))
    assert client.get_visualization_job(197).job_id == 197


SECRET_VARIABLES = {"HW_ACCESS_KEY", "HW_SECRET_KEY", "HW_AUTH_TOKEN", "HW_USER_PASSWORD", "HW_USER_NAME"}


def test_a_password_outside_ascii_logs_in() -> None:
    credentials = dataclasses.replace(CANARY, password="p\u00e4ss-w\u00f6rd-\u5bc6\u7801-9e107d")
    with ModelArtsEmulator.from_seed_file(SAMPLE_JOBS_PATH, credentials=credentials) as emulator:
        client = ModelArtsClient(Settings.from_sources(environ=emulator.environ("password")))
        assert client.get_visualization_job(197).job_id == 197


def test_find_by_name_speaks_of_the_name(client: ModelArtsClient) -> None:
    with pytest.raises(JobNotFoundError) as caught:
        client.find_visualization_job("ghost")
    assert "Check the name" in str(caught.value) and "job ID" not in str(caught.value)
