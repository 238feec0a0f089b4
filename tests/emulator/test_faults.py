"""Injected faults: every kind, their order and counting, and that they come before authentication."""

from __future__ import annotations

import http.client
import json
import threading
import time
from typing import Any

import pytest
import requests

from pulumi_modelarts.emulator import ModelArtsEmulator

from .conftest import Api, jobs_path

PAGE = "<html><body><h1>502 Bad Gateway</h1></body></html>"
WRONG_TYPES = {"is_success": True, "job_id": "197", "status": "eight", "duration": None}
BIG = b'{"is_success":true,"pad":"' + b"x" * (12 * 1024 * 1024) + b'"}'


def call(client: Api, route: str) -> requests.Response:
    """One request on a route, with the client's token."""
    em = client.em
    method, path = {
        "get_job": ("GET", jobs_path(em, "/197")),
        "list_jobs": ("GET", jobs_path(em)),
        "iam_token": ("POST", "/v3/auth/tokens"),
        "iam_projects": ("GET", "/v3/projects"),
        "unknown": ("GET", "/v2/nothing"),
    }[route]
    return client.request(method, em.url + path, timeout=5)


@pytest.mark.parametrize(
    ("route", "fault", "expected", "retry_after"),
    [
        (
            "get_job",
            {"status": 429, "retry_after": 2},
            [False, "ModelArts.2799", "services too many requests"],
            "2",
        ),
        ("get_job", {"status": 503}, [False, "ModelArts.4302", "Gateway forwarding error"], None),
        ("get_job", {"status": 502}, [False, "APIG.0201", "Bad Gateway"], None),
        (
            "list_jobs",
            {"status": 500, "error_code": "ModelArts.5039", "error_message": "busy", "retry_after": 0.5},
            [False, "ModelArts.5039", "busy"],
            "0.5",
        ),
        ("iam_token", {"status": 500}, ["APIG.0201", "Internal Server Error"], None),
        ("iam_projects", {"status": 429, "error_code": "IAM.0012"}, ["IAM.0012", "Too Many Requests"], None),
        ("unknown", {"status": 503}, ["APIG.0201", "Service Unavailable"], None),
    ],
)
def test_a_status_fault_answers_in_the_routes_error_shape(
    api: Api, route: str, fault: dict[str, Any], expected: list[Any], retry_after: str | None
) -> None:
    api.em.inject_fault(route, **fault)
    response = call(api, route)
    assert (response.status_code, response.headers.get("Retry-After")) == (fault["status"], retry_after)
    modelarts = route in ("get_job", "list_jobs")
    keys = ["is_success", "error_code", "error_message"] if modelarts else ["error_code", "error_msg"]
    assert [response.json()[key] for key in keys] == expected
    assert call(api, route).status_code != fault["status"]  # used up


@pytest.mark.parametrize(
    ("fault", "status", "content_type", "body"),
    [
        ({"status": 502, "body": PAGE, "content_type": "text/html"}, 502, "text/html", PAGE.encode()),
        (
            {"body": json.dumps(WRONG_TYPES)},
            200,
            "application/json;charset=UTF-8",
            json.dumps(WRONG_TYPES).encode(),
        ),
        ({"body": BIG}, 200, "application/json;charset=UTF-8", BIG),
    ],
)
def test_a_body_fault_replaces_the_answer(
    api: Api, fault: dict[str, Any], status: int, content_type: str, body: bytes
) -> None:
    api.em.inject_fault("get_job", **fault)
    response = api.jobs("/197")
    assert (response.status_code, response.headers["Content-Type"], response.content) == (
        status,
        content_type,
        body,
    )


def test_retry_after_alone_decorates_the_normal_answer(api: Api) -> None:
    api.em.inject_fault("get_job", retry_after=1)
    response = api.jobs("/197")
    assert (response.status_code, response.headers["Retry-After"], response.json()["job_id"]) == (
        200,
        "1",
        197,
    )


