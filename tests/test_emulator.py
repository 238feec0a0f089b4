"""The emulator on its own, spoken to with ``requests`` (AK/SK signed by ``signing``), never through
the product's client: the job calls, IAM and the gateway's checks, faults, and its HTTP server."""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import math
import os
import re
import socket
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from pulumi_modelarts import JobStatus, signing
from pulumi_modelarts.emulator import DEFAULT_PROJECT_ID, EmulatorCredentials, ModelArtsEmulator, wire
from pulumi_modelarts.emulator.backend import JOB_FIELDS
from pulumi_modelarts.emulator.server import EmulatorHTTPServer
from pulumi_modelarts.errors import InvalidInputError
from pulumi_modelarts.outputs import OUTPUTS
from pulumi_modelarts.validation import SORT_KEYS, check_name
from tests.checks import CANARY, Held

OTHER_PROJECT = "e" * 32
MISMATCH = {
    "is_success": False,
    "error_code": "ModelArts.0210",
    "error_message": "The project id in the request URL does not match the token",
}


def jobs_path(em: ModelArtsEmulator, suffix: str = "", project_id: str | None = None) -> str:
    return f"/v1/{project_id or em.project_id}/visualization-jobs{suffix}"


def signed_headers(
    em: ModelArtsEmulator, path: str, query: Sequence[tuple[str, str]] = (), skew: float = 0, **sign: Any
) -> dict[str, str]:
    """A signed GET's headers as huaweicloudsdkcore sends them, dated ``skew`` seconds from now;
    ``sign`` overrides ``signing.sign``'s arguments, ``project_id`` adds ``X-Project-Id``."""
    date = sign.pop("date", None) or time.strftime(signing.DATE_FORMAT, time.gmtime(time.time() + skew))
    headers = {"Content-Type": "application/json", "Host": f"{em.host}:{em.port}", "X-Sdk-Date": date}
    if project_id := sign.pop("project_id", None):
        headers["X-Project-Id"] = project_id
    keys = {"access_key": em.credentials.access_key, "secret_key": em.credentials.secret_key, **sign}
    headers["Authorization"] = signing.sign(
        method="GET", path=path, query=query, headers=headers, body=b"", **keys
    )
    return headers


def signed_get(em: ModelArtsEmulator, path: str, query: Sequence[tuple[str, str]] = (), **sign: Any) -> Any:
    """A signed GET whose query goes out in its canonical form, as the SDK sends it."""
    url = em.url + path + (f"?{signing.canonical_query(query)}" if query else "")
    return requests.get(url, headers=signed_headers(em, path, query, **sign), timeout=5)


class Api(requests.Session):
    """Token-authenticated calls to one project's visualization jobs."""

    def __init__(self, em: ModelArtsEmulator, project_id: str | None = None) -> None:
        super().__init__()
        self.em, self.base = em, em.url + jobs_path(em, project_id=project_id)
        self.headers["X-Auth-Token"] = em.issue_token(project_id)

    def jobs(self, suffix: str = "", **params: Any) -> requests.Response:
        return self.get(self.base + suffix, params=params, timeout=5)


@pytest.fixture
def api(emulator: ModelArtsEmulator) -> Iterator[Api]:
    emulator.add_project("other", OTHER_PROJECT)
    with Api(emulator) as client:
        yield client


# -- the job calls and the Python API ---------------------------------------------------------------

#: A details answer's fields (§1.4's, then those seen beyond it), and a list item's in §1.3's order.
DETAILS = ["is_success", "job_id", "job_name", "job_desc", "service_url", "resource_id", "train_url"]
DETAILS += ["status", "duration", "create_time", "remaining_duration", "job_type", "flavor", "schedule"]
LIST_ITEM = ["job_name", "status", "create_time", "duration", "job_desc", "service_url", "train_url"]
LIST_ITEM += ["job_id", "resource_id"]


def test_details_and_list_items_carry_the_documented_fields_in_order(api: Api) -> None:
    response = api.jobs("/197")
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    seeded = {**(api.em.get_job(197) or {}), "is_success": True}
    assert list(response.json().items()) == [(key, seeded[key]) for key in DETAILS]
    assert seeded["service_url"].endswith(f"/tensorboard/{DEFAULT_PROJECT_ID}/197/")
    assert api.jobs("/197").content == response.content  # byte-identical, so diffs stay quiet
    assert api.jobs("/1e3").json()["error_code"] == "ModelArts.0104"  # no job ID: a bad parameter
    listing = api.jobs(per_page=1).json()
    assert list(listing) == ["is_success", "job_total_count", "job_count_limit", "quotas", "jobs"]
    assert (listing["job_count_limit"], listing["quotas"]) == (96, 100)  # four jobs seeded
    assert list(listing["jobs"][0].items()) == [(key, seeded[key]) for key in LIST_ITEM]


def test_the_wire_job_carries_every_output_the_product_reads() -> None:
    derived = {"status_name": "status", "is_running": "status", "created_at": "create_time"}
    derived |= {"flavor_code": "flavor"}  # outputs computed from a wire field of another name
    outputs = {field.name for field in OUTPUTS} - {"project_id", "region"}  # from the request
    assert set(derived) <= outputs
    # Both ways: a wire field no output reads, or an output no wire field carries, fails here.
    assert set(JOB_FIELDS) - {"schedule"} == outputs - set(derived) | set(derived.values())
    assert wire.SORT_KEYS == SORT_KEYS  # the list call takes every sortBy the product sends


