"""The client against the emulator over loopback HTTP: reads, errors, faults, auth, threads."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import http.client
import itertools
import json
import os
import pickle
import re
import subprocess
import sys
import textwrap
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from urllib3 import HTTPResponse

from pulumi_modelarts import auth, errors, locks
from pulumi_modelarts.client import CONNECTED_CLIENTS, MAX_PAGE_SIZE, ModelArtsClient, shared_client
from pulumi_modelarts.emulator import SAMPLE_JOBS_PATH, ModelArtsEmulator
from pulumi_modelarts.emulator.backend import Project
from pulumi_modelarts.errors import ConfigurationError, InvalidResponseError, JobNotFoundError, ModelArtsError
from pulumi_modelarts.outputs import OUTPUT_FIELDS
from pulumi_modelarts.settings import SecretStr, Settings
from pulumi_modelarts.transport import BoundedRetry
from pulumi_modelarts.validation import MAX_WHOLE_NUMBER
from tests import checks
from tests.checks import CANARY, WRONG_PASSWORD, WRONG_SECRET_KEY, LeakScanner, mismatches
from tests.hostile import (
    ISSUED_TOKEN,
    JOB_197,
    PASSWORD,
    PROJECT,
    FakeCloud,
    PagingServer,
    RawServer,
    header,
    listed_job,
    pages_of,
    reply,
)
from tests.programs import clean_environ

ClientFactory = Callable[..., ModelArtsClient]
JOB = {"job_id": 197, "job_name": "apiTest-11", "status": 8}


def routes(emulator: ModelArtsEmulator, route: str | None = None) -> list[Any]:
    """(route, status) of every request so far, or the statuses of one route's."""
    if route is None:
        return [(r.route, r.status) for r in emulator.requests]
    return [r.status for r in emulator.requests if r.route == route]


# -- reading ------------------------------------------------------------------------------------
@pytest.mark.parametrize("auth", ["aksk", "token", "password"])
@pytest.mark.parametrize("include_project", [True, False])
@pytest.mark.parametrize(
    "emulator",
    [{}, {"region": "EU-NL"}, {"project_id": "6F0C1B1F2A3D4E5F8A9B0C1D2E3F4A5B"}],
    ids=["sample", "region in upper case", "project ID in upper case"],  # as a seed file may give them
    indirect=True,
)
def test_get_job_with_every_auth_mode(
    client_for: ClientFactory, emulator: ModelArtsEmulator, auth: str, include_project: bool
) -> None:
    client = client_for(auth, include_project)
    job = client.get_visualization_job("197")
    outputs = job.to_outputs(project_id=client.project_id, region=client.region)
    assert tuple(outputs) == OUTPUT_FIELDS and client.project_id == emulator.project_id
    assert mismatches(outputs, emulator.get_job(197) or {}, emulator.project_id, emulator.region) == []
    assert (outputs["status_name"], outputs["created_at"]) == ("RUNNING", "2019-08-07T03:48:56Z")
    [details] = [r for r in emulator.requests if r.route == "get_job"]
    assert (details.method, details.path) == ("GET", f"/v1/{emulator.project_id}/visualization-jobs/197")
    assert details.auth == ("aksk" if auth == "aksk" else "token")


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


#: Whole-number list inputs as the engine (floats) and text (digits) carry them, and what is sent.
LIST_NUMBERS = [({"status": 8.0}, "status", "8"), ({"status": "8"}, "status", "8")]
LIST_NUMBERS += [({"per_page": 2.0}, "per_page", "2"), ({"per_page": "2"}, "per_page", "2")]
ALL_JOBS, RUNNING_JOBS = [197, 212, 230, 245], [197, 245]
BAD_STATUSES = (8.5, True, "8.0", "8x", -1, 2**60, 10**30)
WHOLE = "must be a whole number from"
BAD_LIST_NUMBERS = [({"status": value}, f"status {WHOLE} 0 to {MAX_WHOLE_NUMBER}") for value in BAD_STATUSES]
BAD_PAGE_SIZES = (2.5, True, 0, "2.0", MAX_PAGE_SIZE + 1)
BAD_LIST_NUMBERS += [({"per_page": n}, f"per_page {WHOLE} 1 to {MAX_PAGE_SIZE}") for n in BAD_PAGE_SIZES]


@pytest.mark.parametrize(("options", "name", "sent"), LIST_NUMBERS)
def test_list_takes_integral_floats_and_digit_strings(
    client: ModelArtsClient, emulator: ModelArtsEmulator, options: dict[str, Any], name: str, sent: str
) -> None:
    expected = RUNNING_JOBS if name == "status" else ALL_JOBS  # two pages of two
    assert [job.job_id for job in client.list_visualization_jobs(**options)] == expected
    assert {r.query[name][0] for r in emulator.requests if r.route == "list_jobs"} == {sent}


@pytest.mark.parametrize(("options", "said"), BAD_LIST_NUMBERS)
def test_list_refuses_other_numbers_in_one_line_before_sending(
    client: ModelArtsClient, emulator: ModelArtsEmulator, options: dict[str, Any], said: str
) -> None:
    with pytest.raises(errors.InvalidInputError) as caught:
        client.list_visualization_jobs(**options)
    assert str(caught.value).startswith(f"{said}, got ")
    assert emulator.requests == []


BAD_JOB_IDS = [
    " 197 ",
    "197\n",
    "+197",
    "1e3",
    "1_97",
    "\uff11\uff19\uff17",
    197.5,
    True,
    b"197",
    float("nan"),
]
BAD_JOB_IDS += [0, -197, MAX_WHOLE_NUMBER + 1, None]


@pytest.mark.parametrize("job_id", BAD_JOB_IDS, ids=repr)
def test_a_read_refuses_what_is_no_job_id_before_sending(
    client: ModelArtsClient, emulator: ModelArtsEmulator, job_id: object
) -> None:
    with pytest.raises(errors.InvalidInputError) as caught:
        client.get_visualization_job(job_id)  # type: ignore[arg-type]
    assert str(caught.value).startswith(f"job_id {WHOLE} 1 to {MAX_WHOLE_NUMBER}, got ")
    assert "\n" not in str(caught.value) and emulator.requests == []


def test_a_read_takes_an_id_in_any_form_the_engine_or_a_config_gives(
    client: ModelArtsClient, emulator: ModelArtsEmulator
) -> None:
    ids: list[Any] = [197, "197", "0197", 197.0]
    assert [client.get_visualization_job(job_id).job_id for job_id in ids] == [197] * 4
    assert {r.path.rsplit("/", 1)[-1] for r in emulator.requests if r.route == "get_job"} == {"197"}


#: Search text is free text (ModelArts matches it in job names): sent as written and signed as sent.
SEARCHES = ["a b/c", "+~*%&=?#", "\u53ef\u89c6\u5316", "cafe\u0301", "x" * 64, "Flowers"]
BAD_SEARCHES = ["a\nb", "tab\there", "x" * 65, "zero\u200bwidth", "nb\u00a0sp", 5, b"flowers"]
BAD_SEARCHES += [0, False, b"", []]  # text that is not: never read as no filter, as "" is


@pytest.mark.parametrize("auth", ["aksk", "password"])
def test_list_sends_search_text_as_written_and_signed(
    client_for: Callable[..., ModelArtsClient], emulator: ModelArtsEmulator, auth: str
) -> None:
    client = client_for(auth)
    for search in SEARCHES:
        emulator.clear_requests()
        found = [job.job_id for job in client.list_visualization_jobs(search_content=search)]
        assert found == ([245] if search == "Flowers" else []), search  # a case-insensitive substring
        [listed] = [r for r in emulator.requests if r.route == "list_jobs"]  # 200: the signature held
        assert listed.query["search_content"] == [search]


@pytest.mark.parametrize("search", BAD_SEARCHES)
def test_list_refuses_search_text_no_query_can_carry_as_written(
    client: ModelArtsClient, emulator: ModelArtsEmulator, search: object
) -> None:
    with pytest.raises(errors.InvalidInputError) as caught:
        client.list_visualization_jobs(search_content=search)  # type: ignore[arg-type]
    assert str(caught.value).startswith("search_content must be 1-64 printable characters")
    assert "\n" not in str(caught.value) and emulator.requests == []


def test_find_picks_the_exact_name_and_its_errors_name_the_problem(
    client: ModelArtsClient, emulator: ModelArtsEmulator
) -> None:
    """The service's search is a case-insensitive substring match; a lookup takes the exact name."""
    exact = emulator.add_job("board", status=8)
    for near in ("board-2", "dashboard", "BOARD"):
        emulator.add_job(near, status=8)
    job = client.find_visualization_job("board")
    assert job.job_id == exact["job_id"] and job.job_type == "TensorBoard"  # full details, not the list item
    with pytest.raises(JobNotFoundError, match="no visualization job is named 'boar'") as missing:
        client.find_visualization_job("boar")
    assert "Check the name" in str(missing.value) and "job ID" not in str(missing.value)
    first, second = (emulator.add_job("twin")["job_id"] for _ in range(2))
    with pytest.raises(errors.AmbiguousJobNameError, match=f"IDs {first}, {second}"):
        client.find_visualization_job("twin")


def test_a_name_missing_but_for_its_case_names_the_job_it_differs_from(
    client: ModelArtsClient, emulator: ModelArtsEmulator
) -> None:
    """Before, ``find apitest-11`` said only to check the name, though job 197 is ``apiTest-11``."""
    with pytest.raises(JobNotFoundError) as missing:
        client.find_visualization_job("apitest-11")
    assert missing.value.summary == "no visualization job is named 'apitest-11'"
    assert missing.value.hint == "Job 197 is named 'apiTest-11': a name is matched exactly, case included"
    with pytest.raises(JobNotFoundError, match="Check the name .matched exactly, case included"):
        client.find_visualization_job("apitest-1")  # a part of it: no job to name


def test_a_name_many_jobs_share_is_one_short_line_naming_the_first_ids_and_the_count(
    client: ModelArtsClient, emulator: ModelArtsEmulator
) -> None:
    """Before, 300 IDs were cut mid-list at the summary's 400 characters, with no count of the rest."""
    ids = [emulator.add_job("dup")["job_id"] for _ in range(300)]
    with pytest.raises(errors.AmbiguousJobNameError) as caught:
        client.find_visualization_job("dup")
    shown = ", ".join(map(str, ids[:10]))
    assert caught.value.summary == f"300 visualization jobs are named 'dup' (IDs {shown} and 290 more)"
    assert caught.value.hint == f"Read the one you mean by its ID, e.g. get_visualization_job({ids[0]})"


@contextlib.contextmanager
def paged(pages: Callable[[int], Any], *jobs: dict[str, Any]) -> Iterator[ModelArtsClient]:
    """A client of a server answering the list call's page N with ``pages(N)``, and ``jobs`` by ID."""
    with (
        PagingServer(pages, jobs) as server,
        ModelArtsClient(FakeCloud.settings(server.url, "aksk")) as client,
    ):
        yield client


@pytest.mark.parametrize("empty", [{"jobs": []}, {"jobs": None}, {"job_total_count": None, "jobs": []}])
def test_a_count_a_page_leaves_out_is_the_count_pages_before_gave(empty: dict[str, Any]) -> None:
    """Before, a page without ``job_total_count`` (or with null) ended the listing unchecked: an empty
    page 2 after a page 1 counting 25 handed over 10 jobs as the whole list, and a lookup by the name
    of job 17 said that no job has it."""
    pages, short = pages_of(10), "ended at page 2 with 10 of the 25 jobs it counts"
    with paged(lambda page: pages(page) if page == 1 else empty, listed_job(17)) as client:
        with pytest.raises(InvalidResponseError, match=short):
            list(client.list_visualization_jobs())
        with pytest.raises(InvalidResponseError, match=short):
            client.find_visualization_job("job-17")
    with paged(lambda page: pages(page) if page == 1 else {"jobs": pages(page)["jobs"]}) as client:
        assert [job.job_id for job in client.list_visualization_jobs()] == list(range(1, 26))


