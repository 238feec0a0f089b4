"""HTTP behaviour: keep-alive, framing, routing, concurrency, the request log and secrecy."""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time
from typing import Any

import pytest
import requests

from pulumi_modelarts.emulator import EmulatorCredentials, ModelArtsEmulator

from .conftest import Api, FakeClock, password_auth_body, signed_request


def job_path(em: ModelArtsEmulator, suffix: str = "/197") -> str:
    return f"/v1/{em.project_id}/visualization-jobs{suffix}"


def test_every_response_has_framing_headers(api: Api) -> None:
    seen: set[str] = set()
    for response in (api.get("/197"), api.get("/999"), requests.get(api.em.url + "/nope", timeout=5)):
        assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
        assert int(response.headers["Content-Length"]) == len(response.content)
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])
        seen.add(response.headers["X-Request-Id"])
    assert len(seen) == 3


def test_keep_alive_reuses_one_connection(api: Api) -> None:
    token = api.session.headers["X-Auth-Token"]
    assert isinstance(token, str)
    headers = {"X-Auth-Token": token, "Content-Type": "application/json"}
    connection = http.client.HTTPConnection(api.em.host, api.em.port, timeout=5)
    connection.connect()
    first_socket = connection.sock
    started = time.monotonic()
    for index in range(100):
        if index % 10 == 5:  # bodies in between must be consumed exactly
            body = json.dumps({"job_desc": f"round {index}"})
            connection.request("PUT", job_path(api.em), body=body, headers=headers)
        else:
            connection.request("GET", job_path(api.em), headers=headers)
        response = connection.getresponse()
        payload = response.read()
        assert response.status == 200, payload
    elapsed = time.monotonic() - started
    assert connection.sock is first_socket  # http.client would have reconnected otherwise
    connection.close()
    assert api.em.get_job(197)["job_desc"] == "round 95"  # type: ignore[index]
    # Generous bound: a delayed-ACK stall (no TCP_NODELAY, split writes) costs ~40 ms per call.
    assert elapsed < 2.0


def test_accepted_sockets_have_tcp_nodelay(api: Api) -> None:
    connection = http.client.HTTPConnection(api.em.host, api.em.port, timeout=5)
    connection.request("GET", job_path(api.em), headers={"X-Auth-Token": api.em.issue_token()})
    connection.getresponse().read()
    server = api.em._server
    assert server is not None
    accepted = list(server._connections)
    assert accepted
    assert all(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for sock in accepted)
    connection.close()


def test_chunked_request_body(api: Api) -> None:
    token = api.session.headers["X-Auth-Token"]
    assert isinstance(token, str)
    connection = http.client.HTTPConnection(api.em.host, api.em.port, timeout=5)
    connection.request(
        "PUT",
        job_path(api.em, "/212"),
        body=iter([b'{"job_desc"', b': "sent in chunks"}']),
        headers={"X-Auth-Token": token, "Transfer-Encoding": "chunked"},
        encode_chunked=True,
    )
    assert connection.getresponse().read() == b'{"is_success":true}'
    connection.request("GET", job_path(api.em, "/212"), headers={"X-Auth-Token": token})
    assert json.loads(connection.getresponse().read())["job_desc"] == "sent in chunks"
    connection.close()


@pytest.mark.parametrize(
    ("content_length", "status"), [("abc", 400), ("-1", 400), (str(13 * 1024 * 1024), 413)]
)
def test_unusable_content_length_is_refused_and_closed(
    emulator: ModelArtsEmulator, content_length: str, status: int
) -> None:
    with socket.create_connection((emulator.host, emulator.port), timeout=5) as sock:
        sock.sendall(
            f"PUT {job_path(emulator)} HTTP/1.1\r\nHost: x\r\nContent-Length: {content_length}\r\n\r\n".encode()
        )
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode())
    assert b"Connection: close" in head
    assert json.loads(body)["error_code"] == "APIG.0201"


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", "/"),
        ("GET", "/197/"),
        ("PATCH", "/197"),
        ("POST", "/197"),
        ("DELETE", ""),
        ("GET", "/197/stop"),
        ("POST", "/197/pause"),
        ("POST", "/197/stop/now"),
        ("GET", "//197"),
    ],
)
def test_unpublished_paths_and_methods(emulator: ModelArtsEmulator, method: str, suffix: str) -> None:
    emulator.clear_requests()
    response = requests.request(method, emulator.url + job_path(emulator, suffix), timeout=5)
    assert response.status_code == 404
    assert response.json() == {
        "error_code": "APIG.0101",
        "error_msg": "The API does not exist or has not been published in the environment",
        "request_id": response.headers["X-Request-Id"],
    }
    assert emulator.requests[-1].route == "unknown"


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/v3/auth/tokens"), ("POST", "/v3/projects"), ("GET", "/v2/x/training-jobs")]
)
def test_unpublished_iam_and_other_paths(emulator: ModelArtsEmulator, method: str, path: str) -> None:
    assert requests.request(method, emulator.url + path, timeout=5).status_code == 404


