"""The transport against purpose-built loopback servers: deadlines, bodies, refusals, proxies, TLS."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import gzip
import itertools
import socket
import ssl
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from pulumi_modelarts import auth, transport
from pulumi_modelarts.client import ModelArtsClient
from pulumi_modelarts.emulator import ModelArtsEmulator
from pulumi_modelarts.errors import (
    ConfigurationError,
    InvalidResponseError,
    JobNotFoundError,
    ModelArtsError,
    ServiceError,
    ThrottledError,
)
from pulumi_modelarts.settings import Settings, bypasses_proxy
from pulumi_modelarts.transport import MAX_BODY_BYTES
from tests import hostile
from tests.checks import invoke, logged
from tests.hostile import BOMBS, JOB_197, OK_HEAD, RawServer, header, reply, self_signed, settings_for, silent
from tests.programs import REPO_ROOT

#: The documented tolerance: a call ends at most this long after its deadline.
TOLERANCE = 0.5
JOB_URL = f"/v1/{hostile.PROJECT}/visualization-jobs/197"


def answering(data: bytes) -> Callable[[bytes], list[bytes]]:
    return lambda _: [data]


ANSWER_197 = answering(reply(200, JOB_197))


def read_197(url: str, **overrides: Any) -> int:
    """Job 197's ID as a fresh client (AK/SK, a fixed project) reads it from ``url``."""
    return ModelArtsClient(settings_for(url, **overrides)).get_visualization_job(197).job_id


def failure(url: str, timeout: float = 120.0, **overrides: Any) -> tuple[float, ModelArtsError]:
    """How long a read of job 197 took to fail, and its error."""
    client = ModelArtsClient(settings_for(url, timeout=timeout, **overrides))
    started = time.monotonic()
    with pytest.raises(ModelArtsError) as caught:
        client.get_visualization_job(197)
    elapsed = time.monotonic() - started
    client.close()
    return elapsed, caught.value


# -- the deadline -------------------------------------------------------------------------------
@pytest.mark.reliability("trickling and silent servers")
@pytest.mark.parametrize("deadline", [1.0, pytest.param(2.5, marks=pytest.mark.slow)])
def test_a_slow_or_silent_server_cannot_hold_a_call_past_its_timeout(
    deadline: float, record_property: Callable[[str, Any], None]
) -> None:
    """Every phase at once (each its own server and client): each call ends at its deadline."""
    with contextlib.ExitStack() as stack:
        servers = {name: stack.enter_context(RawServer(*s)) for name, s in hostile.SLOW_SERVERS.items()}
        with ThreadPoolExecutor(len(servers)) as pool:  # readTimeout stays at 30 s
            failures = pool.map(lambda server: failure(server.url, deadline, max_retries=5), servers.values())
            outcomes = dict(zip(servers, failures, strict=True))

    def on_time(elapsed: float, error: ModelArtsError) -> bool:
        said = isinstance(error, ServiceError) and f"timeout of {deadline:g} s" in str(error)
        return said and deadline - 0.1 <= elapsed < deadline + TOLERANCE

    assert {name: (round(t, 2), str(e)) for name, (t, e) in outcomes.items() if not on_time(t, e)} == {}
    record_property("servers", len(servers))
    worst = max(elapsed for elapsed, _ in outcomes.values())
    record_property("worst ms past the deadline", round(1000 * worst - 1000 * deadline))
    assert "modelarts:timeout" in str(outcomes["silent in the body"][1])
    assert servers["TLS handshake trickled"].heads == []  # the request itself never got out


def test_read_timeout_retries_and_the_deadline_they_share() -> None:
    """A stalled body says so; attempts of 0.6 s under a 1.5 s deadline leave the third 0.3 s."""
    with RawServer(hostile.silent_in_body) as server:
        elapsed, error = failure(server.url, 5.0, read_timeout=0.5)
    assert isinstance(error, ServiceError) and "stalled for longer than the read timeout" in str(error)
    assert elapsed < 5.0
    with RawServer(silent) as server:
        elapsed, error = failure(server.url, 1.5, read_timeout=0.6, max_retries=10)
    assert isinstance(error, ServiceError) and elapsed < 1.5 + TOLERANCE and 2 <= len(server.heads) <= 3


class SlowPages(hostile.PagingServer):
    """Ten jobs, two a page, each answer 0.5 s late: every request well within the deadline."""

    def __init__(self) -> None:
        super().__init__(hostile.pages_of(2, count=10), [hostile.listed_job(n) for n in range(1, 11)])

    def _answer(self, head: bytes) -> Iterator[bytes | float]:
        yield 0.5
        yield from super()._answer(head)


LOOKUPS: dict[str, Callable[[ModelArtsClient], object]] = {
    "list": lambda client: list(client.list_visualization_jobs()),
    "list in descending order": lambda client: list(client.list_visualization_jobs(order="desc")),
    "find by name": lambda client: client.find_visualization_job("job-9"),
}


@pytest.mark.parametrize("lookup", LOOKUPS.values(), ids=LOOKUPS.keys())
def test_a_listing_or_a_lookup_by_name_is_one_call_under_one_deadline(
    lookup: Callable[[ModelArtsClient], object],
) -> None:
    """Five slow pages (and a read) cannot hold a listing for as many timeouts as it has pages."""
    with SlowPages() as server, closing(ModelArtsClient(settings_for(server.url, timeout=1.6))) as client:
        started = time.monotonic()
        with pytest.raises(ServiceError) as caught:
            lookup(client)
        elapsed = time.monotonic() - started
    assert "timeout of 1.6 s" in str(caught.value) and 1.6 - 0.1 <= elapsed < 1.6 + TOLERANCE
    # Paging went on (a page answered within the deadline, a loaded machine's more than 1.1 s late
    # alone stops it at one), and no further than the deadline allows: a fourth page at 1.5 s at best.
    assert 2 <= len(server.heads) <= 4


