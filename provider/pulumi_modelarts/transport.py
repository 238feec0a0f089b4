"""HTTP plumbing: keep-alive sessions per thread, bounded retries, a per-call deadline, capped bodies.

Retries are urllib3's own ``Retry`` mounted on an ``HTTPAdapter``; the only additions are a
deadline (a retry is not attempted if its back-off would end after the call's deadline) and a
count of attempts so error messages can say how hard we tried.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import HTTPError as Urllib3Error, InvalidHeader, MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from . import __version__
from .errors import InvalidResponseError, ModelArtsError, ServiceError

MAX_BODY_BYTES = 10 * 1024 * 1024
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_AFTER_CAP_SECONDS = 60
USER_AGENT = f"pulumi-modelarts/{__version__}"


@dataclass
class CallBudget:
    """Deadline and attempt count of the call in progress on this thread."""

    deadline: float
    retries: int = 0

    @property
    def attempts(self) -> int:
        return self.retries + 1

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


_BUDGET: ContextVar[CallBudget | None] = ContextVar("modelarts_call_budget", default=None)


class BoundedRetry(Retry):
    """urllib3 ``Retry`` that gives up rather than sleep past the current call's deadline."""

    def get_retry_after(self, response: Any) -> float | None:
        try:
            return super().get_retry_after(response)
        except InvalidHeader:
            return None  # a garbled Retry-After falls back to exponential back-off

    def increment(self, *args: Any, **kwargs: Any) -> BoundedRetry:
        new_retry = super().increment(*args, **kwargs)
        budget = _BUDGET.get()
        if budget is not None:
            response = kwargs.get("response", args[2] if len(args) > 2 else None)
            planned = new_retry.get_retry_after(response) if response is not None else None
            wait = planned if planned is not None else new_retry.get_backoff_time()
            if wait >= budget.remaining():
                url = kwargs.get("url", args[1] if len(args) > 1 else None)
                error = kwargs.get("error") or ResponseError("the call's deadline would pass")
                raise MaxRetryError(kwargs.get("_pool"), url, error)  # type: ignore[arg-type]
            budget.retries += 1
        return new_retry


@dataclass(frozen=True)
class HttpResponse:
    """A fully read response: status, headers and at most MAX_BODY_BYTES of body."""

    status: int
    headers: CaseInsensitiveDict[str]
    body: bytes
    attempts: int

    @property
    def request_id(self) -> str | None:
        return self.headers.get("X-Request-Id") or self.headers.get("X-IAM-Trace-Id")


@dataclass(frozen=True)
class RequestContext:
    """What an error message should name about the request that failed."""

    operation: str
    host: str
    project_id: str | None = None
    job_id: int | None = None

    def error(self, cls: type[ModelArtsError], summary: str, **extra: Any) -> ModelArtsError:
        return cls(
            summary,
            operation=self.operation,
            job_id=self.job_id,
            project_id=self.project_id,
            host=self.host,
            **extra,
        )


def host_of(url: str) -> str:
    """``host[:port]`` of a URL, as error messages show it."""
    return urlsplit(url).netloc


class Transport:
    """Sends requests through one keep-alive ``requests.Session`` per thread."""

    def __init__(
        self,
        *,
        max_retries: int,
        connect_timeout: float,
        read_timeout: float,
        deadline: float,
        verify: bool | str,
        redact: Callable[[str], str] = lambda text: text,
    ) -> None:
        self._retry = BoundedRetry(
            total=max_retries,
            connect=max_retries,
            read=max_retries,
            status=max_retries,
            other=0,
            redirect=0,
            allowed_methods=frozenset({"GET", "HEAD"}),
            status_forcelist=RETRY_STATUSES,
            backoff_factor=0.25,
            backoff_max=8.0,
            backoff_jitter=0.25,
            respect_retry_after_header=True,
            retry_after_max=RETRY_AFTER_CAP_SECONDS,
            raise_on_status=False,
            raise_on_redirect=False,
        )
        self._timeouts = (connect_timeout, read_timeout)
        self._deadline = deadline
        self._verify = verify
        self.redact = redact
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Transport(retries={self._retry.total}, timeouts={self._timeouts}, deadline={self._deadline})"

    def session(self) -> requests.Session:
        """This thread's session; created on first use so nothing is shared across threads."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(max_retries=self._retry, pool_connections=4, pool_maxsize=4)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
            session.verify = self._verify
            session.trust_env = False  # proxies and netrc would bypass our auth and TLS choices
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        """Close every session this transport opened."""
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()

    def send(
        self,
        method: str,
        url: str,
        *,
        context: RequestContext,
        auth: AuthBase | None = None,
        json_body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """Send one request (with retries) and read its body; transport failures become errors."""
        budget = CallBudget(deadline=time.monotonic() + self._deadline)
        token = _BUDGET.set(budget)
        try:
            connect, read = self._timeouts
            timeout = (connect, max(0.05, min(read, budget.remaining())))
            try:
                response = self.session().request(
                    method,
                    url,
                    auth=auth,
                    json=json_body,
                    headers=dict(headers or {}),
                    timeout=timeout,
                    allow_redirects=False,
                    stream=True,
                )
            except (requests.RequestException, Urllib3Error) as exc:
                raise context.error(
                    ServiceError,
                    f"{_describe_failure(exc)} after {budget.attempts} attempt(s)",
                    hint=_failure_hint(exc),
                ) from None
            try:
                body = self._read_body(response, context)
            except BaseException:
                response.close()  # discard a connection whose body was not read to the end
                raise
            response.raw.release_conn()  # body fully read: the connection goes back to the pool
            return HttpResponse(
                status=response.status_code,
                headers=response.headers,
                body=body,
                attempts=budget.attempts,
            )
        finally:
            _BUDGET.reset(token)

    @staticmethod
    def _read_body(response: requests.Response, context: RequestContext) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise context.error(
                InvalidResponseError,
                f"response body of {int(declared)} bytes exceeds the {MAX_BODY_BYTES >> 20} MiB limit",
                status=response.status_code,
                request_id=response.headers.get("X-Request-Id"),
            )
        try:
            body: bytes = response.raw.read(MAX_BODY_BYTES + 1, decode_content=True)
        except (requests.RequestException, Urllib3Error, OSError) as exc:
            raise context.error(
                InvalidResponseError,
                f"response body was cut off ({type(exc).__name__})",
                status=response.status_code,
                request_id=response.headers.get("X-Request-Id"),
            ) from None
        if len(body) > MAX_BODY_BYTES:
            raise context.error(
                InvalidResponseError,
                f"response body exceeds the {MAX_BODY_BYTES >> 20} MiB limit",
                status=response.status_code,
                request_id=response.headers.get("X-Request-Id"),
            )
        return body


def _describe_failure(exc: BaseException) -> str:
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake or certificate verification failed"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "no response within the read timeout"
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = str(exc)
        if "Read timed out" in text:
            return "no response within the read timeout"
        if "NameResolution" in text or "Name or service not known" in text:
            return "host name could not be resolved"
        if "refused" in text:
            return "connection refused"
        return "connection failed or was reset"
    return f"request failed ({type(exc).__name__})"


def _failure_hint(exc: BaseException) -> str:
    if isinstance(exc, requests.exceptions.SSLError):
        return "Set modelarts:caCertFile to your CA bundle (or insecure, for testing only)"
    return "Check the endpoint and network; raise modelarts:timeout or maxRetries if the service is slow"
