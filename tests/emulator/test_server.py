"""HTTP behaviour: framing, keep-alive, routing, concurrency, the request log, secrecy and stopping."""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time

import pytest
import requests

from pulumi_modelarts.emulator import EmulatorCredentials, ModelArtsEmulator

from .conftest import Api, jobs_path, signed_get

NOT_PUBLISHED = ("APIG.0101", "The API does not exist or has not been published in the environment")


def test_every_response_is_framed_and_has_a_request_id(api: Api) -> None:
    responses = [api.jobs("/197"), api.jobs("/999"), requests.get(api.em.url + "/nope", timeout=5)]
    for response in responses:
        assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
        assert int(response.headers["Content-Length"]) == len(response.content)
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])
    assert len({response.headers["X-Request-Id"] for response in responses}) == 3


def test_keep_alive_reuses_one_connection_with_nodelay(api: Api) -> None:
    connection = http.client.HTTPConnection(api.em.host, api.em.port, timeout=5)
    connection.connect()
    first_socket = connection.sock
    token = {"X-Auth-Token": api.em.issue_token()}
    for index in range(40):
        if index % 10 == 5:  # a body in between must be consumed exactly
            connection.request("POST", "/v3/auth/tokens", body=json.dumps({"auth": index}))
            assert connection.getresponse().read().startswith(b'{"error_code":"IAM.0011"')
        else:
            connection.request("GET", jobs_path(api.em, "/197"), headers=token)
            assert connection.getresponse().read().startswith(b'{"is_success":true,"job_id":197,')
    assert connection.sock is first_socket  # http.client would have reconnected otherwise
    server = api.em._server
    assert server is not None
    assert all(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for sock in server.connections)
    connection.close()


@pytest.mark.parametrize(
    ("framing", "status"),
    [
        ("Content-Length: abc", 400),
        ("Content-Length: -1", 400),
        ("Content-Length: \u00b2", 400),
        ("Content-Length: " + "9" * 5000, 400),
        ("Transfer-Encoding: chunked", 400),
        (f"Content-Length: {13 * 1024 * 1024}", 413),
    ],
)
def test_unusable_framing_is_refused_and_closed(
    emulator: ModelArtsEmulator, framing: str, status: int
) -> None:
    with socket.create_connection((emulator.host, emulator.port), timeout=5) as sock:
        sock.sendall(f"POST /v3/auth/tokens HTTP/1.1\r\nHost: x\r\n{framing}\r\n\r\n".encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()) and b"Connection: close" in head
    assert json.loads(body)["error_code"] == "APIG.0201"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/{project}/visualization-jobs/"),
        ("GET", "/v1/{project}/visualization-jobs/197/"),
        ("GET", "/v1/{project}/visualization-jobs//197"),
        ("GET", "/v1/{project}/visualization-jobs/197/stop"),
        ("GET", "/v1//visualization-jobs"),
        ("GET", "/v1/{project}/training-jobs"),
        ("POST", "/v1/{project}/visualization-jobs"),
        ("PUT", "/v1/{project}/visualization-jobs/197"),
        ("DELETE", "/v1/{project}/visualization-jobs/197"),
        ("POST", "/v1/{project}/visualization-jobs/197/stop"),
        ("PATCH", "/v1/{project}/visualization-jobs/197"),
        ("GET", "/v3/auth/tokens"),
        ("POST", "/v3/projects"),
        ("GET", "/v2/x/training-jobs"),
    ],
)
def test_unpublished_paths_and_methods(api: Api, method: str, path: str) -> None:
    """The emulator serves reads only; a write reaches the log, so tests can prove none was sent."""
    path = path.format(project=api.em.project_id)
    response = api.request(method, api.em.url + path, json={"job_desc": "x"}, timeout=5)
    assert response.status_code == 404
    assert response.json() == dict(zip(("error_code", "error_msg"), NOT_PUBLISHED, strict=True)) | {
        "request_id": response.headers["X-Request-Id"]
    }
    assert [(r.method, r.path, r.route) for r in api.em.requests] == [(method, path, "unknown")]
    assert api.em.get_job(197) is not None and api.em.get_job(197)["job_desc"] == "ModelArts API Dialtest"  # type: ignore[index]


def test_head_has_a_length_but_no_body(emulator: ModelArtsEmulator) -> None:
    response = requests.head(emulator.url + jobs_path(emulator, "/197"), timeout=5)
    assert (response.status_code, response.content) == (404, b"")
    assert int(response.headers["Content-Length"]) > 0