@pytest.mark.parametrize(
    ("params", "expected", "total"),
    [
        ({"sortBy": "job_name", "order": "desc"}, [230, 212, 245, 197], 4),
        ({"sortBy": "status", "order": "desc"}, [230, 212, 245, 197], 4),  # ties by job ID, reversed
        ({"sort_by": "job_name"}, [197, 212, 230, 245], 4),  # otcextensions' spelling is ignored
        ({"search_content": "FLOWERS"}, [245], 1),
    ],
)
def test_list_paging_sorting_and_filters(
    api: Api, params: dict[str, Any], expected: list[int], total: int
) -> None:
    body = api.jobs(**params).json()
    assert (body["is_success"], body["job_total_count"]) == (True, total)
    assert [job["job_id"] for job in body["jobs"]] == expected


BAD_LIST_PARAMETERS = [{"per_page": 1001}, {"per_page": "ten"}, {"page": 0}, {"order": "up"}, {"status": "x"}]
BAD_LIST_PARAMETERS += [{"search_content": "x" * 65}, {"search_content": "x" * 100}, {"sortBy": "duration"}]


@pytest.mark.parametrize("params", BAD_LIST_PARAMETERS)
def test_list_rejects_invalid_parameters(api: Api, params: dict[str, Any]) -> None:
    response = api.jobs(**params)
    assert (response.status_code, response.json()["error_code"]) == (400, "ModelArts.0104")
    name, message = next(iter(params)), response.json()["error_message"]
    if name == "search_content":  # the details page's sample message, with the parameter table's bound
        assert message == "The length of search content should be in [0,64]"
    else:
        assert name in message


@pytest.mark.parametrize("name", ["a", "A" * 21, "n" * 64, "n" * 65, "", "bad name", "bad/name", "für"])
def test_job_names_follow_the_products_rule(api: Api, name: str) -> None:
    """A job the product cannot look up by name must not be seedable; every other one is found."""
    try:
        check_name(name, field="job_name")
    except InvalidInputError:
        with pytest.raises(ValueError, match="job_name may only contain"):
            api.em.add_job(name)
        return
    job_id = api.em.add_job(name)["job_id"]
    found = api.jobs(search_content=name, per_page=1000).json()["jobs"]
    assert job_id in [job["job_id"] for job in found if job["job_name"] == name]


@pytest.mark.parametrize(
    ("order", "expected"), [("asc", [245, 197, 212, 230]), ("desc", [230, 212, 197, 245])]
)
def test_a_sort_key_without_a_value_sorts_after_every_value(
    api: Api, order: str, expected: list[int]
) -> None:
    """A job without a description, listed by description, came back as an HTTP 500 and a traceback."""
    api.em.update_job(212, job_desc=None)
    api.em.update_job(230, job_desc=None)
    api.em.update_job(197, job_desc="b")
    api.em.update_job(245, job_desc="a")
    response = api.jobs(sortBy="job_desc", order=order)
    assert response.status_code == 200, response.text
    assert [job["job_id"] for job in response.json()["jobs"]] == expected


def test_job_ids_are_never_reused() -> None:
    """As the service's: a job created after the newest was deleted is another job."""
    em = ModelArtsEmulator([{"job_name": "a"}, {"job_name": "b"}])
    em.remove_job(2)
    assert em.add_job("c")["job_id"] == 3
    assert [job["job_id"] for job in em.jobs()] == [1, 3]