def test_faults_come_before_authentication_in_order_and_count(api: Api) -> None:
    api.em.inject_fault("get_job", status=500, count=2)
    api.em.inject_fault("get_job", status=503)
    api.em.inject_fault("list_jobs", status=502)
    assert requests.get(api.base + "/197", timeout=5).status_code == 500  # no credentials at all
    assert [api.jobs("/197").status_code for _ in range(3)] == [500, 503, 200]
    assert [api.jobs().status_code for _ in range(2)] == [502, 200]
    api.em.inject_fault("get_job", status=500, count=5)
    api.em.clear_faults()
    assert api.jobs("/197").status_code == 200


def test_truncate_sends_the_first_half_and_keeps_the_connection(api: Api) -> None:
    whole = api.jobs("/197").content
    api.em.inject_fault("get_job", truncate=True)
    response = api.jobs("/197")
    assert (response.status_code, response.content) == (200, whole[: len(whole) // 2])
    assert int(response.headers["Content-Length"]) == len(whole) // 2
    assert api.jobs("/197").content == whole


@pytest.mark.parametrize(
    ("fault", "error"), [("drop", http.client.RemoteDisconnected), ("reset", ConnectionResetError)]
)
def test_drop_and_reset_end_the_connection_unanswered(api: Api, fault: str, error: type[Exception]) -> None:
    api.em.inject_fault("get_job", **{fault: True})
    connection = http.client.HTTPConnection(api.em.host, api.em.port, timeout=5)
    connection.request(
        "GET", jobs_path(api.em, "/197"), headers={"X-Auth-Token": str(api.headers["X-Auth-Token"])}
    )
    with pytest.raises(error) as caught:
        connection.getresponse()
    assert fault == "drop" or not isinstance(caught.value, http.client.RemoteDisconnected)  # RST, not FIN
    connection.close()
    assert (api.em.requests[-1].route, api.em.requests[-1].status) == ("get_job", None)
    assert api.jobs("/197").status_code == 200


def test_a_delay_holds_the_answer_back(api: Api) -> None:
    api.em.inject_fault("get_job", delay=0.5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.get(api.base + "/197", timeout=0.1)
    api.em.inject_fault("get_job", delay=0.2)
    started = time.monotonic()
    assert api.jobs("/197").json()["job_id"] == 197
    assert time.monotonic() - started >= 0.2


def test_latency_holds_back_modelarts_calls_only(api: Api) -> None:
    api.em.latency = 60
    assert api.get(api.em.iam_url + "/projects", timeout=5).status_code == 200
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.get(api.base + "/197", timeout=0.2)
    with pytest.raises(ValueError, match="negative"):
        api.em.latency = -1


def test_stop_ends_a_request_waiting_in_a_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    em = ModelArtsEmulator([{"job_name": "a"}]).start()
    em.inject_fault("get_job", delay=60)
    waiting = threading.Event()
    wait = em._stopping.wait

    def signalled_wait(seconds: float) -> bool:
        waiting.set()
        return wait(seconds)

    monkeypatch.setattr(em._stopping, "wait", signalled_wait)
    connection = http.client.HTTPConnection(em.host, em.port, timeout=30)
    connection.request("GET", jobs_path(em, "/1"), headers={"X-Auth-Token": em.issue_token()})
    assert waiting.wait(10)
    em.stop()
    assert em.requests[-1].status is None  # answered (unanswered) before stop returned, not 60 s later
    with pytest.raises((OSError, http.client.HTTPException)):
        connection.getresponse()
    connection.close()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"route": "get"},
        {"route": "get_job", "count": 0},
        {"route": "get_job", "status": 700},
        {"route": "get_job", "delay": -1},
        {"route": "get_job", "retry_after": -1},
        {"route": "get_job", "drop": True, "reset": True},
        {"route": "get_job", "body": "x", "truncate": True},
        {"route": "get_job", "colour": "red"},
    ],
)
def test_invalid_faults_are_refused(emulator: ModelArtsEmulator, kwargs: dict[str, Any]) -> None:
    with pytest.raises((ValueError, TypeError)):
        emulator.inject_fault(**kwargs)
