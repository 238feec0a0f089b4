"""Every answer takes one path (bytes, JSON, model, "the job we asked for?"): numbers finite, only
ModelArts' codes mean "not found", no echoed secret in an error; the model's coercions and values."""

from __future__ import annotations

import codecs
import dataclasses
import hashlib
import html
import itertools
import json
import math
import pickle
import re
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import requests
from pydantic import ValidationError

from pulumi_modelarts import errors, responses
from pulumi_modelarts.client import MAX_LISTED_JOBS, ModelArtsClient
from pulumi_modelarts.errors import (
    ConfigurationError,
    InvalidResponseError,
    JobNotFoundError,
    ModelArtsError,
    ServiceError,
)
from pulumi_modelarts.outputs import JobStatus, status_name
from pulumi_modelarts.responses import JobModel, JobPage
from pulumi_modelarts.settings import Settings
from tests.checks import logged
from tests.hostile import (
    ANOTHER_JOB_IN_DISGUISE,
    CLOSE,
    ECHOES,
    FOREIGN_NOT_FOUNDS,
    INNER_ECHOES,
    ISSUED_TOKEN,
    JOB_197,
    LEGACY_ECHOES,
    LEGACY_PASSWORDS,
    LOGGED_ECHOES,
    LONG_TOKEN,
    NO_AKSK,
    NON_FINITE,
    PASSWORD,
    PROJECT,
    SPLIT_ECHOES,
    UNQUOTED,
    EchoServer,
    PagingServer,
    RawServer,
    as_json,
    b64,
    every_character,
    leaked_forms,
    listed_job,
    pages_of,
    reply,
    settings_for,
)


class Scripted(RawServer):
    """A module-wide raw server that gives every request the ``answer`` a test sets last."""

    def __init__(self) -> None:
        self.answer = reply(200, JOB_197)
        super().__init__(lambda _: [self.answer])

    def read(self, body: bytes | str | dict[str, Any], status: int = 200, **headers: str) -> Any:
        """Job 197 as a client without retries reads it from ``body``."""
        self.answer = reply(status, body, **headers)
        with self.client(max_retries=0) as client:
            return client.get_visualization_job(197)

    def client(self, **overrides: Any) -> closing[ModelArtsClient]:
        return closing(ModelArtsClient(settings_for(self.url, **overrides)))


@contextmanager
def paging(pages: Callable[[int], Any], **overrides: Any) -> Iterator[tuple[PagingServer, ModelArtsClient]]:
    """A server answering page N with ``pages(N)`` and a client of it."""
    with PagingServer(pages) as server, ModelArtsClient(settings_for(server.url, **overrides)) as client:
        yield server, client


@pytest.fixture(scope="module")
def server() -> Iterator[Scripted]:
    with Scripted() as scripted:
        yield scripted


@pytest.mark.reliability("alternate encodings")
@pytest.mark.parametrize("body", ANOTHER_JOB_IN_DISGUISE.values(), ids=ANOTHER_JOB_IN_DISGUISE.keys())
def test_no_body_can_return_another_job(server: Scripted, body: bytes) -> None:
    with pytest.raises(InvalidResponseError) as caught:
        server.read(body)
    assert "\n" not in str(caught.value)


SAME_JOB = {
    "UTF-8 BOM": codecs.BOM_UTF8 + as_json(JOB_197),
    "surrounding whitespace": b"\n " + as_json(JOB_197) + b"\r\n",
    "ID as text": as_json({**JOB_197, "job_id": "197"}),
    "ID as a float": as_json({**JOB_197, "job_id": 1.97e2}),
    # Duplicate keys: the last one wins, as in every JSON parser, on the one path the outputs take too.
    "duplicate ID, the last one asked for": b'{"job_id": 999, "job_name": "x", "status": 8, "job_id": 197}',
    "null is_success, error fields": as_json({**JOB_197, "is_success": None, "error_code": None}),
}


@pytest.mark.parametrize("body", SAME_JOB.values(), ids=SAME_JOB.keys())
def test_the_same_job_in_another_spelling_is_read(server: Scripted, body: bytes) -> None:
    assert server.read(body).job_id == 197


@pytest.mark.parametrize("text", ["Prüfung", "训练作业 v2", "loss 📈", 'a "quoted"\\path\tö', "é" * 300])
def test_text_sent_as_unicode_escapes_is_read_exactly(server: Scripted, text: str) -> None:
    """Servers that write ``\\u00fc`` for ``ü`` (json.dumps' default, like many Java and Go encoders):
    pydantic-core before 2.18.4 built broken strings from them (pydantic/pydantic#9496; reading one
    could crash the process), hence the ``pydantic>=2.7.3`` floor."""
    job = server.read(json.dumps({**JOB_197, "job_name": text, "job_desc": text}).encode())
    assert (job.job_name, job.job_desc) == (text, text)


def _listing(*jobs: dict[str, Any], total: int = 6) -> bytes:
    """A page of the list call: job 197 changed by each of ``jobs``."""
    return as_json({"job_total_count": total, "jobs": [{**JOB_197, **job} for job in jobs]})


@pytest.mark.parametrize(
    ("page", "status", "fragment"),
    [
        (_listing({"job_id": 1}, {"job_id": 2}), None, "ended at page 2 with 2 of the 6 jobs it counts"),
        (_listing({"job_id": 1}, {"job_id": 1}, {"job_id": 2}), None, "ended at page 2 with 2 of the 6"),
        (_listing({"job_id": 1}, {"job_id": 2, "status": 7}), 8, "lists job 2 in status 7, not 8"),
        (
            _listing({"job_id": 1, "status": "8"}, {"job_id": 2, "status": 8.0}, total=2),
            7,
            "job 1 in status 8",
        ),
    ],
    ids=["page ignored", "page ignored, a job twice", "another status", "another status, as text"],
)
def test_a_listing_that_repeats_itself_or_ignores_its_filter_is_refused(
    server: Scripted, page: bytes, status: int | None, fragment: str
) -> None:
    """Ignoring ``page`` would be read for ever; ignoring ``status`` hands over jobs not asked for."""
    server.answer, before = reply(200, page), len(server.heads)
    with server.client() as client, pytest.raises(InvalidResponseError, match=fragment):
        list(client.list_visualization_jobs(status=status, per_page=2))
    assert len(server.heads) - before == (2 if "ended" in fragment else 1)


def made_up_pages(size: int, total: int | None) -> Callable[[int], dict[str, Any]]:
    """A server that makes up ``size`` new jobs for any page asked, with ``total`` as its count."""
    counted = {} if total is None else {"job_total_count": total}
    return lambda page: {**counted, "jobs": [listed_job(page * size + n) for n in range(size)]}


@pytest.mark.parametrize(
    ("size", "total"),
    [(1000, None), (1000, 10**9), (2500, None)],
    ids=["no count", "a count of a billion", "more a page than asked"],
)
def test_a_listing_that_never_ends_is_refused_before_it_fills_memory(size: int, total: int | None) -> None:
    """Before, such a server was read for 1,000 pages: a million jobs, over a GiB of memory."""
    refused = pytest.raises(InvalidResponseError, match=f"holds over {MAX_LISTED_JOBS} jobs")
    with paging(made_up_pages(size, total)) as (server, client), refused:
        list(client.list_visualization_jobs())
    assert server.list_requests() == MAX_LISTED_JOBS // size + 1


_ONE_TO_25 = list(range(1, 26))


def changed_once(change: Callable[[list[int]], object], *, total: bool = True) -> Callable[[int], Any]:
    """Jobs 1-25, 10 a page, altered once by ``change`` after page 1 was read (a busy project)."""
    ids, changed = list(_ONE_TO_25), list[object]()

    def page(number: int) -> dict[str, Any]:
        if number > 1 and not changed:
            changed.append(change(ids))
        counted = {"job_total_count": len(ids)} if total else {}
        return {**counted, "jobs": [listed_job(n) for n in ids[(number - 1) * 10 :][:10]]}

    return page


TEN_A_PAGE = pages_of(10)


def from_page(number: int, answer: Any, pages: Callable[[int], Any] = TEN_A_PAGE) -> Callable[[int], Any]:
    """``pages`` before page ``number``, then ``answer`` for every page."""
    return lambda page: pages(page) if page < number else answer