def test_add_update_and_remove_jobs() -> None:
    em = ModelArtsEmulator(project_id="proj")
    job = em.add_job("first")
    assert (list(job), job["status"], job["train_url"]) == (list(JOB_FIELDS), 8, "/obs/first/")
    assert job["service_url"] == "https://console.otc.t-systems.com/modelarts2/tensorboard/proj/1/"
    assert uuid.UUID(job["resource_id"]).version == 4 and job["create_time"] > 1_700_000_000_000
    job["flavor"]["code"] = "changed"  # a copy
    assert em.get_job(1) == {**job, "flavor": {"code": "modelarts.vm.cpu.2u"}}
    mind = em.add_job("mi", job_id=10, job_type="MindInsight", status=JobStatus.COMPLETED)
    assert mind["service_url"].endswith("/mindinsight/proj/10/") and type(mind["status"]) is int
    assert [j["job_id"] for j in (em.add_job("next"), *em.jobs())] == [11, 1, 10, 11]
    updated = em.update_job(10, status=8, job_desc="again")
    assert (updated["job_id"], updated["status"], updated["job_desc"]) == (10, 8, "again")
    assert em.get_job(10) == updated
    em.remove_job(10)
    assert em.get_job(10) is None
    for change in (em.remove_job, lambda job_id: em.update_job(job_id, job_desc="x")):
        with pytest.raises(KeyError):
            change(10)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda em: em.add_job("x", job_id=True), "'job_id' must be an int"),
        (lambda em: em.add_job("x", colour="red"), "unknown job field"),
        (lambda em: em.update_job(5, self=1), "unknown job field"),
        (lambda em: em.add_job("x", job_id=5), "already exists"),
        (lambda em: em.update_job(5, status="8"), "'status' must be an int"),
        # Text the client would refuse on every read is refused when seeded, naming the field.
        (lambda em: em.add_job("x", job_desc=5), "'job_desc' must be text or null"),
        (lambda em: em.add_job("x", service_url=["https://x"]), "'service_url' must be text"),
        (lambda em: em.update_job(5, job_type=1), "'job_type' must be text"),
        (lambda em: em.update_job(5, train_url={"obs": "/x"}), "'train_url' must be text"),
        (lambda em: em.add_job("x", flavor="c"), "'flavor' must be"),
        (lambda em: em.add_job("x", flavor=[{"code": "c"}]), "'flavor' must be"),
        (lambda em: em.add_job("x", flavor={"code": 5}), "'flavor' must be"),
        # A lone surrogate cannot be sent as UTF-8: seeded, every answer holding the job would fail.
        (lambda em: em.add_job("x", job_desc="a\ud800b"), "'job_desc' must be text"),
        (lambda em: em.update_job(5, service_url="\udfff"), "'service_url' must be text"),
        (lambda em: em.add_job("x", flavor={"code": "\udbff\udfff"[0]}), "'flavor' must be"),
        (lambda em: ModelArtsEmulator([{"job_name": "x", "train_url": "/\udc80"}]), "'train_url' must be"),
        (
            lambda em: ModelArtsEmulator([{"job_id": 1}]),
            "a job must be a JSON object with a job_name, got one without it",
        ),
        (lambda em: ModelArtsEmulator(token_ttl=0), "token_ttl"),
        (lambda em: ModelArtsEmulator(project_id="a/b"), "project_id"),
        (lambda em: em.issue_token("0" * 32), "unknown project"),
        (lambda em: em.add_project("x", "../other"), "project_id"),
        (lambda em: em.add_project("x", em.project_id), "already exists"),
        (lambda em: em.inject_fault("get"), "unknown route 'get'"),
        *(
            (lambda em, k=k: em.inject_fault("get_job", status=400, **{k: "a\udfffb"}), f"{k} holds a lone")
            for k in ("error_code", "error_message", "body", "content_type")
        ),
        *((lambda em, n=n: em.inject_fault("get_job", count=n), "count must be") for n in (0, -1, 1.5, True)),
        # A value the wire cannot send would fail every answer holding it (HTTP 500), or the
        # connection, on a request long after the call that set it.
        *(
            (lambda em, k=k, v=v: em.add_job("x", **{k: v}), f"'{k}' must be JSON UTF-8 can carry")
            for k in ("schedule", "flavor")
            for v in ({"code": "c", "time": "\ud800"}, {"code": "c", "at": {1}}, {"code": "c", "x": math.nan})
        ),
        (lambda em: em.update_job(5, schedule={"at": datetime.now(timezone.utc)}), "'schedule' must be JSON"),
        *(
            (lambda em, v=v: em.add_job("x", remaining_duration=v), "'remaining_duration' must be")
            for v in (2**53, -(2**53), 10**400, math.inf)
        ),
        *(
            (lambda em, k=k, v=v: em.inject_fault("get_job", **{k: v}), f"{k} must be")
            for k, values in {
                "status": (42, 101, 600, "503", 503.0, True),
                "delay": ("1", math.nan, math.inf, -1, 1e10),  # 1e10: past what a wait takes
                # HTTP's Retry-After is whole seconds: the client would never wait 0.5 s or 1e+06.
                "retry_after": (math.nan, -1, [1], "1\r\nX-Injected: 1", math.inf, 10**8),
                "content_type": ("a\r\nX-Injected: 1", "text/html; charset=\u00e9", 5, b"text/plain"),
                "body": (5, {"job_id": 5}),
            }.items()
            for v in values
        ),
        *(
            (call, "must be a number of seconds")
            # Over a year: a wait past TIMEOUT_MAX, a token expiring after the year 9999 (HTTP 500).
            for value in (math.nan, math.inf, -0.5, "0.1", None, 1e10, 10**12)
            for call in (
                lambda em, v=value: setattr(em, "latency", v),
                lambda em, v=value: ModelArtsEmulator(latency=v),
                lambda em, v=value: ModelArtsEmulator(token_ttl=v),
                lambda em, v=value: setattr(em, "token_ttl", v),  # else a login's HTTP 500 later
            )
        ),
        *(
            (lambda em, p=p: ModelArtsEmulator(port=p), "port must be a whole number from 0 to 65535")
            for p in (-1, 65536, "8443", 8443.0, True)
        ),
        # Every argument is checked where it is given, never on a later request or on start().
        *(
            (lambda em, k=k, v=v: em.inject_fault("get_job", **{k: v}), f"{k} must be True or False")
            for k in ("drop", "reset", "truncate")
            for v in ("no", 1, None)
        ),
        (
            lambda em: em.inject_fault("get_job", drop=True, reset=True),
            "drop sends no answer, so reset would",
        ),
        # An option the fault would never use: the fault would look served while it was not.
        *(
            (lambda em, o=o: em.inject_fault("get_job", **o), message)
            for o, message in [
                ({"drop": True, "retry_after": 0}, "drop sends no answer, so retry_after would never"),
                (
                    {"reset": True, "status": 503, "truncate": True},
                    "reset sends no answer, so status, truncate",
                ),
                (
                    {"error_code": "ModelArts.2775"},
                    "error_code and error_message word a status's error answer",
                ),
                ({"status": 500, "body": "x", "error_message": "y"}, "error_code and error_message word"),
                ({"content_type": "text/html"}, "content_type is the type of a body: give the body too"),
                ({"status": 503, "content_type": "text/html"}, "content_type is the type of a body"),
            ]
        ),
        *(
            (lambda em, n=n: em.inject_fault("get_job", status=n, body="{}"), f"a {n} answer carries no body")
            for n in (204, HTTPStatus.NOT_MODIFIED)
        ),
        *(
            (lambda em, k=k: em.inject_fault("get_job", status=500, **{k: 5}), f"{k} must be text")
            for k in ("error_code", "error_message")
        ),
        *((lambda em, n=n: em.add_project(n, "f" * 32), "name may only contain") for n in ("a/b", "", None)),
        (lambda em: ModelArtsEmulator(credentials="x"), "credentials must be EmulatorCredentials"),  # type: ignore[arg-type]
        *((lambda em, h=h: ModelArtsEmulator(host=h), "host must be") for h in ("", 5, None)),
        *(
            (lambda em, k=k, v=v: EmulatorCredentials(**{k: v}), f"the emulator's {k} must be printable")
            for k in ("access_key", "secret_key", "user_name", "password", "domain_name")
            for v in ("", "a\nb", 5)
        ),
        (lambda em: em.environ("oauth"), "auth must be one of"),  # before start(): the auth is named
    ],
)
def test_bad_seeds_and_settings_are_refused(call: Any, message: str) -> None:
    em = ModelArtsEmulator([{"job_name": "a", "job_id": 5}])
    with pytest.raises(ValueError, match=message):
        call(em)
    assert [(job["job_name"], job["status"]) for job in em.jobs()] == [("a", 8)]
    assert em.latency == 0 and em.token_ttl == 86400


