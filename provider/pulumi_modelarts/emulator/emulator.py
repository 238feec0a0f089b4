"""``ModelArtsEmulator``, the emulator's public face. Each request: route -> latency -> fault
(before authentication, like a flaky network) -> the gateway's checks -> the call -> request log.
One lock guards the backend, faults and log; sleeps happen outside it."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import math
import os
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from ..settings import PROXY_VARIABLES, SETTING_KEYS, bypasses_proxy, unpadded
from . import wire
from .backend import DEFAULT_PROJECT_ID, Backend, EmulatorCredentials, check_seconds, is_text
from .server import EmulatorHTTPServer
from .wire import Reply, Request

#: The seed file shipped with the package (four realistic jobs on ``DEFAULT_PROJECT_ID``).
SAMPLE_JOBS_PATH: Final = Path(__file__).with_name("sample_jobs.json")
#: Environment variable -> stack config key, as the client reads both (for ``stack_config``).
_STACK_CONFIG_KEYS: Final = {env: key.config_key for key in SETTING_KEYS for env in key.env}
#: Records kept; older ones fall off so a long-running CLI emulator does not grow without bound.
MAX_RECORDS: Final = 100_000
_MAX_SEED_BYTES: Final = 64 << 20  # far above any seed of jobs; bounds what a wrong --seed path reads


@dataclasses.dataclass(frozen=True)
class RequestRecord:
    """One request, never its headers, body or credentials: ``time`` is ``time.monotonic()`` at
    arrival, ``status`` None for a dropped or reset connection, ``auth`` what was presented."""

    method: str
    path: str
    query: dict[str, list[str]]
    time: float
    status: int | None
    route: str
    auth: Literal["token", "aksk"] | None


#: Fault options that shape an answer (``drop`` and ``reset`` send none), with ``truncate``.
_ANSWER_OPTIONS: Final = ("status", "error_code", "error_message", "retry_after", "body", "content_type")


@dataclasses.dataclass(frozen=True)
class Fault:
    """How the next ``count`` answers on ``route`` (from ``wire.ROUTES``) deviate: ``status`` alone
    answers in the route's error shape (``error_code``/``error_message`` override its defaults);
    ``body`` replaces the answer (status 200 unless given); ``retry_after`` adds the header; ``delay``
    holds the answer back; ``truncate`` sends half the body; ``drop`` closes the connection without
    an answer, ``reset`` with a TCP RST."""

    route: str
    count: int = 1
    status: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    retry_after: int | str | None = None
    delay: float = 0.0
    body: bytes | str | None = None
    content_type: str | None = None
    truncate: bool = False
    drop: bool = False
    reset: bool = False

    def __post_init__(self) -> None:
        if self.route not in wire.ROUTES:  # a fault on a misspelt route would never fire
            raise ValueError(f"unknown route {self.route!r}; use one of {', '.join(wire.ROUTES)}")
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise ValueError(f"count must be a whole number from 1, got {self.count!r}")  # else for ever
        for name in ("error_code", "error_message", "body", "content_type"):
            if isinstance(value := getattr(self, name), str) and not is_text(value):  # else HTTP 500
                raise ValueError(f"{name} holds a lone surrogate, which UTF-8 cannot carry: {value!r}")
            if not isinstance(value, str | bytes | None if name == "body" else str | None):
                raise ValueError(f"{name} must be text{' or bytes' * (name == 'body')}, got {value!r}")
        for name in ("truncate", "drop", "reset"):  # drop="no" would drop
            if not isinstance(value := getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {value!r}")
        if (status := self.status) is not None:  # an HTTPStatus member is sent as its number
            if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
                raise ValueError(f"status must be an HTTP status from 200 to 599, got {status!r}")
            object.__setattr__(self, "status", int(status))
        if self.body and self.status in (204, 304):  # HTTP ends these answers at their headers
            raise ValueError(f"a {self.status} answer carries no body; leave out body or pick another status")
        check_seconds("delay", self.delay)
        if not isinstance(wait := self.retry_after, str | None):  # HTTP sends whole seconds (not 0.5, 1e+06)
            object.__setattr__(self, "retry_after", math.ceil(check_seconds("retry_after", wait)))
        for name in ("content_type", "retry_after"):  # header values: a line break would end the header
            if isinstance(text := getattr(self, name), str) and not (text.isascii() and text.isprintable()):
                raise ValueError(f"{name} must be printable ASCII, got {text!r}")
        # An option this fault would never use is refused, not left to look as if it had been served.
        given = [name for name in _ANSWER_OPTIONS if getattr(self, name) is not None]
        given += ["truncate"] * self.truncate + ["reset"] * (self.drop and self.reset)
        if (self.drop or self.reset) and given:
            ending = "drop" if self.drop else "reset"
            raise ValueError(f"{ending} sends no answer, so {', '.join(given)} would never be used")
        if {"error_code", "error_message"} & set(given) and (self.status is None or self.body is not None):
            raise ValueError("error_code and error_message word a status's error answer: a status, no body")
        if "content_type" in given and self.body is None:
            raise ValueError("content_type is the type of a body: give the body too")


class ModelArtsEmulator(Backend):
    """The :class:`Backend` (jobs, projects, tokens) served over HTTP like the ModelArts API and
    the IAM calls it needs, with faults and a request log; a context manager, or start()/stop()."""

    def __init__(
        self,
        jobs: Iterable[Mapping[str, Any]] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        project_id: str = DEFAULT_PROJECT_ID,
        region: str = "eu-de",
        credentials: EmulatorCredentials | None = None,
        latency: float = 0.0,
        token_ttl: float = 86400.0,
    ) -> None:
        super().__init__(project_id, region, credentials, token_ttl)
        if not isinstance(host, str) or not host:
            raise ValueError(f"host must be an address or name such as 127.0.0.1, got {host!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be a whole number from 0 to 65535 (0: a free one), got {port!r}")
        self.host = host
        self.port = port  # the bound one once started, kept after stop so a restart reuses it
        self.latency: float = latency  # seconds added to each /v1 request as it arrives; may change
        self._entered = 0  # nested ``with`` blocks: the outermost one stops the emulator
        self._faults: list[Fault] = []
        self._log: collections.deque[RequestRecord] = collections.deque(maxlen=MAX_RECORDS)
        self._server: EmulatorHTTPServer | None = None
        self._stopping = threading.Event()
        for index, job in enumerate(jobs):  # a refusal names the job by its place in the list: jobs[3]
            try:
                if not isinstance(job, Mapping) or "job_name" not in job:
                    got = "one without it" if isinstance(job, Mapping) else type(job).__name__
                    raise ValueError(f"a job must be a JSON object with a job_name, got {got}")
                self.add_job(**job)
            except ValueError as exc:
                raise ValueError(f"jobs[{index}]: {exc}") from None

    @classmethod
    def from_seed_file(cls, path: str | Path, **kwargs: Any) -> ModelArtsEmulator:
        """From ``{"project_id"?, "region"?, "jobs": [...]}`` or a job list; arguments win."""
        with open(path, "rb") as seed:  # bounded: a huge file or /dev/zero is refused, not all read
            text = seed.read(_MAX_SEED_BYTES + 1)
        if len(text) > _MAX_SEED_BYTES:
            raise ValueError(f"larger than {_MAX_SEED_BYTES >> 20} MiB")
        # UTF-8 (a BOM from an editor too), UTF-16, UTF-32; digits past int()'s 4,300 are infinite
        document = json.loads(text, parse_int=lambda n: int(n) if len(n) < 4300 else float(n))
        document = {"jobs": document} if isinstance(document, list) else document
        shape = isinstance(document, dict) and not set(document) - {"project_id", "region", "jobs"}
        if not shape or not isinstance(jobs := document.get("jobs", []), list):
            raise ValueError("expected a list of job objects or {'jobs': [...]}, project_id, region optional")
        kwargs = {key: document[key] for key in ("project_id", "region") if key in document} | kwargs
        return cls(jobs, **kwargs)

    def start(self) -> ModelArtsEmulator:
        """Bind and serve in a daemon thread; a no-op when already running."""
        if self._server is None:
            self._stopping.clear()
            try:
                self._server = EmulatorHTTPServer(self.host, self.port, self._handle)
            except OSError as exc:  # "Address already in use" alone does not say which
                reason = f"cannot listen on {self.host} port {self.port}: {exc.strerror or exc}"
                raise OSError(exc.errno, reason) from None
            self.port = int(self._server.server_address[1])
            self._server.start(f"modelarts-emulator:{self.port}")
        return self

    def stop(self) -> None:
        """Stop serving, end keep-alive connections, and wait for requests in flight; idempotent."""
        if self._server is not None:
            self._stopping.set()  # wakes requests sleeping in a latency or fault delay
            self._server.stop(timeout=5.0)
            self._server = None

    def serve_forever(self) -> None:
        """Blocking variant for the CLI: serve until stop() or Ctrl-C, then shut down cleanly."""
        with self, contextlib.suppress(KeyboardInterrupt):
            while not self._stopping.wait(0.5):
                pass

    def __enter__(self) -> ModelArtsEmulator:
        self.start()
        self._entered += 1
        return self

    def __exit__(self, *_exc: object) -> None:
        self._entered = max(0, self._entered - 1)
        if not self._entered:
            self.stop()

    @property
    def url(self) -> str:
        """ModelArts endpoint base, no trailing slash; on every interface, still through loopback."""
        if self.port == 0:
            raise RuntimeError("the emulator picks its port on start(); start it first")
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)  # noqa: S104
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    @property
    def iam_url(self) -> str:
        """IAM endpoint base: the same server under ``/v3``."""
        return f"{self.url}/v3"

    def environ(self, auth: str = "aksk", include_project: bool = True) -> dict[str, str]:
        """Environment variables that point our client at this emulator, for one auth mode; when a
        proxy this process's environment sets would carry the reads, also ``NO_PROXY`` and
        ``no_proxy`` as set here plus the emulator's host: a proxy elsewhere cannot reach this
        machine's loopback."""
        return self._settings(auth, include_project) | _past_the_proxy(self.url)

    def _settings(self, auth: str, include_project: bool) -> dict[str, str]:
        if auth not in ("aksk", "password", "token"):
            raise ValueError(f"auth must be one of aksk, password, token, got {auth!r}")
        env = {"MODELARTS_ENDPOINT": self.url, "HW_AUTH_URL": self.iam_url, "HW_REGION_NAME": self.region}
        if include_project:
            env["HW_PROJECT_ID"] = self.project_id
        creds = self.credentials
        if auth == "aksk":
            env.update(HW_ACCESS_KEY=creds.access_key, HW_SECRET_KEY=creds.secret_key)
        elif auth == "password":
            env.update(HW_USER_NAME=creds.user_name, HW_USER_PASSWORD=creds.password)
            env["HW_DOMAIN_NAME"] = creds.domain_name
        else:
            env["HW_AUTH_TOKEN"] = self.issue_token()
        return env

    def stack_config(self, auth: str = "aksk", include_project: bool = True) -> dict[str, str]:
        """The settings of :meth:`environ` as ``modelarts:*`` Pulumi stack config (proxies are none)."""
        environ = self._settings(auth, include_project)
        return {_STACK_CONFIG_KEYS[name]: value for name, value in environ.items()}

    def describe(self) -> dict[str, Any]:
        """Addresses and demo credentials, for the CLI to print."""
        where = {"url": self.url, "iam_url": self.iam_url, "region": self.region}
        return where | {"project_id": self.project_id, "credentials": dataclasses.asdict(self.credentials)}

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request so far in order of arrival, also one answered after later ones (held back)."""
        with self.lock:
            return sorted(self._log, key=lambda record: record.time)

    def clear_requests(self) -> None:
        with self.lock:
            self._log.clear()

    def inject_fault(self, route: str, **options: Any) -> None:
        """Queue a :class:`Fault` for the next requests on ``route``, behind those already queued."""
        fault = Fault(route, **options)  # refused here, not on the request it was meant for
        with self.lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    def _handle(self, request: Request) -> Reply:
        arrived = time.monotonic()
        match = wire.route(request.method, request.path)
        with self.lock:
            fault = self._take_fault(match.route)
        delay = (fault.delay if fault else 0.0) + (self.latency if request.path.startswith("/v1/") else 0.0)
        if delay and self._stopping.wait(delay):  # stop() ends the wait: the request goes unanswered
            reply = Reply(0, action="drop")
        elif fault is None:
            reply = self._answer(request, match)
        else:
            reply = self._faulted(request, match, fault)
        status = reply.status if reply.action == "respond" else None
        asked = (request.method, request.path, request.params, arrived)
        with self.lock:
            self._log.append(RequestRecord(*asked, status, match.route, request.auth))
        return reply

    def _take_fault(self, route: str) -> Fault | None:
        """Use up one of the ``count`` uses of the first fault queued for the route."""
        for index, fault in enumerate(self._faults):
            if fault.route == route:
                if fault.count == 1:
                    del self._faults[index]
                else:
                    self._faults[index] = dataclasses.replace(fault, count=fault.count - 1)
                return fault
        return None

    def _answer(self, request: Request, match: wire.Match) -> Reply:
        with self.lock:
            return wire.answer(request, match, self)

    def _faulted(self, request: Request, match: wire.Match, fault: Fault) -> Reply:
        if fault.drop or fault.reset:
            return Reply(0, action="drop" if fault.drop else "reset")
        if fault.body is not None:
            body = fault.body.encode("utf-8") if isinstance(fault.body, str) else fault.body
            reply = Reply(fault.status or 200, body, fault.content_type or wire.JSON_CONTENT_TYPE)
        elif fault.status is not None:
            code, message = fault.error_code, fault.error_message
            reply = wire.fault_error(match.route, fault.status, code, message, request.request_id)
        else:
            reply = self._answer(request, match)
        if fault.truncate:
            reply.body = reply.body[: len(reply.body) // 2]
        if (wait := fault.retry_after) is not None:  # seconds, or an HTTP date as given
            reply.headers["Retry-After"] = str(wait)
        return reply


def _past_the_proxy(url: str) -> dict[str, str]:
    """``NO_PROXY`` (and ``no_proxy``, which wins) as the environment sets it plus ``url``'s host,
    when a proxy set there would carry reads of ``url``; nothing otherwise."""

    def first(field: str) -> str:  # the first variable set of those standing for ``field``
        return next(filter(None, (unpadded(os.environ.get(name, "")) for name in PROXY_VARIABLES[field])), "")

    host, listed = urlsplit(url).hostname or "", first("no_proxy")
    if not first("http_proxy") or bypasses_proxy(host, listed):  # the emulator speaks plain http
        return {}
    value = f"{listed},{host}" if listed else host
    return {"no_proxy": value, "NO_PROXY": value}