def test_head_has_length_but_no_body(emulator: ModelArtsEmulator) -> None:
    response = requests.head(emulator.url + job_path(emulator), timeout=5)
    assert response.status_code == 404
    assert int(response.headers["Content-Length"]) > 0
    assert response.content == b""


def test_concurrent_reads_are_correct(api: Api) -> None:
    expected = {job_id: api.get(f"/{job_id}").content for job_id in (197, 212, 230, 245)}
    expected_list = api.get(per_page=2, page=2).content
    token = api.session.headers["X-Auth-Token"]
    failures: list[str] = []
    api.em.clear_requests()

    def reader(seed: int) -> None:
        with requests.Session() as session:
            session.headers["X-Auth-Token"] = token
            for index in range(50):
                if (seed + index) % 5 == 0:
                    got = session.get(api.base, params={"per_page": 2, "page": 2}, timeout=5).content
                    if got != expected_list:
                        failures.append(f"list: {got[:80]!r}")
                else:
                    job_id = (197, 212, 230, 245)[(seed + index) % 4]
                    got = session.get(f"{api.base}/{job_id}", timeout=5).content
                    if got != expected[job_id]:
                        failures.append(f"{job_id}: {got[:80]!r}")

    threads = [threading.Thread(target=reader, args=(seed,)) for seed in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    records = api.em.requests
    assert len(records) == 16 * 50
    assert {record.status for record in records} == {200}


def test_concurrent_creates_get_distinct_ids(api: Api) -> None:
    created: list[int] = []
    token = api.session.headers["X-Auth-Token"]

    def creator(seed: int) -> None:
        with requests.Session() as session:
            session.headers["X-Auth-Token"] = token
            for index in range(10):
                body = {"job_name": f"c{seed}-{index}", "train_url": "/b/"}
                created.append(session.post(api.base, json=body, timeout=5).json()["job_id"])

    threads = [threading.Thread(target=creator, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(created) == list(range(246, 326))
    assert len(api.em.jobs()) == 84


def test_request_log_records_what_happened(emulator: ModelArtsEmulator, clock: FakeClock) -> None:
    api = Api(emulator)
    emulator.clear_requests()
    before = time.monotonic()
    api.get("/197")
    api.get(page=2, search_content="a b")
    requests.get(emulator.url + job_path(emulator), timeout=5)
    signed_request(emulator, "GET", "/v3/projects", [("name", "eu-de")], at=clock())
    requests.post(
        f"{emulator.iam_url}/auth/tokens",
        json=password_auth_body(emulator, scope={"project": {"name": "eu-de"}}),
        timeout=5,
    )
    requests.delete(emulator.url + "/v1/x", timeout=5)
    after = time.monotonic()
    records = emulator.requests
    summary = [(r.method, r.path, r.route, r.status, r.auth) for r in records]
    assert summary == [
        ("GET", job_path(emulator), "get_job", 200, "token"),
        ("GET", job_path(emulator, ""), "list_jobs", 200, "token"),
        ("GET", job_path(emulator), "get_job", 401, None),
        ("GET", "/v3/projects", "iam_projects", 200, "aksk"),
        ("POST", "/v3/auth/tokens", "iam_token", 201, None),
        ("DELETE", "/v1/x", "unknown", 404, None),
    ]
    assert records[1].query == {"page": ["2"], "search_content": ["a b"]}
    assert records[0].query == {}
    times = [record.time for record in records]
    assert times == sorted(times)
    assert before <= times[0]
    assert times[-1] <= after
    emulator.clear_requests()
    assert emulator.requests == []


def test_secrets_never_leak(clock: FakeClock) -> None:
    secret_key = "CANARY-SECRET-7f3e9a1c5b"
    password = "CANARY-PASSWORD-2d8b4f6e"
    credentials = EmulatorCredentials(access_key="CANARYAK", secret_key=secret_key, password=password)
    texts: list[str] = []
    with ModelArtsEmulator([{"job_name": "a"}], credentials=credentials, clock=clock) as em:
        token = em.environ(auth="token")["HW_AUTH_TOKEN"]
        responses = [
            requests.post(
                f"{em.iam_url}/auth/tokens",
                json=password_auth_body(em, scope={"project": {"name": "eu-de"}}),
                timeout=5,
            ),
            requests.post(
                f"{em.iam_url}/auth/tokens",
                json=password_auth_body(em, scope={"project": {"name": "eu-de"}}, name="x"),
                timeout=5,
            ),
            signed_request(em, "GET", job_path(em, "/1"), at=clock()),
            signed_request(em, "GET", job_path(em, "/1"), at=clock() + 3600),
            requests.get(em.url + job_path(em, "/1"), headers={"X-Auth-Token": token}, timeout=5),
        ]
        assert [r.status_code for r in responses] == [201, 401, 200, 401, 200]
        texts += [r.text + json.dumps(dict(r.headers)) for r in responses]
        texts += [repr(em), str(em), repr(em.requests), repr(em.credentials)]
        texts.append(json.dumps({k: v for k, v in em.describe().items() if k != "credentials"}))
        assert em.describe()["credentials"]["secret_key"] == secret_key  # the CLI prints them
        assert token not in repr(em.requests)
    for text in texts:
        assert secret_key not in text
        assert password not in text


def test_access_log_is_silent(emulator: ModelArtsEmulator, capfd: pytest.CaptureFixture[str]) -> None:
    emulator.inject_fault("get_job", drop=True)
    requests.get(emulator.url + "/nothing", timeout=5)
    with pytest.raises(requests.ConnectionError):
        requests.get(emulator.url + job_path(emulator), timeout=5)
    requests.get(emulator.url + job_path(emulator), timeout=5)
    emulator.stop()
    assert capfd.readouterr().err == ""


def test_stop_closes_keep_alive_connections_and_restart_works(clock: FakeClock) -> None:
    em = ModelArtsEmulator([{"job_name": "a"}], clock=clock).start()
    token = em.issue_token()
    connection = http.client.HTTPConnection(em.host, em.port, timeout=5)
    connection.request("GET", job_path(em, "/1"), headers={"X-Auth-Token": token})
    assert connection.getresponse().read()
    old_url = em.url
    em.stop()
    em.stop()  # idempotent
    assert em.url == old_url

    def reuse() -> None:
        connection.request("GET", job_path(em, "/1"), headers={"X-Auth-Token": token})
        connection.getresponse()

    with pytest.raises((OSError, http.client.HTTPException)):
        reuse()
    connection.close()
    with em:
        response = requests.get(em.url + job_path(em, "/1"), headers={"X-Auth-Token": token}, timeout=5)
        assert response.status_code == 200


def test_url_needs_a_started_emulator() -> None:
    em = ModelArtsEmulator()
    assert "not started" in repr(em)
    with pytest.raises(RuntimeError, match="start"):
        _ = em.url
    assert ModelArtsEmulator(port=8123).url == "http://127.0.0.1:8123"


def _ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_available(), reason="no IPv6 loopback")
def test_ipv6_loopback(clock: FakeClock) -> None:
    with ModelArtsEmulator([{"job_name": "six"}], host="::1", clock=clock) as em:
        assert em.url == f"http://[::1]:{em.port}"
        assert em.iam_url == f"http://[::1]:{em.port}/v3"
        response: Any = requests.get(
            em.url + job_path(em, "/1"), headers={"X-Auth-Token": em.issue_token()}, timeout=5
        )
        assert response.json()["job_name"] == "six"