def test_a_fault_takes_an_http_status_member_and_a_retry_after_date(emulator: ModelArtsEmulator) -> None:
    date = "Wed, 21 Oct 2015 07:28:00 GMT"
    emulator.inject_fault("get_job", status=HTTPStatus.SERVICE_UNAVAILABLE, retry_after=date)
    emulator.inject_fault("get_job", status=429, retry_after=10.0**6)  # a whole float: whole seconds
    emulator.inject_fault("get_job", status=429, retry_after="1.5")  # a text is sent as it is
    emulator.inject_fault("get_job", status=429, retry_after=0.25)  # at least the wait asked for
    with Api(emulator) as client:
        answers = [client.jobs("/197") for _ in range(4)]
    sent = [(a.status_code, a.headers["Retry-After"]) for a in answers]
    assert sent == [(503, date), (429, "1000000"), (429, "1.5"), (429, "1")]


def test_seed_files(tmp_path: Path) -> None:
    """Refusals of bad seed files are tested through the CLI (tests/test_cli.py)."""
    seed = tmp_path / "jobs.json"
    seed.write_text(json.dumps([{"job_id": 7, "job_name": "seven", "status": 10}]))
    em = ModelArtsEmulator.from_seed_file(seed, project_id="p1", region="eu-nl")
    assert (em.project_id, em.region, (em.get_job(7) or {})["status"]) == ("p1", "eu-nl", 10)
    seed.write_text(json.dumps({"project_id": "abc", "region": "eu-ch2", "jobs": []}))
    em = ModelArtsEmulator.from_seed_file(seed)
    assert (em.project_id, em.region, em.jobs()) == ("abc", "eu-ch2", [])
    assert ModelArtsEmulator.from_seed_file(seed, project_id="xyz").project_id == "xyz"


def test_a_refused_job_of_many_is_named_by_its_place_in_the_list() -> None:
    """Before, a seed of hundreds of jobs was refused for "job field 'status' must be an int ...",
    without saying which job."""
    jobs: list[Any] = [{"job_name": f"ok-{n}", "job_id": n} for n in range(1, 300)]
    refusals: list[tuple[int, Any, str]] = [
        (120, {"job_name": "x", "status": "8"}, "job field 'status' must be an int from 0 to"),
        (299, {"job_name": "x", "job_id": 5}, "job 5 already exists"),
        (7, {"job_id": 900}, "a job must be a JSON object with a job_name, got one without it"),
        (0, [{"job_name": "x"}], "a job must be a JSON object with a job_name, got list"),
    ]
    for index, bad, said in refusals:
        with pytest.raises(ValueError, match=r"^jobs\[") as refused:
            ModelArtsEmulator([*jobs[:index], bad, *jobs[index:]])
        assert str(refused.value).startswith(f"jobs[{index}]: {said}")


def test_describe_and_the_credentials_repr(emulator: ModelArtsEmulator) -> None:
    """What ``modelarts-vis emulator`` prints; the secret key and password stay out of ``repr``."""
    creds, url = emulator.credentials, emulator.url
    described = {"url": url, "iam_url": url + "/v3", "region": "eu-de", "project_id": DEFAULT_PROJECT_ID}
    assert emulator.describe() == described | {"credentials": dataclasses.asdict(creds)}
    assert creds.access_key in repr(creds)
    assert creds.secret_key not in repr(creds) and creds.password not in repr(creds)
    with pytest.raises(ValueError, match="auth must be"):
        emulator.environ("oauth")


# -- IAM and the API gateway ------------------------------------------------------------------------


def login(em: ModelArtsEmulator, wrong: str = "", scope: Any = None, body: Any = None) -> requests.Response:
    """A password login scoped to ``scope`` (eu-de by name), with one part ``wrong`` if asked."""
    creds = em.credentials
    user = {"name": creds.user_name, "password": creds.password, "domain": {"name": creds.domain_name}}
    user |= {wrong: {"name": "wrong"} if wrong == "domain" else "wrong"} if wrong else {}
    identity = {"methods": ["totp" if wrong == "methods" else "password"], "password": {"user": user}}
    auth = {"identity": identity, "scope": {"project": {"name": "eu-de"} if scope is None else scope}}
    data = json.dumps({"auth": auth}).encode() if body is None else body
    return requests.post(f"{em.iam_url}/auth/tokens", data=data, timeout=5)