def moving(change: Callable[[dict[int, dict[str, Any]], int], object]) -> Callable[[int], dict[str, Any]]:
    """Jobs 1-25 paged sorted by status (1-12 WAITING, the rest COMPLETED) whatever ``sortBy`` asks
    (a server with an order of its own), 10 a page and counted, with
    ``change(jobs, read)`` applied before page 2 of each reading (``read`` counts them from 1)."""
    jobs = {n: {**listed_job(n), "status": 7 if n <= 12 else 10} for n in range(1, 26)}
    reads = [0]

    def page(number: int) -> dict[str, Any]:
        reads[0] += number == 1
        if number == 2:
            change(jobs, reads[0])
        ordered = sorted(jobs.values(), key=lambda job: (job["status"], job["job_id"]))
        return {"job_total_count": len(jobs), "jobs": ordered[(number - 1) * 10 :][:10]}

    return page


@pytest.mark.parametrize(
    ("job", "status"),
    [(3, 11), (20, 0)],
    ids=["a job read on page 1 moves past the others", "an unread job moves onto page 1"],
)
def test_a_job_that_moves_between_pages_has_the_listing_read_again(job: int, status: int) -> None:
    """Its status changed while the pages sorted by status were read: the pages after it shifted, one
    job went unread and another was listed twice, the count unchanged. Before, the listing was refused
    ("ended at page 3 with 24 of the 25 jobs it counts") and told to check the endpoint."""
    moved = moving(lambda jobs, read: jobs[job].update(status=status) if read == 1 else None)
    with paged(moved) as client:
        listed = [(item.job_id, item.status) for item in client.list_visualization_jobs(sort_by="status")]
    assert sorted(listed) == [(n, status if n == job else 7 if n <= 12 else 10) for n in range(1, 26)]


@pytest.mark.parametrize("sort_by", ["status", "job_name", "job_desc"])
def test_a_listing_sorted_by_a_field_that_changes_is_paged_by_id_and_read_once(
    client: ModelArtsClient, emulator: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, sort_by: str
) -> None:
    """The pages are read in the order of job IDs, which never change, and sorted as asked once all
    are read: a job whose status (name, description) changes while they are read moves no other.
    Before, the service was asked for pages sorted by that field: the job moved, the pages after it
    shifted, and the listing had to be read again (or was refused)."""
    for n in range(21):
        emulator.add_job(f"bulk-{n:02d}", status=10, job_desc=f"bulk {n:02d}")
    answer = emulator._answer

    def changing(request: Any, match: Any) -> Any:
        reply = answer(request, match)
        if match.route == "list_jobs" and request.param("page") == "1":
            emulator.update_job(197, status=11, job_name="zz-last", job_desc="zz last")
        return reply

    monkeypatch.setattr(emulator, "_answer", changing)
    emulator.clear_requests()
    for order in ("asc", "desc"):
        before = emulator.jobs()  # job 197, on page 1, is listed as it was before its change
        listed = list(client.list_visualization_jobs(sort_by=sort_by, order=order, per_page=10))
        expected = [job["job_id"] for job in sorted(before, key=lambda job: (job[sort_by], job["job_id"]))]
        assert [job.job_id for job in listed] == (expected if order == "asc" else expected[::-1])
    pages = [(r.query["page"], r.query["sortBy"], r.query["order"]) for r in emulator.requests]
    assert pages == [([str(n)], ["job_id"], ["asc"]) for n in (1, 2, 3)] * 2  # one reading each


def test_jobs_that_move_on_every_reading_are_refused_saying_to_try_again() -> None:
    moved = moving(lambda jobs, read: jobs[read].update(status=11))
    with paged(moved) as client, pytest.raises(InvalidResponseError) as refused:
        list(client.list_visualization_jobs(sort_by="status"))
    said = "the listing changed while it was read 3 times (jobs moved from page to page, 24 of the 25 listed)"
    assert said in str(refused.value)
    assert (
        refused.value.hint == "Jobs are being created, deleted or changed: try again, or narrow the listing"
    )


def test_a_job_read_twice_is_equal_and_shows_its_fields(
    client: ModelArtsClient, emulator: ModelArtsEmulator
) -> None:
    """Before, two reads of an unchanged job (or a job and its copy) compared unequal, and a job
    showed as ``<JobModel object at 0x...>``."""
    job = client.get_visualization_job(197)
    for same in (client.get_visualization_job(197), copy.deepcopy(job), pickle.loads(pickle.dumps(job))):
        assert same == job and repr(same) == repr(job)
    assert repr(job).startswith("JobModel(job_id=197, job_name='apiTest-11', status=8, ")
    assert "flavor=Flavor(code='modelarts.vm.cpu.2u')" in repr(job) and " at 0x" not in repr(job)
    emulator.update_job(197, duration=34000)
    assert client.get_visualization_job(197) != job  # a field apart: unequal
    [listed] = [item for item in client.list_visualization_jobs() if item.job_id == 197]
    assert listed != job and job != 197  # the list item lacks the job's type and flavor


def test_a_client_copied_is_one_of_its_own_and_pickling_one_is_refused_in_one_line(
    client: ModelArtsClient,
) -> None:
    """Before, a deep copy or a pickle failed with "cannot pickle '_thread._local' object"; pickled,
    a client would carry its credentials."""
    client.get_visualization_job(197)
    for copied in (copy.copy(client), copy.deepcopy(client)):
        assert copied is not client and copied.settings is client.settings and repr(copied) == repr(client)
        assert copied.get_visualization_job(197).job_id == 197
        copied.close()
    with pytest.raises(TypeError) as refused:
        pickle.dumps(client)
    assert str(refused.value) == (
        "a ModelArtsClient is not pickled, as it holds credentials and connections: "
        "make one in each process, e.g. ModelArtsClient(Settings.from_sources())"
    )
    assert client.get_visualization_job(197).job_id == 197


# -- errors and faults ----------------------------------------------------------------------------
@pytest.mark.reliability("fault matrix")
@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [(None, 400, "ModelArts.2775"), ({"status": 404, "error_code": "ModelArts.0015"}, 404, "ModelArts.0015")],
    ids=["400 style", "404 style"],
)
def test_a_missing_job_in_both_styles(
    client: ModelArtsClient, emulator: ModelArtsEmulator, fault: Any, status: int, code: str
) -> None:
    if fault:
        emulator.inject_fault("get_job", **fault)
    with pytest.raises(JobNotFoundError) as caught:
        client.get_visualization_job(197 if fault else 4242)
    error, job = caught.value, 197 if fault else 4242
    assert (error.status, error.error_code, error.job_id) == (status, code, job)
    parts = ("get visualization job", f"job {job}", f"project {emulator.project_id}", f"HTTP {status}", code)
    for part in (*parts, f"host {emulator.url.split('//')[1]}", f"request-id {error.request_id}"):
        assert part in str(error)
    assert error.request_id and "\n" not in str(error)
    assert len(emulator.requests) == 1  # not retried


def test_endpoint_without_the_api_is_a_configuration_error(
    client_for: ClientFactory, emulator: ModelArtsEmulator
) -> None:
    with pytest.raises(ConfigurationError, match="does not serve this API"):
        client_for(endpoint=f"{emulator.url}/wrong-prefix").get_visualization_job(197)


#: URLs holding the API path the package appends (the Keystone catalog's /v1/{project_id}, the API
#: pages' /v3/auth/tokens), or another Keystone version: refused, no request sent.
HOLDING_API_PATHS = {"endpoint": ["/v1", "/v1/{project}", "/V2/", "/prefix/v1.0"]}
HOLDING_API_PATHS["auth_url"] = ["/v3/auth/tokens", "/v3/projects", "/v2.0", "/identity/v3/auth"]
REFUSALS = {"endpoint": "^endpoint must not end in an API version", "auth_url": "^authUrl must be IAM's"}


@pytest.mark.parametrize(
    ("setting", "path"), [(key, path) for key, paths in HOLDING_API_PATHS.items() for path in paths]
)
def test_a_url_holding_the_api_path_appended_to_it_is_refused_before_any_request(
    client_for: ClientFactory, emulator: ModelArtsEmulator, setting: str, path: str
) -> None:
    url = emulator.url + path.format(project=emulator.project_id)
    with pytest.raises(ConfigurationError, match=REFUSALS[setting]) as caught:
        client_for("password", **{setting: url}).get_visualization_job(197)
    assert "\n" not in str(caught.value) and emulator.requests == []
    # Its base, and a path that is no API's, are read.
    base = {"endpoint": emulator.url, "auth_url": f"{emulator.url}/v3/"}[setting]
    assert client_for("password", **{setting: base}).get_visualization_job(197).job_id == 197


HTML = {"body": "<html><body>502 Bad Gateway</body></html>", "content_type": "text/html"}
DENIED = {"is_success": False, "error_code": "ModelArts.0104", "error_message": "job denied"}
FOREIGN, PW, TWO = {"project_id": "0" * 28 + "beef"}, {"auth": "password"}, {"max_retries": 2}
#: A stall, and the read timeout that ends it, for a case of it alone: the timeout outlasts a loaded
#: machine's slow answers (0.3 s did not: the answer after the stall was retried too), the stall the timeout.
STALL, STALL_READ_TIMEOUT = {"delay": 5.0}, 1.0
WRONG_PW = {**PW, "password": WRONG_PASSWORD}


def err(status: int, code: str, count: int = 1, **more: Any) -> dict[str, Any]:
    return {"status": status, "error_code": code, "count": count, **more}


ECHO_AKSK = err(400, "X.1", error_message=f"bad key {CANARY.secret_key} for {CANARY.access_key}")
ECHO_PASSWORD = err(400, "X.1", error_message=f"bad password {CANARY.password}")


def body(document: Any) -> dict[str, Any]:
    return {"body": json.dumps(document)}


def page(status: int, count: int = 1) -> dict[str, Any]:
    return {"status": status, **HTML, "count": count}