TEN_OF_25, TWO_OF_4 = "ended at page 2 with 10 of the 25", "ended at page 2 with 2 of the 4"
REPEATED = "page 2 lists only jobs of earlier pages (the page parameter is ignored)"
EMPTY_PAGE_OF_4, NO_ORDER = {"job_total_count": 4, "jobs": []}, [listed_job(n) for n in (3, 1, 4, 2)]
_WHOLE_LIST = {"job_total_count": 3, "jobs": [listed_job(n) for n in (1, 2, 3)]}
#: name -> (the server's page N, jobs listed or a typed error, list requests at most). Each server
#: pages its own way: the jobs are all of them, sorted, or the listing is refused, never a part of it.
LISTINGS: dict[str, tuple[Callable[[int], Any], list[int] | str, int]] = {
    "10 a page whatever per_page asks": (pages_of(10), _ONE_TO_25, 3),
    "10 a page, counted as text": (pages_of(10, total="25"), _ONE_TO_25, 3),
    "10 a page, no count": (pages_of(10, total=None), _ONE_TO_25, 3),
    "10 a page, counted too low": (pages_of(10, total=12), _ONE_TO_25, 3),
    "10 a page, counted too high": (pages_of(10, total=40), "ended at page 3 with 25 of the 40 jobs", 3),
    "one page, counted too high": (pages_of(1000, total=40), "ended at page 2 with 25 of the 40", 2),
    "one page, counted too low": (pages_of(1000, total=3), _ONE_TO_25, 2),
    "one page, no count": (pages_of(1000, total=None), _ONE_TO_25, 2),
    "one page, counted null": (lambda page: {**pages_of(1000)(page), "job_total_count": None}, _ONE_TO_25, 2),
    "the whole list for every page": (lambda page: _WHOLE_LIST, [1, 2, 3], 1),
    # Without a count, a page of jobs already listed tells a server ignoring ``page``: its first page
    # may be the whole list or a part, so the listing is refused, never handed over as if whole.
    "the whole list for every page, no count": (lambda page: {"jobs": _WHOLE_LIST["jobs"]}, REPEATED, 2),
    "the first page for every page": (lambda page: pages_of(10)(1), TEN_OF_25, 2),
    "the first page for every page, no count": (lambda page: pages_of(10, total=None)(1), REPEATED, 2),
    "page 1 for every page, counted too low": (lambda page: pages_of(10, total=5)(1), REPEATED, 2),
    "an empty page in the middle": (from_page(2, EMPTY_PAGE_OF_4, pages_of(2, 4)), TWO_OF_4, 2),
    # An empty array serialised as null (as Jackson does) is an empty page; it still ends a listing.
    "no jobs, listed as null": (lambda page: {"job_total_count": 0, "jobs": None}, [], 1),
    "no jobs, listed as null, no count": (lambda page: {"is_success": True, "jobs": None}, [], 1),
    "null after the first page": (from_page(2, {"job_total_count": 25, "jobs": None}), TEN_OF_25, 2),
    "a job on two pages": (lambda page: pages_of(2, 5)(page) | pages_of(2, 5)(page - 1), [1, 2, 3, 4, 5], 3),
    "jobs in no order": (lambda page: {"jobs": NO_ORDER if page == 1 else []}, [1, 2, 3, 4], 2),
    "throttled on page 2": (from_page(2, reply(429, {"error_code": "APIG.0308"})), "ThrottledError", 2),
    "503 on page 3": (from_page(3, reply(503, "<html>")), "ServiceError", 3),
    "made-up jobs for every page": (lambda page: pages_of(1, 10**6)(page), "past 1000 pages", 1000),
    # Jobs that come or go while the pages are read shift the pages after them: read again.
    "deleted on page 1 while read": (changed_once(lambda ids: ids.remove(3)), sorted({*_ONE_TO_25} - {3}), 6),
    "deleted on page 2 while read": (
        changed_once(lambda ids: ids.remove(12)),
        [*_ONE_TO_25[:11], *_ONE_TO_25[12:]],
        6,
    ),
    "deleted on page 3 while read": (changed_once(lambda ids: ids.remove(25)), _ONE_TO_25[:24], 6),
    "created first while read": (changed_once(lambda ids: ids.insert(0, 40)), [*_ONE_TO_25, 40], 6),
    "created last while read": (changed_once(lambda ids: ids.append(40)), [*_ONE_TO_25, 40], 6),
    "counted on page 1 only": (
        lambda page: {k: v for k, v in pages_of(10)(page).items() if page == 1 or k == "jobs"},
        _ONE_TO_25,
        3,
    ),
    "a count that changes on every page": (
        lambda page: {**pages_of(10)(page), "job_total_count": 25 + page},
        "changed while it was read 3 times (26 jobs counted on page 1, 27 on page 2)",
        6,
    ),
}


@pytest.mark.parametrize("case", LISTINGS.values(), ids=LISTINGS.keys())
def test_a_listing_is_whole_and_sorted_or_refused_however_a_server_pages(case: Any) -> None:
    pages, expected, most = case
    with paging(pages, max_retries=0) as (server, client):
        listed = client.list_visualization_jobs()
        try:
            outcome: Any = [job.job_id for job in itertools.islice(listed, 1)]  # none before all
            outcome += [job.job_id for job in listed]
        except ModelArtsError as exc:
            outcome = f"{type(exc).__name__}: {exc}"
            assert "\n" not in outcome and isinstance(expected, str) and expected in outcome, outcome
        else:
            assert outcome == expected
        assert 0 < server.list_requests() <= most


def test_a_listing_that_keeps_changing_says_to_try_again() -> None:
    """Not that the endpoint is wrong: the account is busy."""
    changing = LISTINGS["a count that changes on every page"][0]
    with paging(changing, max_retries=0) as (_, client), pytest.raises(InvalidResponseError) as refused:
        list(client.list_visualization_jobs())
    assert (
        refused.value.hint == "Jobs are being created, deleted or changed: try again, or narrow the listing"
    )


def test_a_job_on_two_pages_is_taken_as_last_listed() -> None:
    """Its status changed between the pages (so did its place in a listing sorted by status)."""
    pages = {
        1: [listed_job(1), {**listed_job(2), "status": 7}],
        2: [{**listed_job(2), "status": 11}, listed_job(3)],
    }
    with paging(lambda page: {"job_total_count": 3, "jobs": pages.get(page, [])}) as (_, client):
        listed = client.list_visualization_jobs(sort_by="status", per_page=2)
        assert [(job.job_id, job.status) for job in listed] == [(1, 8), (3, 8), (2, 11)]


# -- non-finite numbers (defect 6) -------------------------------------------------------------
@pytest.mark.reliability("non-finite numbers")
@pytest.mark.parametrize("field", ["remaining_duration", "duration", "create_time", "status"])
@pytest.mark.parametrize("number", NON_FINITE)
def test_non_finite_numbers_are_refused(server: Scripted, field: str, number: str) -> None:
    body = f'"job_id": 197, "job_name": "apiTest-11", "status": 8, "{field}": {number}'
    with pytest.raises(InvalidResponseError):
        server.read("{" + body + "}")
    server.answer = reply(200, '{"job_total_count": 1, "jobs": [{' + body + "}]}")
    with pytest.raises(InvalidResponseError), server.client() as client:
        list(client.list_visualization_jobs())  # a page of the list call too


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("duration", 33000.5, "a whole number, got float"),
        ("create_time", "2019-08-07T03:48:56Z", "a whole number, got str"),  # not epoch milliseconds
        ("remaining_duration", "1h", "a number, got str"),
    ],
)
def test_a_number_of_another_kind_is_refused_saying_what_was_expected(
    server: Scripted, field: str, value: object, expected: str
) -> None:
    with pytest.raises(InvalidResponseError, match=rf"shape at '{field}' \(expected {expected}\)"):
        server.read({**JOB_197, field: value})


# -- only ModelArts' own codes mean "not found" (defect 7) ----------------------------------------
@pytest.mark.reliability("foreign 404s")
@pytest.mark.parametrize("answer", FOREIGN_NOT_FOUNDS.values(), ids=FOREIGN_NOT_FOUNDS.keys())
def test_only_modelarts_not_found_codes_mean_the_job_is_gone(
    server: Scripted, answer: tuple[Any, ...]
) -> None:
    status, body, content_type = answer
    with pytest.raises((InvalidResponseError, ServiceError, ConfigurationError)):  # never JobNotFoundError
        server.read(body, status, Content_Type=content_type)