@pytest.mark.parametrize("scope", [{}, {"domain": {"name": "emulator-domain"}}], ids=["none", "domain"])
def test_a_login_without_a_project_gets_a_global_token_modelarts_refuses(
    emulator: ModelArtsEmulator, scope: dict[str, Any]
) -> None:
    """IAM issues a global token when the scope names no project (§4a); ModelArts wants a
    project-scoped one (ModelArts.0212), IAM's project lookup takes it."""
    response = login(emulator, scope=scope)
    assert response.status_code == 201 and list(response.json()["token"]) == ["expires_at"]
    headers = {"X-Auth-Token": response.headers["X-Subject-Token"]}
    refused = requests.get(emulator.url + jobs_path(emulator, "/197"), headers=headers, timeout=5)
    assert (refused.status_code, refused.json()["error_code"]) == (401, "ModelArts.0212")
    listed = requests.get(f"{emulator.iam_url}/projects", headers=headers, timeout=5)
    assert [project["id"] for project in listed.json()["projects"]] == [emulator.project_id]


@pytest.mark.parametrize(
    ("wrong", "scope", "body", "status", "code"),
    [
        ("domain", None, None, 401, "IAM.0062"),
        ("", {"name": "eu-nl"}, None, 400, "IAM.1109"),
        ("", {"id": "f" * 32}, None, 400, "IAM.1109"),
        ("methods", None, None, 400, "IAM.0011"),
        *(("", None, body, 400, "IAM.0011") for body in [b"{not json", b'{"auth": "x"}', b"\xff"]),
        ("", None, b'{"auth": ' * 100_000, 400, "IAM.0011"),  # nested too deeply: was HTTP 500
    ],
)
def test_login_refusals(
    emulator: ModelArtsEmulator, wrong: str, scope: Any, body: bytes | None, status: int, code: str
) -> None:
    response = login(emulator, wrong, scope, body)
    assert (response.status_code, response.json()["error_code"]) == (status, code)
    assert set(response.json()) == {"error_code", "error_msg"} and "X-Subject-Token" not in response.headers


BAD_SIGNATURE = (401, "APIG.0301")


@pytest.mark.parametrize(
    ("credentials", "expected"),
    [
        ({}, BAD_SIGNATURE),
        ({"token": "MIIforged"}, (401, "APIG.0307")),
        ({"token": "expired"}, (401, "APIG.0307")),
        ({"token": "other"}, (403, "ModelArts.0210")),
        ({"aksk": {"secret_key": "nope"}}, BAD_SIGNATURE),
        ({"aksk": {"access_key": "AKUNKNOWN"}}, BAD_SIGNATURE),
        ({"aksk": {"skew": 16 * 60}}, BAD_SIGNATURE),
        ({"aksk": {"signed_headers": ("content-type", "x-sdk-date")}}, BAD_SIGNATURE),
        ({"aksk": {"signed_headers": ("content-type", "host")}}, BAD_SIGNATURE),
        ({"aksk": {"project_id": OTHER_PROJECT}}, (403, "ModelArts.0210")),
        ({"aksk": {"skew": -14 * 60}}, (200, None)),
        ({"aksk": {"skew": 14 * 60, "project_id": DEFAULT_PROJECT_ID}}, (200, None)),
        ({"Authorization": f"SDK-HMAC-SHA256 Access={CANARY.access_key}"}, BAD_SIGNATURE),
        ({"Authorization": "Bearer abc"}, BAD_SIGNATURE),
        # A signature of text compare_digest takes only as bytes: was HTTP 500 and a traceback.
        *(({"aksk": {}, "signature": text}, BAD_SIGNATURE) for text in ("\u00e4" * 64, "0" * 63 + "\u00ff")),
    ],
)
def test_gateway_checks(api: Api, credentials: dict[str, Any], expected: tuple[int, str | None]) -> None:
    path = jobs_path(api.em, "/197")
    headers = credentials
    if "aksk" in credentials:
        headers = signed_headers(api.em, path, **credentials["aksk"])
        if "signature" in credentials:
            headers["Authorization"] = headers["Authorization"][:-64] + credentials["signature"]
    elif "token" in credentials:
        kind = credentials["token"]
        project = OTHER_PROJECT if kind == "other" else None
        headers = {"X-Auth-Token": kind if kind == "MIIforged" else api.em.issue_token(project)}
        if kind == "expired":
            api.em.expire_tokens()
    response = requests.get(api.em.url + path, headers=headers, timeout=5)
    assert (response.status_code, response.json().get("error_code")) == expected, response.text
    if response.status_code == 401:  # the gateway's shape, with its request ID
        assert response.json()["request_id"] == response.headers["X-Request-Id"]