#: name -> (fault on the next GETs of job 197, settings (``auth`` picks the mode), the outcome:
#: "recovered" or "<error class>: <part of its message>", GET attempts). Retries at their
#: defaults (5, back-off 0.25 s doubling, Retry-After honoured) unless ``max_retries`` is set.
FAULTS: dict[str, tuple[dict[str, Any], dict[str, Any], str, int | None]] = {
    "500 ModelArts.5039 x3": (err(500, "ModelArts.5039", 3), {}, "recovered", 4),
    "503 ModelArts.4302 x3": (err(503, "ModelArts.4302", 3), {}, "recovered", 4),
    "502 HTML page x2": (page(502, 2), {}, "recovered", 3),
    "504 ModelArts.4503": (err(504, "ModelArts.4503"), {}, "recovered", 2),
    # 408: "may repeat later unchanged" (status-code table); ModelArts.6100 says "please try again".
    "408 ModelArts.6100 x2": (err(408, "ModelArts.6100", 2), {}, "recovered", 3),
    "408 HTML page (a proxy's idle timeout)": (page(408), {}, "recovered", 2),
    "408 ModelArts.4205 beyond 2 retries": (err(408, "ModelArts.4205", 50), TWO, "ServiceError: after 3", 3),
    "408 HTML beyond 1 retry": (page(408, 9), {"max_retries": 1}, "ServiceError: HTTP 408 after 2", 2),
    "connection reset x2": ({"reset": True, "count": 2}, {}, "recovered", 3),
    "connection dropped without answer x2": ({"drop": True, "count": 2}, {}, "recovered", 3),
    "429 with Retry-After: 1": (err(429, "APIG.0308", retry_after=1), {}, "recovered", 2),
    # The stalled request is logged only when its stall ends: its attempts are not counted.
    "5 s stall, readTimeout 1 s": (STALL, {"read_timeout": STALL_READ_TIMEOUT}, "recovered", None),
    "503 beyond 2 retries": (err(503, "ModelArts.4302", 50), TWO, "ServiceError: after 3 attempts", 3),
    "429 beyond 2 retries": (err(429, "APIG.0308", 50), TWO, "ThrottledError: throttled after 3 attempts", 3),
    "500 ModelArts.5039 beyond 2 retries": (err(500, "ModelArts.5039", 50), TWO, "ThrottledError: 5039", 3),
    "dropped beyond 2 retries": ({"drop": True, "count": 50}, TWO, "ServiceError: after 3 attempt(s)", 3),
    "502 HTML beyond 1 retry": (page(502, 9), {"max_retries": 1}, "ServiceError: 502", 2),
    "HTML page (200)": (HTML, {}, "InvalidResponseError: not readable JSON", 1),
    "truncated JSON (200, half the body)": (
        {"truncate": True},
        {},
        "InvalidResponseError: not readable JSON",
        1,
    ),
    "wrong field types (200)": (body({**JOB, "status": "running"}), {}, "InvalidResponseError: 'status'", 1),
    "a JSON list (200)": ({"body": "[1, 2]"}, {}, "InvalidResponseError: expected a JSON object", 1),
    "12 MiB body (200)": ({"body": b"{" + b" " * (12 << 20) + b"}"}, {}, "InvalidResponseError: 10 MiB", 1),
    "answer for another job (200)": (body({**JOB, "job_id": 5}), {}, "InvalidResponseError: with job 5", 1),
    "is_success false (200)": (body(DENIED), {}, "ServiceError: ModelArts.0104", 1),
    "404 HTML page (a proxy, a wrong path)": (page(404), {}, "InvalidResponseError: non-API", 1),
    "the server echoes the AK/SK": (ECHO_AKSK, {}, "ServiceError: bad key *** for ***", 1),
    "the server echoes the password": (ECHO_PASSWORD, PW, "ServiceError: bad password ***", 1),
    "wrong AK/SK: not retried": ({}, {"secret_key": WRONG_SECRET_KEY}, "AuthenticationError: APIG.0301", 1),
    "wrong password: fails at IAM": ({}, WRONG_PW, "AuthenticationError: IAM token", 0),
    # A 401's hint names the credentials of the kind in use, and what wears out with them.
    "wrong AK/SK: the keys and the clock hinted": (
        {},
        {"secret_key": WRONG_SECRET_KEY},
        "AuthenticationError: Check modelarts:accessKey (or HW_ACCESS_KEY), modelarts:secretKey (or"
        " HW_SECRET_KEY) and this machine's clock",
        1,
    ),
    "a token IAM no longer takes: hinted as expired, never renewed": (
        {},
        {"auth": "token", "auth_token": WRONG_PASSWORD},
        "AuthenticationError: The token in modelarts:authToken (or HW_AUTH_TOKEN) is invalid or has expired",
        1,
    ),
    "wrong password: the login hinted": ({}, WRONG_PW, "AuthenticationError: Check modelarts:userName", 0),
    "a project not in the account": ({}, FOREIGN, "PermissionDeniedError: HTTP 403", 1),
    "a token for another project": ({}, {"auth": "token", **FOREIGN}, "PermissionDeniedError: not match", 1),
}
SLOW_FAULTS = {  # the default 5 retries exhausted: several seconds of back-off each
    "429 x6 with Retry-After: 1": (err(429, "APIG.0308", 6, retry_after=1), "ThrottledError"),
    "500 ModelArts.5039 x6": (err(500, "ModelArts.5039", 6), "ThrottledError"),
    "502 HTML page x6": (page(502, 6), "ServiceError"),
}
CASES = [
    *(pytest.param(case, id=name) for name, case in FAULTS.items()),
    *(
        pytest.param((fault, {}, f"{kind}: after 6 attempt", 6), id=name, marks=pytest.mark.slow)
        for name, (fault, kind) in SLOW_FAULTS.items()
    ),
]


@pytest.mark.reliability("fault matrix")
@pytest.mark.parametrize("case", CASES)
def test_fault_matrix(
    client_for: ClientFactory, emulator: ModelArtsEmulator, leaks: LeakScanner, case: Any
) -> None:
    """Each fault ends in the right job, or in the named typed error saying it in one line."""
    fault, settings, expected, attempts = case
    client = client_for(**settings)
    if fault:
        emulator.inject_fault("get_job", **fault)
    try:
        job = client.get_visualization_job(197)
    except ModelArtsError as exc:
        leaks.scan_error("fault matrix", exc)
        outcome = f"{type(exc).__name__}: {exc}"
        assert "\n" not in outcome and len(outcome) < 700
    else:
        outputs = job.to_outputs(project_id=client.project_id, region=client.region)
        wrong = mismatches(outputs, emulator.get_job(197) or {}, emulator.project_id, emulator.region)
        outcome = f"wrong: {wrong}" if wrong else "recovered"
    kind, _, fragment = expected.partition(": ")
    said = outcome.startswith(f"{kind}: ") and fragment in outcome if fragment else outcome == expected
    assert said, outcome
    assert attempts is None or len(routes(emulator, "get_job")) == attempts
    if expected != "recovered" and fault:
        emulator.clear_faults()
        assert client.get_visualization_job(197).job_id == 197  # the client is still usable


@pytest.mark.parametrize("status", [200, 400])
@pytest.mark.parametrize(
    "code", ["ModelArts.5039", "ModelArts.2799", "ModelArts.4206", "ModelArts.6101", "APIG.0308", "IAM.0012"]
)
def test_a_throttling_code_in_an_answer_never_retried_does_not_say_to_raise_max_retries(
    client_for: ClientFactory, emulator: ModelArtsEmulator, status: int, code: str
) -> None:
    """Only 429 and 5xx are retried: more retries would not help, and the hint says what would."""
    emulator.inject_fault("get_job", status=status, error_code=code, count=50)
    with pytest.raises(errors.ThrottledError) as raised:
        client_for(max_retries=5).get_visualization_job(197)
    assert len(routes(emulator, "get_job")) == 1
    assert f"HTTP {status}, {code}" in str(raised.value) and "maxRetries" not in str(raised.value)
    assert str(raised.value).endswith(f"try again later (an answer with HTTP {status} is not retried)")


def test_a_403_without_a_project_code_is_access_denied_and_not_retried(
    client_for: ClientFactory, emulator: ModelArtsEmulator
) -> None:
    emulator.inject_fault("get_job", status=403, error_code="ModelArts.0108", count=50)
    with pytest.raises(
        errors.PermissionDeniedError, match=r"access denied \(.*HTTP 403, ModelArts.0108"
    ) as raised:
        client_for().get_visualization_job(197)
    assert raised.value.exit_code == 4 and len(routes(emulator, "get_job")) == 1


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
    with pytest.raises(errors.ThrottledError, match="server asks to wait 3600 s"):  # not an hour, nor 60 s
        client_for(timeout=5).get_visualization_job(197)
    assert len(routes(emulator, "get_job")) == 1
    emulator.clear_requests()
    emulator.clear_faults()
    emulator.inject_fault("get_job", status=429, retry_after=1, count=50)
    with pytest.raises(errors.ThrottledError):
        client_for(timeout=1.6, max_retries=20).get_visualization_job(197)
    # One attempt a second within 1.6 s: the second wait would end past the deadline.
    assert len(routes(emulator, "get_job")) == 2


#: Retry-After values as sent -> what the error says of them: only one the retries heed is quoted.
SAID_WAITS: dict[str, str | None] = {
    "2": "2 s",
    "Wed, 21 Oct 2015 07:28:00 GMT": "Wed, 21 Oct 2015 07:28:00 GMT",
}
SAID_WAITS |= dict.fromkeys(["soon", "-5", "1e3", "1.5", "9" * 5000, "Mon, 01 Jan 99999 00:00:00 GMT"])
SAID_WAITS |= {"2, 2": "2 s", "2, 3": None}  # a gateway's field and the service's: one wait, said twice


@pytest.mark.parametrize(("value", "said"), SAID_WAITS.items(), ids=lambda value: str(value)[:40])
def test_a_throttled_error_quotes_only_a_retry_after_it_heeded(
    client_for: ClientFactory, emulator: ModelArtsEmulator, value: str, said: str | None
) -> None:
    emulator.inject_fault("get_job", status=429, retry_after=value, count=50)
    with pytest.raises(errors.ThrottledError) as raised:
        client_for(timeout=3, max_retries=1).get_visualization_job(197)
    quoted = re.findall(r"; server asks to wait ([^(]+?) \(", str(raised.value))
    assert quoted == ([said] if said else []), str(raised.value)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        *[("3600", 60), ("2", 2), ("soon", None), ("nan", None), ("inf", None), ("1e999", None)],
        *[("-1", None), ("2, 2", 2), ("3600,3600 ", 60), ("2, 3", None), ("2, soon", None)],
    ],
)
def test_retry_after_is_capped_at_a_minute(value: str, seconds: int | None) -> None:
    retry = BoundedRetry(total=3)
    assert retry.get_retry_after(HTTPResponse(status=429, headers={"Retry-After": value})) == seconds


# -- authentication -----------------------------------------------------------------------------
def test_sixteen_threads_share_one_client_one_token_and_kept_alive_connections(
    client_for: ClientFactory, emulator: ModelArtsEmulator
) -> None:
    client = client_for("password", include_project=False)
    expected = {job["job_id"]: job["job_name"] for job in emulator.jobs()}
    ids, barrier = sorted(expected), threading.Barrier(16)

    def worker(index: int) -> list[int]:
        barrier.wait()  # the first reads, token request included, all at once
        jobs = [client.get_visualization_job(ids[(index + n) % len(ids)]) for n in range(50)]
        return [job.job_id for job in jobs if job.job_name != expected[job.job_id]]

    with ThreadPoolExecutor(16) as pool:
        assert [wrong for wrongs in pool.map(worker, range(16)) for wrong in wrongs] == []
    found = [r.route for r in emulator.requests]
    assert found.count("get_job") == 800 and found.count("iam_token") == 1
    one = client_for()
    for _ in range(50):
        one.get_visualization_job(197)
    pools = one._transport.adapter().poolmanager.pools
    assert [pools[key].num_connections for key in pools.keys()] == [1]  # noqa: SIM118 - no __iter__


CALLS: dict[str, Callable[[ModelArtsClient], object]] = {
    "read": lambda client: client.get_visualization_job(197),
    "list": lambda client: list(client.list_visualization_jobs()),
    "find": lambda client: client.find_visualization_job("apiTest-11"),
    "project": lambda client: client.project_id,
}


@pytest.mark.parametrize("auth", ["aksk", "token", "password"])
def test_calls_waiting_for_another_threads_iam_request_end_at_their_own_timeout(
    client_for: ClientFactory, emulator: ModelArtsEmulator, auth: str
) -> None:
    """One thread asks a silent IAM for all: the others end at their own deadline, not one after another."""
    emulator.inject_fault("iam_token" if auth == "password" else "iam_projects", delay=30, count=9)
    client = client_for(auth, include_project=False, timeout=1)

    def timed(call: Callable[[ModelArtsClient], object]) -> tuple[float, str]:
        started = time.monotonic()
        with pytest.raises(errors.ServiceError) as failed:
            call(client)
        return time.monotonic() - started, str(failed.value)

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(timed, [*CALLS.values()] * 2))
    late = [(round(took, 2), text) for took, text in outcomes if took >= 1.8 or "timeout of 1 s" not in text]
    assert late == []


def connections_to(port: int) -> int:
    """This process's descriptors on TCP connections to ``port`` on loopback (client ends only)."""
    rows = [line.split() for line in Path("/proc/net/tcp").read_text(encoding="ascii").splitlines()[1:]]
    inodes = {f"socket:[{row[9]}]" for row in rows if int(row[2].rpartition(":")[2], 16) == port}
    links = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone already
            links.append(os.readlink(f"/proc/self/fd/{fd}"))
    return sum(link in inodes for link in links)