#: Error pages as nginx 1.22, Squid 5.7 and tinyproxy 1.11 send them, byte for byte (tests/answers/):
#: file -> (error, the page's title). nginx as a reverse proxy: its upstream down (502), too slow
#: (504), a location it does not proxy (404), a body or a header over its limits (413, 400); Squid and
#: tinyproxy as forward proxies: access denied (403), the endpoint unreachable (503, 500), wrong
#: proxy credentials (tinyproxy answers 401, not 407).
PROXY_PAGES: dict[str, tuple[type[ModelArtsError], str]] = {
    "nginx-502.http": (ServiceError, "502 Bad Gateway"),
    "nginx-504.http": (ServiceError, "504 Gateway Time-out"),
    "nginx-404.http": (InvalidResponseError, "404 Not Found"),
    "nginx-413.http": (InvalidResponseError, "413 Request Entity Too Large"),
    "nginx-400.http": (InvalidResponseError, "400 Request Header Or Cookie Too Large"),
    "squid-403.http": (InvalidResponseError, "ERROR: The requested URL could not be retrieved"),
    "squid-503.http": (ServiceError, "ERROR: The requested URL could not be retrieved"),
    "tinyproxy-500.http": (ServiceError, "500 Unable to connect"),
    "tinyproxy-401.http": (InvalidResponseError, "401 Unauthorized"),
}
ANSWERS = Path(__file__).parent / "answers"


@pytest.mark.parametrize("name", PROXY_PAGES)
def test_a_proxy_error_page_is_named_by_its_title_never_quoted_as_markup(name: str) -> None:
    """Before, the line quoted the page's first 120 characters: a doctype, tags and a stylesheet."""
    error, title = PROXY_PAGES[name]
    answer = (ANSWERS / name).read_bytes()
    with RawServer(lambda _: [answer, CLOSE]) as server, pytest.raises(ModelArtsError) as caught:
        ModelArtsClient(settings_for(server.url, max_retries=0)).get_visualization_job(197)
    assert type(caught.value) is error  # a proxy's 404 page too: never JobNotFoundError
    assert f'HTTP {name[-8:-5]} with a non-API body: an HTML page ("{title}")' in str(caught.value)
    assert not {"<", ">", "\n"} & set(str(caught.value))


@pytest.mark.parametrize(
    ("body", "content_type", "said"),
    [
        (b"<p>sign in</p>", "text/html; charset=utf-8", 'an HTML page ("sign in")'),
        (
            b"<html><body><script>x()</script><h1>503</h1>\nNo server</body></html>",
            "",
            'an HTML page ("503 No server")',
        ),
        (
            b"<!-- a -->\n<HTML><head><title></title><style>p{}</style></head></HTML>",
            "text/plain",
            "an HTML page",
        ),
        (
            b"<Error><Code>AccessDenied</Code></Error>",
            "application/xml",
            "<Error><Code>AccessDenied</Code></Error>",
        ),
        (b"Service Unavailable", "text/html", "Service Unavailable"),  # text sent as a page: as it is
        (b'{"job_id": "<b>197</b>"}', "text/html", '{"job_id": "<b>197</b>"}'),  # and JSON
    ],
)
def test_a_page_is_shown_by_its_title_or_text_other_markup_as_sent(
    server: Scripted, body: bytes, content_type: str, said: str
) -> None:
    with pytest.raises(InvalidResponseError) as caught:
        server.read(body, 200, Content_Type=content_type)
    assert f"): {said} (job 197" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "code", "is_success"),
    [
        # The 400 and the 200 styles say is_success: false, in any form the models read.
        *[(404, "ModelArts.0015", None), (400, "ModelArts.2775", False), (404, "ModelArts.2775", None)],
        *[(200, "ModelArts.0015", False), (404, "modelarts.0015", None), (400, " MODELARTS.2775\t", False)],
        *[(200, "ModelArts.0015", "false"), (200, "ModelArts.2775", 0), (400, "ModelArts.2775", "False")],
        # The details call's documented failure has no is_success at all: on a 2xx its code tells.
        *[(200, "ModelArts.0015", None), (201, "ModelArts.2775", None)],
    ],
)
def test_modelarts_not_found_codes_are_a_missing_job(
    server: Scripted, status: int, code: str, is_success: object
) -> None:
    body = {"error_code": code, "error_message": "not found"}
    with pytest.raises(JobNotFoundError):
        server.read(body | ({} if is_success is None else {"is_success": is_success}), status)


@pytest.mark.parametrize("code", ["ModelArts.0015", "ModelArts.0104", "APIG.0201", None])
def test_a_404_that_is_not_a_missing_job_says_so_truthfully(server: Scripted, code: str | None) -> None:
    """Before, a 404 carrying a ModelArts code was told to have none, on the list call even a not-found code."""
    body = {"error_code": code, "error_message": "nope"}
    server.answer = reply(404, body)
    with server.client(max_retries=0) as client, pytest.raises(InvalidResponseError) as listed:
        list(client.list_visualization_jobs())
    with pytest.raises((InvalidResponseError, JobNotFoundError)) as read:
        server.read(body, 404)
    assert "without a ModelArts error code" not in f"{listed.value} {read.value}"
    assert "unexpected HTTP 404" in str(listed.value) and (code or "nope") in str(listed.value)
    if read.type is InvalidResponseError:
        said = "HTTP 404 without a ModelArts not-found code, so not taken for a missing job"
        assert said in str(read.value)


#: Error bodies whose numeric code is the HTTP status again (Keystone's, some gateways'): status -> body.
STATUS_AS_CODE: dict[str, tuple[int, dict[str, Any]]] = {
    "Keystone 401": (401, {"error": {"code": 401, "title": "Unauthorized", "message": "needs auth"}}),
    "Keystone 403": (403, {"error": {"code": 403, "title": "Forbidden", "message": "needs auth"}}),
    "Keystone 404": (404, {"error": {"code": 404, "title": "Not Found", "message": "needs auth"}}),
    "Keystone 500": (500, {"error": {"code": 500, "title": "Internal", "message": "needs auth"}}),
    "code as text": (401, {"error": {"code": " 401", "message": "needs auth"}}),
    "flat code": (400, {"code": 400, "message": "needs auth"}),
    "flat error_code": (403, {"error_code": "403", "error_msg": "needs auth"}),
}


@pytest.mark.parametrize("login", [False, True], ids=["ModelArts", "IAM login"])
@pytest.mark.parametrize(("status", "body"), STATUS_AS_CODE.values(), ids=STATUS_AS_CODE)
def test_a_code_that_is_the_http_status_again_is_said_once(
    status: int, body: dict[str, Any], login: bool
) -> None:
    """Before, Keystone's 401 read "HTTP 401, 401", its status shown again as if a ModelArts code."""
    settings = partial(EchoServer.settings) if login else partial(settings_for, max_retries=0)
    with RawServer(lambda _: [reply(status, body)]) as raw, pytest.raises(ModelArtsError) as caught:
        ModelArtsClient(settings(raw.url)).get_visualization_job(197)
    assert f'HTTP {status}, "needs auth")' in str(caught.value), str(caught.value)
    assert caught.value.error_code is None and caught.value.status == status


def test_a_numeric_code_other_than_the_status_is_still_shown(server: Scripted) -> None:
    with pytest.raises(ModelArtsError, match=r'HTTP 400, 1001, "bad"\)'):
        server.read({"error": {"code": 1001, "message": "bad"}}, 400)


#: Codes of the API reference's tables -> the status it gives them and the error they are, whatever
#: status an answer carries them with: the tables give some with two, and a v1 answer may say
#: ``is_success: false`` with a 200.
CODE_MEANINGS: dict[str, tuple[int, type[ModelArtsError]]] = {
    "ModelArts.0202": (401, errors.AuthenticationError),  # the token has expired
    "ModelArts.0206": (403, errors.AuthenticationError),  # invalid AK/SK
    "ModelArts.2784": (403, errors.AuthenticationError),  # InvalidToken
    "APIG.0307": (401, errors.AuthenticationError),  # the token must be updated
    "IAM.0062": (401, errors.AuthenticationError),  # incorrect password
    "ModelArts.0108": (403, errors.PermissionDeniedError),  # not authorized to perform the operation
    "ModelArts.6201": (401, errors.PermissionDeniedError),  # account suspended
    "ModelArts.2838": (400, errors.PermissionDeniedError),  # WorkspacePolicyLimit
    "APIGW.0302": (403, errors.PermissionDeniedError),  # IAM user not authorised to access the API
    "IAM.0003": (403, errors.PermissionDeniedError),  # policy does not allow
    "ModelArts.4395": (429, errors.ThrottledError),  # too many requests
}