@pytest.mark.parametrize("server", [hostile.silent_in_body, silent])
def test_a_read_cut_to_the_deadline_names_the_deadline_however_late_the_watchdog(
    server: Callable[[bytes], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A loaded machine's watchdog may wake late: the read, cut to the time left, still says why."""
    monkeypatch.setattr(transport._WATCHDOG, "add", lambda _budget: None)  # a watchdog that never wakes
    with RawServer(server) as raw:
        elapsed, error = failure(raw.url, 0.5, max_retries=3)
    assert isinstance(error, ServiceError) and "timeout of 0.5 s" in str(error), error
    assert elapsed < 0.5 + TOLERANCE


def test_a_read_goes_on_where_python_refuses_to_start_the_watchdog(monkeypatch: pytest.MonkeyPatch) -> None:
    """Python 3.12.0 and 3.12.1 refuse new threads in an atexit handler (python/cpython#113964; the
    winding-down cases of tests/test_client.py meet it there): reads go on, bounded by their timeouts."""
    start = threading.Thread.start

    def refused(thread: threading.Thread) -> None:
        if thread.name == "modelarts-deadlines":
            raise RuntimeError("can't create new thread at interpreter shutdown")
        start(thread)

    monkeypatch.setattr(transport, "_WATCHDOG", transport._Watchdog())
    monkeypatch.setattr(threading.Thread, "start", refused)
    with RawServer(ANSWER_197) as raw:
        assert [read_197(raw.url) for _ in range(2)] == [197, 197]
    with RawServer(silent) as raw:
        elapsed, error = failure(raw.url, 0.5, max_retries=3)
    assert isinstance(error, ServiceError) and "timeout of 0.5 s" in str(error), error
    assert elapsed < 0.5 + TOLERANCE


@pytest.mark.parametrize("where", ["add", "release"])
def test_a_call_interrupted_as_its_deadline_starts_or_ends_leaves_none_behind(
    emulator: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """Ctrl-C in a notebook as a call sets up or clears its deadline: later calls get their own."""
    client = ModelArtsClient(Settings.from_sources(args={"timeout": 1.2}, environ=emulator.environ()))
    client.project_id  # noqa: B018 - the project is looked up before the interrupted call

    def interrupted(*_args: object, **_kwargs: object) -> None:
        monkeypatch.undo()  # once
        raise KeyboardInterrupt

    monkeypatch.setattr(transport._WATCHDOG, where, interrupted)
    with pytest.raises(KeyboardInterrupt):
        client.get_visualization_job(197)
    emulator.latency = 0.65  # two reads take longer than one deadline, each with 0.55 s to spare
    assert [client.get_visualization_job(197).job_id for _ in range(2)] == [197, 197]


@pytest.mark.parametrize(
    "retry_after",
    ["0", "Thu, 01 Jan 2004 00:00:00 GMT", "-5", "1.5", "", "1", "3600", "Fri, 31 Dec 9999 23:59:59 GMT"],
)
def test_back_off_after_any_retry_after_ends_within_the_deadline(retry_after: str) -> None:
    """The wait budgeted is the wait slept (urllib3's back-off, jitter included), or the call ends now.
    The last attempt may start just before the deadline (a back-off drawn to end there) and, on a
    loaded machine, end at it: then the deadline is what the error says."""
    answer = reply(503, {"error_code": "ModelArts.4302"}, Retry_After=retry_after)
    with RawServer(answering(answer)) as server:
        elapsed, error = failure(server.url, 1.0, max_retries=20)
    said = ("service failed", "within the call's timeout of 1 s")
    assert isinstance(error, ServiceError) and any(clause in str(error) for clause in said), error
    assert elapsed < 1.0 + TOLERANCE
    if len(server.heads) == 1:
        assert f"server asks to wait {retry_after}" in str(error)


@pytest.mark.parametrize("retry_after", ["9" * 5000, "Mon, 01 Jan 99999 00:00:00 GMT"])
def test_a_retry_after_that_is_no_wait_falls_back_to_the_back_off(retry_after: str) -> None:
    """Seconds past Python's 4300 digits or a date past the year 9999 are garbled as "soon" is."""
    answers = iter(
        [reply(503, {"error_code": "ModelArts.4302"}, Retry_After=retry_after), reply(200, JOB_197)]
    )
    with RawServer(lambda _: [next(answers)]) as server:
        assert read_197(server.url, timeout=30.0, max_retries=1) == 197
    assert len(server.heads) == 2


#: What the retries give up on, an answer with a Retry-After or a reset: name -> steps for that Retry-After.
GIVEN_UP: dict[str, Callable[[str], list[bytes | float]]] = {
    "429": lambda wait: [reply(429, {"error_code": "APIG.0308", "error_msg": "slow"}, Retry_After=wait)],
    "503": lambda wait: [reply(503, {"error_code": "ModelArts.4302"}, Retry_After=wait)],
    "502 page": lambda wait: [reply(502, "<title>Bad</title>", Content_Type="text/html", Retry_After=wait)],
    "connection reset": lambda _: [hostile.RESET],  # waits of the back-off alone
}
#: Why the retries stopped -> (Retry-After, maxRetries, timeout, attempts, the one setting that would help).
STOPPED = {
    "retries used up": ("0", 1, 30.0, 2, "modelarts:maxRetries"),
    "wait past the deadline": ("30", 5, 2.0, 1, "modelarts:timeout"),
}


@pytest.mark.parametrize("login", [False, True], ids=["read", "IAM login"])
@pytest.mark.parametrize("answer", GIVEN_UP)
@pytest.mark.parametrize("why", STOPPED)
def test_an_answer_retried_in_vain_names_the_setting_that_would_help(
    answer: str, why: str, login: bool
) -> None:
    """Before, a Retry-After longer than the call had left ended with "raise modelarts:maxRetries /
    modelarts:timeout", and resets ended by the deadline with "raise modelarts:maxRetries": the
    retries left could not help, only more time."""
    wait, retries, timeout, attempts, helps = STOPPED[why]
    with RawServer(lambda _: GIVEN_UP[answer](wait)) as server:
        settings = hostile.EchoServer.settings(server.url) if login else settings_for(server.url)
        settings = dataclasses.replace(settings, max_retries=retries, timeout=timeout)
        with pytest.raises(ModelArtsError) as caught:
            ModelArtsClient(settings).get_visualization_job(197)
    assert isinstance(caught.value, ServiceError | ThrottledError)
    assert answer == "connection reset" or len(server.heads) == attempts  # a back-off's jitter varies them
    named = [name for name in ("modelarts:maxRetries", "modelarts:timeout") if name in caught.value.hint]
    assert named == [helps], str(caught.value)


HEAD_503 = OK_HEAD.replace(b"200 OK", b"503 Service Unavailable")
#: The first answer to a read retried: a 503 whose body stalls, or never ends (no length, no close).
RETRIED_BODIES: dict[str, Callable[[], Iterable[bytes | float]]] = {
    "stalled": lambda: [HEAD_503 + b"Content-Length: 1000\r\n\r\n{", 60.0],
    "endless": lambda: itertools.chain([HEAD_503 + b"\r\n"], itertools.repeat(b" " * 65536)),
}


@pytest.mark.parametrize("first", RETRIED_BODIES.values(), ids=RETRIED_BODIES.keys())
def test_the_body_of_an_answer_that_is_retried_is_not_read(
    first: Callable[[], Iterable[bytes | float]],
) -> None:
    """Retried, a 503's body is dropped with its connection: urllib3 read it to its end first (urllib3
    2.0 into memory), and one that stalls or never ends took the call's deadline."""
    answers = iter([first(), [reply(200, JOB_197)]])
    with RawServer(lambda _: next(answers)) as server:
        assert read_197(server.url, timeout=5.0, max_retries=1) == 197


def test_connecting_is_bounded_by_the_deadline() -> None:
    """A listener whose backlog is full: connect() hangs, the deadline ends it (Linux drops the SYNs)."""
    with socket.create_server(("127.0.0.1", 0), backlog=0) as listener, contextlib.ExitStack() as fillers:
        for _ in range(8):  # fill the accept queue until a connect hangs waiting for a SYN-ACK
            filler = fillers.enter_context(socket.socket())
            filler.settimeout(0.3)
            try:
                filler.connect(listener.getsockname())
            except OSError:
                break  # it hangs: the premise holds
        else:
            pytest.skip("this kernel accepts past the backlog; no hanging connect to test with")
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        elapsed, error = failure(url, 1.0, connect_timeout=30, max_retries=5)
    assert isinstance(error, ServiceError) and elapsed < 1.0 + TOLERANCE


def test_a_call_within_its_deadline_is_untouched_and_the_connection_is_kept(
    emulator: ModelArtsEmulator,
) -> None:
    client = ModelArtsClient(Settings.from_sources(args={"timeout": 1.2}, environ=emulator.environ()))
    # The second call outlives the first one's deadline on the same connection; each has 0.55 s to
    # spare on a loaded machine.
    emulator.latency = 0.65
    for _ in range(2):
        assert client.get_visualization_job(197).job_id == 197
    pools = client._transport.adapter().poolmanager.pools
    assert [pools[key].num_connections for key in pools.keys()] == [1]  # noqa: SIM118
    client.close()


_SERVED = threading.local()  # each connection is served by its own thread


def closing_kept_alive_connections(_: bytes, served: threading.local = _SERVED) -> list[bytes]:
    """Answers a connection's first request and closes it at the next, as an idle timeout does."""
    served.count = getattr(served, "count", 0) + 1
    if served.count > 1:
        raise OSError("closed")
    return [reply(200, JOB_197)]


@pytest.mark.parametrize("proxied", [False, True], ids=["direct", "through a proxy"])
@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("max_retries", [0, 2])
def test_a_kept_alive_connection_the_server_closed_is_retried_even_without_retries(
    tmp_path: Path, scheme: str, max_retries: int, proxied: bool
) -> None:
    """Through a proxy too (its idle timeout, or the endpoint's closing a CONNECT tunnel): before,
    urllib3 took the closed connection for one to the proxy that failed (urllib3/urllib3#458), so
    the read failed at once, "could not connect through the proxy", whatever maxRetries said."""
    tls, cert = self_signed(tmp_path) if scheme == "https" else (None, None)
    with RawServer(closing_kept_alive_connections, tls=tls) as server, hostile.TunnelProxy() as tunnel:
        # A plain-HTTP proxy is the server itself, answering the absolute-form request.
        proxy = (tunnel.address if tls else server.url) if proxied else None
        environ = {f"{scheme}_proxy": proxy} if proxy else {}
        settings = settings_for(
            server.url, environ=environ, max_retries=max_retries, ca_cert_file=cert and str(cert)
        )
        client = ModelArtsClient(settings)
        assert [client.get_visualization_job(197).job_id for _ in range(3)] == [197] * 3
    assert len(server.heads) == 5  # the second and third call each met a closed connection once
    assert len(tunnel.requests) == (3 if proxied and tls else 0)  # a new tunnel after each close


#: A connection reset while the answer is read: name -> what arrives before it.
RESETS_IN_THE_ANSWER = {"after the headers": OK_HEAD + b"Content-Length: 100\r\n\r\n"}
RESETS_IN_THE_ANSWER["mid-body"] = reply(200, JOB_197)[:-10]


@pytest.mark.parametrize("before", RESETS_IN_THE_ANSWER.values(), ids=RESETS_IN_THE_ANSWER)
def test_a_connection_reset_while_the_answer_is_read_is_retried_as_one_before_it(before: bytes) -> None:
    """A reset is the network's doing, not an answer cut short by the server: the GET is sent again,
    within maxRetries and the deadline, and the last failure is a ServiceError saying so."""
    attempts: Iterator[list[bytes | float]] = iter([[before, hostile.RESET], [reply(200, JOB_197)]])
    with RawServer(lambda _: next(attempts)) as server:
        assert read_197(server.url, max_retries=1) == 197
    assert len(server.heads) == 2
    with RawServer(lambda _: [before, hostile.RESET]) as server:
        elapsed, error = failure(server.url, timeout=2.0, max_retries=20)
        _, once = failure(server.url, max_retries=0)
    assert elapsed < 2.0 + TOLERANCE and len(server.heads) > 3
    for failed in (error, once):
        assert isinstance(failed, ServiceError) and "\n" not in str(failed)
        assert "connection reset while the answer was read" in str(failed) or "timeout of 2 s" in str(failed)
    assert "after 1 attempt(s)" in str(once) and "maxRetries" in str(once)


#: What a read of job 197 on a kept-alive connection meets, in order, and whether maxRetries 1 reads it.
RETRIES_BEFORE_A_RESET = {
    "a free retry": (["ok", "closed", "reset", "ok"], True),  # a closed kept-alive connection is free
    "a retry of a 503": (["ok", "503", "reset", "ok"], False),  # the one retry is spent
}


@pytest.mark.parametrize(("steps", "read"), RETRIES_BEFORE_A_RESET.values(), ids=RETRIES_BEFORE_A_RESET)
def test_a_reset_while_the_answer_is_read_has_the_retries_its_request_left(
    steps: list[str], read: bool
) -> None:
    """A reset mid-body is retried from the retries the request itself left: the free retry of a
    kept-alive connection the server had closed takes none, a retried 503 takes one."""
    answers: dict[str, list[bytes | float]] = {
        "ok": [reply(200, JOB_197)],
        "503": [reply(503, "{}")],
        "reset": [reply(200, JOB_197)[:-10], hostile.RESET],
    }
    served = iter(steps)

    def script(_: bytes) -> list[bytes | float]:
        step = next(served, "ok")
        if step == "closed":
            raise OSError("closed")  # as an idle timeout closes it: the request was never read
        return list(answers[step])

    with RawServer(script) as server:
        client = ModelArtsClient(settings_for(server.url, max_retries=1))
        assert client.get_visualization_job(197).job_id == 197
        if read:
            assert client.get_visualization_job(197).job_id == 197
        else:
            with pytest.raises(ServiceError, match="connection reset while the answer was read"):
                client.get_visualization_job(197)
    assert len(server.heads) == len(steps) - (not read)


#: What a proxy may answer a CONNECT with, other than an HTTP error: (its answer, what the message says).
PROXY_ANSWERS = {
    "not HTTP": (b"garbage\r\n\r\n", "not valid HTTP/1.1"),
    "closed at once": (b"", "connection failed or was reset"),
}


@pytest.mark.parametrize(("answer", "said"), PROXY_ANSWERS.values(), ids=PROXY_ANSWERS.keys())
def test_a_proxy_that_answers_connect_with_no_http_is_named_in_the_hint(answer: bytes, said: str) -> None:
    """Whether the proxy or the endpoint answered cannot be told apart: the hint names both."""

    def connect(_head: bytes) -> list[bytes]:
        if not answer:
            raise OSError("closed")  # ends the connection
        return [answer]

    with RawServer(connect) as proxy:
        environ = {"HTTPS_PROXY": proxy.url}
        _elapsed, error = failure("https://modelarts.example", max_retries=0, environ=environ)
    assert isinstance(error, ServiceError) and said in str(error)
    assert "modelarts:endpoint" in str(error) and "or the proxy 127.0.0.1 (HTTPS_PROXY" in str(error)


#: Places nothing answers at: (endpoint, proxy, what the message says, what it says to check).
NOWHERE = {
    "a refused connection": (
        "http://127.0.0.1:{port}",
        "",
        "connection refused",
        "that the service is running",
    ),
    "a host name that does not exist": ("https://no-such-host.invalid", "", "host name could not", "DNS"),
    "a proxy whose name does not exist": (
        "https://modelarts.example",
        "http://no-such-proxy.invalid:3128",
        "could not connect through the proxy no-such-proxy.invalid",
        "HTTPS_PROXY",
    ),
}


@pytest.mark.parametrize(("endpoint", "proxy", "said", "check"), NOWHERE.values(), ids=NOWHERE.keys())
def test_a_place_nothing_answers_at_fails_after_three_attempts_and_says_what_to_check(
    closed_port: int, endpoint: str, proxy: str, said: str, check: str
) -> None:
    """Retrying soon finds nothing there either (RFC 6761 keeps ``.invalid`` from ever resolving):
    three attempts of the five allowed, whatever time name resolution takes on a loaded machine."""
    url = endpoint.format(port=closed_port)
    _elapsed, error = failure(url, max_retries=5, environ={"HTTPS_PROXY": proxy} if proxy else {})
    assert isinstance(error, ServiceError) and f"{said}" in str(error) and "after 3 attempt(s)" in str(error)
    assert check in str(error) and "timeout" not in str(error)


JOB_BYTES = hostile.as_json(JOB_197)
LENGTH = b"%d" % len(JOB_BYTES)


def framed(
    head: bytes, *, length: bytes | None = None, coding: bytes | None = None, chunk: bytes = b""
) -> bytes:
    """Job 197 after ``head``: with a ``Content-Length`` field, or in one chunk (``chunk``: an
    extension, trailer fields after the last) under a ``Transfer-Encoding`` field."""
    head += b"" if length is None else b"Content-Length: %s\r\n" % length
    if coding is None:
        return head + b"\r\n" + JOB_BYTES
    extension, _, trailer = chunk.partition(b"\r\n")
    body = b"%x%s\r\n%s\r\n0%s\r\n%s\r\n" % (len(JOB_BYTES), extension, JOB_BYTES, extension, trailer)
    return head + b"Transfer-Encoding: %s\r\n\r\n" % coding + body


#: Answers whose framing is wrong: refused at once, though the server keeps the connection open
#: (http.client would otherwise read until it closes, or wait for a first line that never ends).
NOT_HTTP = {
    "garbage status line": b"garbage\r\n\r\n",
    "HTTP/2": b"HTTP/2 200\r\n\r\n",
    "two lengths": OK_HEAD + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    "two lengths in one field": framed(OK_HEAD, length=LENGTH + b", 1"),
    "HTTP/0.9 body": JOB_BYTES,
    "TLS alert": b"\x15\x03\x03\x00\x02\x02\x46",
    **{
        f"status {status.decode()}": b"HTTP/1.1 %s X\r\nContent-Length: 2\r\n\r\n{}" % status
        for status in (b"600", b"999", b"101", b"099", b"1000", b"+20")
    },
    **{
        f"Content-Length {length.decode()!r}": framed(OK_HEAD, length=length)
        for length in (b"abc", b"-1", b"+" + LENGTH, LENGTH[:1] + b"_" + LENGTH[1:], b"", b"0x49")
    },
    **{
        f"Transfer-Encoding {coding.decode()!r}": framed(OK_HEAD, coding=coding)
        for coding in (b"gzip, chunked", b"chunked, identity", b"x-custom", b"chunked, chunked", b",")
    },
    # A coding in a second field: chunked, then gzip over it (not framed by chunks), or twice.
    **{
        f"Transfer-Encoding 'chunked' and {second.decode()!r}": framed(
            OK_HEAD + b"Transfer-Encoding: chunked\r\n", coding=second
        )
        for second in (b"gzip", b"chunked")
    },
    "Content-Length ','": framed(OK_HEAD, length=b" , "),
    # A header line that is no field: http.client took the rest, Content-Length too, for the body.
    **{
        f"header line {line.decode()!r}": framed(OK_HEAD + line + b"\r\n", length=LENGTH)
        for line in (b"X-Space : 1", b"no colon", b": no name", b"X Space: 1")
    },
    "a first header line folded": framed(b"HTTP/1.1 200 OK\r\n folded\r\n", length=LENGTH),
}


@pytest.mark.parametrize("answer", NOT_HTTP.values(), ids=NOT_HTTP)
def test_an_answer_that_is_not_http_says_so_in_one_line_without_a_retry(answer: bytes) -> None:
    """Asked again, a server that does not speak HTTP/1.1 there answers the same: no back-off for it."""
    with RawServer(answering(answer)) as server:
        _, error = failure(server.url, timeout=5.0, max_retries=3)
    assert len(server.heads) == 1 and "after 1 attempt(s)" in str(error)
    assert isinstance(error, ServiceError) and "the answer is not valid HTTP/1.1" in str(error)
    assert "modelarts:endpoint / authUrl name the API's scheme, host and port" in str(error)


#: Heads past http.client's limits (100 fields, lines of 64 KiB), an interim answer's too -> what is said.
OVER_LIMITS = {
    # http.client counts the blank line ending the head among its 100: 100 fields are past its limit.
    **{
        f"{count} header fields": (
            b"HTTP/1.1 200 OK\r\n" + b"X-Header: 1\r\n" * count + b"\r\n",
            "100 header fields or more",
        )
        for count in (100, 101)
    },
    "101 fields with a body": (
        framed(OK_HEAD + b"Set-Cookie: a=1\r\n" * 100, length=LENGTH),
        "100 header fields or more",
    ),
    "101 fields in an interim answer": (
        b"HTTP/1.1 103 E\r\n" + b"Link: </a>\r\n" * 101 + b"\r\n",
        "100 header fields or more",
    ),
    "header line over 64 KiB": (
        framed(OK_HEAD + b"X-Big: " + b"a" * 70_000 + b"\r\n", length=LENGTH),
        "a header line",
    ),
    "folded line over 64 KiB": (
        framed(OK_HEAD + b"X: 1\r\n " + b"a" * 70_000 + b"\r\n", length=LENGTH),
        "a header line",
    ),
    "status line over 64 KiB": (b"HTTP/1.1 200 " + b"O" * 70_000 + b"\r\n\r\n", "a status line"),
}


@pytest.mark.parametrize("via", ["direct", "proxy", "IAM login"])
@pytest.mark.parametrize(("answer", "said"), OVER_LIMITS.values(), ids=OVER_LIMITS)
def test_a_head_past_http_clients_limits_is_named_as_such_without_a_retry(
    answer: bytes, said: str, via: str
) -> None:
    """Before, it was "not valid HTTP/1.1", with a hint to check the endpoint's scheme and port."""
    with RawServer(answering(answer)) as server:
        if via == "proxy":  # a plain-HTTP proxy: it answers the request itself
            _, error = failure(
                "http://127.0.0.1:9", timeout=5.0, max_retries=3, environ={"HTTP_PROXY": server.url}
            )
        else:
            settings = (
                hostile.EchoServer.settings(server.url) if via == "IAM login" else settings_for(server.url)
            )
            client = ModelArtsClient(dataclasses.replace(settings, max_retries=3, timeout=5.0))
            with pytest.raises(ModelArtsError) as caught:
                client.get_visualization_job(197)
            error = caught.value
    assert isinstance(error, ServiceError) and len(server.heads) == 1 and "after 1 attempt(s)" in str(error)
    assert f"the answer's head is past HTTP clients' limits ({said}" in str(error), str(error)
    assert "not valid HTTP" not in str(error) and "scheme" not in error.hint and "API itself" in error.hint
    assert ("the proxy 127.0.0.1" in error.hint) is (via == "proxy")


#: Framing HTTP allows, however unusual: each is read as its job.
ODD_BUT_HTTP = {
    "one length said twice in one field": framed(OK_HEAD, length=LENGTH + b", " + LENGTH),
    "one length in two fields": framed(OK_HEAD + b"Content-Length:  %s\r\n" % LENGTH, length=LENGTH),
    "chunked, whitespace around": framed(OK_HEAD, coding=b"Chunked \t"),
    # Empty list elements count for nothing (RFC 9110 5.6.1): in a field, or a field of their own.
    "a length among empty elements": framed(OK_HEAD, length=b", " + LENGTH + b" ,,"),
    "chunked among empty elements": framed(OK_HEAD, coding=b", chunked ,"),
    "chunked after an empty field": framed(OK_HEAD + b"Transfer-Encoding: \r\n", coding=b"chunked"),
    "chunked beside a length": framed(OK_HEAD, length=b"3", coding=b"chunked"),
    # A length beside chunked framing plays no part: in Latin-1 superscript digits ("²", which
    # str.isdigit() takes for digits and int() does not), or over the size limit.
    "chunked beside a length in superscript": framed(OK_HEAD, length=b"\xb9\xb2", coding=b"chunked"),
    "chunked beside a length over the limit": framed(
        OK_HEAD, length=b"%d" % (MAX_BODY_BYTES + 1), coding=b"chunked"
    ),
    "chunk extensions and trailers": framed(OK_HEAD, coding=b"chunked", chunk=b";a=b\r\nX-T: 1\r\n"),
    "identity transfer coding": framed(OK_HEAD + b"Transfer-Encoding: identity\r\n", length=LENGTH),
    "status 299": reply(299, JOB_197),
    "a field folded onto a second line": framed(OK_HEAD + b"X-Folded: a\r\n  b\r\n", length=LENGTH),
    "a multipart content type": framed(
        b"HTTP/1.1 200 OK\r\nContent-Type: multipart/mixed; boundary=x\r\n", length=LENGTH
    ),
}


@pytest.mark.parametrize("answer", ODD_BUT_HTTP.values(), ids=ODD_BUT_HTTP)
def test_unusual_framing_that_http_allows_is_read(answer: bytes) -> None:
    with RawServer(answering(answer)) as server:
        assert read_197(server.url, timeout=5.0, max_retries=0) == 197


@pytest.mark.parametrize("encoding", [b"identity", b"gzip"])
@pytest.mark.parametrize("size", [b"-5", b"-49", b"-0x49"])
def test_a_negative_chunk_size_is_refused_in_one_line(
    size: bytes, encoding: bytes, in_env: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """http.client takes it for a size and fails reading it (python/cpython#150751)."""
    data = JOB_BYTES if encoding == b"identity" else gzip.compress(JOB_BYTES)
    head = OK_HEAD + b"Content-Encoding: %s\r\nTransfer-Encoding: chunked\r\n\r\n" % encoding
    with RawServer(answering(head + b"%s\r\n%s\r\n0\r\n\r\n" % (size, data))) as server:
        _, error = failure(server.url, timeout=5.0, max_retries=0)
        monkeypatch.setenv("MODELARTS_TIMEOUT", "5")
        code, out, err = invoke("get", "197", "--endpoint", server.url)
    assert isinstance(error, InvalidResponseError) and "body was cut off or badly framed" in str(error)
    assert (code, out, err.count("\n")) == (5, "", 1) and "badly framed" in err


def http_400_to_anything(head: bytes) -> list[bytes]:
    """What a plain-HTTP server such as nginx answers to a TLS ClientHello."""
    return [b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"]


#: name -> (endpoint scheme, the server's TLS, its script, what the error says)
WRONG_SCHEMES = {
    "https on a plain port, silent": ("https", False, silent, "connecting or the TLS handshake timed out"),
    "https on a plain port answering": ("https", False, http_400_to_anything, "TLS handshake failed"),
    "http on a TLS port": ("http", True, ANSWER_197, "connection failed or was reset"),
}


@pytest.mark.parametrize(("scheme", "tls", "script", "summary"), WRONG_SCHEMES.values(), ids=WRONG_SCHEMES)
def test_an_endpoint_of_the_wrong_scheme_says_to_check_it(
    scheme: str, tls: bool, script: hostile.Script, summary: str, tmp_path: Path, monkeypatch: Any
) -> None:
    """Not "raise readTimeout" (urllib3's name for an endless handshake) nor "set caCertFile"."""
    # Each script answers whatever arrives first, a request or a ClientHello.
    monkeypatch.setattr(hostile, "_read_head", lambda client: client.recv(65536))
    context = self_signed(tmp_path)[0] if tls else None
    with RawServer(script, tls=context) as server:
        url = f"{scheme}://{server.url.partition('://')[2]}"
        _, error = failure(url, timeout=10.0, connect_timeout=0.5, max_retries=0, insecure=True)
    assert isinstance(error, ServiceError) and summary in str(error), error
    assert "Check modelarts:endpoint / authUrl (scheme, host and port)" in str(error)
    assert "readTimeout" not in str(error) and "caCertFile" not in str(error)


def _refusing(context: ssl.SSLContext, alert: str) -> None:
    """Makes ``context`` refuse a handshake from this client with ``alert``, as servers set up so do."""
    if alert == "client certificate":  # TLS 1.2: a handshake_failure alert (1.3 has no alert it always sends)
        context.maximum_version, context.verify_mode = ssl.TLSVersion.TLSv1_2, ssl.CERT_REQUIRED
        context.load_default_certs()
    elif alert == "host name":  # a server whose every site has a name: a client naming none is refused
        context.sni_callback = lambda *_: ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
    else:  # a server held at TLS 1.1, which this client does not speak
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1
        context.set_ciphers("DEFAULT:@SECLEVEL=0")


#: How a TLS server refuses the handshake -> what the error says (the server speaks TLS: not "must serve TLS").
TLS_REFUSALS = {
    "client certificate": ("may require a client certificate", "sends no client certificate"),
    "host name": ("serves no host of the name sent (SNI)", "an IP address sends none"),
    "TLS version": ("shares no TLS version with this client (1.2 or later)", "Check modelarts:endpoint"),
}


@pytest.mark.parametrize("via", ["client", "cli"])
@pytest.mark.parametrize(("alert", "said"), TLS_REFUSALS.items(), ids=TLS_REFUSALS)
@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")  # the server's
@pytest.mark.usefixtures("in_env")  # the CLI's credentials and project
def test_a_tls_server_refusing_the_handshake_is_named_by_its_refusal(
    alert: str,
    said: tuple[str, str],
    via: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before, each was "TLS handshake failed", with a hint that an https:// URL must serve TLS."""
    context, cert = self_signed(tmp_path)
    _refusing(context, alert)
    with RawServer(answering(reply(body=JOB_BYTES)), tls=context) as server:
        if via == "client":
            _, error = failure(server.url, timeout=10.0, max_retries=3, ca_cert_file=str(cert))
            assert isinstance(error, ServiceError) and "after 1 attempt(s)" in str(error)
            text = str(error)
        else:
            monkeypatch.setenv("MODELARTS_TIMEOUT", "10")
            monkeypatch.setenv("HW_CACERT_FILE", str(cert))
            code, out, text = invoke("get", "197", "--endpoint", server.url)
            assert (code, out, text.count("\n")) == (5, "", 1)
    assert f"the server refused the TLS handshake: it {said[0]}" in text and said[1] in text, text
    assert "must serve TLS" not in text and len(server.heads) == 0


# -- bodies -------------------------------------------------------------------------------------
#: Run as ``python -c RSS_PROBE <url>...``: prints the peak RSS growth (MiB) of reading job 197 from
#: each URL, the peak reset before each read (Linux /proc).
RSS_PROBE = """
import sys
from pulumi_modelarts.client import ModelArtsClient
from pulumi_modelarts.errors import InvalidResponseError
from tests.hostile import settings_for
from tests.programs import proc_kib

for url in sys.argv[1:]:
    client = ModelArtsClient(settings_for(url))
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # resets the peak (VmHWM) to the current RSS
    before = proc_kib("VmRSS")
    try:
        client.get_visualization_job(197)
    except InvalidResponseError as exc:
        print(url, "refused:", exc, file=sys.stderr)
    print((proc_kib("VmHWM") - before) / 1024)
"""


@pytest.mark.reliability("compression bombs")
@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="measures peak RSS in Linux /proc")
def test_a_compression_bomb_is_refused_within_a_few_mib_of_the_limit(
    record_property: Callable[[str, Any], None],
) -> None:
    """All bombs in one child, the peak reset before each: RSS grows by the 10 MiB cap, little more."""
    with contextlib.ExitStack() as stack:
        urls = [stack.enter_context(RawServer(script)).url for script in BOMBS.values()]
        command = [sys.executable, "-c", RSS_PROBE, *urls]
        probe = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    growth = dict(zip(BOMBS, map(float, probe.stdout.split()), strict=True))
    assert max(growth.values()) < (MAX_BODY_BYTES >> 20) + 4, growth  # a few MiB over the cap at most
    assert probe.stderr.count("refused:") == len(BOMBS), probe.stderr
    assert probe.stderr.count("exceeds the 10 MiB limit") == len(BOMBS) - 1
    assert "'gzip, gzip', which was not asked for" in probe.stderr
    record_property("bombs", len(BOMBS))
    record_property("worst MiB of peak RSS growth", max(growth.values()))


#: Job 197 padded with whitespace to exactly the cap the README states, 10 MiB: it parses to next to
#: nothing, so the peak is the body's.
AT_THE_CAP = hostile.as_json(JOB_197).ljust(10 << 20)
#: name -> (script, refused): bodies at and just past the cap, in each framing and encoding.
AT_THE_LIMIT: dict[str, tuple[hostile.Script, bool]] = {
    "length": (answering(reply(200, AT_THE_CAP)), False),
    "chunked": (lambda _: hostile.chunked(OK_HEAD, AT_THE_CAP), False),
    "chunked, a byte past": (lambda _: hostile.chunked(OK_HEAD, AT_THE_CAP + b" "), True),
    "gzip": (answering(reply(200, gzip.compress(AT_THE_CAP, 1), Content_Encoding="gzip")), False),
    "gzip, a byte past": (
        answering(reply(200, gzip.compress(AT_THE_CAP + b" ", 1), Content_Encoding="gzip")),
        True,
    ),
}


@pytest.mark.reliability("compression bombs")
@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="measures peak RSS in Linux /proc")
def test_a_body_at_the_limit_is_held_once_in_every_framing_and_encoding(
    record_property: Callable[[str, Any], None],
) -> None:
    """A chunked or compressed body was gathered in parts and joined (http.client does so for a
    chunked read): held twice, 20 MiB for a body of 10, accepted or refused. Each in its own child."""
    growth = {}
    for name, (script, refused) in AT_THE_LIMIT.items():
        with RawServer(script) as server:
            command = [sys.executable, "-c", RSS_PROBE, server.url]
            probe = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        growth[name] = float(probe.stdout)
        assert ("exceeds the 10 MiB limit" in probe.stderr) == refused, (name, probe.stderr)
    assert max(growth.values()) < (MAX_BODY_BYTES >> 20) + 4, growth
    record_property("worst MiB of peak RSS growth", max(growth.values()))


def padded(element: bytes) -> bytes:
    """Job 197 with a field of ``element`` repeated, to just under the cap the README states."""
    head = hostile.as_json(JOB_197)[:-1] + b', "pad": ['
    return head + element * ((MAX_BODY_BYTES - len(head) - 3) // len(element)) + b"0]}"


#: name -> a job padded with small values, each many times its bytes once parsed into Python objects.
MANY_VALUES = {
    "lists": padded(b"[],"),
    "objects": padded(b'{"a":1},'),
    "numbers": padded(b"1,"),
    "decimals": padded(b"1.5,"),
    "strings": padded(b'"ab",'),
}


@pytest.mark.reliability("compression bombs")
@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="measures peak RSS in Linux /proc")
def test_a_body_of_many_small_values_is_refused_unparsed(record_property: Callable[[str, Any], None]) -> None:
    """Within the 10 MiB cap, ``[],`` repeated parsed to 280 MiB of lists; now counted, then refused.
    Each in its own child, as the bodies at the limit are."""
    growth = {}
    for name, body in MANY_VALUES.items():
        with RawServer(answering(reply(200, body))) as server:
            command = [sys.executable, "-c", RSS_PROBE, server.url]
            probe = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        growth[name] = float(probe.stdout)
        assert "more than any answer of ModelArts holds" in probe.stderr, (name, probe.stderr)
    assert max(growth.values()) < (MAX_BODY_BYTES >> 20) + 4, growth
    record_property("worst MiB of peak RSS growth", max(growth.values()))


TEXT = b'{"job_id": 197, "job_name": "apiTest-11", "status": 8}'
RAW_DEFLATE = zlib.compressobj(wbits=-15)


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        *((name, gzip.compress(TEXT)) for name in ["gzip", "x-gzip", "GZIP", " gzip\t", "deflate"]),
        *((name, gzip.compress(TEXT)) for name in ["gzip,", " , gzip ,,"]),  # RFC 9110 5.6.1
        *((name, gzip.compress(TEXT)) for name in ["gzip, identity", "Identity, gzip"]),  # RFC 9110 8.4.1
        ("deflate", zlib.compress(TEXT)),
        ("deflate", RAW_DEFLATE.compress(TEXT) + RAW_DEFLATE.flush()),  # no zlib header, as many send it
        ("gzip", gzip.compress(TEXT[:9]) + gzip.compress(TEXT[9:30]) + gzip.compress(TEXT[30:])),  # members
    ],
    ids=[
        *["gzip", "x-gzip", "GZIP", "whitespace", "deflate as gzip", "gzip,", "empty elements"],
        *["gzip, identity", "identity, gzip"],
        *["deflate", "raw deflate", "gzip members"],
    ],
)
def test_compressed_answers_are_read(encoding: str, body: bytes) -> None:
    with RawServer(answering(reply(200, body, Content_Encoding=encoding))) as server:
        job = ModelArtsClient(settings_for(server.url)).get_visualization_job(197)
        assert header(server.heads[0], "Accept-Encoding") == "gzip"
    assert (job.job_id, job.job_name) == (197, "apiTest-11")


@pytest.mark.parametrize("encoding", ["gzip", "x-gzip", "deflate", "identity"])
def test_an_empty_body_is_empty_whatever_its_content_encoding(encoding: str) -> None:
    answer = answering(reply(503, b"", Content_Encoding=encoding))
    with RawServer(answer) as server, pytest.raises(ServiceError, match=r"service failed \(job 197"):
        read_197(server.url, max_retries=0)


def closed_after(data: bytes) -> Callable[[bytes], Iterator[bytes]]:
    def script(_: bytes) -> Iterator[bytes]:
        yield data
        raise OSError("closed")

    return script


def sized(length: int, body: bytes, head: bytes = b"") -> bytes:
    return OK_HEAD + head + b"Content-Length: %d\r\n\r\n%s" % (length, body)


CUT_SHORT = {"one byte short": sized(len(TEXT) + 1, TEXT), "cut mid-JSON": sized(len(TEXT), TEXT[:20])}
CUT_SHORT |= {"1000 bytes short": sized(len(TEXT) + 1000, TEXT), "no body": sized(len(TEXT), b"")}
GZIPPED = gzip.compress(TEXT)
CUT_SHORT["gzip"] = sized(len(GZIPPED) + 9, GZIPPED, b"Content-Encoding: gzip\r\n")
CHUNKED = OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n"
CUT_SHORT["chunked, no last chunk"] = CHUNKED + b"%x\r\n%s\r\n" % (len(TEXT), TEXT)


@pytest.mark.parametrize("answer", CUT_SHORT.values(), ids=CUT_SHORT)
def test_a_body_cut_short_of_its_length_is_refused_even_when_what_came_is_complete_json(
    answer: bytes,
) -> None:
    with RawServer(closed_after(answer)) as server, pytest.raises(InvalidResponseError, match="cut off"):
        read_197(server.url, max_retries=0)


@pytest.mark.parametrize(
    "cookie", ["session=abc123; Path=/", "SERVERID=node-2; HttpOnly", "lb=1; Domain=127.0.0.1; Max-Age=60"]
)
def test_cookies_a_server_sets_are_never_sent(cookie: str) -> None:
    """An API client needs no cookie jar, and merging one into every request costs CPU."""
    with RawServer(answering(reply(200, JOB_197, Set_Cookie=cookie))) as server:
        client = ModelArtsClient(settings_for(server.url))
        assert [client.get_visualization_job(197).job_id for _ in range(3)] == [197] * 3
    assert len(server.heads) == 3 and not any(b"\r\ncookie:" in head.lower() for head in server.heads)


UNASKED = b"\x0b\x00\x80{}\x03"
#: id -> (Content-Encoding, body, what the error says)
BAD_ENCODINGS = {name: (name, UNASKED, "not asked for") for name in ["br", "zstd", "compress"]}
BAD_ENCODINGS |= {"stacked": ("gzip, gzip", UNASKED, "not asked for")}
BAD_ENCODINGS |= {"identity+br": ("identity, br", UNASKED, "not asked for")}
BAD_ENCODINGS |= {
    "corrupt": ("gzip", b"\x1f\x8b\x08\x00bad", "not valid gzip"),
    "trailing": ("gzip", gzip.compress(TEXT) + b"\x00 trailing", "not valid gzip"),
    "truncated": ("gzip", gzip.compress(TEXT)[:-4], "not valid gzip"),
    "two-zlib": ("deflate", zlib.compress(TEXT) + zlib.compress(TEXT), "not valid deflate"),
    "one-byte": ("deflate", b"\xff", "not valid deflate"),
}


@pytest.mark.parametrize("named", ["X-Request-Id", "X-Openstack-Request-Id", "X-IAM-Trace-Id"])
@pytest.mark.parametrize(("encoding", "body", "fragment"), BAD_ENCODINGS.values(), ids=BAD_ENCODINGS)
def test_unasked_encodings_and_corrupt_gzip_are_refused(
    encoding: str, body: bytes, fragment: str, named: str
) -> None:
    """Refused naming the answer's request ID, as every other error of an answer does."""
    answer = answering(reply(200, body, Content_Encoding=encoding, **{named.replace("-", "_"): "id-0042"}))
    with RawServer(answer) as server, pytest.raises(InvalidResponseError, match=fragment) as caught:
        read_197(server.url)
    assert caught.value.request_id == "id-0042" and "request-id id-0042" in str(caught.value)


NOT_FOUND_0015 = {"error_code": "ModelArts.0015", "error_msg": "Job does not exist"}
INTERIM_ANSWERS = {
    "103 Early Hints": [b"HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\n\r\n"],
    "102 Processing": [b"HTTP/1.1 102 Processing\r\n\r\n"],
    "100, then two 103s": [
        b"HTTP/1.1 100 Continue\r\n\r\n",
        *[b"HTTP/1.1 103 Early Hints\r\n" + b"Link: </x.js>; rel=preload\r\n" * 20 + b"\r\n"] * 2,
    ],
    "199, in pieces": [b"HTTP/1.1 199 Misc", b"ellaneous\r\nX-A: 1\r\n", b"\r\n"],
}


@pytest.mark.parametrize("interim", INTERIM_ANSWERS.values(), ids=INTERIM_ANSWERS)
def test_interim_answers_are_skipped_and_each_read_gets_its_own_answer(interim: list[bytes]) -> None:
    """A 1xx (RFC 9110 15.2) taken for the answer leaves the real one to the next read on the connection."""

    def answer(head: bytes) -> list[bytes]:
        job_id = int(head.split(b" ")[1].rsplit(b"/", 1)[1])
        final = reply(200, {**JOB_197, "job_id": job_id}) if job_id != 404 else reply(404, NOT_FOUND_0015)
        return [*interim, final]

    with RawServer(answer) as server:
        client = ModelArtsClient(settings_for(server.url))
        assert [client.get_visualization_job(job).job_id for job in (197, 198)] == [197, 198]
        with pytest.raises(JobNotFoundError):
            client.get_visualization_job(404)
        assert client.get_visualization_job(199).job_id == 199
        assert len(server.heads) == 4 and len(server.clients) == 1  # one kept-alive connection


@pytest.mark.parametrize("interim", INTERIM_ANSWERS.values(), ids=INTERIM_ANSWERS)
def test_interim_answers_of_a_proxy_before_it_opens_a_tunnel_are_skipped(
    interim: list[bytes], tmp_path: Path
) -> None:
    """http.client took the first status a proxy answered ``CONNECT`` with for its answer."""
    context, cert = self_signed(tmp_path)
    with (
        RawServer(ANSWER_197, tls=context) as server,
        hostile.TunnelProxy(interim=b"".join(interim)) as proxy,
    ):
        environ = {"HTTPS_PROXY": proxy.address, "OS_CACERT": str(cert)}
        assert read_197(server.url, environ=environ, max_retries=0) == 197


# -- proxies and TLS ----------------------------------------------------------------------------
PROXY_PASSWORD = "proxy-pass-7f0c9d2e4b1a"


@pytest.mark.parametrize(
    ("variable", "no_proxy"),
    [
        *((variable, None) for variable in ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]),
        *(("HTTP_PROXY", value) for value in ["127.0.0.1", "*", "localhost,127.0.0.0/8", " 127.0.0.1:9 "]),
        *(("HTTP_PROXY", value) for value in ["[127.0.0.1]", "example.com, 127.0.0.1"]),
    ],
)
def test_requests_go_through_the_proxy_of_the_environment_unless_no_proxy_says_not(
    variable: str, no_proxy: str | None
) -> None:
    """The proxy answers the absolute-form request itself; a matching ``no_proxy`` goes straight there."""
    with RawServer(ANSWER_197) as target, RawServer(ANSWER_197) as proxy:
        environ = {variable: f"http://builder:{PROXY_PASSWORD}@{proxy.url.removeprefix('http://')}"}
        settings = settings_for(target.url, environ=environ | ({"no_proxy": no_proxy} if no_proxy else {}))
        client = ModelArtsClient(settings)
        for _ in range(2):
            assert client.get_visualization_job(197).job_id == 197
    if no_proxy:
        assert (len(proxy.heads), len(target.heads)) == (0, 2)
    else:
        assert [head.split(b" ")[1].decode() for head in proxy.heads] == [target.url + JOB_URL] * 2
        assert header(proxy.heads[0], "Proxy-Authorization").startswith("Basic ") and target.heads == []
    assert PROXY_PASSWORD not in repr(settings) + str(settings)


USERINFOS = [f"builder:{pw}" for pw in (PROXY_PASSWORD, "p%C3%A4ss%3Aw%40rd-7f0c9d2e", "p\u00e4ss-7f0c9d2e")]
USERINFOS += ["builder:p@ss:w@rd-7f0c9d2e", "builder:p%40ss%25-7f0c9d2e", "proxy-token-7f0c9d2e4b1a:"]


@pytest.mark.parametrize("place", ["X-Request-Id", "body"])
@pytest.mark.parametrize("userinfo", USERINFOS)
def test_a_proxy_echoing_its_basic_credentials_gets_them_scrubbed(place: str, userinfo: str) -> None:
    """Raw or encoded '@' and ':' in the password, and a user name alone ("token:") sent as Basic."""

    def echo(head: bytes) -> list[bytes]:
        basic = header(head, "Proxy-Authorization")
        return [reply(403, f"denied {basic}") if place == "body" else reply(403, X_Request_Id=basic)]

    with RawServer(echo) as proxy:
        environ = {"HTTP_PROXY": f"http://{userinfo}@{proxy.url.removeprefix('http://')}"}
        _, error = failure("http://127.0.0.1:9", environ=environ)
    basic = header(proxy.heads[0], "Proxy-Authorization").removeprefix("Basic ")
    assert len(basic) > 20 and basic[:12] not in str(error) + repr(error) and "***" in str(error)


@pytest.mark.parametrize("scheme", ["http", "https"])  # a request in absolute form; a CONNECT tunnel
@pytest.mark.parametrize("status_line", ["HTTP/1.1 4x7 {}", "HTTP/1.1 {} denied", "{}"])
def test_a_proxy_echoing_its_basic_credentials_in_its_status_line_does_not_log_them(
    scheme: str, status_line: str
) -> None:
    """urllib3 logs the exception it retries after, at WARNING, and http.client's quotes the line:
    retried once on a kept-alive connection (the proxy answered a first request on it), never on a
    new connection or a CONNECT tunnel, which a proxy that does not speak HTTP there answers alike."""

    def echo(head: bytes) -> list[bytes]:
        if scheme == "http" and len(proxy.heads) == 1:
            return [reply(200, JOB_197)]
        return [(status_line.format(header(head, "Proxy-Authorization")) + "\r\n\r\n").encode()]

    with RawServer(echo) as proxy, logged() as records:
        environ = {f"{scheme}_proxy": f"http://builder:{PROXY_PASSWORD}@{proxy.url.removeprefix('http://')}"}
        client = ModelArtsClient(settings_for(f"{scheme}://127.0.0.1:9", environ=environ, max_retries=1))
        if scheme == "http":
            assert client.get_visualization_job(197).job_id == 197
        with pytest.raises(ServiceError, match="not valid HTTP/1.1") as caught:
            client.get_visualization_job(197)
    basic, text = header(proxy.heads[0], "Proxy-Authorization").removeprefix("Basic "), str(records)
    assert ("Retrying" in text) == (scheme == "http") and basic[:12] not in text + str(caught.value)
    assert len(proxy.heads) == 1 + 2 * (scheme == "http")


#: A proxy's refusal: (the credentials in its URL, its status, what the message says, what it says to do).
CREDENTIALS = f"builder:{PROXY_PASSWORD}@"
ASK = "Set the proxy's user name and password in HTTPS_PROXY"
RECHECK = "Check the user name and password in HTTPS_PROXY"
PROXY_REFUSALS = {
    "407": ("", 407, "the proxy 127.0.0.1 asks for credentials (HTTP 407)", ASK),
    "407 to credentials": (
        CREDENTIALS,
        407,
        "the proxy 127.0.0.1 refused the credentials in its URL (HTTP 407)",
        RECHECK,
    ),
    # tinyproxy 1.11 refuses wrong credentials with a 401.
    "401 to credentials": (
        CREDENTIALS,
        401,
        "the proxy 127.0.0.1 refused the credentials in its URL (HTTP 401)",
        RECHECK,
    ),
    "403": (CREDENTIALS, 403, "the proxy 127.0.0.1 did not open a tunnel (HTTP 403)", "NO_PROXY"),
    "502": (CREDENTIALS, 502, "the proxy 127.0.0.1 did not open a tunnel (HTTP 502)", "NO_PROXY"),
}


@pytest.mark.parametrize("scheme", ["http", "https"])  # a request in absolute form; a CONNECT tunnel
@pytest.mark.parametrize(("userinfo", "status", "said", "todo"), PROXY_REFUSALS.values(), ids=PROXY_REFUSALS)
def test_a_proxy_refusing_is_named_with_its_status_and_not_its_credentials(
    scheme: str, userinfo: str, status: int, said: str, todo: str
) -> None:
    """Not an endpoint answering "with a non-API body": the proxy, by its status only (its reason,
    body and Proxy-Authenticate echo the credentials); a forwarded 403 or 502 may be the endpoint's,
    and is said to be perhaps the proxy's. Before, a 407 to credentials asked to set them."""

    def refuse(head: bytes) -> list[bytes]:
        basic = header(head, "Proxy-Authorization")
        return [reply(status, f"denied {basic}", Proxy_Authenticate=f'Basic realm="{basic}"')]

    with RawServer(refuse) as proxy:
        environ = {f"{scheme}_proxy": f"http://{userinfo}{proxy.url.removeprefix('http://')}"}
        _, error = failure(f"{scheme}://127.0.0.1:9", environ=environ, max_retries=0)
    basic = header(proxy.heads[0], "Proxy-Authorization").removeprefix("Basic ")
    assert bool(basic) is bool(userinfo) and not (basic and basic[:12] in str(error) + repr(error))
    assert PROXY_PASSWORD not in str(error) and "builder" not in str(error) and "\n" not in str(error)
    if scheme == "https" or status == 407:
        assert isinstance(error, ServiceError) and said in str(error) and todo in str(error)
    else:
        assert "non-API body: denied Basic ***, perhaps sent by the proxy 127.0.0.1 (HTTPS_PROXY" in str(
            error
        )
        assert "and that the proxy may reach them (else list them in NO_PROXY)" in str(error)


@pytest.mark.parametrize(
    ("refusals", "tunnels"),
    [([503], 2), ([502, 504], 3), ([503] * 3, 3), ([403], 1), ([407], 1)],
    ids=["503 once", "502 then 504", "503 thrice", "403", "407"],
)
def test_a_proxy_that_cannot_reach_the_endpoint_for_now_is_asked_again(
    tmp_path: Path, refusals: list[int], tunnels: int
) -> None:
    """A 502, 503 or 504 to a CONNECT is retried as a refused connection is (twice at most: Squid
    answers 503 when the endpoint refuses); a 403 or 407 never. Before, urllib3 retried none, so
    a proxy's hiccup failed every https read at once, whatever maxRetries said."""
    context, cert = self_signed(tmp_path)
    with RawServer(ANSWER_197, tls=context) as server, hostile.TunnelProxy(refusals) as proxy:
        environ = {"HTTPS_PROXY": proxy.address}
        client = ModelArtsClient(
            settings_for(server.url, environ=environ, ca_cert_file=str(cert), max_retries=5)
        )
        if len(refusals) < tunnels:
            assert client.get_visualization_job(197).job_id == 197
        else:
            with pytest.raises(ServiceError) as caught:
                client.get_visualization_job(197)
            refused = "asks for credentials" if refusals == [407] else "did not open a tunnel"
            said = f"the proxy 127.0.0.1 {refused} (HTTP {refusals[-1]}) after {tunnels} attempt(s)"
            assert said in str(caught.value)
        client.close()
    assert len(proxy.requests) == tunnels


def test_tls_with_an_https_proxy_is_verified_and_its_failures_are_the_proxys(tmp_path: Path) -> None:
    """An ``https://`` proxy URL over a plain-HTTP proxy (Squid on 3128), or a proxy whose certificate
    no configured CA signed: before, both were "could not connect through the proxy", and the second
    was sent an ``http://`` URL's request, its Proxy-Authorization too, unverified."""
    context, cert = self_signed(tmp_path)
    with hostile.TunnelProxy() as plain, RawServer(ANSWER_197, tls=context) as tls_proxy:
        userinfo = f"//builder:{PROXY_PASSWORD}@"
        proxies = {
            f"https:{userinfo}{plain.address}": "an https:// URL in HTTPS_PROXY / HTTP_PROXY",
            tls_proxy.url.replace("//", userinfo): "the proxy 127.0.0.1 could not be verified",
        }
        for proxy, said in proxies.items():
            for url in ("https://modelarts.example", "http://127.0.0.1:9"):
                _, error = failure(url, max_retries=0, environ={"https_proxy": proxy, "http_proxy": proxy})
                assert isinstance(error, ServiceError) and said in str(error), str(error)
                assert PROXY_PASSWORD not in str(error) and "builder" not in str(error)
        assert plain.requests == [] and tls_proxy.heads == []
        environ = {"http_proxy": proxies.popitem()[0], "OS_CACERT": str(cert)}  # its CA configured: read
        assert read_197("http://127.0.0.1:9", environ=environ) == 197
    assert header(tls_proxy.heads[0], "Proxy-Authorization").startswith("Basic ")


#: A proxy that never answers, for a call through it: (its scheme, settings, what the message says).
SILENT_PROXY = {
    "CONNECT, connect timeout": ("https", {"connect_timeout": 0.2}, "connecting or the TLS handshake"),
    "CONNECT, the call's deadline": ("https", {"timeout": 0.5}, "within the call's timeout of 0.5 s"),
    "forwarding, read timeout": ("http", {"read_timeout": 0.2}, "no response within the read timeout"),
}


@pytest.mark.parametrize(("scheme", "overrides", "said"), SILENT_PROXY.values(), ids=SILENT_PROXY)
def test_a_proxy_that_does_not_answer_is_named_with_the_timeout_that_ended_the_call(
    scheme: str, overrides: dict[str, float], said: str
) -> None:
    """The proxy is what was waited on: before, a timeout did not name it, and its answer to
    ``CONNECT``, bounded by connectTimeout, was told as the read timeout, to be raised."""
    with RawServer(silent) as proxy:
        environ = {f"{scheme}_proxy": f"http://builder:{PROXY_PASSWORD}@{proxy.url.removeprefix('http://')}"}
        url = "https://modelarts.example" if scheme == "https" else "http://127.0.0.1:9"
        _, error = failure(url, max_retries=0, environ=environ, **overrides)
    assert isinstance(error, ServiceError) and said in str(error)
    assert "through the proxy 127.0.0.1 (HTTPS_PROXY" in str(error)
    assert ("readTimeout" in str(error)) is ("read_timeout" in overrides)
    assert PROXY_PASSWORD not in str(error) and "builder" not in str(error)


def forwarded(head: bytes) -> list[bytes]:
    """A forwarding proxy's answer: the request sent on in origin form, without Proxy-Authorization."""
    line, _, rest = head.partition(b"\r\n")
    method, url, version = line.split(b" ")
    target = urlsplit(url.decode())
    fields = [f for f in rest.split(b"\r\n") if not f.lower().startswith((b"proxy-", b"connection:"))]
    origin = b"%s %s %s\r\nConnection: close\r\n" % (method, url.split(target.netloc.encode())[1], version)
    with socket.create_connection((target.hostname, target.port or 80)) as upstream:
        upstream.sendall(origin + b"\r\n".join(fields))
        return [b"".join(iter(functools.partial(upstream.recv, 65536), b""))]


@pytest.mark.parametrize("auth", ["password", "aksk", "token"])
def test_iam_calls_go_through_the_proxy_of_the_environment_as_reads_do_and_no_log_shows_it(
    emulator: ModelArtsEmulator, auth: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The password login or project lookup, then the read: each through the proxy, whose
    credentials no DEBUG record of urllib3 or this package shows, in any form."""
    for name in ("urllib3", "pulumi_modelarts"):  # whatever level an earlier test left
        caplog.set_level("DEBUG", name)
    password = quote(PROXY_PASSWORD + "@:%", safe="")
    with RawServer(forwarded) as proxy, logged() as records:
        environ = {**emulator.environ(auth, include_project=False)}
        environ["HTTP_PROXY"] = proxy.url.replace("//", f"//builder:{password}@")
        client = ModelArtsClient(Settings.from_sources(environ=environ))
        assert client.get_visualization_job(197).job_id == 197
    iam = "/v3/auth/tokens" if auth == "password" else "/v3/projects"
    paths = [urlsplit(head.split(b" ")[1].decode()).path for head in proxy.heads]
    assert paths == [iam, f"/v1/{emulator.project_id}/visualization-jobs/197"]
    basic = header(proxy.heads[0], "Proxy-Authorization").removeprefix("Basic ")
    assert basic and any(name.startswith("urllib3") for name, _ in records)
    assert not [text for _, text in records for secret in (basic, password, PROXY_PASSWORD) if secret in text]


def test_password_logins_are_held_by_proxy_without_the_proxys_password_in_view(
    emulator: ModelArtsEmulator,
) -> None:
    """Before, the process's logins were keyed by the proxy URL as set: repr() of them showed its password."""
    canaries = [f"{PROXY_PASSWORD}-{n}" for n in range(2)]
    with RawServer(forwarded) as first, RawServer(forwarded) as second:
        for proxy, canary in [(first, canaries[0]), (second, canaries[1]), (first, canaries[0])]:
            environ = emulator.environ("password")
            environ["HTTP_PROXY"] = proxy.url.replace("//", f"//builder:{quote(canary + '@:')}@")
            assert (
                ModelArtsClient(Settings.from_sources(environ=environ)).get_visualization_job(197).job_id
                == 197
            )
        logins = [[head for head in proxy.heads if b"/v3/auth/tokens" in head] for proxy in (first, second)]
    shown = repr(auth._TOKEN_AUTHS) + repr(list(auth._TOKEN_AUTHS))
    assert [len(sent) for sent in logins] == [1, 1] and len(auth._TOKEN_AUTHS) == 2  # one per proxy
    assert [canary for canary in canaries if canary in shown or quote(canary) in shown] == []


def test_a_proxy_that_is_gone_is_named_without_its_credentials(closed_port: int) -> None:
    proxy = f"http://builder:{PROXY_PASSWORD}@127.0.0.1:{closed_port}"
    _, error = failure("http://127.0.0.1:9", environ={"HTTP_PROXY": proxy})
    assert isinstance(error, ServiceError) and "proxy 127.0.0.1" in str(error) and "HTTPS_PROXY" in str(error)
    assert PROXY_PASSWORD not in str(error) and "builder" not in str(error)


IAM_HOST = "iam.eu-de.otc.t-systems.com"
NO_PROXY_MATCHES = [(IAM_HOST, suffix, True) for suffix in ("otc.t-systems.com", ".otc.t-systems.com")]
NO_PROXY_MATCHES += [(IAM_HOST, "*.t-systems.com", True), (IAM_HOST, "systems.com.evil", False)]
NO_PROXY_MATCHES += [("nototc.t-systems.com", "otc.t-systems.com", False), ("10.1.2.3", "10.0.0.0/8", True)]
NO_PROXY_MATCHES += [("10.1.2.3", "10.1.2.3:443", True), ("11.1.2.3", "10.0.0.0/8", False)]
NO_PROXY_MATCHES += [("::1", "[::1]", True), ("::1", "::1", True), ("host", "", False)]


@pytest.mark.parametrize(("host", "no_proxy", "bypass"), NO_PROXY_MATCHES)
def test_no_proxy_matching(host: str, no_proxy: str, bypass: bool) -> None:
    assert bypasses_proxy(host, no_proxy) is bypass


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY"])
@pytest.mark.parametrize(
    "value",
    [
        *(f"{scheme}://user:hunter2hunter2@corp-gw:1080" for scheme in ("socks5", "socks5h", "socks4")),
        *("http://corp-gw:99999", "http://corp-gw x:1", "http://", "ftp://user:hunter2hunter2@corp-gw"),
        *(f"http://u:hunter2{text}@corp-gw:1" for text in ("\u20ac", "%E2%82%AC", "%0A")),
    ],
)
def test_unusable_proxies_are_configuration_errors_that_do_not_repeat_the_url(
    variable: str, value: str
) -> None:
    """One line naming the variables the value may have come from (and SOCKS as unsupported)."""
    endpoint = "https://x.example.com" if variable != "HTTP_PROXY" else "http://127.0.0.1:9"
    with pytest.raises(ConfigurationError) as caught:
        settings_for(endpoint, environ={variable: value})
    assert variable in str(caught.value) and ("SOCKS" in str(caught.value)) is value.startswith("socks")
    assert "hunter2" not in str(caught.value) and "corp-gw" not in str(caught.value)


#: Proxy variables that serve no URL of the settings, and a place one of them would serve (None: no place).
UNUSED_PROXIES = {
    "socks ALL_PROXY, NO_PROXY=*": (
        {"ALL_PROXY": "socks5://u:hunter2hunter2@corp-gw:1080", "NO_PROXY": "*"},
        None,
    ),
    "socks all_proxy, host in no_proxy": (
        {"all_proxy": "socks5h://corp-gw:1080", "no_proxy": "127.0.0.1"},
        "https://modelarts.example.com",
    ),
    "malformed HTTP_PROXY, host in NO_PROXY": (
        {"HTTP_PROXY": "http://[::1", "NO_PROXY": "localhost,127.0.0.0/8"},
        "http://[::1]:9",
    ),
    "port out of range, host in no_proxy": (
        {"http_proxy": "http://corp-gw:99999", "no_proxy": " 127.0.0.1:9 "},
        "http://localhost:9",
    ),
    "only an https proxy, no https URL": (
        {"HTTPS_PROXY": "socks4://u:hunter2\u20ac@corp-gw"},
        "https://modelarts.example.com",
    ),
}


@pytest.mark.parametrize(("environ", "served"), UNUSED_PROXIES.values(), ids=UNUSED_PROXIES)
def test_a_proxy_that_serves_no_url_of_the_settings_plays_no_part(
    environ: dict[str, str], served: str | None
) -> None:
    """As requests and curl: a proxy bypassed or for another scheme is never parsed, so fails nothing."""
    with RawServer(ANSWER_197) as target:
        assert read_197(target.url, auth_url=f"{target.url}/v3", environ=environ) == 197
        assert len(target.heads) == 1
    settings = settings_for(target.url, auth_url=f"{target.url}/v3", environ=environ)
    if served is not None:
        with pytest.raises(ConfigurationError, match=r"^invalid proxy \(") as caught:
            settings.with_overrides(endpoint=served)
        assert "hunter2" not in str(caught.value) and "corp-gw" not in str(caught.value)


def test_the_lower_case_proxy_variable_wins_as_in_curl() -> None:
    environ = {"https_proxy": "http://low:1", "HTTPS_PROXY": "http://up:2"}
    both = settings_for("https://x.example.com", environ=environ)
    assert both.https_proxy is not None and "low" in both.https_proxy.get_secret_value()


def test_ca_bundles_and_a_connect_tunnel_of_the_https_proxy(tmp_path: Path) -> None:
    """CA bundle variables (``caCertFile`` wins); one kept-alive CONNECT tunnel of a host:port proxy."""
    context, cert = self_signed(tmp_path)
    other = tmp_path / "other.pem"
    system = ssl.get_default_verify_paths()
    other.write_text(Path(system.cafile or system.openssl_cafile).read_text(encoding="utf-8"))
    with RawServer(ANSWER_197, tls=context) as server, hostile.TunnelProxy() as proxy:
        for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "OS_CACERT"):
            assert read_197(server.url, environ={variable: str(cert)}) == 197
        for environ in ({}, {"HW_CACERT_FILE": str(other), "REQUESTS_CA_BUNDLE": str(cert)}):
            with pytest.raises(ServiceError, match="certificate verification failed"):
                read_197(server.url, environ=environ, max_retries=0)
        environ = {"HTTPS_PROXY": proxy.address, "HTTP_PROXY": "http://127.0.0.1:9", "OS_CACERT": str(cert)}
        server.heads.clear()
        client = ModelArtsClient(settings_for(server.url, environ=environ))
        assert [client.get_visualization_job(197).job_id for _ in range(2)] == [197, 197]
    assert proxy.requests == [server.url.removeprefix("https://")] and len(server.heads) == 2


def test_a_ca_directory_serves_by_its_hashed_names_and_a_secrets_mount_is_refused(tmp_path: Path) -> None:
    """OpenSSL looks a directory's certificates up by their subject's hash: the folder a Secret is
    mounted as (``ca.crt``) is refused before any connection, the same folder rehashed is read."""
    context, cert = self_signed(tmp_path)
    mount = tmp_path / "mount"
    mount.mkdir()
    (mount / "ca.crt").write_bytes(cert.read_bytes())
    with RawServer(ANSWER_197, tls=context) as server:
        with pytest.raises(ConfigurationError, match=r"names '.*mount', which is a directory without"):
            read_197(server.url, environ={"REQUESTS_CA_BUNDLE": str(mount)})
        assert server.clients == []
        digest = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", cert], capture_output=True)
        (mount / f"{digest.stdout.decode().strip()}.0").symlink_to(mount / "ca.crt")
        assert read_197(server.url, environ={"REQUESTS_CA_BUNDLE": str(mount)}) == 197


#: Certificates the right CA bundle still cannot verify: (names, days valid, what is said, what to check).
UNVERIFIABLE = {
    "for another host name": (
        "DNS:other.example",
        2,
        "is for another IP address",
        "host in modelarts:endpoint",
    ),
    "expired": ("IP:127.0.0.1", -1, "has expired", "renew its certificate"),
}


@pytest.mark.parametrize(("names", "days", "said", "check"), UNVERIFIABLE.values(), ids=UNVERIFIABLE)
def test_a_certificate_the_ca_bundle_cannot_mend_is_told_by_its_cause(
    tmp_path: Path, names: str, days: int, said: str, check: str
) -> None:
    """The CA bundle given is the one that signed it: a hint to set the CA bundle would send the
    user the wrong way."""
    context, cert = self_signed(tmp_path, names, days)
    with RawServer(ANSWER_197, tls=context) as server:
        _, error = failure(server.url, max_retries=0, ca_cert_file=str(cert))
    assert isinstance(error, ServiceError) and f"the server's certificate {said}" in str(error)
    assert check in str(error) and "caCertFile" not in str(error) and server.heads == []


CA = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash"
#: A private CA's chain that breaks a rule of RFC 5280 that Python 3.13+ checks (X509_STRICT), and
#: OpenSSL's words for it: (the CA's extensions, the server certificate's, what the message quotes).
OFF_PROFILE = {
    "CA without keyUsage (openssl req -x509)": (
        CA.replace("keyUsage=critical,keyCertSign,cRLSign\n", ""),
        "authorityKeyIdentifier=keyid",
        "CA cert does not include key usage extension",
    ),
    "CA basicConstraints not critical": (
        CA.replace("critical,CA", "CA"),
        "",
        "Basic Constraints of CA cert not marked critical",
    ),
    "server certificate without an authority key ID": (
        CA,
        "authorityKeyIdentifier=none",
        "Missing Authority Key Identifier",
    ),
}


@pytest.mark.parametrize(("ca", "extensions", "said"), OFF_PROFILE.values(), ids=OFF_PROFILE)
def test_a_chain_python_313_finds_off_rfc_5280_is_told_so_not_as_a_wrong_ca_bundle(
    tmp_path: Path, ca: str, extensions: str, said: str
) -> None:
    """Python 3.13 verifies with OpenSSL's X509_STRICT, which refuses chains older versions accept:
    the CA bundle is right there, so a hint to set it would send the user the wrong way."""
    context, ca_cert = hostile.ca_signed(tmp_path, ca, extensions)
    with RawServer(ANSWER_197, tls=context) as server:
        if sys.version_info < (3, 13):
            assert read_197(server.url, ca_cert_file=str(ca_cert)) == 197
            return
        _, error = failure(server.url, max_retries=0, ca_cert_file=str(ca_cert))
    assert isinstance(error, ServiceError) and f"breaks a rule of RFC 5280 ({said})" in str(error)
    assert "Python 3.13+" in str(error) and "caCertFile" not in str(error) and server.heads == []


def test_a_chain_to_rfc_5280_is_read_on_every_python(tmp_path: Path) -> None:
    context, ca_cert = hostile.ca_signed(tmp_path, CA, "authorityKeyIdentifier=keyid")
    with RawServer(ANSWER_197, tls=context) as server:
        assert read_197(server.url, ca_cert_file=str(ca_cert)) == 197


CA_BUNDLE_CHANGES = {
    "removed": None,
    "emptied": b"",
    "not PEM": b"garbage\n",
    "a PEM that does not load": b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    # The first certificate loads, as settings check it; a connection loads them all.
    "a second certificate cut short": "{cert}{cert:.200}\n",
    "a second PEM that does not load": "{cert}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
}


@pytest.mark.parametrize("content", CA_BUNDLE_CHANGES.values(), ids=CA_BUNDLE_CHANGES)
def test_a_ca_bundle_changed_after_settings_resolved_is_a_configuration_error(
    tmp_path: Path, content: bytes | str | None
) -> None:
    """A long-lived process (the provider, an Automation API host) resolves settings once and
    loads the bundle again for each new connection: one removed or rewritten since (a Kubernetes
    Secret being updated) is told as when settings resolve, and the bundle put back serves again."""
    context, cert = self_signed(tmp_path)
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(cert.read_bytes())
    with RawServer(ANSWER_197, tls=context) as server:
        client = ModelArtsClient(settings_for(server.url, environ={"OS_CACERT": str(bundle)}, max_retries=0))
        assert client.get_visualization_job(197).job_id == 197
        client.close()  # the next read connects anew
        if isinstance(content, str):
            bundle.write_text(content.format(cert=cert.read_text()))
        else:
            bundle.unlink() if content is None else bundle.write_bytes(content)
        with pytest.raises(ConfigurationError) as raised:
            client.get_visualization_job(197)
        assert str(raised.value).startswith(
            f"modelarts:caCertFile (or HW_CACERT_FILE, OS_CACERT, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE) names '{bundle}', which "
        )
        bundle.write_bytes(cert.read_bytes())
        assert client.get_visualization_job(197).job_id == 197


_INSECURE_CHILD = """
import sys, warnings
warnings.simplefilter("always")
from pulumi_modelarts.client import ModelArtsClient
from pulumi_modelarts.settings import Settings
for _ in range(3):
    settings = Settings.from_sources(args={"endpoint": sys.argv[1], "project_id": "p", "access_key": "a-key",
        "secret_key": "s-key", "insecure": True}, environ={})
    assert ModelArtsClient(settings).get_visualization_job(197).job_id == 197
import urllib3
urllib3.PoolManager(cert_reqs="CERT_NONE").request("GET", sys.argv[1] + "/v1/p/visualization-jobs/197")
"""


def test_insecure_mode_is_said_once_per_process_in_our_words_and_only_for_our_requests(
    tmp_path: Path,
) -> None:
    context, _ = self_signed(tmp_path)
    with RawServer(ANSWER_197, tls=context) as server:
        command = [sys.executable, "-c", _INSECURE_CHILD, server.url]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    ours = [line for line in lines if "TLS certificate verification is off" in line]
    assert len(ours) == 1 and "modelarts:insecure" in ours[0]
    # urllib3's own warning is left alone for requests that are not ours: exactly one.
    assert sum("InsecureRequestWarning" in line for line in lines) == 1, done.stderr


class _Interrupted:
    """A socket whose ``makefile`` is interrupted, as Ctrl-C does the first Python line it reaches."""

    def makefile(self, mode: str) -> Any:
        raise KeyboardInterrupt


def test_an_answer_interrupted_as_it_is_made_closes_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C as http.client makes the answer's object (before it holds the socket's file) leaves
    one half made, which is closed as it is collected: quietly, nothing printed past the CLI's line."""
    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    interrupted = False
    try:
        transport._FinalResponse(_Interrupted())  # type: ignore[arg-type]
    except KeyboardInterrupt:
        interrupted = True  # the traceback, and the half-made answer in it, go once this block ends
    gc.collect()  # Python 3.13 prints what closing it raises; earlier ones, in development mode (-X dev)
    assert interrupted and [repr(hook.exc_value) for hook in unraisable] == []
    transport._FinalResponse.__new__(transport._FinalResponse).close()  # as collecting it does, on any Python


@pytest.mark.parametrize("step", ["release", "stop"])
def test_the_watchdog_interrupted_as_it_takes_its_lock_leaves_it_free(step: str) -> None:
    """Ctrl-C as a call's end (or the process's exit) takes the watchdog's lock leaves it free: the
    watchdog thread, which ends every other thread's call at its deadline, does not wait on it for ever."""
    from tests.test_client import _interrupted_at

    for opcode in itertools.count():
        watchdog = transport._Watchdog()
        budget = transport.CallBudget(time.monotonic() + 60, 60)
        steps: dict[str, Callable[[], object]] = {"release": functools.partial(watchdog.release, budget)}
        interrupted = _interrupted_at(opcode, threading.__file__, steps.get(step, watchdog.stop))
        assert not watchdog._wakeup._is_owned(), f"left held by an interrupt at instruction {opcode}"  # type: ignore[attr-defined]
        if not interrupted:
            break