@pytest.mark.parametrize("form", ["lower case", "no zero"])
def test_an_sdk_date_is_taken_only_as_signing_writes_it(api: Api, form: str) -> None:
    """strptime also reads 20261202t070505z and 20261202T07055Z, signed and on time: they were taken,
    so a client that wrote its X-Sdk-Date so passed here, not at the gateway (YYYYMMDDTHHMMSSZ)."""
    moment = time.gmtime(time.time() // 60 * 60 + 5)  # this minute's fifth second: 05, or 5 unpadded
    date = time.strftime(signing.DATE_FORMAT, moment)
    date = date.lower() if form == "lower case" else date.replace("05Z", "5Z")
    headers = signed_headers(api.em, jobs_path(api.em, "/197"), date=date)
    response = requests.get(api.em.url + jobs_path(api.em, "/197"), headers=headers, timeout=5)
    assert (response.status_code, response.json()["error_code"]) == BAD_SIGNATURE


def test_aksk_works_in_any_project_of_the_account_and_signs_path_and_query(api: Api) -> None:
    query = [("search_content", "a b/c"), ("per_page", "5"), ("sortBy", "job_name")]
    assert signed_get(api.em, jobs_path(api.em), query).json()["job_total_count"] == 0
    other = jobs_path(api.em, project_id=OTHER_PROJECT)  # the account's other projects hold no jobs
    assert signed_get(api.em, other, project_id=OTHER_PROJECT).json()["jobs"] == []
    assert signed_get(api.em, other + "/197").json()["error_code"] == "ModelArts.2775"
    assert signed_get(api.em, jobs_path(api.em, project_id="f" * 32)).json() == MISMATCH
    assert [record.auth for record in api.em.requests] == ["aksk"] * 4
    with Api(api.em, OTHER_PROJECT.upper()) as upper:  # the ID as add_project takes it, in either case
        assert upper.get(api.em.url + other, timeout=5).json()["jobs"] == []
    for signed, query, sent in [("/197", [], "/212"), ("", [("page", "1")], "?page=2")]:
        headers = signed_headers(api.em, jobs_path(api.em, signed), query)
        assert (
            requests.get(api.em.url + jobs_path(api.em, sent), headers=headers, timeout=5).status_code == 401
        )


# -- faults -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "fault", "expected"),
    [
        ("get_job", {"status": 429, "retry_after": 2}, ["APIG.0201", "Too Many Requests"]),
        ("list_jobs", {"status": 500, "error_code": "M.1", "error_message": "x"}, ["M.1", "x"]),
        ("iam_token", {"status": 500, "retry_after": 0}, ["APIG.0201", "Internal Server Error"]),
        ("iam_projects", {"status": 429, "error_code": "IAM.0012"}, ["IAM.0012", "Too Many Requests"]),
        ("unknown", {"status": 503}, ["APIG.0201", "Service Unavailable"]),
    ],
)
def test_a_status_fault_answers_in_the_routes_error_shape(
    api: Api, route: str, fault: dict[str, Any], expected: list[Any]
) -> None:
    paths = {"get_job": jobs_path(api.em, "/197"), "list_jobs": jobs_path(api.em), "unknown": "/v2/x"}
    method = "POST" if route == "iam_token" else "GET"
    url = api.em.url + (paths.get(route) or ("/v3/auth/tokens" if method == "POST" else "/v3/projects"))
    api.em.inject_fault(route, **fault)
    response = api.request(method, url, timeout=5)
    retry_after = None if "retry_after" not in fault else str(fault["retry_after"])
    assert (response.status_code, response.headers.get("Retry-After")) == (fault["status"], retry_after)
    body = response.json()  # ModelArts' own shape on its routes, the gateway's elsewhere
    message = body["error_message"] if route in ("get_job", "list_jobs") else body["error_msg"]
    assert (body.get("is_success", False), body["error_code"], message) == (False, *expected)
    assert api.request(method, url, timeout=5).status_code != fault["status"]  # used up


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
    connection.request("GET", jobs_path(api.em, "/197"), headers={"X-Auth-Token": api.em.issue_token()})
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
    started = time.monotonic()
    api.em.stop()  # ends both waits: they are logged unanswered at once, not a minute later
    assert time.monotonic() - started < 10  # and logged where they arrived, unanswered:
    log = [(r.route, r.status) for r in api.em.requests[-3:]]
    assert log == [("get_job", None), ("iam_projects", 200), ("list_jobs", None)]


# -- the HTTP server --------------------------------------------------------------------------------