def test_concurrent_reads_are_correct(api: Api) -> None:
    expected = {job_id: api.jobs(f"/{job_id}").content for job_id in (197, 212, 230, 245)}
    expected_page = api.jobs(per_page=2, page=2).content
    api.em.clear_requests()
    failures: list[str] = []

    def reader(seed: int) -> None:
        with Api(api.em) as client:
            for index in range(25):
                if (seed + index) % 5 == 0:
                    got, want = client.jobs(per_page=2, page=2).content, expected_page
                else:
                    job_id = (197, 212, 230, 245)[(seed + index) % 4]
                    got, want = client.jobs(f"/{job_id}").content, expected[job_id]
                if got != want:
                    failures.append(got[:80].decode())

    threads = [threading.Thread(target=reader, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert [record.status for record in api.em.requests] == [200] * 8 * 25


def test_the_request_log_records_what_happened(emulator: ModelArtsEmulator) -> None:
    before = time.monotonic()
    requests.get(emulator.url + jobs_path(emulator, "/197"), timeout=5)
    signed_get(emulator, "/v3/projects", [("name", "eu-de")])
    requests.delete(emulator.url + "/v1/x", timeout=5)
    records = emulator.requests
    assert [(r.method, r.path, r.route, r.status, r.auth) for r in records] == [
        ("GET", jobs_path(emulator, "/197"), "get_job", 401, None),
        ("GET", "/v3/projects", "iam_projects", 200, "aksk"),
        ("DELETE", "/v1/x", "unknown", 404, None),
    ]
    assert (records[0].query, records[1].query) == ({}, {"name": ["eu-de"]})
    assert before <= records[0].time <= records[1].time <= records[2].time <= time.monotonic()
    emulator.clear_requests()
    assert emulator.requests == []


def test_a_drained_log_is_empty_and_keeps_the_records(api: Api) -> None:
    api.jobs("/197")
    api.jobs(page=2, search_content="a b")
    drained = api.em.drain_requests()
    assert [(r.route, r.status, r.auth, r.query) for r in drained] == [
        ("get_job", 200, "token", {}),
        ("list_jobs", 200, "token", {"page": ["2"], "search_content": ["a b"]}),
    ]
    assert api.em.requests == []


def test_secrets_never_leak() -> None:
    secret_key, password = "CANARY-SECRET-7f3e9a1c5b", "CANARY-PASSWORD-2d8b4f6e"
    credentials = EmulatorCredentials(access_key="CANARYAK", secret_key=secret_key, password=password)
    with ModelArtsEmulator([{"job_name": "a"}], credentials=credentials) as em:
        token = em.environ(auth="token")["HW_AUTH_TOKEN"]
        user = {"name": "x", "password": password, "domain": {"name": credentials.domain_name}}
        login = {"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}}
        responses = [
            requests.post(f"{em.iam_url}/auth/tokens", json=login, timeout=5),
            signed_get(em, jobs_path(em, "/1")),
            signed_get(em, jobs_path(em, "/1"), skew=3600),
            requests.get(em.url + jobs_path(em, "/1"), headers={"X-Auth-Token": token}, timeout=5),
        ]
        assert [r.status_code for r in responses] == [401, 200, 401, 200]
        texts = [r.text + json.dumps(dict(r.headers)) for r in responses]
        texts += [repr(em), repr(em.requests), repr(em.credentials)]
        texts.append(json.dumps({k: v for k, v in em.describe().items() if k != "credentials"}))
        assert em.describe()["credentials"]["secret_key"] == secret_key  # the CLI prints them
    assert token not in repr(em.requests)
    assert not [text for text in texts if secret_key in text or password in text]


def test_the_access_log_is_silent(emulator: ModelArtsEmulator, capfd: pytest.CaptureFixture[str]) -> None:
    emulator.inject_fault("get_job", drop=True)
    requests.get(emulator.url + "/nothing", timeout=5)
    with pytest.raises(requests.ConnectionError):
        requests.get(emulator.url + jobs_path(emulator, "/197"), timeout=5)
    emulator.stop()
    assert capfd.readouterr().err == ""


def test_stop_closes_keep_alive_connections_and_a_restart_serves_again() -> None:
    em = ModelArtsEmulator([{"job_name": "a"}]).start()
    headers = {"X-Auth-Token": em.issue_token()}
    connection = http.client.HTTPConnection(em.host, em.port, timeout=5)
    connection.request("GET", jobs_path(em, "/1"), headers=headers)
    assert connection.getresponse().read()
    url = em.url
    em.stop()
    em.stop()  # idempotent

    def reuse() -> None:
        connection.request("GET", jobs_path(em, "/1"), headers=headers)
        connection.getresponse()

    with pytest.raises((OSError, http.client.HTTPException)):
        reuse()
    connection.close()
    with em:
        assert em.url == url
        assert requests.get(em.url + jobs_path(em, "/1"), headers=headers, timeout=5).status_code == 200


def test_the_url_needs_a_port() -> None:
    em = ModelArtsEmulator()
    assert "not started" in repr(em)
    with pytest.raises(RuntimeError, match="start"):
        _ = em.url
    assert ModelArtsEmulator(port=8123).url == "http://127.0.0.1:8123"
    assert ModelArtsEmulator(host="0.0.0.0", port=8123).iam_url == "http://127.0.0.1:8123/v3"


def test_ipv6_loopback() -> None:
    try:
        em = ModelArtsEmulator([{"job_name": "six"}], host="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback")
    with em, Api(em) as client:
        assert em.url == f"http://[::1]:{em.port}"
        assert client.jobs("/1").json()["job_name"] == "six"
