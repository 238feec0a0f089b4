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

JSON = "application/json;charset=UTF-8"
PAGE = "<html><body><h1>502 Bad Gateway</h1></body></html>"
WRONG_TYPES = json.dumps({"is_success": True, "job_id": "197", "status": "eight", "duration": None})
BIG = b'{"is_success":true,"pad":"' + b"x" * (12 * 1024 * 1024) + b'"}'


@pytest.mark.parametrize(
    ("route", "fault", "expected"),
    [
        ("get_job", {"status": 429, "retry_after": 2}, [False, "APIG.0201", "Too Many Requests"]),
        (
            "list_jobs",
            {"status": 500, "error_code": "ModelArts.5039", "error_message": "x"},
            [False, "ModelArts.5039", "x"],
        ),
        ("iam_token", {"status": 500, "retry_after": 0.5}, ["APIG.0201", "Internal Server Error"]),
        ("iam_projects", {"status": 429, "error_code": "IAM.0012"}, ["IAM.0012", "Too Many Requests"]),
        ("unknown", {"status": 503}, ["APIG.0201", "Service Unavailable"]),
    ],
)
def test_a_status_fault_answers_in_the_routes_error_shape(
    api: Api, route: str, fault: dict[str, Any], expected: list[Any]
) -> None:
    paths = {"get_job": jobs_path(api.em, "/197"), "list_jobs": jobs_path(api.em), "unknown": "/v2/x"}
    method, path = (
        ("POST", "/v3/auth/tokens") if route == "iam_token" else ("GET", paths.get(route, "/v3/projects"))
    )
    api.em.inject_fault(route, **fault)
    response = api.request(method, api.em.url + path, timeout=5)
    retry_after = None if "retry_after" not in fault else format(fault["retry_after"], "g")
    assert (response.status_code, response.headers.get("Retry-After")) == (fault["status"], retry_after)
    keys = (
        ["is_success", "error_code", "error_message"] if len(expected) == 3 else ["error_code", "error_msg"]
    )
    assert [response.json()[key] for key in keys] == expected
    assert api.request(method, api.em.url + path, timeout=5).status_code != fault["status"]  # used up


@pytest.mark.parametrize(
    ("fault", "status", "content_type", "body"),
    [
        ({"status": 502, "body": PAGE, "content_type": "text/html"}, 502, "text/html", PAGE.encode()),
        ({"body": WRONG_TYPES}, 200, JSON, WRONG_TYPES.encode()),
        ({"body": BIG}, 200, JSON, BIG),
        ({"truncate": True}, 200, JSON, b"half"),
        ({"retry_after": 1}, 200, JSON, b"whole"),
    ],
)
def test_a_fault_replaces_or_changes_the_answer(
    api: Api, fault: dict[str, Any], status: int, content_type: str, body: bytes
) -> None:
    whole = api.jobs("/197").content
    body = {b"half": whole[: len(whole) // 2], b"whole": whole}.get(body, body)
    api.em.inject_fault("get_job", **fault)
    response = api.jobs("/197")
    assert (response.status_code, response.headers["Content-Type"], response.content) == (
        status,
        content_type,
        body,
    )
    assert int(response.headers["Content-Length"]) == len(body)
    assert response.headers.get("Retry-After") == ("1" if "retry_after" in fault else None)
    assert api.jobs("/197").content == whole  # the same connection, answered normally again


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


def test_delay_and_latency_hold_answers_back(api: Api) -> None:
    api.em.inject_fault("get_job", delay=0.2)
    started = time.monotonic()
    assert api.jobs("/197").json()["job_id"] == 197
    assert time.monotonic() - started >= 0.2
    api.em.inject_fault("get_job", delay=60)
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.get(api.base + "/197", timeout=0.2)
    api.em.latency = 60  # on ModelArts calls only
    assert api.get(api.em.iam_url + "/projects", timeout=5).status_code == 200
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.get(api.base, timeout=0.2)


def test_stop_ends_a_request_waiting_in_a_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    em = ModelArtsEmulator([{"job_name": "a"}]).start()
    em.inject_fault("get_job", delay=60)
    waiting, wait = threading.Event(), em._stopping.wait

    def signalled_wait(seconds: float) -> bool:
        waiting.set()
        return wait(seconds)

    monkeypatch.setattr(em._stopping, "wait", signalled_wait)
    connection = http.client.HTTPConnection(em.host, em.port, timeout=30)
    connection.request("GET", jobs_path(em, "/1"), headers={"X-Auth-Token": em.issue_token()})
    assert waiting.wait(10)
    em.stop()
    assert em.requests[-1].status is None  # logged before stop returned, not 60 s later
    with pytest.raises((OSError, http.client.HTTPException)):
        connection.getresponse()
    connection.close()


@pytest.mark.parametrize(
    "fault",
    [
        {"route": "get"},
        {"count": 0},
        {"status": 700},
        {"delay": -1},
        {"retry_after": -1},
        {"drop": True, "reset": True},
        {"body": "x", "truncate": True},
    ],
)
def test_invalid_faults_are_refused(emulator: ModelArtsEmulator, fault: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="route|count|status|negative|exclusive"):
        emulator.inject_fault(**({"route": "get_job"} | fault))
