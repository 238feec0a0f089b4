"""Injected faults: every kind, their order and counting, and that they precede authentication."""

from __future__ import annotations

import http.client
import json
import threading
import time

import pytest
import requests

from pulumi_modelarts.emulator import ModelArtsEmulator

from .conftest import Api


def raw_get(em: ModelArtsEmulator, path: str, token: str) -> http.client.HTTPConnection:
    connection = http.client.HTTPConnection(em.host, em.port, timeout=5)
    connection.request("GET", path, headers={"X-Auth-Token": token})
    return connection


def job_path(em: ModelArtsEmulator, suffix: str = "/197") -> str:
    return f"/v1/{em.project_id}/visualization-jobs{suffix}"


def test_status_with_retry_after_then_normal(api: Api) -> None:
    api.em.inject_fault("get_job", status=429, retry_after=2)
    throttled = api.get("/197")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "2"
    assert throttled.json() == {
        "is_success": False,
        "error_code": "ModelArts.2799",
        "error_message": "services too many requests",
    }
    recovered = api.get("/197")
    assert recovered.status_code == 200
    assert "Retry-After" not in recovered.headers


def test_custom_error_code_and_fractional_retry_after(api: Api) -> None:
    api.em.inject_fault(
        "list_jobs",
        status=500,
        error_code="ModelArts.5039",
        error_message="the traffic is a little busy",
        retry_after=0.5,
    )
    response = api.get()
    assert response.status_code == 500
    assert response.headers["Retry-After"] == "0.5"
    assert response.json()["error_code"] == "ModelArts.5039"
    assert response.json()["error_message"] == "the traffic is a little busy"


def test_retry_after_alone_decorates_the_normal_answer(api: Api) -> None:
    api.em.inject_fault("get_job", retry_after=1)
    response = api.get("/197")
    assert response.status_code == 200
    assert response.headers["Retry-After"] == "1"
    assert response.json()["job_id"] == 197


def test_iam_and_unknown_routes_answer_in_their_own_shape(emulator: ModelArtsEmulator) -> None:
    emulator.inject_fault("iam_token", status=500)
    emulator.inject_fault("iam_projects", status=429)
    emulator.inject_fault("unknown", status=503)
    token = requests.post(f"{emulator.iam_url}/auth/tokens", json={}, timeout=5)
    assert token.status_code == 500
    assert set(token.json()) == {"error_code", "error_msg"}
    projects = requests.get(f"{emulator.iam_url}/projects", timeout=5)
    assert projects.status_code == 429
    assert projects.json()["error_code"] == "IAM.0012"
    unknown = requests.get(f"{emulator.url}/v2/nothing", timeout=5)
    assert unknown.status_code == 503
    assert unknown.json() == {
        "error_code": "APIG.0201",
        "error_msg": "Service Unavailable",
        "request_id": unknown.headers["X-Request-Id"],
    }


def test_faults_apply_before_authentication(emulator: ModelArtsEmulator) -> None:
    emulator.inject_fault("get_job", status=503)
    response = requests.get(emulator.url + job_path(emulator), timeout=5)
    assert response.status_code == 503
    assert requests.get(emulator.url + job_path(emulator), timeout=5).status_code == 401


def test_count_and_fifo_order(api: Api) -> None:
    api.em.inject_fault("get_job", status=500, count=2)
    api.em.inject_fault("get_job", status=503)
    api.em.inject_fault("list_jobs", status=502)
    assert [api.get("/197").status_code for _ in range(4)] == [500, 500, 503, 200]
    assert api.get().status_code == 502
    assert api.get().status_code == 200


def test_wildcard_route_and_method_filter(api: Api) -> None:
    api.em.inject_fault("*", status=500, method="put", count=2)
    assert api.get("/197").status_code == 200
    assert api.put("/197", {"job_desc": "x"}).status_code == 500
    assert api.put("/212", {"job_desc": "x"}).status_code == 500
    assert api.put("/212", {"job_desc": "x"}).status_code == 200


def test_clear_faults(api: Api) -> None:
    api.em.inject_fault("*", status=500, count=5)
    api.em.clear_faults()
    assert api.get("/197").status_code == 200