def test_a_burst_of_connections_waits_to_be_accepted() -> None:
    """Clients that connect together queue for the accept loop: with socketserver's backlog of 5,
    the kernel dropped the rest of a burst, whose clients saw resets or stalls of seconds."""
    server = EmulatorHTTPServer("127.0.0.1", 0, lambda request: wire.json_reply(200, request.path))
    with contextlib.ExitStack() as clients:
        clients.callback(server.server_close)
        address = ("127.0.0.1", server.server_port)
        burst = [clients.enter_context(socket.create_connection(address, timeout=5)) for _ in range(64)]
        server.start("burst")  # only now does anything accept them
        clients.callback(server.stop, 5.0)
        for index, sock in enumerate(burst):
            sock.sendall(b"GET /%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % index)
        for index, sock in enumerate(burst):
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
            assert received.startswith(b"HTTP/1.1 200 ") and received.endswith(b'"/%d"' % index)


def test_keep_alive_framing_nodelay_and_request_ids(api: Api) -> None:
    connection = http.client.HTTPConnection(api.em.host, api.em.port, timeout=5)
    connection.connect()
    first_socket, ids = connection.sock, set()
    for index in range(20):
        if index % 10 == 5:  # a body in between must be consumed exactly
            connection.request("POST", "/v3/auth/tokens", body=json.dumps({"auth": index}))
            expected = b'{"error_code":"IAM.0011"'
        else:
            suffix = "/197" if index % 2 else "/999"
            connection.request("GET", jobs_path(api.em, suffix), headers=dict(api.headers))
            expected = b'{"is_success":' + (b"true" if index % 2 else b"false")
        response = connection.getresponse()
        assert response.read().startswith(expected) and response.getheader("Content-Length")
        ids.add(response.getheader("X-Request-Id"))
    assert connection.sock is first_socket  # http.client would have reconnected otherwise
    assert len(ids) == 20 and all(re.fullmatch(r"[0-9a-f]{32}", str(id_)) for id_ in ids)
    assert api.em._server is not None and api.em._server.connections
    assert all(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for sock in api.em._server.connections)
    connection.close()


@pytest.mark.parametrize("status", [204, 304])
def test_an_answer_without_content_ends_at_its_headers(api: Api, status: int) -> None:
    """A fault's 204 or 304 went out with a length and a body, which a client takes for the start of
    the next answer on the kept-alive connection."""
    api.em.inject_fault("get_job", status=status)
    get = f"GET {jobs_path(api.em, '/197')} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {api.em.issue_token()}"
    with socket.create_connection((api.em.host, api.em.port), timeout=5) as sock:
        sock.sendall(f"{get}\r\n\r\n{get}\r\nConnection: close\r\n\r\n".encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d " % status) and b"X-Request-Id: " in head
    assert b"Content-Length" not in head and rest.startswith(b"HTTP/1.1 200 OK\r\n"), received
    assert [r.status for r in api.em.requests] == [status, 200]


@pytest.mark.parametrize(
    "framing",
    [
        "Content-Length: -1",
        "Content-Length: \u00b2",
        "Content-Length: " + "9" * 5000,
        "Transfer-Encoding: chunked",
        # Two lengths: which one frames the body? The rest was served as a request never sent.
        "Content-Length: 0\r\nContent-Length: 28\r\n\r\nGET /smuggled HTTP/1.1\r\n",
    ],
)
def test_unusable_framing_is_refused_and_closed(emulator: ModelArtsEmulator, framing: str) -> None:
    with socket.create_connection((emulator.host, emulator.port), timeout=5) as sock:
        sock.sendall(f"POST /v3/auth/tokens HTTP/1.1\r\nHost: x\r\n{framing}\r\n\r\n".encode())
        sock.shutdown(socket.SHUT_WR)  # nothing more: a server still reading sees the end
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ") and b"Connection: close" in head
    assert json.loads(body)["error_code"] == "APIG.0201"
    assert emulator.requests == []  # refused before the route: nothing reached the API


#: Requests the gateway refuses before any route: the status it answers, in its JSON (§3.4).
REFUSED = {
    "URI over 64 KiB": (b"GET /v1/" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    "URI over 32 KB": (b"GET /v1/" + b"a" * 40_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    "header line over 64 KiB": (b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 494),
    "150 headers": (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(150)) + b"\r\n", 494),
    "bad request line": (b"GARBAGE\r\n\r\n", 400),
    "HTTP/2.0": (b"GET / HTTP/2.0\r\n\r\n", 505),
    # Refused at once, unread: the 50 MB announced are never sent.
    "body over 12 MB": (b"POST /v3/auth/tokens HTTP/1.1\r\nContent-Length: 50000000\r\n\r\n{", 413),
}


@pytest.mark.parametrize(("raw", "status"), REFUSED.values(), ids=REFUSED)
def test_requests_refused_before_any_route_get_the_gateways_json(
    emulator: ModelArtsEmulator, raw: bytes, status: int
) -> None:
    """Never the standard library's HTML page, nor a wait for a body too large to take."""
    with socket.create_connection((emulator.host, emulator.port), timeout=5) as sock:
        sock.sendall(raw)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d " % status) and b"Connection: close" in head
    assert b"Content-Type: application/json;charset=UTF-8" in head and b"X-Request-Id: " in head
    assert json.loads(body)["error_code"] == "APIG.0201"
    assert emulator.requests == []  # refused before the route: nothing reached the API


def test_a_body_too_large_is_answered_not_reset(emulator: ModelArtsEmulator) -> None:
    """The client still sending its body reads the 413, rather than a reset connection."""
    response = requests.post(f"{emulator.iam_url}/auth/tokens", data=b"x" * (13 << 20), timeout=30)
    assert (response.status_code, response.json()["error_code"]) == (413, "APIG.0201")


#: ``~`` is the visualization jobs of the emulator's project.
UNPUBLISHED = ["GET ~/", "GET ~//197", "GET /v1/{p}/training-jobs", "POST ~", "PUT ~/197", "DELETE ~/197"]
UNPUBLISHED += ["POST ~/197/stop", "GET /v3/auth/tokens", "POST /v3/projects", "PATCH ~/197"]
UNPUBLISHED += ["HEAD ~/197", "OPTIONS ~", "TRACE ~/197", "PROPFIND ~"]


@pytest.mark.parametrize("request_line", UNPUBLISHED)
def test_only_reads_are_published(api: Api, request_line: str) -> None:
    """Anything else, whatever the method, gets the gateway's 404 with a request ID and reaches the
    log, so tests can prove it was never sent."""
    method, path = request_line.replace("~", "/v1/{p}/visualization-jobs").split()
    path = path.format(p=api.em.project_id)
    response = api.request(method, api.em.url + path, json={"job_desc": "x"}, timeout=5)
    assert (response.status_code, len(response.headers["X-Request-Id"])) == (404, 32)
    if method != "HEAD":  # a HEAD answer is the headers alone
        assert response.json()["error_code"] == "APIG.0101"
    logged = [(r.method, r.path, r.route, r.status) for r in api.em.requests]
    assert logged == [(method, path, "unknown", 404)]
    assert api.jobs("/197").json()["job_id"] == 197  # the connection still frames answers
    assert (len(api.em.jobs()), api.em.jobs()[0]["job_desc"]) == (4, "ModelArts API Dialtest")


def test_the_request_log_and_secrets(capfd: pytest.CaptureFixture[str]) -> None:
    """The log records no headers or bodies; the secret key and password appear nowhere (the access
    key is no secret: the gateway echoes it)."""
    with ModelArtsEmulator([{"job_name": "a"}], credentials=CANARY) as em:
        token = em.environ(auth="token")["HW_AUTH_TOKEN"]
        started = time.monotonic()
        em.inject_fault("unknown", drop=True)
        with pytest.raises(requests.ConnectionError):
            requests.get(em.url + "/dropped", timeout=5)
        user = {"name": "x", "password": CANARY.password, "domain": {"name": CANARY.domain_name}}
        identity = {"methods": ["password"], "password": {"user": user}}
        search, headers = {"search_content": "a b"}, {"X-Auth-Token": token}
        responses = [
            requests.post(f"{em.iam_url}/auth/tokens", json={"auth": {"identity": identity}}, timeout=5),
            signed_get(em, jobs_path(em, "/1"), [("page", "2")]),
            signed_get(em, "/v3/projects", skew=3600),
            requests.get(em.url + jobs_path(em), params=search, headers=headers, timeout=5),
        ]
        records = em.requests
        shown = [r.text + json.dumps(dict(r.headers)) for r in responses] + [repr(em), repr(records)]
        shown.append(json.dumps({k: v for k, v in em.describe().items() if k != "credentials"}))
    assert [(r.method, r.path, r.route, r.status, r.auth, r.query) for r in records] == [
        ("GET", "/dropped", "unknown", None, None, {}),
        ("POST", "/v3/auth/tokens", "iam_token", 401, None, {}),
        ("GET", jobs_path(em, "/1"), "get_job", 200, "aksk", {"page": ["2"]}),
        ("GET", "/v3/projects", "iam_projects", 401, "aksk", {}),
        ("GET", jobs_path(em), "list_jobs", 200, "token", {"search_content": ["a b"]}),
    ]
    assert started <= records[0].time <= records[-1].time <= time.monotonic()
    assert not [text for text in shown if CANARY.secret_key in text or CANARY.password in text]
    assert token not in repr(records) and capfd.readouterr().err == ""  # no access log either


@pytest.mark.parametrize("meanwhile", ["", "/v3/projects", "/v2/unpublished"])
def test_the_request_log_is_in_order_of_arrival_when_answers_end_out_of_order(
    api: Api, meanwhile: str
) -> None:
    """Reads held back (a slow answer, a fault's delay, one a client gave up on and retried) are
    logged where they arrived, before a request answered meanwhile: it was logged as answered."""
    held, url = Held(api.em), api.base if not meanwhile else api.em.url + meanwhile
    with ThreadPoolExecutor(3) as pool:
        reads = [
            pool.submit(requests.get, f"{api.base}/{job_id}", headers=api.headers, timeout=30)
            for job_id in (197, 212, 230)
        ]
        assert held.wait_for(3)
        assert requests.get(url, headers=api.headers, timeout=5).status_code in (200, 404)
        held.release()
        assert [read.result().status_code for read in reads] == [200] * 3
    records = api.em.requests
    assert [record.route for record in records] == ["get_job"] * 3 + [
        wire.route("GET", urlsplit(url).path)[0]
    ]
    assert [record.time for record in records] == sorted(record.time for record in records)


def test_stop_closes_keep_alive_connections_and_a_restart_serves_again() -> None:
    em = ModelArtsEmulator([{"job_name": "a"}])
    with pytest.raises(RuntimeError, match="start"):
        _ = em.url
    em.start()
    url, headers = em.url, {"X-Auth-Token": em.issue_token()}
    connection = http.client.HTTPConnection(em.host, em.port, timeout=5)
    connection.request("GET", jobs_path(em, "/1"), headers=headers)
    assert connection.getresponse().read()
    em.stop()
    em.stop()  # idempotent
    assert connection.sock.recv(1) == b""  # the server ended the kept-alive connection
    connection.close()
    with em:
        assert requests.get(url + jobs_path(em, "/1"), headers=headers, timeout=5).status_code == 200


def test_nested_with_blocks_serve_until_the_outermost_ends() -> None:
    """A fixture's emulator entered again by a test, or a helper, keeps serving the outer block."""
    em = ModelArtsEmulator([{"job_name": "a"}])
    with em:
        token = {"X-Auth-Token": em.issue_token()}
        with em as inner, em:
            assert inner is em
        assert requests.get(em.url + jobs_path(em, "/1"), headers=token, timeout=5).status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(em.url + jobs_path(em, "/1"), headers=token, timeout=5)
    em.start()
    with em:  # started by hand, then entered: the block's end stops it, as before
        pass
    with pytest.raises(requests.ConnectionError):
        requests.get(em.url + jobs_path(em, "/1"), headers=token, timeout=5)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "192.0.2.1"])  # the last: no interface has it
def test_a_port_in_use_or_a_host_not_here_names_the_address_and_leaves_nothing_open(host: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        open_before = len(os.listdir("/proc/self/fd"))
        em = ModelArtsEmulator(host=host, port=port)
        for _ in range(3):
            with pytest.raises(OSError, match=rf"^\[Errno -?\d+\] cannot listen on {host} port {port}: \w"):
                em.__enter__()
        assert len(os.listdir("/proc/self/fd")) == open_before
    if host != "192.0.2.1":
        with em:  # free now: the same emulator starts on that port
            assert em.url.endswith(f":{port}")


def test_every_interface_is_reached_through_loopback_and_ipv6_works() -> None:
    assert ModelArtsEmulator(host="0.0.0.0", port=8123).iam_url == "http://127.0.0.1:8123/v3"
    assert ModelArtsEmulator(host="::", port=8123).url == "http://[::1]:8123"
    try:
        em = ModelArtsEmulator([{"job_name": "six"}], host="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback")
    with em, Api(em) as client:
        assert em.iam_url == f"http://[::1]:{em.port}/v3"
        assert client.jobs("/1").json()["job_name"] == "six"