@pytest.mark.parametrize("auth", ["aksk", "password"])
@pytest.mark.parametrize("threads", ["started", "pooled"])
def test_connections_of_threads_that_ended_are_closed(
    client_for: ClientFactory, emulator: ModelArtsEmulator, auth: str, threads: str
) -> None:
    """Threads that come and go (the function forms' pool resizes) leave no sockets behind."""
    client, port = client_for(auth), emulator.port
    if threads == "pooled":
        with ThreadPoolExecutor(24) as pool:
            assert {job.job_id for job in pool.map(client.get_visualization_job, [197] * 96)} == {197}
    else:
        started = [threading.Thread(target=client.get_visualization_job, args=(197,)) for _ in range(24)]
        for thread in started:
            thread.start()
        for thread in started:
            thread.join()
    assert len(emulator.requests) >= 24
    assert connections_to(port) == 0
    client.get_visualization_job(197)  # the control: this thread's connection stays open for its next read
    assert connections_to(port) > 0


@pytest.mark.parametrize("auth", ["aksk", "password"])
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")  # forks on purpose
def test_a_forked_child_reads_on_connections_of_its_own(
    client_for: ClientFactory, emulator: ModelArtsEmulator, auth: str
) -> None:
    """Neither process sends on a kept-alive connection the other holds, and reads the other's answers."""
    client, (mine, theirs) = client_for(auth, timeout=3), [job["job_id"] for job in emulator.jobs()][:2]
    client.get_visualization_job(mine)  # a kept-alive connection (and a token) for the child to inherit
    emulator.latency = 0.02  # so that the two processes' reads overlap
    start_reading, started = os.pipe()
    if (pid := os.fork()) == 0:  # the child: exits with how many reads failed, and never returns
        failed = 20
        try:
            os.read(start_reading, 1)
            failed = sum(not _read_as_asked(client, theirs) for _ in range(20))
        finally:
            os._exit(failed)
    try:
        os.write(started, b"!")
        failed = sum(not _read_as_asked(client, mine) for _ in range(20))
    finally:
        _, status = os.waitpid(pid, 0)
    assert (failed, os.waitstatus_to_exitcode(status)) == (0, 0)


@pytest.mark.parametrize("auth", ["password", "aksk"])
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")  # forks on purpose
def test_a_child_forked_while_another_thread_authenticates_authenticates_itself(auth: str) -> None:
    """The lock a thread holds while it logs in (or looks up the project) is the parent's: the
    child, which has no such thread, reads at once, its own login or lookup included."""
    cloud, arrived, answer = FakeCloud(), threading.Event(), threading.Event()

    def iam_held_back(head: bytes) -> Iterator[bytes]:
        if b" /v3/" in head.split(b"\r\n")[0] and not arrived.is_set():
            arrived.set()
            answer.wait(30)
        yield from cloud(head)

    with RawServer(iam_held_back) as server:
        client = ModelArtsClient(FakeCloud.settings(server.url, auth, project_id=None, timeout=5))
        read: list[int] = []
        reader = threading.Thread(target=lambda: read.append(client.get_visualization_job(197).job_id))
        reader.start()
        try:
            assert arrived.wait(10)  # the reader is inside IAM's request, holding its lock
            if (pid := os.fork()) == 0:  # the child: exits 0 once it has read, and never returns
                code = 1
                try:
                    code = 0 if client.get_visualization_job(197).job_id == 197 else 2
                finally:
                    os._exit(code)
            _, status = os.waitpid(pid, 0)  # the parent's login is still held back meanwhile
        finally:
            answer.set()
            reader.join()
    assert (os.waitstatus_to_exitcode(status), read) == (0, [197])  # the parent's reader read too
    iam = "/v3/auth/tokens?nocatalog=true" if auth == "password" else "/v3/projects?name=eu-de"
    assert cloud.paths.count(iam) == 2  # the child's and the parent's


def _interrupted_at(opcode: int, filename: str, action: Callable[[], object]) -> bool:
    """Run ``action`` with a KeyboardInterrupt raised before its ``opcode``-th instruction of Python
    code in ``filename``, as Ctrl-C's handler raises one at the next instruction; True if it was."""
    seen = [0]

    def instruction(frame: Any, event: str, arg: object) -> Any:
        if event == "opcode":
            seen[0] += 1
            if seen[0] == opcode + 1:
                raise KeyboardInterrupt
        return instruction

    def call(frame: Any, event: str, arg: object) -> Any:
        if frame.f_code.co_filename != filename:
            return None
        frame.f_trace_opcodes, frame.f_trace = True, instruction
        return instruction

    sys.settrace(call)
    try:
        action()
    except KeyboardInterrupt:
        pass
    finally:
        sys.settrace(None)
    return seen[0] > opcode


def _taken(lock: locks.Lock) -> None:
    with lock:
        pass


def test_a_lock_interrupted_as_it_is_taken_or_given_back_is_left_free() -> None:
    """Ctrl-C (or SIGTERM, which the CLI takes for it) interrupting ``with lock:`` right after the
    lock is taken, or before it is given back, leaves it free: cleanup, a notebook's next read, or
    exit handlers that take it again in the same thread do not wait for ever."""
    for opcode in itertools.count():
        lock = locks.Lock()
        interrupted = _interrupted_at(opcode, locks.__file__, functools.partial(_taken, lock))
        assert lock.acquire(blocking=False), f"left held by an interrupt at instruction {opcode}"
        lock.release()
        if not interrupted:
            break


#: Programs reading as the process winds down, each printing job 197's name twice.
WINDING_DOWN = {
    "threads still reading": """
        from pulumi_modelarts import ModelArtsClient
        client = ModelArtsClient(Settings.from_sources())
        read = lambda: print(client.get_visualization_job(197).job_name)
        for _ in range(2):
            threading.Thread(target=read).start()
    """,
    "an executor left running": """
        from concurrent.futures import ThreadPoolExecutor  # its exit hook registered before the client's
        from pulumi_modelarts import ModelArtsClient
        client = ModelArtsClient(Settings.from_sources())
        pool, show = ThreadPoolExecutor(2), lambda done: print(done.result().job_name)
        for _ in range(2):
            pool.submit(client.get_visualization_job, 197).add_done_callback(show)
    """,
    "a thread first reading after the main thread ended": """
        def read():
            threading.main_thread().join()  # returns once the interpreter's exit hooks have run
            from pulumi_modelarts.client import ModelArtsClient
            client = ModelArtsClient(Settings.from_sources())
            for _ in range(2):
                print(client.get_visualization_job(197).job_name)
        threading.Thread(target=read).start()
    """,
    "an atexit handler": """
        from pulumi_modelarts import ModelArtsClient
        client = ModelArtsClient(Settings.from_sources())
        atexit.register(lambda: [print(client.get_visualization_job(197).job_name) for _ in range(2)])
        threading.Thread(target=client.get_visualization_job, args=(197,)).start()
    """,
    "an atexit handler first reading": """
        def read():
            from pulumi_modelarts.client import ModelArtsClient
            client = ModelArtsClient(Settings.from_sources())
            for _ in range(2):
                print(client.get_visualization_job(197).job_name)
        atexit.register(read)
    """,
}


@pytest.mark.parametrize("program", WINDING_DOWN.values(), ids=WINDING_DOWN.keys())
def test_reads_as_a_program_winds_down_are_served_as_any_other(
    emulator: ModelArtsEmulator, program: str
) -> None:
    """Python waits for threads and runs atexit handlers before exit: reads and imports there still work."""
    emulator.latency = 0.3  # so that the first reads are in flight as the main thread ends
    source = "import atexit, threading\nfrom pulumi_modelarts import Settings\n"
    command = [sys.executable, "-c", source + textwrap.dedent(program)]
    environ = clean_environ(emulator.environ())
    done = subprocess.run(command, env=environ, capture_output=True, text=True, timeout=60)
    # What two threads print at once may interleave: count the names.
    assert (done.returncode, done.stderr, done.stdout.count("apiTest-11")) == (0, "", 2), done.stdout


def _read_as_asked(client: ModelArtsClient, job_id: int) -> bool:
    try:
        return client.get_visualization_job(job_id).job_id == job_id
    except ModelArtsError:  # another job's answer, or a garbled one
        return False


@pytest.mark.slow
@pytest.mark.parametrize("override", ["project_id", "region"])
def test_more_places_than_kept_connected_still_fetch_one_token_each(
    emulator: ModelArtsEmulator, override: str
) -> None:
    """A refresh over many projects or regions: one token per place; only the least recent disconnect."""
    places = []
    for n in range(CONNECTED_CLIENTS + 8):  # IAM scopes a region's token to the project named as it
        emulator.add_project(f"xx-place-{n}", project_id := f"{n + 1:032x}")
        places.append({"project_id": project_id} if override == "project_id" else {"region": f"xx-place-{n}"})
    configured = Settings.from_sources(environ=emulator.environ("password"))

    def read(place: dict[str, str]) -> None:
        with contextlib.suppress(JobNotFoundError):  # job 197 is in the emulator's own project
            shared_client(configured.with_overrides(**place)).get_visualization_job(197)

    for _ in range(3):
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(read, places))
    assert routes(emulator, "iam_token") == [201] * len(places)
    assert routes(emulator, "get_job") == [400] * 3 * len(places)  # ModelArts.2775: not found
    assert connections_to(emulator.port) <= 4 * CONNECTED_CLIENTS  # ModelArts' and IAM's, each a dup


@pytest.mark.parametrize("other", ["endpoint", "client"])
def test_a_login_past_the_kept_ones_that_a_client_still_uses_is_shared_not_repeated(
    emulator: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, other: str
) -> None:
    """Past MAX_TOKEN_AUTHS logins the least recent is let go, but a client reading with it keeps
    it: another client of that login made a second one, against the README's one token per IAM,
    user and project, and once IAM refused both tokens, the first client's renewal took the
    second's, refused too, and its read failed."""
    monkeypatch.setattr(auth, "MAX_TOKEN_AUTHS", 2)
    configured = Settings.from_sources(environ=emulator.environ("password"))
    first = ModelArtsClient(configured)
    first.get_visualization_job(197)
    for n in range(3):  # other projects' logins: the first one is let go
        emulator.add_project(f"xx-place-{n}", project_id := f"{n + 1:032x}")
        with pytest.raises(JobNotFoundError):  # job 197 is in the emulator's own project
            ModelArtsClient(configured.with_overrides(project_id=project_id)).get_visualization_job(197)
    url = emulator.url.replace("127.0.0.1", "localhost")  # another endpoint, the same login
    second = ModelArtsClient(configured.with_overrides(endpoint=url) if other == "endpoint" else configured)
    second.get_visualization_job(197)
    assert routes(emulator, "iam_token") == [201] * 4
    emulator.expire_tokens()  # IAM refuses every token issued so far
    assert [client.get_visualization_job(197).job_id for client in (first, second)] == [197, 197]
    assert routes(emulator, "iam_token") == [201] * 5


@pytest.mark.reliability("fault matrix")
def test_an_expired_token_is_renewed_once_and_the_read_replayed(
    client_for: ClientFactory, emulator: ModelArtsEmulator
) -> None:
    client, static = client_for("password"), client_for("token")
    client.get_visualization_job(197)
    emulator.expire_tokens()
    emulator.clear_requests()
    assert client.get_visualization_job(197).job_id == 197
    assert routes(emulator) == [("get_job", 401), ("iam_token", 201), ("get_job", 200)]
    emulator.clear_requests()
    emulator.inject_fault("get_job", status=401, error_code="APIG.0307", count=5)
    with pytest.raises(errors.AuthenticationError, match="APIG.0307"):  # a 401 after renewal
        client.get_visualization_job(197)
    assert [route for route, _ in routes(emulator)] == ["get_job", "iam_token", "get_job"]
    emulator.clear_faults()
    emulator.clear_requests()
    with pytest.raises(errors.AuthenticationError, match="The token must be updated"):  # static: not renewed
        static.get_visualization_job(197)
    assert routes(emulator) == [("get_job", 401)]