@pytest.mark.parametrize("surface", ["read", "listing", "IAM login"])
@pytest.mark.parametrize("status", ["documented", 200])
@pytest.mark.parametrize(("code", "meaning"), CODE_MEANINGS.items(), ids=CODE_MEANINGS)
def test_an_error_code_is_the_error_it_means_whatever_status_or_shape_carries_it(
    code: str, meaning: tuple[int, type[ModelArtsError]], status: int | str, surface: str
) -> None:
    """Before, an auth or permission code with another status than 401 or 403 (a 200 saying
    ``is_success: false``, ModelArts' 400 or 403) was a ServiceError, exit code 5, whose hint said
    to check the job ID; a permission code with a 401 said to check the credentials."""
    documented, expected = meaning
    status = documented if status == "documented" else 200
    bodies = [
        {"is_success": False, "error_code": code, "error_message": "refused"},
        {"error_code": f" {code.lower()}\t", "error_msg": "refused", "request_id": "r-1"},
        {"error": {"code": code, "message": "refused"}},
        {"errorCode": code, "errorMsg": "refused"},
    ]
    for body in bodies:
        with RawServer(lambda _, body=body: [reply(status, body)]) as raw:  # type: ignore[misc]
            settings = (
                EchoServer.settings(raw.url)
                if surface == "IAM login"
                else settings_for(raw.url, max_retries=0)
            )
            with ModelArtsClient(settings) as client, pytest.raises(ModelArtsError) as caught:
                list(
                    client.list_visualization_jobs()
                ) if surface == "listing" else client.get_visualization_job(197)
        assert type(caught.value) is expected, (body, str(caught.value))
        assert caught.value.exit_code == (5 if expected is errors.ThrottledError else 4)
        assert f"HTTP {status}, " in str(caught.value) and "Check the job ID" not in str(caught.value)


#: JSON error bodies of other conventions than ModelArts', the gateway's and Keystone's -> what they say.
OTHER_ERROR_BODIES: dict[str, tuple[dict[str, Any], str]] = {
    "RFC 9457 problem details": ({"type": "about:blank", "status": 400, "detail": "too long"}, "too long"),
    "OAuth 2 bearer error": ({"error": "invalid_token", "error_description": "expired"}, "invalid_token"),
    "Spring Boot": ({"timestamp": "2024-01-01T00:00Z", "status": 403, "error": "Forbidden"}, "Forbidden"),
    "Apigee fault": ({"fault": {"faultstring": "Quota violation", "detail": {}}}, "Quota violation"),
}


@pytest.mark.parametrize("status", [400, 401, 403, 404, 500])
@pytest.mark.parametrize(("body", "said"), OTHER_ERROR_BODIES.values(), ids=OTHER_ERROR_BODIES)
def test_an_error_body_of_another_convention_is_quoted_as_the_services_message(
    server: Scripted, body: dict[str, Any], said: str, status: int
) -> None:
    """Before, a JSON body with no code or message field known here showed nothing of what the
    server said, while the hint told to check the job against "the service's message"."""
    with pytest.raises(ModelArtsError) as caught:
        server.read(body, status, Content_Type="application/problem+json")
    assert caught.value.error_message and said in caught.value.error_message
    assert said in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("location", [b"https://login.example/f\xfcr", b"\xff\xfe", b"/ok"])
def test_a_redirect_is_an_invalid_response_whatever_its_location_bytes(
    server: Scripted, location: bytes
) -> None:
    with pytest.raises(InvalidResponseError, match="unexpected redirect to"):
        server.read(b"", 302, Location=location.decode("latin-1"))


@pytest.mark.parametrize("status", [304, 300, 307])
def test_a_3xx_without_a_location_says_its_status_not_a_redirect(server: Scripted, status: int) -> None:
    with pytest.raises(InvalidResponseError, match=f"unexpected HTTP {status} ") as caught:
        server.read(b"", status)
    assert "redirect" not in str(caught.value)


def test_requests_still_trips_over_a_location_that_is_not_utf8(server: Scripted) -> None:
    """psf/requests#4926, worked around by sending on the adapter: fails once requests fixes it."""
    server.answer = b"HTTP/1.1 302 Found\r\nLocation: /f\xfcr\r\nContent-Length: 0\r\n\r\n"
    with pytest.raises(UnicodeDecodeError):
        requests.get(server.url, allow_redirects=False, timeout=10)


# -- secrets echoed by a server (defect 2) -------------------------------------------------------
@pytest.fixture(scope="module")
def echo_server() -> Iterator[tuple[EchoServer, RawServer]]:
    echo = EchoServer()
    with RawServer(echo) as raw:
        yield echo, raw


def aimed(
    echo_server: tuple[EchoServer, RawServer],
    answer: Callable[[str], bytes],
    secret: str,
    issued: str = ISSUED_TOKEN,
) -> tuple[EchoServer, str]:
    """The echo server, issuing ``issued`` and answering ``answer`` of it (``secret="token"``) or
    of the password, and its URL."""
    echo, raw = echo_server
    echo.echo, echo.issued = answer, issued
    echo.secret = issued if secret == "token" else PASSWORD
    return echo, raw.url


@pytest.mark.reliability("echoed secrets")
@pytest.mark.parametrize("secret", ["token", "password"])
@pytest.mark.parametrize("place", ECHOES)
def test_no_secret_the_process_holds_comes_back_in_an_error(
    echo_server: tuple[EchoServer, RawServer], place: str, secret: str
) -> None:
    echo, url = aimed(echo_server, ECHOES[place], secret)
    # The password as read from a file: the stray line end is dropped, never sent.
    client = ModelArtsClient(EchoServer.settings(url, PASSWORD + "\r\n"))
    with pytest.raises(ModelArtsError) as caught:
        client.get_visualization_job(197)
    error = caught.value
    assert echo.seen_tokens[-1] == ISSUED_TOKEN  # the token really was issued and used
    text = " ".join(
        (str(error), repr(error), json.dumps(error.details()), str(pickle.loads(pickle.dumps(error))))
    )
    assert leaked_forms(text, echo.secret) == [] and ("***" in text or place in UNQUOTED)


STACK_SECRETS = {
    "secret key": {"access_key": "AK-LONG-LIVED-HOST", "secret_key": "sk-of-the-first-stack-8c1d0e7f"},
    "password": {"user_name": "u", "password": "pw-of-the-first-stack-2b9a4c6d", "domain_name": "d"},
    "auth token": {"auth_token": "MIIT-token-of-the-first-stack-5e3f1a0b"},
    "proxy password": {"auth_token": "t0k3n-x", "https_proxy": "http://u:proxy-pw-of-the-first-stack@p:3128"},
}


@pytest.fixture
def no_secrets_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process's registry of secrets, empty for the test and put back as it was after."""
    monkeypatch.setattr(errors._SECRETS, "_group_of", {})
    monkeypatch.setattr(errors._SECRETS, "_groups", [])


@pytest.mark.usefixtures("no_secrets_yet")
@pytest.mark.parametrize("others", [1, 3], ids=["a cap's worth", "three"])
@pytest.mark.parametrize("stack", STACK_SECRETS.values(), ids=STACK_SECRETS)
def test_a_stack_that_runs_again_keeps_its_secrets_scrubbed_however_many_ran_since(
    stack: dict[str, str], others: int
) -> None:
    """A long-lived host (the Automation API) resolves each run's settings, registering its secrets;
    the registry holds the most recent ones. A stack that keeps running keeps its own there, however
    many other stacks' secrets (or tokens issued) came since it first ran."""
    proxy = {"HTTPS_PROXY": stack["https_proxy"]} if "https_proxy" in stack else {}
    args = {"endpoint": "https://modelarts.example.com", "project_id": "p", **stack, "https_proxy": None}
    first = Settings.from_sources(args=args, environ=proxy)
    secret = first.secret_values()[-1]
    for run in range(1, others * errors._MAX_SECRETS + 1):
        Settings.from_sources(args={"auth_token": f"token-of-another-stack-{run:06}"}, environ={})
        if run % 256 == 0:  # the first stack runs again, and fails with its secret echoed
            assert errors.redact(f"echoed: {secret}.") == "echoed: ***."
            assert Settings.from_sources(args=args, environ=proxy) == first


def _other_stacks(count: int) -> None:
    for run in range(count):
        Settings.from_sources(args={"auth_token": f"token-of-another-stack-{run:06}"}, environ={})


