"""HTTP plumbing: a keep-alive ``HTTPAdapter`` per thread with urllib3's ``Retry``, bodies capped at
10 MiB after decoding, and the proxies of the environment the settings were resolved from. A call's
deadline (``modelarts:timeout``) covers every phase but name resolution: timeouts are cut to the time
left, no retry is made whose back-off ends past it, and a watchdog thread shuts down the sockets of a
call still running at it (a server trickling bytes would restart a read timeout forever)."""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import re
import socket
import ssl
import threading
import time
import weakref
import zlib
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from email.errors import MultipartInvariantViolationDefect, StartBoundaryNotFoundDefect
from http.client import BadStatusLine, HTTPException, HTTPResponse as _HttpClientResponse, parse_headers
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from requests.exceptions import ConnectTimeout, InvalidHeader, ProxyError, ReadTimeout, SSLError
from requests.hooks import dispatch_hook
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import HTTPError as Urllib3Error, MaxRetryError, NewConnectionError, ProtocolError

from . import __version__
from .errors import (
    InvalidResponseError,
    ModelArtsError,
    RequestContext,
    ServiceError,
    one_line,
    redact,
    register_secrets,
)
from .locks import Lock
from .settings import SecretDict, Settings, check_ca_bundle

MAX_BODY_BYTES = 10 * 1024 * 1024
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})  # 408: "may repeat later unchanged"
RETRY_AFTER_CAP_SECONDS = 60
REFUSED_RETRIES = 2  # of a refused connection or an unknown host: back-off 0 s, then about 0.5 s
_HEADERS = {
    "User-Agent": f"pulumi-modelarts/{__version__}",
    "Accept": "application/json",
    "Accept-Encoding": "gzip",  # the only encoding asked for, and, with identity, the only one accepted
    "Connection": "keep-alive",
}
_CHUNK_BYTES = 64 * 1024
_TIMEOUT_HINT = "Raise modelarts:timeout if the service is this slow, or check the network"
_READ_TIMEOUT_HINT = "Raise modelarts:readTimeout if the service is this slow"
_CHECK_ENDPOINT = "Check modelarts:endpoint / authUrl (scheme, host and port) and the network"
_LOG = logging.getLogger("pulumi_modelarts")
#: What a multipart Content-Type raises when only a header block is parsed (urllib3 ignores them too).
_HEADER_BLOCK_DEFECTS = (StartBoundaryNotFoundDefect, MultipartInvariantViolationDefect)


def _scrubbed(record: logging.LogRecord) -> bool:
    """urllib3 logs server text as sent: the exception a retry follows, at WARNING, with the status
    line http.client quotes (urllib3/urllib3#2583), and header lines it could not parse. Its records
    are scrubbed as errors are, so that a server or proxy echoing a secret there cannot log it."""
    if record.exc_info:
        record.exc_text, record.exc_info = logging.Formatter().formatException(record.exc_info), None
    record.msg, record.args = redact(record.getMessage()), ()
    record.exc_text = record.exc_text and redact(record.exc_text)
    return True


for _module in ("connection", "connectionpool", "poolmanager", "response", "util.retry"):
    logging.getLogger(f"urllib3.{_module}").addFilter(_scrubbed)


@dataclass(eq=False)
class CallBudget:
    """Deadline, attempts and open sockets of the call in progress on this thread."""

    deadline: float
    seconds: float
    retries: int = 0
    refused: int = 0
    cut: bool = False  # the deadline, not maxRetries, ended the retries of the request in progress
    expired: bool = False
    engine: bool = False  # a request from the engine, ended as its provider process exits
    reused: bool = False  # the attempt in progress was sent on a kept-alive connection
    sockets: list[socket.socket] = field(default_factory=list)
    closed: list[socket.socket] = field(default_factory=list)  # to close when the call ends

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def expire(self) -> None:
        self.expired = True
        for sock in self.sockets:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)

    def timed_out(self) -> tuple[str, str]:
        return f"no complete answer within the call's timeout of {self.seconds:g} s", _TIMEOUT_HINT


_BUDGET: ContextVar[CallBudget | None] = ContextVar("modelarts_call_budget", default=None)


