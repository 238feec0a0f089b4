"""HTTP behaviour: framing, keep-alive, routing, concurrency, the request log, secrecy and stopping."""

from __future__ import annotations

import http.client
import json
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from pulumi_modelarts.emulator import ModelArtsEmulator
from tests.checks import CANARY

from .conftest import Api, jobs_path, signed_get


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
    first_socket, token = connection.sock, {"X-Auth-Token": api.em.issue_token()}
    for index in range(40):
        if index % 10 == 5:  # a body in between must be consumed exactly
            connection.request("POST", "/v3/auth/tokens", body=json.dumps({"auth": index}))
            assert connection.getresponse().read().startswith(b'{"error_code":"IAM.0011"')
        else:
            connection.request("GET", jobs_path(api.em, "/197"), headers=token)
            assert connection.getresponse().read().startswith(b'{"is_success":true,"job_id":197,')
    assert connection.sock is first_socket  # http.client would have reconnected otherwise
    assert api.em._server is not None and api.em._server.connections
    assert all(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for sock in api.em._server.connections)
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
        ("GET", "/v1/{p}/visualization-jobs/"),
        ("GET", "/v1/{p}/visualization-jobs//197"),
        ("GET", "/v1/{p}/training-jobs"),
        ("POST", "/v1/{p}/visualization-jobs"),
        ("PUT", "/v1/{p}/visualization-jobs/197"),
        ("DELETE", "/v1/{p}/visualization-jobs/197"),
        ("POST", "/v1/{p}/visualization-jobs/197/stop"),
        ("GET", "/v3/auth/tokens"),
        ("POST", "/v3/projects"),
    ],
)
def test_only_reads_are_published(api: Api, method: str, path: str) -> None:
    """Anything else gets the gateway's 404 and reaches the log, so tests can prove it was never sent."""
    path = path.format(p=api.em.project_id)
    response = api.request(method, api.em.url + path, json={"job_desc": "x"}, timeout=5)
    message = "The API does not exist or has not been published in the environment"
    assert (response.status_code, response.json()) == (
        404,
        {"error_code": "APIG.0101", "error_msg": message, "request_id": response.headers["X-Request-Id"]},
    )
    assert [(r.method, r.path, r.route) for r in api.em.requests] == [(method, path, "unknown")]
    assert (len(api.em.jobs()), api.em.jobs()[0]["job_desc"]) == (4, "ModelArts API Dialtest")


def test_concurrent_reads_are_correct(api: Api) -> None:
    expected = {suffix: api.jobs(suffix).content for suffix in ("", "/197", "/212", "/230", "/245")}
    api.em.clear_requests()

    def read(seed: int) -> list[str]:
        with Api(api.em) as client:
            suffixes = [list(expected)[(seed + index) % 5] for index in range(25)]
            return [suffix for suffix in suffixes if client.jobs(suffix).content != expected[suffix]]

    with ThreadPoolExecutor(8) as pool:
        assert [wrong for wrong in pool.map(read, range(8)) if wrong] == []
    assert [record.status for record in api.em.requests] == [200] * 8 * 25


def test_the_request_log(api: Api) -> None:
    started = time.monotonic()
    api.jobs(page=2, search_content="a b")
    requests.get(api.base + "/197", timeout=5)
    signed_get(api.em, "/v3/projects", [("name", "eu-de")])
    records = api.em.drain_requests()
    assert [(r.method, r.path, r.route, r.status, r.auth, r.query) for r in records] == [
        ("GET", jobs_path(api.em), "list_jobs", 200, "token", {"page": ["2"], "search_content": ["a b"]}),
        ("GET", jobs_path(api.em, "/197"), "get_job", 401, None, {}),
        ("GET", "/v3/projects", "iam_projects", 200, "aksk", {"name": ["eu-de"]}),
    ]
    assert started <= records[0].time <= records[1].time <= records[2].time <= time.monotonic()
    api.jobs()
    assert len(api.em.requests) == 1
    api.em.clear_requests()
    assert api.em.requests == []


def test_secrets_never_leak(capfd: pytest.CaptureFixture[str]) -> None:
    """The access key is no secret (the gateway echoes it); the secret key and password are."""
    with ModelArtsEmulator([{"job_name": "a"}], credentials=CANARY) as em:
        token = em.environ(auth="token")["HW_AUTH_TOKEN"]
        user = {"name": "x", "password": CANARY.password, "domain": {"name": CANARY.domain_name}}
        login = {"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}}
        em.inject_fault("unknown", drop=True)
        with pytest.raises(requests.ConnectionError):
            requests.get(em.url + "/dropped", timeout=5)
        responses = [
            requests.post(f"{em.iam_url}/auth/tokens", json=login, timeout=5),
            signed_get(em, jobs_path(em, "/1")),
            signed_get(em, jobs_path(em, "/1"), skew=3600),
            requests.get(em.url + jobs_path(em, "/1"), headers={"X-Auth-Token": token}, timeout=5),
        ]
        assert [r.status_code for r in responses] == [401, 200, 401, 200]
        shown = [r.text + json.dumps(dict(r.headers)) for r in responses] + [repr(em), repr(em.requests)]
        shown.append(json.dumps({k: v for k, v in em.describe().items() if k != "credentials"}))
    assert not [text for text in shown if CANARY.secret_key in text or CANARY.password in text]
    assert token not in repr(em.requests) and capfd.readouterr().err == ""  # no access log either


def test_stop_closes_keep_alive_connections_and_a_restart_serves_again() -> None:
    em = ModelArtsEmulator([{"job_name": "a"}])
    assert "not started" in repr(em)
    with pytest.raises(RuntimeError, match="start"):
        _ = em.url
    em.start()
    url, headers = em.url, {"X-Auth-Token": em.issue_token()}
    connection = http.client.HTTPConnection(em.host, em.port, timeout=5)
    connection.request("GET", jobs_path(em, "/1"), headers=headers)
    assert connection.getresponse().read()
    em.stop()
    em.stop()  # idempotent

    def reuse() -> None:
        connection.request("GET", jobs_path(em, "/1"), headers=headers)
        connection.getresponse()

    with pytest.raises((OSError, http.client.HTTPException)):
        reuse()
    connection.close()
    with em:
        assert requests.get(url + jobs_path(em, "/1"), headers=headers, timeout=5).status_code == 200


def test_every_interface_is_reached_through_loopback() -> None:
    assert ModelArtsEmulator(host="0.0.0.0", port=8123).iam_url == "http://127.0.0.1:8123/v3"
    assert ModelArtsEmulator(host="::", port=8123).url == "http://[::1]:8123"


def test_ipv6_loopback() -> None:
    try:
        em = ModelArtsEmulator([{"job_name": "six"}], host="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback")
    with em, Api(em) as client:
        assert em.iam_url == f"http://[::1]:{em.port}/v3"
        assert client.jobs("/1").json()["job_name"] == "six"