def _flooding_iam(count: int) -> None:
    """Logins at an IAM that answers each with a header of new tokens (refused: not one token)."""
    issued = itertools.count()

    def flood(_: bytes) -> Iterator[bytes]:
        tokens = ", ".join(f"flood-{next(issued):08}" for _ in range(50))
        yield reply(201, {"token": {"project": {"id": PROJECT}}}, X_Subject_Token=tokens)

    with RawServer(flood) as iam:
        client = ModelArtsClient(EchoServer.settings(iam.url))
        for _ in range(count // 8 + 1):  # each login registers 8 of them, then its credentials
            with pytest.raises(InvalidResponseError):
                client.get_visualization_job(197)


IN_USE = {**STACK_SECRETS, "issued token": STACK_SECRETS["password"]}


@pytest.mark.usefixtures("no_secrets_yet")
@pytest.mark.parametrize("flood", [_other_stacks, _flooding_iam], ids=["other stacks", "a flooding IAM"])
@pytest.mark.parametrize("kind", IN_USE)
def test_a_client_in_use_keeps_its_secrets_scrubbed_however_many_came_since(
    kind: str, flood: Callable[[int], None]
) -> None:
    """The registry holds the most recent secrets. A client kept for long (a program's, a provider's
    settings resolved once) while other stacks ran or an IAM issued floods of tokens used to lose
    its own, and an answer echoing one, the IAM token it was sent included, showed it in the error."""
    echoed: list[str] = []

    def cloud(head: bytes) -> Iterator[bytes]:
        if b"/auth/tokens" in head.split(b"\r\n")[0]:
            yield reply(201, {"token": {"project": {"id": PROJECT}}}, X_Subject_Token=ISSUED_TOKEN)
        else:
            yield ECHOES["error_message"](echoed[0]) if echoed else reply(200, JOB_197)

    with RawServer(cloud) as raw:
        args: dict[str, Any] = {**NO_AKSK, **IN_USE[kind], "auth_url": f"{raw.url}/v3", "max_retries": 0}
        proxy = {"HTTPS_PROXY": args.pop("https_proxy")} if "https_proxy" in args else {}  # not used
        client = ModelArtsClient(settings_for(raw.url, environ=proxy, **args))
        client.get_visualization_job(197)
        flood(errors._MAX_SECRETS)
        echoed.append(ISSUED_TOKEN if kind == "issued token" else client.settings.secret_values()[-1])
        with pytest.raises(ModelArtsError) as caught:
            client.get_visualization_job(197)
    assert "***" in str(caught.value) and leaked_forms(str(caught.value), echoed[0]) == []


@pytest.mark.usefixtures("no_secrets_yet")
def test_a_new_secret_costs_the_same_however_many_the_process_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    """A long-lived host registers each run's credentials and each token issued. Each new one used to
    rebuild the patterns of every secret held: work per secret grew with their number (0.7 s of CPU
    for 100, 5.8 s for 300), and ``re`` kept hundreds of ever larger patterns (+80 MB at 600)."""
    compiled: list[int] = []
    compile_pattern = re.compile

    def counted(pattern: str, flags: int = 0) -> re.Pattern[str]:
        compiled.append(len(pattern))
        return compile_pattern(pattern, flags)

    monkeypatch.setattr(re, "compile", counted)
    held = [f"secret-{n:04}-{n * 7919:010}" for n in range(300)]

    def pattern_characters(secrets: list[str]) -> int:
        compiled.clear()
        for secret in secrets:
            errors.register_secrets(secret)
            assert errors.scrub_data(f"<{secret}>") == "<***>"
            assert errors.redact(f"a job for {secret}.") == "a job for ***."
        return sum(compiled)

    first = pattern_characters(held[:50])
    pattern_characters(held[50:250])
    assert pattern_characters(held[250:]) < 2 * first
    assert {errors.scrub_data(secret) for secret in held} == {"***"}  # every one still held
    assert {errors.redact(f"{secret[:-1]}?") for secret in held} == {"***?"}


@pytest.mark.reliability("echoed secrets")
@pytest.mark.parametrize("password", LEGACY_PASSWORDS, ids=["Latin-1", "euro sign"])
@pytest.mark.parametrize("place", LEGACY_ECHOES)
def test_a_password_echoed_in_a_legacy_charset_or_another_normal_form_is_scrubbed(
    echo_server: tuple[EchoServer, RawServer], place: str, password: str
) -> None:
    """Before, the characters after the first one past ASCII came back: 30 of the password's 38; and
    in upper or lower case, those up to the first one past ASCII."""
    echo, raw = echo_server
    echo.echo, echo.secret = LEGACY_ECHOES[place], password
    with pytest.raises(ModelArtsError) as caught:
        ModelArtsClient(EchoServer.settings(raw.url, password)).get_visualization_job(197)
    text = f"{caught.value} {json.dumps(caught.value.details(), ensure_ascii=False)}".lower()
    assert [piece for piece in pieces(password.lower(), 8) if piece in text] == []
    assert "***" in text or place in UNQUOTED


def test_a_short_echo_of_a_secret_is_left_alone_and_ordinary_text_untouched(
    echo_server: tuple[EchoServer, RawServer],
) -> None:
    echo, raw = echo_server
    echo.echo, echo.secret = ECHOES["error_message"], PASSWORD[:6]  # "pa\"ss\\": too short to matter
    with pytest.raises(ServiceError) as caught:
        ModelArtsClient(EchoServer.settings(raw.url)).get_visualization_job(197)
    assert PASSWORD[:6] in str(caught.value) and "***" not in str(caught.value)


@pytest.mark.parametrize("secret", ["arts", "MODEL", "ejected", "ervice", "quest", "0123"])
def test_a_short_secret_is_scrubbed_where_it_stands_alone_not_inside_words(
    echo_server: tuple[EchoServer, RawServer], secret: str
) -> None:
    echo, raw = echo_server
    echo.echo, echo.secret = ECHOES["error_message"], secret
    with pytest.raises(ServiceError) as caught:
        ModelArtsClient(EchoServer.settings(raw.url, secret)).get_visualization_job(197)
    text = str(caught.value)  # the server's "bad <secret>" scrubbed, the package's own words intact
    assert all(part in text for part in ("request rejected by the service", "ModelArts.0104", '"bad ***"'))


def test_a_secret_under_four_characters_is_never_scrubbed(echo_server: tuple[EchoServer, RawServer]) -> None:
    echo, raw = echo_server
    echo.echo, echo.secret = ECHOES["error_message"], "pw1"
    with pytest.raises(ServiceError) as caught:
        ModelArtsClient(EchoServer.settings(raw.url, "pw1")).get_visualization_job(197)
    assert '"bad pw1"' in str(caught.value) and "***" not in str(caught.value)


#: Where a job's own answer (200) may quote a credential: a field, whole or within other text, raw
#: or URL-encoded in a URL, in the details or in a listing read for a lookup by name.
def _job_with(fields: Callable[[str], dict[str, Any]], text: str) -> bytes:
    return reply(200, {**JOB_197, **fields(text)})


DATA_ECHOES: dict[str, Callable[[str], bytes]] = {
    name: partial(_job_with, fields)
    for name, fields in {
        "job_desc": lambda s: {"job_desc": s},
        "service_url query": lambda s: {"service_url": f"https://tb.example.com/?token={quote(s, safe='')}"},
        # As JavaScript's encodeURI leaves '/', form encoding (Go's QueryEscape) writes a space, .NET's hex.
        "service_url query, '/' as is": lambda s: {
            "service_url": f"https://tb.example.com/?token={quote(s)}"
        },
        "service_url query, form-encoded": lambda s: {
            "service_url": f"https://tb.example.com/?token={quote_plus(s)}"
        },
        "service_url query, lower-case hex": lambda s: {
            "service_url": "https://tb.example.com/?token="
            + re.sub("%[0-9A-F]{2}", lambda escape: escape[0].lower(), quote_plus(s))
        },
        "train_url inside text": lambda s: {"train_url": f"obs://bucket/{s}/logs"},
        "flavor code": lambda s: {"flavor": {"code": s}},
        "job_desc in base64": lambda s: {"job_desc": b64(s)},
        "resource_id and job_type": lambda s: {"resource_id": s, "job_type": s},
        # Whole, in a form an error's scrubbing reads: another case, escaped once more, inside base64.
        "job_desc upper-cased": lambda s: {"job_desc": s.upper()},
        "resource_id lower-cased": lambda s: {"resource_id": s.lower()},
        "train_url \\u-escaped": lambda s: {"train_url": every_character(s, "\\u{:04x}")},
        "job_type in HTML references": lambda s: {"job_type": every_character(s, "&#{};")},
        "service_url query, every byte percent-encoded": lambda s: {
            "service_url": f"https://tb.example.com/?token={every_character(s, '%{:02X}')}"
        },
        "job_desc in base64 after a user name": lambda s: {"job_desc": b64(f"user:{s}")},
    }.items()
}


@pytest.mark.reliability("echoed secrets")
@pytest.mark.parametrize("secret", ["token", "password"])
@pytest.mark.parametrize("field", DATA_ECHOES)
def test_a_credential_a_job_answer_quotes_never_reaches_the_outputs(
    echo_server: tuple[EchoServer, RawServer], field: str, secret: str
) -> None:
    """A data source stores what it reads: a server echoing the token it was sent (or the password)
    into a job's fields would put it in state and exports; each whole occurrence is *** instead."""
    echo, url = aimed(echo_server, DATA_ECHOES[field], secret)
    job = ModelArtsClient(EchoServer.settings(url)).get_visualization_job(197)
    outputs = json.dumps(job.to_outputs(project_id="p", region="r"), ensure_ascii=False)
    assert echo.seen_tokens[-1] == ISSUED_TOKEN  # the token really was issued and used
    assert leaked_forms(outputs, echo.secret) == [] and "***" in outputs
    assert job.job_name == "apiTest-11" and job.service_url in (None, "https://tb.example.com/?token=***")


def echo_error(
    echo_server: tuple[EchoServer, RawServer],
    answer: Callable[[str], bytes],
    secret: str,
    issued: str = ISSUED_TOKEN,
) -> str:
    """The error (text, details) of a password login's read while the server answers ``answer(secret)``."""
    echo, url = aimed(echo_server, answer, secret, issued)
    try:
        with pytest.raises(ModelArtsError) as caught:
            ModelArtsClient(EchoServer.settings(url)).get_visualization_job(197)
    finally:
        echo.issued = ISSUED_TOKEN  # the module's server issues its usual token to the next test
    assert echo.seen_tokens[-1] == issued  # the token really was issued and used
    return f"{caught.value} {json.dumps(caught.value.details(), ensure_ascii=False)}"


def pieces(secret: str, size: int) -> set[str]:
    return {secret[start : start + size] for start in range(len(secret) - size + 1)}


#: A password holding text that reads as escapes of each kind ("%41", "&amp;", "\\/"), and characters
#: JSON and HTML escape.
ESCAPES_PASSWORD = 'pa"ss%41w\u00f6rd<wi&amp;th>sp\\/ace%7emore\\9e1"07d9d37'
#: Places echoing it escaped by JSON or HTML (in an error, or a job's field), its own escapes as they are.
ESCAPED_ECHOES: dict[str, Callable[[str], bytes]] = {
    **{
        place: ECHOES[place]
        for place in (
            "error_message, JSON-escaped twice",
            "error_message, JSON-escaped as Go does",
            "ill-typed JSON, \\u-escaped",
            "non-API body, HTML-escaped",
        )
    },
    "non-API body, HTML-escaped JSON": lambda s: reply(502, f"<pre>{html.escape(json.dumps(s))}</pre>"),
    "job_desc JSON-escaped": partial(_job_with, lambda s: {"job_desc": json.dumps(s)}),
    "job_desc HTML-escaped": partial(_job_with, lambda s: {"job_desc": html.escape(s)}),
}


@pytest.mark.parametrize("place", ESCAPED_ECHOES)
def test_a_secret_holding_escapes_echoed_json_or_html_escaped_is_scrubbed(
    echo_server: tuple[EchoServer, RawServer], place: str
) -> None:
    """Every escape was decoded at once, the password's own "%41", "&amp;" and "\\/" too: only the part
    of an error's echo after them was recognised (24 of its 44 characters came back, Go-escaped),
    and in a job's field, none of it."""
    echo, raw = echo_server
    echo.echo, echo.secret = ESCAPED_ECHOES[place], ESCAPES_PASSWORD
    client = ModelArtsClient(EchoServer.settings(raw.url, ESCAPES_PASSWORD))
    try:
        text = json.dumps(client.get_visualization_job(197).to_outputs(project_id="p", region="r"))
    except ModelArtsError as error:
        text = str(error)
    for _ in range(2):  # the escapes read back, as a reader of the text would, its own kept
        text = html.unescape(re.sub(r"\\u([0-9a-f]{4})", lambda escape: chr(int(escape[1], 16)), text))
        text = re.sub(r"\\(.)", r"\1", text)
    assert [piece for piece in pieces(ESCAPES_PASSWORD, 8) if piece in text] == [] and "***" in text, text


@pytest.mark.reliability("echoed secrets")
@pytest.mark.parametrize("secret", ["token", "password"])
@pytest.mark.parametrize("place", SPLIT_ECHOES)
def test_a_secret_echoed_in_two_halves_or_its_second_half_alone_is_scrubbed(
    echo_server: tuple[EchoServer, RawServer], place: str, secret: str
) -> None:
    """Half a secret is as long as the shortest prefix scrubbed: a suffix that long is scrubbed too."""
    value = ISSUED_TOKEN if secret == "token" else PASSWORD
    half, tail = len(value) // 2, value[len(value) // 2 :]
    text = echo_error(echo_server, lambda echoed: SPLIT_ECHOES[place](echoed[:half], echoed[half:]), secret)
    assert "***" in text and [piece for piece in pieces(tail, 8) if piece in text] == []
    assert leaked_forms(text, tail) == []


@pytest.mark.reliability("echoed secrets")
@pytest.mark.parametrize("secret", ["token", "password"])
@pytest.mark.parametrize("place", INNER_ECHOES)
def test_a_secret_echoed_in_pieces_or_a_piece_from_its_middle_is_scrubbed(
    echo_server: tuple[EchoServer, RawServer], place: str, secret: str
) -> None:
    """A token of several KiB wrapped over lines came back but for its first line; a run from inside
    a secret is scrubbed from 12 characters, a quarter of it, or 24, the least (a token's: 24)."""
    value = LONG_TOKEN if secret == "token" else PASSWORD
    text = echo_error(echo_server, INNER_ECHOES[place], secret, issued=LONG_TOKEN)
    least = min(24, max(12, len(value) // 4))
    assert "***" in text and [piece for piece in pieces(value, least) if piece in text] == []


@pytest.mark.usefixtures("no_secrets_yet")
def test_a_secret_that_is_an_ordinary_word_is_scrubbed_wherever_the_word_stands() -> None:
    """A word lost from a message is better than a secret shown; inside a longer word it stays."""
    errors.register_secrets("token")
    assert errors.redact("IAM token expired (tokens: token)") == "IAM *** expired (tokens: ***)"


@pytest.mark.usefixtures("no_secrets_yet")
@pytest.mark.parametrize("shown", [5, 12, 23])
def test_a_secret_straddling_where_scrubbed_text_is_cut_shows_no_prefix(shown: int) -> None:
    """Text past 64 Ki characters (a --debug traceback, a log record) was dropped before it was
    scrubbed: a secret cut there left its prefix, too short to know, at the end of what was shown."""
    errors.register_secrets(ISSUED_TOKEN)
    text = "x" * (errors._MAX_REDACTED_CHARS - shown) + ISSUED_TOKEN + " and more"
    assert errors.redact(text).endswith("x***") and errors.redact(text, 100) == "x" * 100


@pytest.mark.usefixtures("no_secrets_yet")
def test_a_run_of_few_distinct_characters_inside_a_secret_is_the_texts_own() -> None:
    """A placeholder key's zeros are not its echo: a project ID or a huge number in an error stays
    whole, while a varied run from inside the same key is scrubbed."""
    secret = "SKEXAMPLE" + "0" * 30 + "q7Rw2xZk9LmP4vNb"
    errors.register_secrets(secret)
    for own in ("project " + "0" * 28 + "beef", "got 1" + "0" * 44 + "...", "aaaaaaaaaaaaaaaaaa"):
        assert errors.redact(own) == own
    assert errors.redact(f"echoed {secret[30:]}!") == "echoed ***!"


def _quoted(text: str) -> str:
    """``text`` as a quoted parameter value of a header (RFC 9110 5.6.4)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


#: Server values an error shows cut to 40 characters: what the error says before one -> the answer.
CUT_VALUES: dict[str, Callable[[str], bytes]] = {
    "Content-Encoding '": lambda value: reply(200, JOB_197, Content_Encoding=value),
    "charset=": lambda value: reply(200, JOB_197, Content_Type=f"application/json; charset={_quoted(value)}"),
    "error code ": lambda value: reply(200, {**JOB_197, "is_success": True, "error_code": value}),
    # Cut short by the server (a whole one is scrubbed from a job's text as it is read).
    "of project ": lambda value: reply(200, {**JOB_197, "project_id": value[:-10]}),
}


@pytest.mark.reliability("echoed secrets")
@pytest.mark.parametrize("offset", [0, 21, 28, 32])
@pytest.mark.parametrize(
    ("said", "secret"),  # a charset past ASCII is none (email.message): the password is never shown
    [
        (said, secret)
        for said in CUT_VALUES
        for secret in ("token", "password")
        if (said, secret) != ("charset=", "password")
    ],
)
def test_a_secret_echoed_past_the_start_of_a_value_shown_cut_is_scrubbed_before_the_cut(
    echo_server: tuple[EchoServer, RawServer], said: str, offset: int, secret: str
) -> None:
    """Cut to 40 characters first, an echo at character 28 leaves 12: too few to be recognised."""
    text = echo_error(echo_server, lambda value: CUT_VALUES[said]("x" * offset + value), secret)
    value = ISSUED_TOKEN if secret == "token" else PASSWORD
    assert f"{said}{'x' * offset}***" in text and value[:8].lower() not in text.lower()


#: A token of a PKI token's length (IAM's run to several KiB): echoed once, it is three characters shown.
PKI_TOKEN = "MIIP" + "".join(hashlib.sha256(bytes([n])).hexdigest() for n in range(70))[:4446]


def _straddling(before: str, secret: str, after: str, shown: int) -> str:
    """``before``, padding, ``secret`` (its first ``shown`` bytes inside where a body is read for an
    excerpt, the rest past it), ``after``."""
    pad = responses._PAGE_CHARS - len(before.encode()) - shown
    return before + "x" * pad + secret + after


#: Bodies whose excerpt is read up to a cut that falls inside an echoed secret -> the answer.
STRADDLING_ECHOES: dict[str, Callable[[str, int], bytes]] = {
    "an HTML page's text after a long comment": lambda s, shown: reply(
        502, _straddling("<html><body><!--", f"-->{s}", "</body></html>", shown + 3), Content_Type="text/html"
    ),
    "an RFC 9457 body after a long token's echo": lambda s, shown: reply(
        400, _straddling(f'{{"type": "{PKI_TOKEN}", "detail": "', json.dumps(s)[1:-1], '"}', shown)
    ),
}


@pytest.mark.parametrize("shown", [5, 12, 20, 23])
@pytest.mark.parametrize("place", STRADDLING_ECHOES)
@pytest.mark.parametrize("secret", ["token", "password"])
def test_a_secret_straddling_where_a_body_is_cut_for_its_excerpt_shows_no_prefix(
    echo_server: tuple[EchoServer, RawServer], place: str, secret: str, shown: int
) -> None:
    """The body was read up to a cut and scrubbed, its tail a secret's prefix too short to know: a page's
    text, its markup dropped, showed it, and so did JSON once an echoed long token had shrunk to ***."""
    value = PKI_TOKEN if secret == "token" else PASSWORD
    text = echo_error(echo_server, lambda echoed: STRADDLING_ECHOES[place](echoed, shown), secret, PKI_TOKEN)
    assert "***" in text and value[:5] not in text and json.dumps(value)[1:6] not in text, text


@pytest.mark.reliability("echoed secrets")
@pytest.mark.parametrize("secret", ["token", "password"])
@pytest.mark.parametrize("place", LOGGED_ECHOES)
def test_no_secret_a_server_echoes_where_urllib3_logs_it_reaches_the_log(
    echo_server: tuple[EchoServer, RawServer], place: str, secret: str
) -> None:
    """urllib3 logs unreadable header lines, and the exception it retries after (it quotes the status
    line): an answer that is not HTTP is retried only on a connection that had carried a request."""
    answers = iter([lambda _: reply(200, JOB_197)])  # the first read keeps its connection alive
    echo, url = aimed(echo_server, lambda secret: next(answers, LOGGED_ECHOES[place])(secret), secret)
    client = ModelArtsClient(dataclasses.replace(EchoServer.settings(url), max_retries=1))
    assert client.get_visualization_job(197).job_id == 197
    with logged() as records, pytest.raises(ServiceError, match="the answer is not valid HTTP/1.1"):
        client.get_visualization_job(197)
    text = "\n".join(text for _, text in records)
    assert echo.seen_tokens[-1] == ISSUED_TOKEN and "urllib3.connectionpool" in dict(records)
    assert leaked_forms(text, echo.secret) == [] and [p for p in pieces(echo.secret, 12) if p in text] == []


# -- the model ----------------------------------------------------------------------------------
DOC_SAMPLE: dict[str, Any] = {"duration": 33000, "job_name": "apiTest-11", "create_time": 1565149736000}
DOC_SAMPLE |= {"train_url": "/wph-test/zl-test/Flowers-Set/ApiTest/", "job_id": 197, "status": 7}
DOC_SAMPLE |= {"job_desc": "ModelArts API Dialtest", "resource_id": "e17dd874-b5e0-4e9b-aaf0-22b045ad8571"}
DOC_SAMPLE |= {"service_url": "https://console.otc.t-systems.com/modelarts2/tensorboard/p/197/"}
MISSING = object()


def test_documented_sample_parses_with_optional_fields_none_and_extra_fields_ignored() -> None:
    job = JobModel.model_validate({**DOC_SAMPLE, "brand_new_field": {"a": [1]}})
    assert (job.job_id, job.job_name, job.status, job.duration) == (197, "apiTest-11", 7, 33000)
    assert (job.job_type, job.flavor, job.remaining_duration, job.is_success) == (None, None, None, None)
    page = JobPage.model_validate({"job_total_count": "2", "jobs": [DOC_SAMPLE, {**DOC_SAMPLE, "job_id": 5}]})
    assert page.job_total_count == 2 and [job.job_id for job in page.jobs] == [197, 5]
    assert JobPage.model_validate({"is_success": True}).jobs == []  # Jackson omits an empty array


def test_numbers_sent_as_json_strings_are_coerced_and_optional_fields_read() -> None:
    body = {**DOC_SAMPLE, "job_id": "10", "status": "1", "create_time": "1524189990635", "duration": "0"}
    body |= {"is_success": True, "remaining_duration": "1800.5", "job_type": "MindInsight"}
    body |= {"flavor": {"code": "modelarts.vm.cpu.2u", "extra": 1}}
    job = JobModel.model_validate(json.loads(json.dumps(body)))
    assert (job.job_id, job.status, job.create_time, job.duration) == (10, 1, 1524189990635, 0)
    assert (job.is_success, job.remaining_duration, job.job_type) == (True, 1800.5, "MindInsight")
    assert job.flavor is not None and job.flavor.code == "modelarts.vm.cpu.2u"


@pytest.mark.parametrize(
    ("flavor", "code"),
    [({"code": "c"}, "c"), ("c", "c"), ([{"code": "c"}], "c"), (["c"], "c"), ({}, None), (None, None)],
)
@pytest.mark.parametrize("schedule", [{"type": "stop", "duration": 4}, [{"type": "stop"}], "4h", [], None])
def test_flavor_in_each_shape_the_api_uses_and_schedule_in_any_shape(
    flavor: object, code: str | None, schedule: object
) -> None:
    job = JobModel.model_validate({**DOC_SAMPLE, "flavor": flavor, "schedule": schedule})
    assert job.to_outputs(project_id="p", region="r")["flavor_code"] == code


@pytest.mark.parametrize("flavor", [7, ["a", "b"], [{"code": 1}], {"code": ["c"]}])
def test_a_flavor_of_no_known_shape_is_refused(flavor: object) -> None:
    with pytest.raises(ValidationError):
        JobModel.model_validate({**DOC_SAMPLE, "flavor": flavor})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        *(("status", value) for value in (True, "running")),  # a boolean must not silently become status 1
        *(("job_id", value) for value in (1.5, 0, -3)),
        *[("job_name", 123), ("duration", [1]), ("create_time", {"ms": 1})],
        *(("remaining_duration", value) for value in (False, [1.5])),
        *((identity, MISSING) for identity in ("job_id", "job_name", "status")),
    ],
)
def test_wrong_field_types_and_missing_identity_are_rejected(field: str, value: object) -> None:
    body = {key: item for key, item in {**DOC_SAMPLE, field: value}.items() if item is not MISSING}
    with pytest.raises(ValidationError):
        JobModel.model_validate(body)


@pytest.mark.parametrize(
    ("status", "name"), [(8, "RUNNING"), (7, None), (10, None), (0, None), (23, "UNKNOWN_23")]
)
def test_status_names_unknown_codes_and_is_running(status: int, name: str | None) -> None:
    assert [int(s) for s in JobStatus] == list(range(23))
    assert [JobStatus.RUNNING, JobStatus.FAILED, JobStatus.MOUNT_FAILED] == [8, 11, 22]
    job = JobModel.model_validate({**DOC_SAMPLE, "status": status})
    assert job.status_name == status_name(status) and (name is None or status_name(status) == name)
    assert job.is_running is (status == 8)


CREATED_AT: list[tuple[int | None, str | None]] = [(1565149736000, "2019-08-07T03:48:56Z")]
CREATED_AT += [(1565149736123, "2019-08-07T03:48:56.123Z")]
CREATED_AT += [(0, "1970-01-01T00:00:00Z"), (None, None), (-1, "1969-12-31T23:59:59.999Z")]
# RFC 3339 years have four digits (0001-9999); a time outside them has no RFC 3339 form.
CREATED_AT += [(-30610224001000, "0999-12-31T23:59:59Z"), (-62135596800000, "0001-01-01T00:00:00Z")]
CREATED_AT += [(253402300799999, "9999-12-31T23:59:59.999Z"), (253402300800000, None)]
CREATED_AT += [(-62135596800001, None), (2**53 - 1, None), (-(2**53) + 1, None)]


@pytest.mark.parametrize(("create_time", "created_at"), CREATED_AT)
def test_created_at_is_utc_rfc3339(create_time: int | None, created_at: str | None, monkeypatch: Any) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # a local zone must not leak into the value
    assert JobModel.model_validate({**DOC_SAMPLE, "create_time": create_time}).created_at == created_at


# -- every call: one reading of a body's charset, error code and project ----------------------------
_EVERY_CALL_GOOD: dict[str, dict[str, Any]] = {
    "token": {"token": {"expires_at": "2099-01-01T00:00:00Z", "project": {"id": PROJECT}}},
    "projects": {"projects": [{"id": PROJECT, "name": "eu-de"}]},
    "details": JOB_197,
    "list": {"job_total_count": 1, "jobs": [JOB_197]},
}
CALLS = list(_EVERY_CALL_GOOD)


def _call_of(head: bytes) -> str:
    target = head.split(b" ")[1]
    paths = ((b"/v3/auth/", "token"), (b"/v3/", "projects"), (b"?", "list"))
    return next((call for part, call in paths if part in target), "details")


def read_through(call: str, answer: Callable[[dict[str, Any]], bytes]) -> list[int]:
    """The job IDs a client reads when ``call`` (IAM token, project lookup, details or list) is
    answered with ``answer(its usual body)`` and every other call as usual."""

    def script(head: bytes) -> list[bytes]:
        body = _EVERY_CALL_GOOD[_call_of(head)]
        if _call_of(head) == call:
            return [answer(body)]
        return [reply(201, body, X_Subject_Token=ISSUED_TOKEN) if "token" in body else reply(200, body)]

    with RawServer(script) as raw:
        iam = {"auth_url": f"{raw.url}/v3", "region": "eu-de", "project_id": None}
        login = {"user_name": "u", "password": "pw-of-a-login-7f3e", "domain_name": "d"}
        chosen: dict[str, dict[str, Any]] = {"token": {**iam, **login, **NO_AKSK}, "projects": iam}
        settings = settings_for(raw.url, max_retries=0, **chosen.get(call, {}))
        with ModelArtsClient(settings) as client:
            if call == "list":
                return [job.job_id for job in client.list_visualization_jobs()]
            return [client.get_visualization_job(197).job_id]


@pytest.mark.parametrize("call", CALLS)
def test_every_call_reads_its_usual_answer(call: str) -> None:
    """The harness the tests below vary: each call answered as ModelArts and IAM answer."""
    assert read_through(call, lambda body: reply(201 if call == "token" else 200, body, **_TOKEN)) == [197]


_TOKEN = {"X_Subject_Token": ISSUED_TOKEN}
#: A Content-Type charset that reads the bytes as other text than UTF-8 does: the body is refused
#: rather than read one way or the other; one that reads them alike is no contradiction.
CHARSETS = {
    "latin-1 over UTF-8 bytes": ("iso-8859-1", "utf-8", False),
    "utf-16 over UTF-8 bytes": ("utf-16", "utf-8", False),
    "utf-16 over UTF-16 bytes": ("utf-16", "utf-16", False),
    "latin-1 over Latin-1 bytes": ("latin-1", "latin-1", False),
    "an unknown charset": ("x-made-up", "utf-8", False),
    "UTF-8 in capitals": ("UTF-8", "utf-8", True),
    "utf8": ('"utf8"', "utf-8", True),
}


@pytest.mark.reliability("alternate encodings")
@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("case", CHARSETS.values(), ids=CHARSETS.keys())
def test_a_charset_that_reads_the_body_otherwise_is_refused_on_every_call(
    call: str, case: tuple[str, str, bool]
) -> None:
    """Before, the charset was ignored: a body declared Latin-1 was read as UTF-8, another text."""
    charset, encoding, read = case

    def answer(body: dict[str, Any]) -> bytes:
        data = json.dumps({**body, "note": "f\u00fcr \u00e9t\u00e9"}, ensure_ascii=False).encode(encoding)
        content_type = f"application/json; charset={charset}"
        return reply(201 if call == "token" else 200, data, Content_Type=content_type, **_TOKEN)

    if read:
        assert read_through(call, answer) == [197]
        return
    with pytest.raises(InvalidResponseError, match="charset=.* declared, but only UTF-8 is read"):
        read_through(call, answer)


#: A failure answered with a 2xx status, its code spelt as each API spells it.
ERROR_BODIES = {
    "error_code": {"error_code": "ModelArts.0015", "error_message": "not found"},
    "errorCode": {"errorCode": "ModelArts.0015", "errorMsg": "not found"},
    "code": {"code": "ModelArts.0015", "message": "not found"},
    "nested error object": {"error": {"code": "ModelArts.0015", "message": "not found"}},
    "nested error object without its code": {"error_code": "ModelArts.0015", "error": {"message": "x"}},
}


@pytest.mark.reliability("foreign 404s")
@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("body", ERROR_BODIES.values(), ids=ERROR_BODIES.keys())
def test_an_error_code_in_a_2xx_answer_is_a_failure_however_it_is_spelt(
    call: str, body: dict[str, Any]
) -> None:
    """Before, only ``error_code`` was read as a failure: a listing answered ``{"errorCode": ...}``
    was an empty listing (a lookup by name then said "not found"), a job's a shape error."""
    expected = JobNotFoundError if call == "details" else ServiceError
    with pytest.raises(expected) as caught:
        read_through(call, lambda _: reply(201 if call == "token" else 200, body, **_TOKEN))
    assert "ModelArts.0015" in str(caught.value)
    if call in ("token", "projects"):
        assert "job ID" not in str(caught.value)  # no job was asked for


@pytest.mark.parametrize("call", CALLS)
def test_is_success_true_with_an_error_code_is_refused_not_read_either_way(call: str) -> None:
    def answer(body: dict[str, Any]) -> bytes:
        failed = {**body, "is_success": True, "error_code": "ModelArts.0015"}
        return reply(201 if call == "token" else 200, failed, **_TOKEN)

    with pytest.raises(InvalidResponseError, match="is_success is true, yet the body carries error code"):
        read_through(call, answer)


OTHER_PROJECT = "f" * 32


@pytest.mark.parametrize("call", ["details", "list"])
@pytest.mark.parametrize(
    ("project", "read"),
    # An empty or blank one names no project, as one not sent (Jackson's empty value): read.
    [(OTHER_PROJECT, False), (PROJECT.upper(), True), (None, True), ("", True), (" \t", True)],
)
def test_a_job_of_another_project_is_refused(call: str, project: str | None, read: bool) -> None:
    """Before, a job saying it belongs to another project was output as a job of this one."""

    def answer(body: dict[str, Any]) -> bytes:
        job = {**JOB_197, "project_id": project}
        return reply(200, job if call == "details" else {**body, "jobs": [job]})

    if read:
        assert read_through(call, answer) == [197]
        return
    with pytest.raises(InvalidResponseError, match=f"job 197 of project {OTHER_PROJECT}"):
        read_through(call, answer)


@pytest.mark.parametrize("zero", ["-0.0", "-0", '"-0.0"', "-0e5"])
def test_a_negative_zero_is_output_as_zero(server: Scripted, zero: str) -> None:
    """Before, -0.0 was output as -0.0 and -0 as 0.0: one value, two outputs."""
    job = server.read('{"job_id": 197, "job_name": "a", "status": 8, "remaining_duration": ' + zero + "}")
    assert math.copysign(1, job.remaining_duration) == 1
    assert json.dumps(job.to_outputs(project_id="p", region="r")) == json.dumps(
        server.read({**JOB_197, "job_name": "a", "duration": None, "remaining_duration": 0}).to_outputs(
            project_id="p", region="r"
        )
    )


@pytest.mark.parametrize(
    ("body", "jobs"),
    [
        ({}, None),
        (JOB_197, None),
        ({"status": 8}, None),
        ({"is_success": True}, []),
        ({"job_total_count": 0}, []),
    ],
    ids=["empty object", "a job's details", "a stray field", "is_success alone", "a count of 0"],
)
def test_a_list_answer_without_any_listing_key_is_no_listing(
    body: dict[str, Any], jobs: list[int] | None
) -> None:
    """Before, ``{}`` or a job's details answering the list call was a listing of no jobs; an empty
    listing may still say so by ``is_success`` alone (Jackson omits empty values)."""
    if jobs is not None:
        assert read_through("list", lambda _: reply(200, body)) == jobs
        return
    with pytest.raises(InvalidResponseError, match=r"shape at 'body' \(no listing: none of is_success, job_"):
        read_through("list", lambda _: reply(200, body))