def test_delay_provokes_a_client_read_timeout(api: Api) -> None:
    api.em.inject_fault("get_job", delay=0.5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.session.get(api.base + "/197", timeout=0.1)


def test_delay_alone_then_normal_answer(api: Api) -> None:
    api.em.inject_fault("get_job", delay=0.15)
    started = time.monotonic()
    response = api.get("/197")
    assert time.monotonic() - started >= 0.15
    assert response.status_code == 200
    assert response.json()["job_id"] == 197


def test_html_gateway_page(api: Api) -> None:
    page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    api.em.inject_fault("get_job", status=502, body=page, content_type="text/html")
    response = api.get("/197")
    assert response.status_code == 502
    assert response.headers["Content-Type"] == "text/html"
    assert response.text == page


def test_body_with_wrong_field_types_defaults_to_200_json(api: Api) -> None:
    document = {"is_success": True, "job_id": "197", "status": "eight", "duration": None}
    api.em.inject_fault("get_job", body=json.dumps(document).encode())
    response = api.get("/197")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert response.json() == document


def test_twelve_mebibyte_body(api: Api) -> None:
    big = b'{"is_success":true,"pad":"' + b"x" * (12 * 1024 * 1024) + b'"}'
    api.em.inject_fault("get_job", body=big)
    response = api.get("/197")
    assert int(response.headers["Content-Length"]) == len(big)
    assert response.content == big


def test_truncate_sends_first_half_with_matching_length(api: Api) -> None:
    whole = api.get("/197").content
    api.em.inject_fault("get_job", truncate=True)
    response = api.get("/197")
    assert response.status_code == 200
    assert response.content == whole[: len(whole) // 2]
    assert int(response.headers["Content-Length"]) == len(whole) // 2
    with pytest.raises(ValueError):  # noqa: PT011 - JSONDecodeError flavour varies
        response.json()
    assert api.get("/197").content == whole  # the connection stayed usable


def test_drop_closes_without_response(api: Api) -> None:
    api.em.inject_fault("get_job", drop=True)
    connection = raw_get(api.em, job_path(api.em), api.session.headers["X-Auth-Token"])  # type: ignore[arg-type]
    with pytest.raises(http.client.RemoteDisconnected):
        connection.getresponse()
    connection.close()
    assert api.em.requests[-1].status is None
    assert api.get("/197").status_code == 200


def test_reset_sends_tcp_rst(api: Api) -> None:
    api.em.inject_fault("get_job", reset=True)
    connection = raw_get(api.em, job_path(api.em), api.session.headers["X-Auth-Token"])  # type: ignore[arg-type]
    with pytest.raises(ConnectionResetError) as caught:
        connection.getresponse()
    assert not isinstance(caught.value, http.client.RemoteDisconnected)  # RST, not a clean FIN
    connection.close()
    assert api.em.requests[-1].status is None
    assert api.get("/197").status_code == 200


def test_stop_interrupts_a_long_delay() -> None:
    em = ModelArtsEmulator([{"job_name": "a"}]).start()
    em.inject_fault("get_job", delay=30)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            raw_get(em, job_path(em, "/1"), em.issue_token()).getresponse()
        except (OSError, http.client.HTTPException) as error:
            errors.append(error)

    worker = threading.Thread(target=call)
    worker.start()
    time.sleep(0.1)
    started = time.monotonic()
    em.stop()
    worker.join(5)
    assert time.monotonic() - started < 2
    assert not worker.is_alive()
    assert len(errors) == 1


def test_latency_applies_to_modelarts_calls_only(api: Api) -> None:
    api.em.latency = 0.15
    started = time.monotonic()
    assert api.get("/197").status_code == 200
    assert time.monotonic() - started >= 0.15
    started = time.monotonic()
    assert api.session.get(f"{api.em.iam_url}/projects", timeout=5).status_code == 200
    assert time.monotonic() - started < 0.15
    api.em.latency = 0
    with pytest.raises(ValueError, match="negative"):
        api.em.latency = -1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"route": "get"},
        {"route": "get_job", "count": 0},
        {"route": "get_job", "status": 700},
        {"route": "get_job", "delay": -1},
        {"route": "get_job", "drop": True, "reset": True},
        {"route": "get_job", "body": "x", "truncate": True},
    ],
)
def test_invalid_faults_are_refused(emulator: ModelArtsEmulator, kwargs: dict[str, object]) -> None:
    route = kwargs.pop("route")
    with pytest.raises(ValueError):  # noqa: PT011 - message differs per case
        emulator.inject_fault(route, **kwargs)  # type: ignore[arg-type]