@pytest.mark.parametrize("order", ["renewal first", "peer first"])
@pytest.mark.parametrize("why", ["ModelArts refused it", "its lifetime ran out"])
def test_a_renewal_and_a_peers_first_login_of_its_project_log_in_once(
    client_for: ClientFactory,
    emulator: ModelArtsEmulator,
    monkeypatch: pytest.MonkeyPatch,
    why: str,
    order: str,
) -> None:
    """A token renewed (a 401, or its renewal time) and the project's first login by name, in either
    order: before, both logged in (the renewal never took the token the peer had just got, and a peer
    that took the refused token logged in again too); another project's renewal still logs in itself."""
    ahead, start = [0.0], time.monotonic()
    monkeypatch.setattr(auth, "time", SimpleNamespace(monotonic=lambda: start + ahead[0], time=time.time))
    emulator.add_project("eu-de_sub", SUB := "1" * 32)
    by_id, by_name = client_for("password"), client_for("password", include_project=False)
    by_sub = client_for("password", project_id=SUB)
    for client in (by_id, by_sub):
        list(client.list_visualization_jobs())
    if why == "ModelArts refused it":
        emulator.expire_tokens()
    else:
        ahead[0] = 86400.0
    for client in (by_id, by_name, by_sub) if order == "renewal first" else (by_name, by_id, by_sub):
        assert bool(list(client.list_visualization_jobs())) is (client is not by_sub)  # its own jobs
    assert [by_id.project_id, by_name.project_id, by_sub.project_id] == [emulator.project_id] * 2 + [SUB]
    assert routes(emulator, "iam_token") == [201] * 4  # two first logins, one renewal per project


#: An IAM outage on the way to a read (a password login; an AK/SK project lookup) is retried as the
#: read's own failures are: fault on the route -> IAM attempts; the last one, beyond two retries, fails.
IAM_BLIPS: dict[str, tuple[str, dict[str, Any], int | str]] = {
    "token 503 x2": ("iam_token", err(503, "APIG.0201", 2), 3),
    "token 429 x2 with Retry-After: 0": ("iam_token", err(429, "APIG.0308", 2, retry_after=0), 3),
    "token 502 HTML page": ("iam_token", page(502), 2),
    "token 504": ("iam_token", err(504, "APIG.0201"), 2),
    "token connection dropped": ("iam_token", {"drop": True}, 2),
    "token connection reset x2": ("iam_token", {"reset": True, "count": 2}, 3),
    "token 5 s stall, readTimeout 1 s": ("iam_token", STALL, 2),
    "project lookup 503 x2": ("iam_projects", err(503, "APIG.0201", 2), 3),
    "token 503 beyond 2 retries": ("iam_token", err(503, "APIG.0201", 50), "ServiceError: after 3 attempts"),
    # Not retried: listing IAM projects takes a permission the read does not, so the hint is to name the project.
    "project lookup denied (403)": (
        "iam_projects",
        err(403, "IAM.0002"),
        "PermissionDeniedError: Set modelarts:projectId (or HW_PROJECT_ID), or a read's project_id (--project-id) so",
    ),
}


@pytest.mark.reliability("fault matrix")
@pytest.mark.parametrize(("route", "fault", "expected"), IAM_BLIPS.values(), ids=IAM_BLIPS)
def test_an_iam_outage_is_retried_as_a_read_is(
    client_for: ClientFactory, emulator: ModelArtsEmulator, route: str, fault: Any, expected: int | str
) -> None:
    auth = "password" if route == "iam_token" else "aksk"
    read_timeout = STALL_READ_TIMEOUT if fault is STALL else 10.0  # the stall's own, for the stall alone
    client = client_for(auth, include_project=False, read_timeout=read_timeout, max_retries=2)
    emulator.inject_fault(route, **fault)
    try:
        outcome: int | str = client.get_visualization_job(197).job_id
    except ModelArtsError as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    if isinstance(expected, str):
        kind, _, fragment = expected.partition(": ")
        assert str(outcome).startswith(kind) and fragment in str(outcome), outcome
        assert routes(emulator, "get_job") == []
    else:
        assert outcome == 197
        # A stalled attempt is logged only when its stall ends, after the retry that replaced it.
        assert len([r for r in emulator.requests if r.route == route]) in (expected, expected - 1)
        assert routes(emulator, "get_job") == [200]