class _Watchdog:
    """One thread per process, started on first use, that ends the calls still running at their deadline."""

    def __init__(self) -> None:
        # Taken by ``with self._mutex``, the lock's own (C) method: Condition's Python ``__enter__`` let
        # Ctrl-C land with the lock taken and never given back, and this thread wait for it for ever.
        self._mutex = threading.RLock()
        self._wakeup = threading.Condition(self._mutex)
        self._active: set[CallBudget] = set()
        self._next = float("inf")  # the deadline the thread sleeps until
        self._thread: threading.Thread | None = None
        self.stopping = threading.Event()  # set as the process exits: every call ends at once

    def add(self, budget: CallBudget) -> None:
        with self._mutex:
            self._active.add(budget)
            if budget.engine and self.stopping.is_set():
                budget.expire()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="modelarts-deadlines", daemon=True)
                try:
                    self._thread.start()
                except RuntimeError:  # at exit on Python 3.12.0-3.12.1 (python/cpython#113964): timeouts
                    self._thread = None  # cut to the time left still bound the call
            elif budget.deadline < self._next:
                self._wakeup.notify()

    def watch(self, sock: socket.socket) -> None:
        budget = _BUDGET.get()
        with self._mutex:
            if budget is not None and budget in self._active and sock not in budget.sockets:
                budget.sockets.append(sock)
                if budget.expired:
                    budget.expire()

    def close_later(self, sock: socket.socket) -> bool:
        """Keep a handle open while a call still reads through it (``Connection: close`` hands the
        socket to the response); False if no call does."""
        budget = _BUDGET.get()
        with self._mutex:
            if budget is None or budget not in self._active or sock not in budget.sockets:
                return False
            budget.closed.append(sock)
            return True

    def release(self, budget: CallBudget, *, finished: bool = False) -> None:
        """Forget the call's sockets: their connections went back to the pool or are gone."""
        with self._mutex:
            if finished:
                self._active.discard(budget)
            budget.sockets.clear()
            for sock in budget.closed:
                sock.close()
            budget.closed.clear()

    def stop(self) -> None:
        """End the engine's calls now and from now on, as at their deadline: the provider process is
        exiting, which the engine kills a few seconds after SIGINT (pulumi/pulumi#19603) while Python
        waits for each worker's call. A program's own threads and atexit handlers read on."""
        with self._mutex:
            self.stopping.set()
            for budget in self._active:
                if budget.engine:
                    budget.expire()

    def _run(self) -> None:
        with self._mutex:
            while True:
                now = time.monotonic()
                for budget in self._active:
                    if budget.deadline <= now and not budget.expired:
                        budget.expire()
                self._next = min((b.deadline for b in self._active if not b.expired), default=float("inf"))
                self._wakeup.wait(None if self._next == float("inf") else self._next - now)


_WATCHDOG = _Watchdog()


@contextlib.contextmanager
def call_deadline(seconds: float, *, engine: bool = False) -> Iterator[CallBudget]:
    """The deadline of the call in progress, starting one of ``seconds`` unless a caller already did;
    an ``engine`` call also ends as the process exits."""
    budget = _BUDGET.get()
    if budget is not None:
        yield budget
        return
    if engine:
        _stop_at_exit()
    budget = CallBudget(time.monotonic() + seconds, seconds, engine=engine)
    token = _BUDGET.set(budget)
    try:  # a KeyboardInterrupt anywhere (a notebook goes on after it) leaves no deadline behind
        _WATCHDOG.add(budget)
        yield budget
    finally:
        _BUDGET.reset(token)
        _WATCHDOG.release(budget, finished=True)


@contextlib.contextmanager
def held(lock: Lock, context: RequestContext) -> Iterator[None]:
    """``lock``, which a thread holds while it fetches what the others wait for (an IAM token, the
    project), waited for no longer than the call in progress may still take."""
    budget = _BUDGET.get()
    if not lock.acquire(timeout=-1 if budget is None else max(budget.remaining(), 0.0)):
        assert budget is not None
        summary, hint = budget.timed_out()
        raise context.error(ServiceError, summary, hint=hint)
    try:
        yield
    finally:
        lock.release()


@functools.cache
def _stop_at_exit() -> None:
    """Stop the watchdog before the interpreter joins the SDK's worker threads (concurrent.futures'
    private hook, Python 3.9+; without it reads end at their deadline); not registered during exit."""
    with contextlib.suppress(RuntimeError):  # "can't register atexit after shutdown"
        getattr(threading, "_register_atexit", lambda _: None)(_WATCHDOG.stop)


_TRANSPORTS: weakref.WeakSet[Transport] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """The child has no watchdog thread nor the parent's calls, and must not send on its kept-alive
    connections (each would read the other's answers): collected, their pools close (not shut down) them."""
    _WATCHDOG.__init__()  # type: ignore[misc]
    for transport in list(_TRANSPORTS):
        transport._local, transport._adapters = threading.local(), weakref.WeakSet()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class _FinalResponse(_HttpClientResponse):
    """The final answer: http.client skips only ``100 Continue`` (none before a proxy's tunnel), so
    another interim answer (``102``, ``103 Early Hints``; RFC 9110 15.2) was taken for it, and the
    real one, left on the connection, was read as the next request's (python/cpython#42550,
    urllib3/urllib3#3336). Framing that http.client would read until the server closes (an invalid
    ``Content-Length``, a transfer coding never asked for; python/cpython#150751, a header line
    that is no field, after which it takes the rest for the body) or a first line that is not
    HTTP's, which may never end (HTTP/0.9, a TLS alert), is refused at once instead of waiting for
    the deadline."""

    #: None until http.client opens the socket's file: one interrupted before (Ctrl-C) is collected,
    #: and closed, quietly (its ``close`` reads this; Python 3.13 prints what a collected one raises).
    fp: Any = None

    def _read_status(self) -> tuple[str, int, str]:
        """The final status line, past interim answers and their fields: a proxy's to ``CONNECT`` too."""
        while True:
            if not b"HTTP/".startswith(self.fp.peek(5)[:5]):
                raise BadStatusLine("not an HTTP/1.x status line")
            version, status, reason = super()._read_status()  # type: ignore[misc]
            if not 100 <= status < 200 or status == 101:
                return version, status, reason
            parse_headers(self.fp)  # at most 100 fields of 64 KiB, as the answer's own

    def begin(self) -> None:
        super().begin()
        codings = self.headers.get_all("Transfer-Encoding", ())  # fields that name no coding: refused
        coding = ", ".join(_listed(codings)).lower() or ("" if codings else "identity")
        if coding == "chunked" and not self.chunked:  # "chunked ", ", chunked": no part of a value
            self.chunked, self.chunk_left, self.length = True, None, None
        fields = () if self.chunked else self.headers.get_all("Content-Length", ())
        lengths = set(_listed(fields))
        if (
            not 200 <= self.status < 600  # 101 Switching Protocols was never asked for either
            or coding not in ("identity", "chunked")  # "chunked" last and once, or not at all
            or len(lengths) != bool(fields)  # one length, however often said; a field says one
            or not all(length.isascii() and length.isdigit() for length in lengths)
            or any(not isinstance(defect, _HEADER_BLOCK_DEFECTS) for defect in self.headers.defects)
        ):
            raise HTTPException("unusable status or framing")
        if lengths and self.length is None:  # "74, 74": one length, said twice (RFC 9110 8.6)
            self.length = int(lengths.pop())


def _listed(fields: Iterable[str]) -> list[str]:
    """The elements of a list header's fields, whose empty ones count for nothing (RFC 9110 5.6.1)."""
    return [element for field in fields for element in map(str.strip, field.split(",")) if element]


class _WatchedConnection(HTTPConnection):
    """Registers a duplicate of its socket with the call in progress, for the watchdog (TLS
    wrapping detaches the original object during the handshake)."""

    response_class = _FinalResponse
    _handle: socket.socket | None = None
    _carried = False  # the socket has carried a request before
    #: http.client's debug output (``debuglevel = 1``, as requests' docs suggest) prints tokens,
    #: signatures and password logins to stdout unscrubbed; urllib3's DEBUG log still names requests.
    debuglevel = 0

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self._close_handle()
        self._carried = False
        self._handle = sock.dup()
        _WATCHDOG.watch(self._handle)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        if budget := _BUDGET.get():
            budget.reused = self._carried and self.sock is not None
        if self._handle is not None:  # a kept-alive connection serving another call
            _WATCHDOG.watch(self._handle)
        super().request(*args, **kwargs)
        self._carried = True

    def getresponse(self) -> Any:
        """The answer. A connection that fails here had reached its proxy, but http.client closes it
        on a reset or a close before raising, and urllib3 then took it for a proxy it could not reach
        (urllib3/urllib3#458): a kept-alive connection a proxy or tunnel had closed was never retried."""
        proxied = self.has_connected_to_proxy
        try:
            return super().getresponse()
        except BaseException:
            self._has_connected_to_proxy = proxied  # the pool discards the connection right after
            raise

    def close(self) -> None:
        super().close()
        self._close_handle()

    def _close_handle(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None and not _WATCHDOG.close_later(handle):
            handle.close()


class _WatchedHTTPSConnection(_WatchedConnection, HTTPSConnection):
    pass


def _within(timeout: object, left: float) -> float:
    return min(timeout, left) if isinstance(timeout, int | float) else left


class _DeadlinePool(urllib3.HTTPConnectionPool):
    """Each attempt (retries included) gets connect and read timeouts cut to the time left."""

    ConnectionCls = _WatchedConnection

    def urlopen(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        budget = _BUDGET.get()
        timeout = kwargs.get("timeout")
        if budget is not None and isinstance(timeout, urllib3.Timeout):
            left = max(budget.remaining(), 0.001)
            kwargs["timeout"] = urllib3.Timeout(
                connect=_within(timeout.connect_timeout, left), read=_within(timeout.read_timeout, left)
            )
        return super().urlopen(method, url, *args, **kwargs)


class _DeadlineHTTPSPool(_DeadlinePool, urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection

    def _validate_conn(self, conn: Any) -> None:
        # urllib3's, minus its InsecureRequestWarning per request: modelarts:insecure was said once
        urllib3.HTTPConnectionPool._validate_conn(self, conn)
        if conn.is_closed:
            try:
                conn.connect()
            except TimeoutError:  # the handshake, which urllib3 reports as a read timeout
                raise urllib3.exceptions.ConnectTimeoutError(conn, "TLS handshake timed out") from None

    def _prepare_proxy(self, conn: Any) -> None:
        try:  # a proxy's answer to CONNECT, then the handshake through it: bounded by connectTimeout
            super()._prepare_proxy(conn)
        except TimeoutError:  # which urllib3 reports as a read timeout too
            raise urllib3.exceptions.ConnectTimeoutError(conn, "tunnel timed out") from None


_POOL_CLASSES = {"http": _DeadlinePool, "https": _DeadlineHTTPSPool}


class _DeadlineAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose pools (direct and through proxies) honour the call's deadline; its
    proxy managers are held by proxy URL, a password in it hidden from ``repr()``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.proxy_manager = SecretDict()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOL_CLASSES

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:  # noqa: ARG002
        """By the scheme of the pool, not the URL's: an ``https://`` proxy an ``http://`` URL is sent
        through was never verified (psf/requests#6103), its Proxy-Authorization sent to any host."""
        super().cert_verify(conn, f"{conn.scheme}:", verify, cert)  # type: ignore[no-untyped-call]

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> urllib3.PoolManager:
        manager: urllib3.PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOL_CLASSES
        return manager


def _tunnel_status(error: BaseException | None) -> int | None:
    """The status a proxy answered a ``CONNECT`` with, if ``error`` (urllib3's or requests') is its
    refusal to open the tunnel."""
    refusal = isinstance(error, ProxyError | urllib3.exceptions.ProxyError)
    found = re.search(r"Tunnel connection failed: (\d{3})", str(error)) if refusal else None
    return int(found[1]) if found else None


def _is_refused(error: BaseException | None) -> bool:
    """Nothing there to retry soon: a refused connection, or a host name DNS says does not exist; or
    a proxy's 502, 503 or 504 to a ``CONNECT`` (Squid's, when the endpoint refuses or is unknown)."""
    if _tunnel_status(error) in RETRY_STATUSES:
        return True
    error = getattr(error, "original_error", error)  # a proxy's too
    cause = error.__cause__ if isinstance(error, NewConnectionError) else None
    return isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == socket.EAI_NONAME


def _not_http(error: BaseException | None) -> BaseException | None:
    """What http.client or requests found not HTTP/1.1 in an answer, if that is ``error``'s cause (a
    closed connection, which http.client reports as a bad status line too, is no answer at all)."""
    cause = error.args[-1] if isinstance(error, ProtocolError) and error.args else error
    invalid = isinstance(cause, HTTPException | InvalidHeader) and not isinstance(cause, ConnectionError)
    return cause if invalid else None


#: What urllib3 raises for a Retry-After it cannot turn into seconds: garbled, over 4300 digits, a
#: date in the year 99999. The retries fall back to exponential back-off; errors do not quote it.
_UNREADABLE_RETRY_AFTER = (urllib3.exceptions.InvalidHeader, ValueError, OverflowError)


def heeded_retry_after(value: str) -> str | None:
    """The ``Retry-After`` the retries heed (seconds or an HTTP date), else None. One said in two
    fields (a gateway's and the service's), which arrive joined, is one: ``5, 5`` is ``5``."""
    said = set(_listed([value]))
    value = said.pop() if len(said) == 1 else value
    try:
        urllib3.Retry().parse_retry_after(value)
    except _UNREADABLE_RETRY_AFTER:
        return None
    return value


class BoundedRetry(urllib3.Retry):
    """urllib3 ``Retry`` that stops at the call's deadline, gives up early on refusals, and retries
    once more, whatever ``total`` says, a request whose kept-alive connection the server had closed
    (as browsers and Go's net/http do: the request was never read)."""

    wait = 0.0  # drawn once per retry (urllib3 would draw its jitter again when sleeping)

    def _is_connection_error(self, err: Exception) -> bool:
        """Also a proxy's answer to a ``CONNECT`` with a status retried on an answer (a 503): urllib3
        retries none of them, so a proxy's hiccup failed every https read at once."""
        return super()._is_connection_error(err) or _tunnel_status(err) in RETRY_STATUSES

    def get_retry_after(self, response: Any) -> float | None:
        value = heeded_retry_after(response.headers.get("Retry-After") or "")
        seconds = None if value is None else self.parse_retry_after(value)
        # Capped here: urllib3's own ``retry_after_max`` came only in 2.6.3.
        return None if seconds is None else min(seconds, RETRY_AFTER_CAP_SECONDS)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> BoundedRetry:
        budget = _BUDGET.get()
        if budget and budget.reused and not budget.expired and isinstance(error, ProtocolError):
            budget.reused, budget.retries = False, budget.retries + 1
            return self.new()
        if _not_http(error):  # a server that does not speak HTTP/1.1 there will not start to
            raise MaxRetryError(_pool, url, error)
        new_retry: BoundedRetry = super().increment(method, url, response, error, _pool, _stacktrace)
        # A Retry-After of 0 s (or a date past) means the back-off, as urllib3 sleeps it.
        planned = new_retry.get_retry_after(response) if response is not None else None
        new_retry.wait = planned or new_retry.get_backoff_time()
        if budget is not None:
            budget.refused += _is_refused(error)
            if budget.expired or new_retry.wait >= budget.remaining() or budget.refused > REFUSED_RETRIES:
                budget.cut = budget.refused <= REFUSED_RETRIES
                reason = error or urllib3.exceptions.ResponseError("the call's deadline would pass")
                raise MaxRetryError(_pool, url, reason)
            budget.retries += 1
        if response is not None:  # dropped with its connection: urllib3 reads the body of an answer it
            response.close()  # retries to its end first, one that stalls or never ends (2.0: into memory)
        return new_retry

    def sleep(self, response: Any = None) -> None:  # noqa: ARG002 - the wait is drawn already
        budget = _BUDGET.get()
        _WATCHDOG.stopping.wait(self.wait) if budget and budget.engine else time.sleep(self.wait)


def to_raise(cut: bool) -> str:
    """The setting that lets retries go on: more of them, or, with some left, time for the next one."""
    if cut:
        return "modelarts:timeout (the wait before the next retry would end past the call's deadline)"
    return "modelarts:maxRetries"


@dataclass(frozen=True)
class HttpResponse:
    """A fully read response: status, headers and at most MAX_BODY_BYTES of (decoded) body."""

    status: int
    headers: CaseInsensitiveDict[str]
    body: bytes
    attempts: int
    proxy: str = ""  #: the host of the proxy the request went through, which may have answered itself
    deadline_cut: bool = False  #: the call's deadline, not maxRetries, ended the retries

    @property
    def request_id(self) -> str | None:
        return request_id(self.headers)


def request_id(headers: Mapping[str, str]) -> str | None:
    """The ID an answer's server gives it: the gateway's ``X-Request-Id``, an OpenStack service's
    ``X-Openstack-Request-Id`` (what OTC's SDK reports), IAM's ``X-IAM-Trace-Id``."""
    return (
        headers.get("X-Request-Id") or headers.get("X-Openstack-Request-Id") or headers.get("X-IAM-Trace-Id")
    )


@functools.cache
def _say_insecure_once() -> None:
    _LOG.warning(
        "pulumi-modelarts: TLS certificate verification is off (modelarts:insecure / HW_INSECURE), so "
        "anyone on the network path can read and change the traffic; use it only for testing"
    )


class Transport:
    """Sends requests through one keep-alive ``HTTPAdapter`` per thread."""

    def __init__(self, settings: Settings) -> None:
        self._retry = BoundedRetry(
            total=settings.max_retries,  # connection, read and status retries alike; no others
            other=0,
            allowed_methods=frozenset({"GET", "POST"}),  # POST: only IAM's token request, safe to repeat
            status_forcelist=RETRY_STATUSES,
            backoff_factor=0.25,
            backoff_max=8.0,
            backoff_jitter=0.25,
            raise_on_status=False,
        )
        self._timeouts = (settings.connect_timeout, settings.read_timeout)
        self._seconds = settings.timeout
        self._options: dict[str, Any] = {"stream": True, "timeout": self._timeouts, "verify": settings.verify}
        self._ca_bundle = settings.verify if isinstance(settings.verify, str) else None
        if settings.verify is False:
            _say_insecure_once()
        proxied = settings.https_proxy is not None or settings.http_proxy is not None
        self._proxy_for = settings.proxy_for if proxied else None
        self._proxies = SecretDict()  # (scheme, host): the proxies mapping requests is given, hidden too
        self._secret_values = settings.secret_values  # registered again at each request (send)
        self._local = threading.local()
        #: Each thread's adapter lives as long as its thread: one that ends closes its connections.
        self._adapters: weakref.WeakSet[HTTPAdapter] = weakref.WeakSet()
        self._adapters_lock = Lock()
        _TRANSPORTS.add(self)

    def __repr__(self) -> str:
        return f"Transport(retries={self._retry.total}, timeouts={self._timeouts}, deadline={self._seconds})"

    def adapter(self) -> HTTPAdapter:
        adapter: HTTPAdapter | None = getattr(self._local, "adapter", None)
        if adapter is None:
            adapter = _DeadlineAdapter(max_retries=self._retry, pool_connections=4, pool_maxsize=4)
            self._local.adapter = adapter
            with self._adapters_lock:
                self._adapters.add(adapter)
        return adapter

    def close(self) -> None:
        with self._adapters_lock:
            adapters, self._adapters = list(self._adapters), weakref.WeakSet()
        for adapter in adapters:
            adapter.close()
        self._local = threading.local()

    def proxies_for(self, url: str) -> dict[str, str]:
        """The proxy mapping for ``url``, worked out once per scheme and host."""
        if self._proxy_for is None:
            return {}
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "")
        if key not in self._proxies:
            proxy = self._proxy_for(url)
            self._proxies[key] = SecretDict() if proxy is None else SecretDict({parts.scheme: proxy})
        result: dict[str, str] = self._proxies[key]
        return result

    def deadline(self) -> contextlib.AbstractContextManager[CallBudget]:
        return call_deadline(self._seconds)

    def _sent(
        self,
        method: str,
        url: str,
        auth: AuthBase | None,
        json_body: Mapping[str, Any] | None,
        retry: urllib3.Retry,
        proxies: dict[str, str],
        context: RequestContext,
        budget: CallBudget,
        first: int,
    ) -> requests.Response:
        """The response to one request (with ``retry``'s retries), its body not read yet."""
        adapter = self.adapter()
        try:
            # Session.send minus what this client never uses: settings merged per call, a cookie
            # jar, and redirects (decoding Location for ``response.next`` lets UnicodeDecodeError
            # escape: psf/requests#4926, reproduced in tests/test_responses.py).
            request = requests.PreparedRequest()
            request.prepare(method=method, url=url, headers=_HEADERS, json=json_body, auth=auth)
            adapter.max_retries = retry  # the retries left of this call's request
            try:
                response = adapter.send(request, proxies=proxies, **self._options)
            finally:
                adapter.max_retries = self._retry
            return dispatch_hook(  # type: ignore[no-any-return]
                "response", request.hooks, response, proxies=proxies, **self._options
            )  # type: ignore[no-untyped-call]
        except (OSError, Urllib3Error) as exc:  # requests' errors are OSErrors, as is a bundle gone
            if self._ca_bundle and (type(exc) is OSError or isinstance(exc, SSLError)):
                check_ca_bundle(self._ca_bundle, whole=True)  # changed since, or a later certificate broken
            summary, hint = _describe_failure(exc, budget, proxies)
            summary += f" after {budget.retries - first + 1} attempt(s)"
            raise context.error(ServiceError, summary, hint=hint) from None

    def send(
        self,
        method: str,
        url: str,
        *,
        context: RequestContext,
        auth: AuthBase | None = None,
        json_body: Mapping[str, Any] | None = None,
    ) -> HttpResponse:
        """Send one request (with retries) and read its body; transport failures become errors. The
        secrets it may carry are registered again first: the registry keeps the most recent, and a
        client in use outlasts any number of other stacks' secrets or tokens a server issues."""
        register_secrets(*self._secret_values())
        with self.deadline() as budget:
            first, budget.cut = budget.retries, False
            proxies = self.proxies_for(url)
            retry: urllib3.Retry = self._retry
            while True:
                response = self._sent(method, url, auth, json_body, retry, proxies, context, budget, first)
                try:
                    body = _read_body(response, context, budget)
                    break
                except _ResetInBody as reset:  # as a reset before the answer: sent again if retries are left
                    response.close()
                    budget.reused = False  # the server read this request: no free retry
                    try:  # from the retries this request left (not a login's, nor a free one): back-off too
                        retry = (response.raw.retries or retry).increment(method, url, error=reset.error)
                    except MaxRetryError:
                        summary = "connection reset while the answer was read"
                        summary += f" after {budget.retries - first + 1} attempt(s)"
                        if budget.expired or budget.remaining() <= 0:
                            summary, _ = budget.timed_out()
                        hint = (
                            f"{_CHECK_ENDPOINT}; raise {to_raise(budget.cut)} if the connection is unreliable"
                        )
                        raise context.error(
                            ServiceError, summary, status=response.status_code, hint=hint
                        ) from None
                    retry.sleep()
                except BaseException:
                    response.close()  # discard a connection whose body was not read to the end
                    raise
            _WATCHDOG.release(budget)
            response.raw.release_conn()  # body fully read: the connection goes back to the pool
            proxy = _proxy_host(proxies)
            if response.status_code == 407 and proxies:  # only a proxy asks for this: never ModelArts
                summary, hint = _proxy_refused(407, proxies)
                raise context.error(ServiceError, summary, status=407, hint=hint)
            attempts = budget.retries - first + 1
            return HttpResponse(response.status_code, response.headers, body, attempts, proxy, budget.cut)


def _read_body(response: requests.Response, context: RequestContext, budget: CallBudget) -> bytes:
    """The body, decoded, refused beyond MAX_BODY_BYTES whether declared, sent or inflated."""

    def refuse(summary: str) -> ModelArtsError:
        status, named = response.status_code, request_id(response.headers)
        return context.error(InvalidResponseError, summary, status=status, request_id=named)

    # A length beside chunked framing plays no part (RFC 9112, 6.3): the chunks are counted as read.
    declared = "" if response.raw.chunked else response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:  # ASCII digits: the framing was checked
        raise refuse(f"response body of {int(declared)} bytes exceeds the {MAX_BODY_BYTES >> 20} MiB limit")
    # "identity" means no coding (RFC 9110 8.4.1), in a list too: "gzip, identity" is gzip.
    codings = map(str.lower, _listed([response.headers.get("Content-Encoding", "")]))
    encoding = ", ".join(coding for coding in codings if coding != "identity") or "identity"
    if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
        shown = one_line(encoding, 40)
        raise refuse(f"response uses Content-Encoding '{shown}', which was not asked for")
    body: bytes | None = b""
    try:
        chunks = response.raw.stream(_CHUNK_BYTES, decode_content=False)  # a cut raises IncompleteRead
        body = _gathered(chunks if encoding == "identity" else _inflated(chunks, encoding))
    except zlib.error:
        raise refuse(f"response body is not valid {encoding} data") from None
    # ValueError: http.client takes a negative chunk size for one and fails reading it (python/cpython#150751)
    except (requests.RequestException, Urllib3Error, OSError, ValueError) as exc:
        budget.expired |= budget.remaining() <= 0  # the deadline's doing, however late the watchdog
        if not budget.expired and _reset(exc):
            raise _ResetInBody(exc) from None
        if isinstance(exc, urllib3.exceptions.ReadTimeoutError | TimeoutError) and not budget.expired:
            summary = "the response body stalled for longer than the read timeout"
            status, hint = response.status_code, _READ_TIMEOUT_HINT
            raise context.error(ServiceError, summary, status=status, hint=hint) from None
        if not budget.expired:
            raise refuse(f"response body was cut off or badly framed ({type(exc).__name__})") from None
    if budget.expired:  # the watchdog ended the read: what arrived may look complete but is not
        summary = f"the response did not arrive within the call's timeout of {budget.seconds:g} s"
        raise context.error(ServiceError, summary, hint=_TIMEOUT_HINT)
    if body is None or len(body) > MAX_BODY_BYTES:
        raise refuse(f"response body exceeds the {MAX_BODY_BYTES >> 20} MiB limit")
    return body


class _ResetInBody(Exception):
    """The connection was reset while the body was read: the network's doing, not the answer's."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error


def _reset(error: BaseException) -> bool:
    """A connection reset (ECONNRESET) behind ``error``, as urllib3 and requests wrap it."""
    while error is not None and not isinstance(error, ConnectionResetError):
        nested = [arg for arg in error.args if isinstance(arg, BaseException)]
        error = nested[-1] if nested else None  # type: ignore[assignment]
    return error is not None


class _Oversized(Exception):
    """More compressed data than MAX_BODY_BYTES arrived, whatever it decodes to."""


def _gathered(parts: Iterator[bytes]) -> bytes | None:
    """The parts, in one buffer that becomes the body uncopied (``BytesIO.getvalue`` hands over its
    buffer; joining a list, as http.client does for a chunked body, holds it twice); None as soon as
    they pass MAX_BODY_BYTES, so that a refused body never holds more than the cap and one part."""
    body = io.BytesIO()
    try:
        for part in parts:
            if body.write(part) and body.tell() > MAX_BODY_BYTES:
                return None
    except _Oversized:
        return None
    return body.getvalue()


def _inflated(chunks: Iterator[bytes], encoding: str) -> Iterator[bytes]:
    """Decode gzip (one member after another, RFC 1952) or deflate (zlib-wrapped, or raw as many
    servers send it) as it arrives, in parts of at most _CHUNK_BYTES: a compression bomb is decoded
    only as far as the reader takes it. _Oversized once the compressed data passes MAX_BODY_BYTES."""
    decoder: Any = None
    received = 0
    pending = b""
    for chunk in chunks:
        received += len(chunk)
        if received > MAX_BODY_BYTES:
            raise _Oversized
        pending += chunk
        while True:
            if decoder is None or decoder.eof:
                if len(pending) < 2 or (decoder is not None and encoding == "deflate"):
                    break  # too little to tell a zlib header from raw deflate, or data past the end
                head = int.from_bytes(pending[:2], "big")
                wrapped = head == 0x1F8B or (head >> 8 & 0x0F == 8 and head % 31 == 0)
                # 47: a gzip or a zlib header, detected; -15: raw deflate; 31: another gzip member
                decoder = zlib.decompressobj(wbits=31 if decoder else 47 if wrapped else -15)
            part = decoder.decompress(pending, _CHUNK_BYTES)
            yield part
            pending = decoder.unused_data if decoder.eof else decoder.unconsumed_tail
            if not pending and len(part) < _CHUNK_BYTES:  # input used up, and zlib holds no more output
                break
    if pending or (decoder is not None and not decoder.eof):  # an empty body is empty
        raise zlib.error("truncated, or followed by other data")


#: What to check when a proxy refused a request, or may have sent an answer that is not the API's.
PROXY_HINT = (
    "Check modelarts:endpoint / authUrl and that the proxy may reach them (else list them in NO_PROXY)"
)


def _proxy_host(proxies: Mapping[str, str]) -> str:
    """The host of the proxy in ``proxies`` ('' for none): never its credentials."""
    return (urlsplit(next(iter(proxies.values()))).hostname or "") if proxies else ""


def _proxy_refused(status: int, proxies: Mapping[str, str]) -> tuple[str, str]:
    """What a proxy's refusal (a CONNECT answered, or a request forwarded, with an error) says: a 407,
    or the 401 some proxies (tinyproxy) send instead, is about the credentials in its URL or their lack."""
    proxy = _proxy_host(proxies)
    if status in (401, 407) and any("@" in urlsplit(url).netloc for url in proxies.values()):
        hint = (
            "Check the user name and password in HTTPS_PROXY / HTTP_PROXY (percent-encode '@', ':' and '%')"
        )
        return f"the proxy {proxy} refused the credentials in its URL (HTTP {status})", hint
    if status == 407:
        hint = (
            "Set the proxy's user name and password in HTTPS_PROXY / HTTP_PROXY as "
            "http://user:pw@host:port (percent-encode '@' and ':')"
        )
        return f"the proxy {proxy} asks for credentials (HTTP 407)", hint
    return f"the proxy {proxy} did not open a tunnel (HTTP {status})", PROXY_HINT


_CHECK_HOST = "Check the host in modelarts:endpoint / authUrl against the certificate's names"
#: OpenSSL's verification results (X509_V_ERR_*) that no CA bundle mends: what each says, what to check.
_NOT_THE_CA = {
    9: ("is not valid yet", "Check this machine's clock and the server's certificate"),
    10: ("has expired", "The server must renew its certificate; check this machine's clock"),
    62: ("is for another host name", _CHECK_HOST),
    64: ("is for another IP address", _CHECK_HOST),
}


_CLIENT_CERT = "pulumi-modelarts sends no client certificate: use an endpoint that does not require one"
#: TLS alerts a server refuses a handshake with (OpenSSL's reasons): it speaks TLS, so the scheme is right.
_TLS_REFUSALS = {
    "TLSV1_UNRECOGNIZED_NAME": (
        "it serves no host of the name sent (SNI)",
        "Name the host in modelarts:endpoint / authUrl as its certificate does (an IP address sends none)",
    ),
    **dict.fromkeys(
        ("TLSV1_ALERT_PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL"),
        ("it shares no TLS version with this client (1.2 or later)", _CHECK_ENDPOINT),
    ),
    "SSLV3_ALERT_HANDSHAKE_FAILURE": (
        "it may require a client certificate, or share no cipher",
        _CLIENT_CERT,
    ),
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": ("it requires a client certificate", _CLIENT_CERT),
}


def _unverified(failed: ssl.SSLCertVerificationError) -> tuple[str, str]:
    """A failed certificate verification, said by its cause: a wrong CA bundle is only one of them."""
    code = failed.verify_code
    if code in _NOT_THE_CA:
        said, hint = _NOT_THE_CA[code]
        return f"TLS certificate verification failed: the server's certificate {said}", hint
    if 80 <= code <= 94:  # RFC 5280's profile (OpenSSL's X509_STRICT), checked from Python 3.13
        said = f"the server's certificate or its CA breaks a rule of RFC 5280 ({failed.verify_message})"
        hint = "Python 3.13+ checks it: reissue that certificate as it says (the CA bundle is not the cause)"
        return f"TLS certificate verification failed: {said}", hint
    hint = "Set modelarts:caCertFile to the CA bundle that signed the endpoint's certificate"
    return "TLS certificate verification failed", hint + " (or insecure, for testing only)"


def _describe_failure(exc: BaseException, budget: CallBudget, proxies: Mapping[str, str]) -> tuple[str, str]:
    """One clause saying what went wrong, and what to do about it; nothing from the URLs' userinfo."""
    inner = exc.args[0] if exc.args else None  # requests wraps urllib3's MaxRetryError
    reason = inner.reason if isinstance(inner, MaxRetryError) and inner.reason else exc
    proxy = _proxy_host(proxies)
    via = f" through the proxy {proxy} (HTTPS_PROXY / HTTP_PROXY)" if proxies else ""  # what was waited on
    if budget.expired or budget.remaining() <= 0:
        summary, hint = budget.timed_out()
        return summary + via, hint
    through = f" or the proxy {proxy} (HTTPS_PROXY / HTTP_PROXY), which may have answered" if proxies else ""
    if isinstance(exc, ProxyError):
        # Its status code only: the reason phrase is the proxy's text, which may echo its credentials.
        if status := _tunnel_status(exc):
            return _proxy_refused(status, proxies)
        tls = getattr(reason, "original_error", None)  # TLS with an https:// proxy
        if isinstance(tls, urllib3.exceptions.SSLError):
            if any(isinstance(arg, ssl.SSLCertVerificationError) for arg in tls.args):
                hint = "Set modelarts:caCertFile to a bundle with the CA that signed it (and the endpoint's)"
                return f"the TLS certificate of the proxy {proxy} could not be verified", hint
            hint = "A proxy spoken to in plain HTTP (most are) is set as http://host:port"
            return f"TLS with the proxy {proxy} (an https:// URL in HTTPS_PROXY / HTTP_PROXY) failed", hint
        hint = "Check HTTPS_PROXY / HTTP_PROXY and NO_PROXY in the environment"
        return f"could not connect through the proxy {proxy}", hint
    if isinstance(exc, SSLError):
        if failed := next((a for a in reason.args if isinstance(a, ssl.SSLCertVerificationError)), None):
            return _unverified(failed)
        alerts = [_TLS_REFUSALS.get(getattr(arg, "reason", None) or "") for arg in reason.args]
        if refusal := next(filter(None, alerts), None):
            return f"the server refused the TLS handshake: {refusal[0]}", refusal[1]
        # e.g. a plain-HTTP server behind an https:// URL
        return "TLS handshake failed", f"{_CHECK_ENDPOINT}: an https:// URL must serve TLS"
    if isinstance(reason, urllib3.exceptions.NameResolutionError):
        hint = "Check modelarts:endpoint / authUrl, region and cloud, and DNS"
        return "host name could not be resolved", hint
    if _is_refused(reason):
        hint = "Check modelarts:endpoint / authUrl and that the service is running there"
        return "connection refused", hint
    if isinstance(exc, ConnectTimeout):
        return f"connecting or the TLS handshake timed out{via}", f"{_CHECK_ENDPOINT} (firewall, proxy)"
    if isinstance(exc, ReadTimeout) or "Read timed out" in str(exc):
        return f"no response within the read timeout{via}", _READ_TIMEOUT_HINT
    if cause := _not_http(reason) or _not_http(exc):
        said = str(cause)  # http.client's limits: "got more than 100 headers", "... when reading header line"
        if said.startswith("got more than "):
            line = said.rpartition(" reading ")[2]
            too_big = "100 header fields or more" if line == said else f"a {line} over 64 KiB"
            hint = f"Check that modelarts:endpoint / authUrl point at the API itself{through}"
            return f"the answer's head is past HTTP clients' limits ({too_big})", hint
        hint = f"Check that modelarts:endpoint / authUrl name the API's scheme, host and port{through}"
        return f"the answer is not valid HTTP/1.1 ({type(cause).__name__})", hint
    hint = f"{_CHECK_ENDPOINT}{through}; raise {to_raise(budget.cut)} if the connection is unreliable"
    return "connection failed or was reset", hint