def test_a_refused_login_is_not_sent_again_by_other_reads_or_threads_for_a_while(
    client_for: ClientFactory, emulator: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """IAM locks a user out after a few wrong passwords in a row: reads of one process, however many
    and in whatever threads, send a refused login once; later, or with other settings, log in again."""
    ahead, start = [0.0], time.monotonic()
    monkeypatch.setattr(auth, "time", SimpleNamespace(monotonic=lambda: start + ahead[0], time=time.time))

    def read(client: ModelArtsClient) -> str:
        with pytest.raises(errors.AuthenticationError) as caught:
            client.get_visualization_job(197)
        return str(caught.value)

    wrong = [client_for(**WRONG_PW) for _ in range(2)]
    with ThreadPoolExecutor(4) as pool:
        said = {*map(read, wrong), *pool.map(read, wrong * 4)}
    [line] = said  # the one refusal, as IAM gave it
    assert "IAM.0062" in line and "Check modelarts:userName" in line and WRONG_PASSWORD not in line
    assert routes(emulator) == [("iam_token", 401)]
    ahead[0] = auth.REFUSED_LOGIN_SECONDS
    assert "IAM.0062" in read(wrong[0]) and routes(emulator) == [("iam_token", 401)] * 2
    assert client_for(**PW).get_visualization_job(197).job_id == 197
    assert routes(emulator)[2:] == [("iam_token", 201), ("get_job", 200)]


def test_a_refused_login_kept_and_raised_again_holds_no_password_in_its_frames(
    client_for: ClientFactory, emulator: ModelArtsEmulator
) -> None:
    """A debugger (or a traceback printed with its locals) shows every frame an error passed through:
    the refusal is kept for minutes, so neither its first raise nor a later one passes one holding
    the password."""
    client = client_for(**WRONG_PW)
    for _ in range(2):  # IAM's refusal, then the one kept
        with pytest.raises(errors.AuthenticationError) as caught:
            client.get_visualization_job(197)
        shown = traceback.TracebackException.from_exception(caught.value, capture_locals=True)
        ours = [frame for frame in shown.stack if "pulumi_modelarts" in frame.filename]
        assert ours and [frame.name for frame in ours if WRONG_PASSWORD in repr(frame.locals)] == []
    assert routes(emulator) == [("iam_token", 401)]


def test_a_refused_login_raised_again_for_a_read_of_a_secret_project_shows_it_as_secret(
    client_for: ClientFactory, emulator: ModelArtsEmulator
) -> None:
    """The refusal is kept from a read that named the project plainly; another resource's read, of
    the same project given as a secret, was told it as it was."""
    client = client_for(**WRONG_PW)
    with pytest.raises(errors.AuthenticationError) as plain:
        client.get_visualization_job(197)
    with errors.secret_inputs(emulator.project_id), pytest.raises(errors.AuthenticationError) as caught:
        client.get_visualization_job(197)
    shown = f"{caught.value} {caught.value.details()}"
    assert emulator.project_id in str(plain.value) and emulator.project_id not in shown
    assert "project [secret]" in str(caught.value) and routes(emulator) == [("iam_token", 401)]


@pytest.mark.parametrize("code", ["ModelArts.0207", "APIG.0301", "ModelArts.4201"])
def test_a_token_iam_issued_and_modelarts_refuses_points_at_iam_and_the_project_not_the_password(
    code: str,
) -> None:
    """IAM took the password (twice: the read is replayed once with a new token); a token ModelArts
    refuses is one of another cloud's IAM or another region's project."""
    refused = reply(
        401, {"error_code": code, "error_msg": "Token must contain project info of current region"}
    )
    cloud = FakeCloud()

    def script(head: bytes) -> Iterator[bytes]:
        yield from cloud(head) if b"/v3/" in head.split(b"\r\n")[0] else [refused]

    with RawServer(script) as server, pytest.raises(errors.AuthenticationError) as caught:
        ModelArtsClient(FakeCloud.settings(server.url)).get_visualization_job(197)
    line = str(caught.value)
    assert "modelarts:authUrl (or HW_AUTH_URL)" in line and "modelarts:projectId" in line
    assert "modelarts:password" not in line and cloud.paths == ["/v3/auth/tokens?nocatalog=true"] * 2


@pytest.mark.parametrize(
    ("status", "code"), [(401, "ModelArts.0212"), (400, "ModelArts.0204"), (401, "ModelArts.0207")]
)
def test_a_given_token_of_no_project_is_told_to_be_a_project_scoped_one(status: int, code: str) -> None:
    """A global (domain-scoped) token lists IAM projects but ModelArts refuses it, with a 401 or a 400."""
    refused = reply(status, {"error_code": code, "error_msg": "Token must contain projectId info"})
    cloud = FakeCloud()

    def script(head: bytes) -> Iterator[bytes]:
        yield from cloud(head) if b"/v3/" in head.split(b"\r\n")[0] else [refused]

    with RawServer(script) as server:
        settings = FakeCloud.settings(server.url, "token", project_id=None)
        with pytest.raises(errors.AuthenticationError) as caught:
            ModelArtsClient(settings).get_visualization_job(197)
    assert "set a new project-scoped one" in str(caught.value) and ISSUED_TOKEN[:8] not in str(caught.value)
    assert cloud.paths == ["/v3/projects?name=eu-de"] and len(server.heads) == 2  # the read once


def test_a_token_is_renewed_shortly_before_it_expires() -> None:
    """The second token comes in the first one's last tenth of life, never after a 401."""
    with ModelArtsEmulator(token_ttl=1.0) as emulator:
        emulator.add_job("short-lived")
        client = ModelArtsClient(Settings.from_sources(environ=emulator.environ("password")))
        deadline = time.monotonic() + 10
        while len(routes(emulator, "iam_token")) < 2 and time.monotonic() < deadline:
            client.get_visualization_job(1)
    assert routes(emulator, "iam_token") == [201, 201] and set(routes(emulator, "get_job")) == {200}


def test_project_discovery_is_cached_per_process_and_needs_exactly_one_match(
    emulator: ModelArtsEmulator,
) -> None:
    environ = emulator.environ("aksk", include_project=False)
    clients = [ModelArtsClient(Settings.from_sources(environ=environ)) for _ in range(3)]
    assert [client.get_visualization_job(197).job_id for client in clients] == [197] * 3
    lookups = [r for r in emulator.requests if r.route == "iam_projects"]
    assert len(lookups) == 1 and lookups[0].query == {"name": ["eu-de"]}
    emulator.add_project("eu-de_twins", "1" * 32)
    emulator.add_project("eu-de_twins", "2" * 32)
    for name, message in [
        ("eu-de_twins", f"2 IAM projects named 'eu-de_twins' ({'1' * 32}, {'2' * 32})"),
        ("eu-de_nothing", "no IAM project named 'eu-de_nothing'"),
    ]:
        client = ModelArtsClient(Settings.from_sources(environ={**environ, "HW_PROJECT_NAME": name}))
        with pytest.raises(ConfigurationError) as caught:
            client.get_visualization_job(197)
        assert message in str(caught.value)


@pytest.mark.parametrize("auth", ["aksk", "token", "password"])
def test_a_project_renamed_since_it_was_found_is_found_again(emulator: ModelArtsEmulator, auth: str) -> None:
    """A long-lived process (the Automation API's) outlives a project's name: the next program
    (the same settings, so the same shared client) reads the project that now bears it."""
    emulator.add_project("eu-de_sub", "1" * 32)
    environ = {**emulator.environ(auth, include_project=False), "HW_PROJECT_NAME": "eu-de_sub"}
    assert shared_client(Settings.from_sources(environ=environ)).project_id == "1" * 32
    # The sub-project deleted (IAM invalidates its tokens) and its name given to the emulator's.
    emulator.projects = [Project("eu-de_sub", emulator.project_id)]
    if auth == "password":
        emulator.expire_tokens()
    emulator.clear_requests()
    client = shared_client(Settings.from_sources(environ=environ))
    assert (client.get_visualization_job(197).job_id, client.project_id) == (197, emulator.project_id)
    assert routes(emulator, "get_job")[-1] == 200 and routes(emulator, "get_job").count(403) == 1
    assert client.get_visualization_job(197).job_id == 197 and routes(emulator, "get_job")[-1] == 200


def test_a_project_the_service_refuses_is_found_again_once_and_a_configured_one_never(
    emulator: ModelArtsEmulator,
) -> None:
    emulator.add_project("eu-de_sub", "1" * 32)  # the static token's project is the emulator's
    environ = {**emulator.environ("token", include_project=False), "HW_PROJECT_NAME": "eu-de_sub"}
    for configured in (None, "1" * 32):
        emulator.clear_requests()
        client = ModelArtsClient(Settings.from_sources(args={"project_id": configured}, environ=environ))
        with pytest.raises(errors.PermissionDeniedError, match="ModelArts.0210"):
            client.get_visualization_job(197)
        expected = ["get_job"] if configured else ["iam_projects", "get_job"] * 2
        assert [route for route, _ in routes(emulator)] == expected


def test_a_project_forgotten_while_another_thread_reads_it_from_the_cache_is_no_key_error(
    emulator: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another thread's ModelArts.0210 forgets the looked-up project between this thread's check of
    the cache and its read of it: the lookup answers what it found, never a raw KeyError."""
    settings = Settings.from_sources(environ=emulator.environ("token", include_project=False))
    client = ModelArtsClient(settings)
    assert client.project_id == emulator.project_id  # looked up and cached

    class ForgottenMeanwhile(dict[tuple[str, str, str], str]):
        """The other thread forgets the project right after this one first looks in the cache."""

        forgotten = False

        def __contains__(self, key: object) -> bool:
            found = super().__contains__(key)
            self.forget()
            return found

        def get(self, key: tuple[str, str, str], default: Any = None) -> Any:
            found = super().get(key, default)
            self.forget()
            return found

        def forget(self) -> None:
            if not self.forgotten:  # once: forget_project reads the cache too
                self.forgotten = True
                auth.forget_project(settings, client._ready()[0], emulator.project_id)

    monkeypatch.setattr(auth, "_PROJECT_IDS", ForgottenMeanwhile(auth._PROJECT_IDS))
    assert ModelArtsClient(settings).project_id == emulator.project_id


@pytest.mark.parametrize("configured", [False, True])
def test_modelarts_2786_is_a_project_mismatch_as_0210_is(
    client_for: ClientFactory, emulator: ModelArtsEmulator, configured: bool
) -> None:
    emulator.inject_fault("get_job", status=403, error_code="ModelArts.2786", count=2)
    client = client_for("token", include_project=configured)
    with pytest.raises(errors.PermissionDeniedError, match="does not match the credentials.*ModelArts.2786"):
        client.get_visualization_job(197)
    expected = ["get_job"] if configured else ["iam_projects", "get_job"] * 2
    assert [route for route, _ in routes(emulator)] == expected


def test_a_password_outside_ascii_logs_in() -> None:
    credentials = dataclasses.replace(CANARY, password="p\u00e4ss-w\u00f6rd-\u5bc6\u7801-9e107d")
    with ModelArtsEmulator.from_seed_file(SAMPLE_JOBS_PATH, credentials=credentials) as emulator:
        client = ModelArtsClient(Settings.from_sources(environ=emulator.environ("password")))
        assert client.get_visualization_job(197).job_id == 197


@pytest.mark.parametrize("auth", ["aksk", "password", "token"])
def test_no_surface_shows_a_secret_even_with_http_client_debug_output_on(
    client_for: ClientFactory, auth: str, capfd: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    """DEBUG logs and http.client's ``debuglevel`` (headers, the password login) included, and repr()."""
    leaks = LeakScanner()
    monkeypatch.setattr(http.client.HTTPConnection, "debuglevel", 1)
    client = client_for(auth, security_token=CANARY.password if auth == "aksk" else None)
    with leaks.logs("client"):
        client.get_visualization_job(197)
        with pytest.raises(JobNotFoundError) as caught:
            client.get_visualization_job(4242)
    leaks.scan_error("error", caught.value)
    auth_object, transport = client._ready()[0], client._transport
    shown = [repr(each) + repr(vars(each)) for each in (client, transport, auth_object, transport.adapter())]
    shown.append(repr(client.settings) + repr(vars(client.settings)))
    for text in shown:
        leaks.scan("repr and vars()", text)
    out, err = capfd.readouterr()
    leaks.scan("stdout and stderr", out + err)
    token = getattr(auth_object, "_token", None)
    token = token.get_secret_value() if isinstance(token, SecretStr) else token
    assert leaks.leaks == [] and leaks.scanned > 5
    assert not token or all(token not in text for text in (out + err, *shown))


def test_a_proxy_password_is_not_shown_by_the_transport_or_its_adapters(emulator: ModelArtsEmulator) -> None:
    """The proxy a read went through (here one that refuses) is held by URL, its password in it."""
    proxy = f"http://u:{CANARY.password}@127.0.0.1:9"
    environ = {**emulator.environ(), "http_proxy": proxy, "HW_MAX_RETRIES": "0"}
    client = ModelArtsClient(Settings.from_sources(environ=environ))
    with pytest.raises(ModelArtsError):
        client.get_visualization_job(197)
    leaks, transport = LeakScanner(), client._transport
    for each in (client, transport, transport.adapter()):
        leaks.scan("repr and vars()", repr(each) + str(each) + repr(vars(each)))
    assert leaks.leaks == []


CHAINED = {  # what a failure is made from holds a secret: a YAML error quotes the line, a requests
    # error holds the signed request (AK in its Authorization), a JSON or pydantic error the body.
    "secure.yaml that does not parse": ({"OS_CLOUD": "c"}, {}),
    "a proxy that refuses": ({"http_proxy": f"http://u:{CANARY.password}@127.0.0.1:9", "no_proxy": ""}, {}),
    "a body that is not JSON": ({}, {"body": "{" + CANARY.secret_key}),
    "a body of another shape": ({}, body({**JOB, "status": CANARY.secret_key})),
}


@pytest.mark.parametrize(("environ", "fault"), CHAINED.values(), ids=CHAINED)
def test_an_error_keeps_no_exception_it_replaced(
    emulator: ModelArtsEmulator, tmp_path: Any, environ: dict[str, str], fault: dict[str, Any]
) -> None:
    """A debugger or log handler walking ``__context__`` finds no exception holding a secret."""
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(f"clouds:\n  c:\n    auth:\n      password: [{CANARY.password}\n")
    os_aliases = {key.replace("HW_", "OS_"): value for key, value in emulator.environ().items()}
    environ = {**os_aliases, "OS_CLIENT_CONFIG_FILE": str(clouds), "HW_MAX_RETRIES": "0", **environ}
    emulator.inject_fault("get_job", **fault) if fault else None
    leaks = LeakScanner()
    with pytest.raises(ModelArtsError) as caught:
        ModelArtsClient(Settings.from_sources(environ=environ)).get_visualization_job(197)
    leaks.scan_error("error", caught.value)
    leaks.scan("traceback", "".join(traceback.format_exception(caught.value)))
    assert leaks.leaks == []
    assert caught.value.__context__ is None and caught.value.__suppress_context__


# -- IAM as other deployments answer it ---------------------------------------------------------
CATALOG = [{"type": "modelarts", "endpoints": []}]
PAST = {"expires_at": "2020-01-04T09:05:22.701000Z", "issued_at": "2020-01-03T09:05:22.701000Z"}
TOKEN_ANSWERS = {
    "the API reference's sample, dated in the past": {**PAST, "project": {"id": PROJECT, "name": "eu-de"}},
    "expired by this clock, no issued_at": {"expires_at": PAST["expires_at"], "project": {"id": PROJECT}},
    "issued after it expires": {**PAST, "issued_at": "2020-01-05T00:00:00Z", "project": {"id": PROJECT}},
    "a catalog, no expires_at": {"catalog": CATALOG, "project": {"id": PROJECT}},
    "expires_at with an offset": {"expires_at": "2099-01-01T08:00:00.123+08:00", "project": {"id": PROJECT}},
    "the project's name in another case": {"project": {"id": PROJECT, "name": "EU-DE"}},
    "the project's ID in upper case": {"project": {"id": PROJECT.upper()}},  # read as a configured one
}


@pytest.mark.parametrize("header", ["X-Subject-Token", "x-subject-token"])
@pytest.mark.parametrize("project_id", [PROJECT, None])
@pytest.mark.parametrize("token", TOKEN_ANSWERS.values(), ids=TOKEN_ANSWERS)
def test_one_token_serves_every_read_whatever_iam_says_of_its_lifetime(
    token: dict[str, Any], project_id: str | None, header: str
) -> None:
    cloud = FakeCloud(token, header=header)
    with RawServer(cloud) as server:
        client = ModelArtsClient(FakeCloud.settings(server.url, project_id=project_id))
        assert [client.get_visualization_job(197).job_id for _ in range(3)] == [197] * 3
    assert cloud.paths == ["/v3/auth/tokens?nocatalog=true"] + [f"/v1/{PROJECT}/visualization-jobs/197"] * 3


SHORT_LIVED = {  # issued_at and expires_at 0.1 s apart, as other servers spell them
    "lower case t and z": ("2026-01-01t00:00:00z", "2026-01-01t00:00:00.1z"),
    "nine fraction digits": ("2026-01-01T00:00:00.000000000Z", "2026-01-01T00:00:00.100000000Z"),
    "one fraction digit and an offset": ("2026-01-01 08:00:00.0+0800", "2026-01-01 08:00:00.1+0800"),
    "an offset of hours alone": ("2026-01-01T08:00:00+08", "2026-01-01T08:00:00.1+08"),
    "the basic format": ("20260101T000000Z", "20260101T000000.1Z"),
}


@pytest.mark.parametrize(("issued", "expires"), SHORT_LIVED.values(), ids=SHORT_LIVED)
def test_a_token_is_renewed_by_its_lifetime_however_iam_spells_it(
    monkeypatch: pytest.MonkeyPatch, issued: str, expires: str
) -> None:
    # Auth's clock stands still (a loaded machine can take longer than the 0.1 s lifetime between
    # the login and the read) and is moved past the token's lifetime rather than waited for.
    ahead, start = [0.0], time.monotonic()
    clock = SimpleNamespace(monotonic=lambda: start + ahead[0], time=time.time)
    monkeypatch.setattr(auth, "time", clock)
    cloud = FakeCloud({"issued_at": issued, "expires_at": expires, "project": {"id": PROJECT}})
    with RawServer(cloud) as server:
        client = ModelArtsClient(FakeCloud.settings(server.url))
        client.get_visualization_job(197)
        ahead[0] = 1.0  # the next read logs in again
        client.get_visualization_job(197)
    token, read = "/v3/auth/tokens?nocatalog=true", f"/v1/{PROJECT}/visualization-jobs/197"
    assert cloud.paths == [token, read, token, read]


WRONG_SCOPES = {  # (the token object, the project configured): never a read in another project
    "another project's ID": ({"project": {"id": "f" * 32}}, PROJECT),
    "another project's name": ({"project": {"id": "f" * 32, "name": "eu-nl"}}, None),
    "no project": ({"domain": {"id": "d"}}, None),
    "an ID that is not text": ({"project": {"id": 7}}, None),
    "an ID that is a path": ({"project": {"id": "../" + PROJECT}}, None),
    "an ID with spaces": ({"project": {"id": f" {PROJECT} "}}, None),
}


@pytest.mark.parametrize(("token", "project_id"), WRONG_SCOPES.values(), ids=WRONG_SCOPES)
def test_a_token_for_another_project_is_refused_before_any_read(
    token: dict[str, Any], project_id: str
) -> None:
    cloud = FakeCloud(token)
    with RawServer(cloud) as server, pytest.raises(InvalidResponseError) as caught:
        ModelArtsClient(FakeCloud.settings(server.url, project_id=project_id)).get_visualization_job(197)
    assert "token scoped to the project asked for" in str(caught.value) and "authUrl" in str(caught.value)
    assert cloud.paths == ["/v3/auth/tokens?nocatalog=true"]


SUBJECT_HEADERS = {  # the X-Subject-Token fields of IAM's answer, as a proxy may repeat them
    "twice, one value": ([ISSUED_TOKEN, ISSUED_TOKEN], ISSUED_TOKEN),
    "twice in other cases": ([ISSUED_TOKEN, f" {ISSUED_TOKEN}"], ISSUED_TOKEN),
    "two tokens": ([ISSUED_TOKEN, "gAAAAABsecondTOKENzz"], None),
    "a token and an empty one": ([ISSUED_TOKEN, ""], None),
}


def logging_in_with(token_fields: bytes) -> Callable[[bytes], Any]:
    """A cloud whose IAM answers a login with the raw header lines ``token_fields``, and whose
    ModelArts answers job 197."""
    body = json.dumps({"token": {"project": {"id": PROJECT}}}).encode()
    login = b"HTTP/1.1 201 X\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), token_fields, body)

    def cloud(head: bytes) -> Any:
        yield login if b"/auth/tokens" in head.split(b"\r\n")[0] else reply(200, JOB_197)

    return cloud


@pytest.mark.parametrize(("values", "sent"), SUBJECT_HEADERS.values(), ids=SUBJECT_HEADERS)
def test_a_repeated_subject_token_header_is_one_token_or_refused(values: list[str], sent: str | None) -> None:
    fields = "".join(
        f"{name}: {value}\r\n"
        for name, value in zip(["X-Subject-Token", "x-subject-token"], values, strict=True)
    )
    with RawServer(logging_in_with(fields.encode())) as server:
        client = ModelArtsClient(FakeCloud.settings(server.url))
        if sent:
            assert client.get_visualization_job(197).job_id == 197
            assert [header(head, "X-Auth-Token") for head in server.heads[1:]] == [sent]
        else:
            with pytest.raises(InvalidResponseError) as caught:
                client.get_visualization_job(197)
            assert "one token header" in str(caught.value) and len(server.heads) == 1
            assert not any(value and value in str(caught.value) for value in values)


#: X-Subject-Token values as sent on the wire -> whether it is a token (Fernet's and PKI's alphabets).
SUBJECT_TOKEN_TEXT = {
    "a space inside": (b"MIIsecret token", False),
    "a tab inside": (b"MIIsecret\ttoken", False),
    "a control character": (b"MIIsecret\x01token", False),
    "DEL": (b"MIIsecret\x7ftoken", False),
    "a no-break space (Latin-1)": (b"MIIsecret\xa0token", False),
    "UTF-8 text": ("MIIsecret-t\u00f6ken".encode(), False),
    "Fernet": (b"gAAAAABsecret-token_x==", True),
    "PKI": (b"MIIsecret+token/x==", True),
}


@pytest.mark.parametrize(("value", "usable"), SUBJECT_TOKEN_TEXT.values(), ids=SUBJECT_TOKEN_TEXT)
def test_a_subject_token_no_token_could_be_is_refused_as_iams_answer(value: bytes, usable: bool) -> None:
    """Before, it was sent as it was, and ModelArts' 401 blamed the authUrl, project and region."""
    with RawServer(logging_in_with(b"X-Subject-Token: %s\r\n" % value)) as server:
        client = ModelArtsClient(FakeCloud.settings(server.url))
        if usable:
            assert client.get_visualization_job(197).job_id == 197
            assert header(server.heads[1], "X-Auth-Token") == value.decode()
            return
        with pytest.raises(InvalidResponseError) as caught:
            client.get_visualization_job(197)
    said = str(caught.value)
    assert said.startswith("IAM token request: IAM answered a token with a space") and "authUrl" in said
    assert len(server.heads) == 1 and "secret" not in said and "\n" not in said


@pytest.mark.parametrize("status", [200, 202, 203, 204])
def test_a_login_answered_with_another_success_status_is_read_as_one(status: int) -> None:
    """Keystone answers 201, a proxy in front of it may say 200 or 203 (a payload it transformed):
    before, any but 200 and 201 was told to be "rejected by the service", its token in hand."""
    token = {"token": {"project": {"id": PROJECT}}} if status != 204 else b""
    login = reply(status, token, X_Subject_Token=ISSUED_TOKEN)

    def cloud(head: bytes) -> Any:
        yield login if b"/auth/tokens" in head.split(b"\r\n")[0] else reply(200, JOB_197)

    with RawServer(cloud) as server:
        client = ModelArtsClient(FakeCloud.settings(server.url))
        if status != 204:
            assert client.get_visualization_job(197).job_id == 197
            return
        with pytest.raises(InvalidResponseError) as caught:  # no token object: no project to check
            client.get_visualization_job(197)
    assert "rejected" not in str(caught.value) and "modelarts:authUrl points at IAM" in str(caught.value)


@pytest.mark.parametrize("answer", [b"not HTTP\r\n\r\n", reply(503, "busy")], ids=["not HTTP", "503"])
def test_a_login_failing_on_its_way_holds_no_password_in_its_frames(answer: bytes) -> None:
    """As a refused login's (above): the frames that sent it (a debugger shows their locals) too."""
    with RawServer(lambda _: [answer]) as server, pytest.raises(errors.ServiceError) as caught:
        ModelArtsClient(FakeCloud.settings(server.url)).get_visualization_job(197)
    shown = traceback.TracebackException.from_exception(caught.value, capture_locals=True)
    ours = [frame for frame in shown.stack if "pulumi_modelarts" in frame.filename]
    assert ours and [frame.name for frame in ours if "9e107d9d37" in repr(frame.locals)] == []


def test_an_error_pickled_and_read_back_says_the_same(client: ModelArtsClient) -> None:
    """A process pool sends errors pickled: read back, the hint was said twice."""
    with pytest.raises(JobNotFoundError) as caught:
        client.get_visualization_job(424242)
    back = pickle.loads(pickle.dumps(caught.value))
    assert (type(back), str(back), back.details()) == (
        JobNotFoundError,
        str(caught.value),
        caught.value.details(),
    )


def test_a_refused_login_with_a_flood_of_subject_tokens_keeps_the_password_scrubbed() -> None:
    """The registry of secrets holds the last 1,024: a header of more values, none of which is then
    used, pushed the password out of it, and IAM's message echoing it was shown as it was."""
    tokens = ", ".join(f"junk-token-{n:05}" for n in range(1100))
    body = json.dumps({"error_code": "IAM.0062", "error_msg": f"wrong password {PASSWORD}"})
    login = f"HTTP/1.1 401 X\r\nContent-Length: {len(body)}\r\nX-Subject-Token: {tokens}\r\n\r\n{body}"

    def cloud(head: bytes) -> Any:
        yield login.encode()

    with RawServer(cloud) as server, pytest.raises(errors.AuthenticationError) as caught:
        ModelArtsClient(FakeCloud.settings(server.url)).get_visualization_job(197)
    assert "IAM.0062" in str(caught.value) and "9e107d9d37" not in str(caught.value)


def test_logins_answered_with_new_subject_tokens_each_time_keep_the_password_scrubbed() -> None:
    """Each unusable answer's tokens are registered, at most 8 of them: an IAM answering every login
    with new ones, a read after another, pushed the password out of the registry's last 1,024."""
    logins = itertools.count()
    body = json.dumps({"error_code": "IAM.0062", "error_msg": f"wrong password {PASSWORD}"})

    def cloud(_head: bytes) -> Any:
        login = next(logins)
        tokens = ", ".join(f"junk-token-{login:04}-{n}" for n in range(8))
        yield reply(200 if login < 200 else 401, body if login == 200 else {}, X_Subject_Token=tokens)

    with RawServer(cloud) as server:
        client = ModelArtsClient(FakeCloud.settings(server.url))
        for _ in range(200):  # each an InvalidResponseError: a token header of many values
            with pytest.raises(InvalidResponseError):
                client.get_visualization_job(197)
        with pytest.raises(errors.AuthenticationError) as caught:
            client.get_visualization_job(197)
    assert "IAM.0062" in str(caught.value) and "9e107d9d37" not in str(caught.value)


IAM_FAULTS = {  # what a proxy or gateway in front of IAM answers instead of it
    "an HTML page": reply(200, "<html>sign in</html>", Content_Type="text/html"),
    "a gateway's 'no such API'": reply(
        404, {"error_code": "APIGW.0101", "error_msg": "The API does not exist"}
    ),
    "over 10 MiB": reply(201, {"token": {"catalog": ["x" * (11 << 20)]}}, X_Subject_Token=ISSUED_TOKEN),
}


@pytest.mark.parametrize("auth", ["password", "aksk"])
@pytest.mark.parametrize("answer", IAM_FAULTS.values(), ids=IAM_FAULTS)
def test_an_iam_request_answered_by_something_else_points_at_the_auth_url(answer: bytes, auth: str) -> None:
    with (
        RawServer(lambda head: [answer]) as server,
        pytest.raises((InvalidResponseError, ConfigurationError)) as caught,
    ):
        ModelArtsClient(FakeCloud.settings(server.url, auth, project_id=None)).get_visualization_job(197)
    assert str(caught.value).startswith("IAM ") and "modelarts:authUrl points at IAM" in str(caught.value)
    assert "ModelArts API" not in str(caught.value) and len(server.heads) == 1


OTHER, EU_DE = "f" * 32, {"id": PROJECT, "name": "eu-de"}
PROJECT_LISTS: dict[str, tuple[list[Any], str | type[ModelArtsError]]] = {
    "MOS beside it": ([{"id": OTHER, "name": "MOS"}, {"id": PROJECT, "name": "eu-de"}], PROJECT),
    "a disabled twin": ([{"id": OTHER, "name": "eu-de", "enabled": False}, EU_DE], PROJECT),
    "listed twice": ([{"id": PROJECT, "name": "eu-de", "enabled": True}] * 2, PROJECT),
    "nulls and extras": ([{**EU_DE, "parent_id": None, "links": {"next": None}}], PROJECT),
    "only a disabled one": ([{"id": PROJECT, "name": "eu-de", "enabled": False}], ConfigurationError),
    "only a sub-project": ([{"id": OTHER, "name": "eu-de_sub"}], ConfigurationError),
    "two": ([{"id": OTHER, "name": "eu-de"}, {"id": PROJECT, "name": "eu-de"}], ConfigurationError),
    "an ID that is a number": ([{"id": 12345, "name": "eu-de"}], InvalidResponseError),
    "an ID that is true": ([{"id": True, "name": "eu-de"}], InvalidResponseError),
    "an ID that is a path": ([{"id": "../" + PROJECT, "name": "eu-de"}], InvalidResponseError),
    "an ID with spaces": ([{"id": f" {PROJECT} ", "name": "eu-de"}], InvalidResponseError),
    "no ID": ([{"id": None, "name": "eu-de"}], InvalidResponseError),
    "a twin disabled in text": ([{"id": OTHER, "name": "eu-de", "enabled": "false"}, EU_DE], PROJECT),
    "a twin disabled as 0": ([{"id": OTHER, "name": "eu-de", "enabled": 0}, EU_DE], PROJECT),
    "an ID in upper case": ([{"id": PROJECT.upper(), "name": "eu-de"}], PROJECT),  # as configured ones
    # Quoted cut to 48 characters: scrubbed first, or the 23 left of the token would not be recognised.
    "an ID echoing the token": ([{"id": "x" * 21 + ISSUED_TOKEN, "name": "eu-de"}], InvalidResponseError),
}


@pytest.mark.parametrize("auth", ["aksk", "token"])
@pytest.mark.parametrize(("projects", "expected"), PROJECT_LISTS.values(), ids=PROJECT_LISTS)
def test_project_lookup_takes_the_one_usable_project_of_the_region_or_refuses(
    projects: list[Any], expected: str | type[ModelArtsError], auth: str
) -> None:
    cloud = FakeCloud(projects=projects)
    with RawServer(cloud) as server:
        client = ModelArtsClient(FakeCloud.settings(server.url, auth, project_id=None, region="EU-DE"))
        if isinstance(expected, str):
            assert client.get_visualization_job(197).job_id == 197
        else:
            with pytest.raises(expected) as caught:
                client.get_visualization_job(197)
            text = str(caught.value)
            assert "\n" not in text and (auth != "token" or ISSUED_TOKEN[:8] not in text)
    read = [f"/v1/{expected}/visualization-jobs/197"] if isinstance(expected, str) else []
    assert cloud.paths == ["/v3/projects?name=eu-de", *read]


def test_each_token_looks_up_its_own_project_beside_the_same_access_key() -> None:
    """Two accounts' tokens (an access key set beside each, unused: the token wins) see two projects
    of one name: each reads in its own, never in the one the other looked up."""
    projects = {"TOKEN-OF-A": "a" * 32, "TOKEN-OF-B": "b" * 32}

    def iam(head: bytes) -> Any:
        if b" /v3/projects" in head.split(b"\r\n")[0]:
            yield reply(200, {"projects": [{"id": projects[header(head, "X-Auth-Token")], "name": "eu-de"}]})
        else:
            yield reply(200, JOB_197)

    with RawServer(iam) as server:
        for token, project_id in projects.items():
            settings = FakeCloud.settings(server.url, "aksk", project_id=None, auth_token=token)
            assert (settings.auth_mode(), ModelArtsClient(settings).project_id) == ("token", project_id)
    assert [head.split(b" ")[1] for head in server.heads] == [b"/v3/projects?name=eu-de"] * 2


@pytest.mark.parametrize("code", ["IAM.1108", " iam.1108"])
@pytest.mark.parametrize("project_id", [None, PROJECT], ids=["project lookup", "read"])
def test_an_expired_security_token_is_rejected_credentials_naming_it(
    code: str, project_id: str | None
) -> None:
    """IAM answers a temporary key whose security token has expired with a 400, not a 401."""
    expired = reply(400, {"error_code": code, "error_msg": "The security token has expired."})
    with RawServer(lambda head: [expired]) as server:
        settings = FakeCloud.settings(server.url, "aksk", project_id=project_id, security_token="TEMPTOKEN1")
        with pytest.raises(errors.AuthenticationError) as caught:
            ModelArtsClient(settings).get_visualization_job(197)
    assert "credentials rejected" in str(caught.value) and len(server.heads) == 1
    assert "that modelarts:securityToken (or HW_SECURITY_TOKEN) has not expired" in str(caught.value)


@pytest.mark.parametrize("secret", [False, True])
def test_a_secret_input_is_hidden_in_the_log_records_and_url_paths_of_its_read(
    emulator: ModelArtsEmulator, client: ModelArtsClient, secret: bool
) -> None:
    """urllib3 logs each request's path, and a retry's at WARNING: a secret job ID in it is
    ``[secret]`` while its read runs (``secret_inputs``, as an output form sets it), else shown."""
    job_id = 987654321
    emulator.add_job("canary", job_id=job_id)
    emulator.inject_fault("get_job", drop=True)  # a retry, logged with the URL
    path = f"/v1/{emulator.project_id}/visualization-jobs/{job_id}"
    emulator.inject_fault("get_job", status=404, error_code="APIG.0002", error_message=f"no route {path}")
    hidden = errors.secret_inputs(job_id) if secret else contextlib.nullcontext()
    with hidden, checks.logged() as records, pytest.raises(InvalidResponseError) as raised:
        client.get_visualization_job(job_id)
    texts = [text for _, text in records if "/visualization-jobs/" in text]
    shown = "[secret]" if secret else str(job_id)
    assert texts and all(f"/visualization-jobs/{shown}" in text for text in texts), texts
    assert any("Retrying" in text for text in texts)
    assert f"no route /v1/{emulator.project_id}/visualization-jobs/{shown}" in str(raised.value)
    assert (str(job_id) in " ".join(texts) + repr(raised.value) + str(raised.value.details())) is not secret


#: IAM's project list over pages (Keystone's ``links.next``): page -> (projects, its next link).
PAGED_PROJECTS: dict[str, tuple[dict[int, tuple[list[Any], str | None]], str | type[ModelArtsError]]] = {
    "the project on page 2": (
        {1: ([{"id": OTHER, "name": "eu-de_sub"}], "?name=eu-de&page=2"), 2: ([EU_DE], None)},
        PROJECT,
    ),
    "a twin on page 2": (
        {1: ([EU_DE], "/v3/projects?name=eu-de&page=2"), 2: ([{"id": OTHER, "name": "eu-de"}], None)},
        ConfigurationError,
    ),
    "a next link to itself": ({1: ([EU_DE], "/v3/projects?name=eu-de")}, PROJECT),
    "a next link to another host": (
        {1: ([], "https://elsewhere.example/v3/projects?page=2")},
        InvalidResponseError,
    ),
    "a next link to another path": ({1: ([], "/v3/auth/projects?page=2")}, InvalidResponseError),
}


@pytest.mark.parametrize(("pages", "expected"), PAGED_PROJECTS.values(), ids=PAGED_PROJECTS)
def test_project_lookup_reads_every_page_of_the_list_and_no_other(
    pages: dict[int, tuple[list[Any], str | None]], expected: str | type[ModelArtsError]
) -> None:
    def cloud(head: bytes) -> Any:
        target = head.split(b" ")[1].decode()
        if not target.startswith("/v3/projects"):
            yield reply(200, JOB_197)
            return
        projects, following = pages[int(target.partition("page=")[2] or 1)]
        yield reply(200, {"projects": projects, "links": {"self": target, "next": following}})

    with RawServer(cloud) as server:
        client = ModelArtsClient(FakeCloud.settings(server.url, "aksk", project_id=None))
        if isinstance(expected, str):
            assert client.get_visualization_job(197).job_id == 197
        else:
            with pytest.raises(expected) as caught:
                client.get_visualization_job(197)
            assert "\n" not in str(caught.value) and "elsewhere" not in str(caught.value)
    targets = [head.split(b" ")[1].decode() for head in server.heads]
    lookups = [target for target in targets if target.startswith("/v3/projects")]
    assert lookups == ["/v3/projects?name=eu-de", *(["/v3/projects?name=eu-de&page=2"] * (len(pages) > 1))]
    assert len(targets) == len(lookups) + isinstance(expected, str)  # the read, and only then


@pytest.mark.parametrize("varied", ["token", "project name"])
def test_lookups_of_ever_new_tokens_or_project_names_leave_a_bounded_cache(
    emulator: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, varied: str
) -> None:
    """A long-lived host given a new IAM token at each run, or reading ever more projects by name,
    looks each up: every ID looked up, and a lock per lookup, used to stay for the life of the
    process (100,000: +59 MiB). The most recent IDs are kept; a lock, while a lookup runs."""
    monkeypatch.setattr(auth, "MAX_PROJECT_IDS", 8)
    monkeypatch.setattr(auth, "_PROJECT_IDS", {})
    locks_before, environ = len(auth._LOOKUPS), emulator.environ("token", include_project=False)
    for n in range(20):
        if varied == "token":
            environ["HW_AUTH_TOKEN"] = emulator.issue_token()
        else:
            environ["HW_PROJECT_NAME"] = f"eu-de_{n}"
            emulator.add_project(f"eu-de_{n}", f"{n + 1:032x}")
        with ModelArtsClient(Settings.from_sources(environ=environ)) as client:
            assert client.project_id
    assert (len(auth._PROJECT_IDS), len(auth._LOOKUPS)) == (8, locks_before)
    with ModelArtsClient(Settings.from_sources(environ=environ)) as client:  # the last one: not again
        assert client.project_id
    assert routes(emulator, "iam_projects") == [200] * 20


def test_clients_looking_up_one_project_at_once_share_one_lookup(emulator: ModelArtsEmulator) -> None:
    environ = emulator.environ("aksk", include_project=False)
    clients = [ModelArtsClient(Settings.from_sources(environ=environ)) for _ in range(8)]
    together = threading.Barrier(len(clients))

    def read(client: ModelArtsClient) -> int:
        together.wait()
        return client.get_visualization_job(197).job_id

    with ThreadPoolExecutor(len(clients)) as pool:
        assert list(pool.map(read, clients)) == [197] * len(clients)
    assert routes(emulator, "iam_projects") == [200]


def test_a_password_login_at_an_auth_url_without_v3_reaches_iam(emulator: ModelArtsEmulator) -> None:
    """``OS_AUTH_URL=https://iam.example`` as the Terraform providers take it: IAM at its /v3."""
    environ = emulator.environ("password", include_project=False)
    environ["HW_AUTH_URL"] = environ["HW_AUTH_URL"].removesuffix("/v3")
    environ["OS_PROJECT_DOMAIN_NAME"] = environ.pop("HW_DOMAIN_NAME")
    client = ModelArtsClient(Settings.from_sources(environ=environ))
    try:
        assert client.get_visualization_job(197).job_id == 197
    finally:
        client.close()
    assert emulator.requests[0].path.partition("?")[0] == "/v3/auth/tokens"


@pytest.mark.parametrize("order", ["config first", "environment first"])
def test_equal_settings_from_other_sources_each_name_their_own_in_a_refusal(order: str) -> None:
    """Equal settings share one client whatever their sources: a half-set credential is refused
    naming where this caller set it, not where the settings that made the shared client did."""
    secret_key_missing = {"modelarts:accessKey": "AK-HALF-SET-0001"}
    sources = {
        "modelarts:accessKey is set": Settings.from_sources(stack_config=secret_key_missing, environ={}),
        "HW_ACCESS_KEY (modelarts:accessKey) is set": Settings.from_sources(
            stack_config={}, environ={"HW_ACCESS_KEY": "AK-HALF-SET-0001"}
        ),
    }
    assert len(set(sources.values())) == 1
    for named, settings in sorted(sources.items(), reverse=order == "config first"):
        with pytest.raises(ConfigurationError) as caught:
            shared_client(settings).get_visualization_job(197)
        assert str(caught.value).startswith(named), caught.value


@pytest.mark.parametrize(
    ("auth", "project_id", "named"),
    [
        ("password", PROJECT, "modelarts:authUrl, userName, domainName and project"),
        ("aksk", None, "modelarts:authUrl and projectName"),
    ],
    ids=["login", "project lookup"],
)
def test_an_iam_refusal_of_no_known_kind_points_at_the_iam_settings_not_the_endpoint(
    auth: str, project_id: str | None, named: str
) -> None:
    """IAM's 400 to a login or lookup (``IAM.1109``, a malformed request) is about what it was sent."""
    refused = reply(400, {"error_code": "IAM.1109", "error_msg": "The request body is invalid."})
    with RawServer(lambda head: [refused]) as server:
        settings = FakeCloud.settings(server.url, auth, project_id=project_id)
        with pytest.raises(errors.ServiceError) as caught:
            ModelArtsClient(settings).get_visualization_job(197)
    assert named in str(caught.value) and "IAM.1109" in str(caught.value)
    assert "and endpoint" not in str(caught.value) and len(server.heads) == 1
