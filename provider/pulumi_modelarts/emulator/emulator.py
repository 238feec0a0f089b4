"""``ModelArtsEmulator``: the public face of the emulator and its request pipeline.

Pipeline per request: route -> latency -> fault (before authentication, like a flaky network
or gateway) -> authentication -> project check -> handler -> request log. One lock guards jobs,
tokens, projects, faults and the log; sleeps happen outside it.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from http.client import responses
from pathlib import Path
from typing import Any, Final

from . import iam_api, routes, v1
from .faults import Fault, FaultQueue
from .iam import (
    DEFAULT_PROJECT_ID,
    AuthFailure,
    EmulatorCredentials,
    Identity,
    Principal,
    Project,
    mos_project_id,
    presented_scheme,
)
from .records import RequestLog, RequestRecord
from .routes import Match
from .server import EmulatorHTTPServer
from .state import JobStore
from .wire import (
    JSON_CONTENT_TYPE,
    Reply,
    Request,
    gateway_error,
    iam_error,
    modelarts_error,
    not_found_api,
)

#: The seed file shipped with the package (four realistic jobs on ``DEFAULT_PROJECT_ID``).
SAMPLE_JOBS_PATH: Final = Path(__file__).with_name("sample_jobs.json")

_IDENTIFIER = re.compile(r"[A-Za-z0-9_-]{1,64}")
_AUTH_KINDS: Final = ("aksk", "password", "token")
#: Environment variable -> stack config key, for the variables :meth:`ModelArtsEmulator.environ` sets.
_STACK_CONFIG_KEYS: Final = {
    "MODELARTS_ENDPOINT": "modelarts:endpoint",
    "HW_AUTH_URL": "modelarts:authUrl",
    "HW_REGION_NAME": "modelarts:region",
    "HW_PROJECT_ID": "modelarts:projectId",
    "HW_ACCESS_KEY": "modelarts:accessKey",
    "HW_SECRET_KEY": "modelarts:secretKey",
    "HW_USER_NAME": "modelarts:userName",
    "HW_USER_PASSWORD": "modelarts:password",
    "HW_DOMAIN_NAME": "modelarts:domainName",
    "HW_AUTH_TOKEN": "modelarts:authToken",
}
_STOP_TIMEOUT: Final = 5.0
_PROJECT_MISMATCH: Final = "The project id in the request URL does not match the token"

#: Error code and message a status-only fault answers with, per body shape. Statuses missing
#: here get the gateway's catch-all APIG.0201, which is what an unexpected upstream status shows.
_FAULT_ERRORS: Final[dict[str, dict[int, tuple[str, str]]]] = {
    "modelarts": {
        400: ("ModelArts.0104", "Parameter error"),
        401: ("ModelArts.0202", "Invalid token header because the token has expired"),
        403: ("ModelArts.0108", "You are not authorized to perform the operation"),
        404: ("ModelArts.0015", "The resource you requested is not exist"),
        409: ("ModelArts.5044", "Operations conflict, please try again later"),
        429: ("ModelArts.2799", "services too many requests"),
        500: ("ModelArts.0010", "Internal error"),
        503: ("ModelArts.4302", "Gateway forwarding error"),
        504: ("ModelArts.4503", "Backend response timed out"),
    },
    "iam": {
        400: ("IAM.0011", "Request parameter is invalid"),
        401: ("IAM.0001", "The request you have made requires authentication"),
        403: ("IAM.0002", "You are not authorized to perform the requested action"),
        429: ("IAM.0012", "The throttling threshold has been reached. Threshold: 10 times per 1 seconds"),
    },
    "gateway": {
        401: ("APIG.0301", "Incorrect IAM authentication information"),
        403: ("APIG.0306", "API access denied"),
        404: ("APIG.0101", "The API does not exist or has not been published in the environment"),
        429: ("APIG.0308", "The throttling threshold has been reached"),
    },
}


def _dropped() -> Reply:
    """Close the connection without answering."""
    return Reply(0, action="drop")


def _check_identifier(name: str, value: str) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise ValueError(f"{name} may only contain letters, digits, '_' and '-', got {value!r}")
    return value


class ModelArtsEmulator:
    """Local stand-in for the ModelArts visualization-job API and the IAM calls it needs.

    Use as a context manager (``with ModelArtsEmulator() as em: ...``) or via start()/stop().
    """

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
        not_found_style: str = "400",
        token_ttl: float = 86400.0,
        transition_delay: float = 1.0,
        quota: int = 100,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not_found_style not in v1.NOT_FOUND_STYLES:
            raise ValueError(f"not_found_style must be '400' or '404', got {not_found_style!r}")
        if token_ttl <= 0 or transition_delay < 0 or quota < 0:
            raise ValueError("token_ttl must be positive; transition_delay and quota not negative")
        self._host = host
        self._requested_port = port
        self._bound_port: int | None = None
        self._project_id = _check_identifier("project_id", project_id)
        self._region = _check_identifier("region", region)
        self._credentials = credentials or EmulatorCredentials()
        self._not_found_style = not_found_style
        self._lock = threading.RLock()
        self._identity = Identity(
            self._credentials,
            clock=clock,
            token_ttl=token_ttl,
            projects=[Project(region, project_id), Project("MOS", mos_project_id(project_id))],
        )
        self._store = JobStore(project_id, clock=clock, transition_delay=transition_delay, quota=quota)
        self._faults = FaultQueue()
        self._log = RequestLog()
        self._latency = 0.0
        self.latency = latency
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        for job in jobs:
            self._store.add(job)

    @classmethod
    def from_seed_file(
        cls, path: str | Path, *, host: str = "127.0.0.1", port: int = 0, **kwargs: Any
    ) -> ModelArtsEmulator:
        """Build an emulator from ``{"project_id"?, "region"?, "jobs": [...]}`` or a bare job list.

        Explicit keyword arguments win over the file's ``project_id``/``region``.
        """
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        if isinstance(document, dict):
            jobs = document.get("jobs", [])
            for key in ("project_id", "region"):
                if key in document:
                    kwargs.setdefault(key, document[key])
        else:
            jobs = document
        if not isinstance(jobs, list) or not all(isinstance(job, dict) for job in jobs):
            raise ValueError("expected a list of job objects or {'jobs': [...]}")
        return cls(jobs, host, port, **kwargs)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> ModelArtsEmulator:
        """Bind and serve in a daemon thread; a no-op when already running."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = EmulatorHTTPServer(self._host, self._requested_port, self._handle)
        self._bound_port = int(server.server_address[1])
        self._thread = threading.Thread(
            target=server.serve_until_stopped,
            name=f"modelarts-emulator:{self._bound_port}",
            daemon=True,
        )
        self._server = server
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end keep-alive connections and join the threads; idempotent."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()  # wakes requests sleeping in a latency or fault delay
        server.stop_serving()
        if thread is not None:
            thread.join(_STOP_TIMEOUT)
        server.close_connections(_STOP_TIMEOUT)
        server.server_close()
        self._server = self._thread = None

    def serve_forever(self) -> None:
        """Blocking variant for the CLI: serve until stop() or Ctrl-C, then shut down cleanly."""
        self.start()
        try:
            while not self._stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> ModelArtsEmulator:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self.port else "not started"
        return (
            f"ModelArtsEmulator({where}, project_id={self._project_id!r}, "
            f"region={self._region!r}, jobs={len(self._store)})"
        )

    # -- addresses and settings --------------------------------------------------------------

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        """The bound port once started (stays known after stop), else the requested one."""
        return self._bound_port if self._bound_port is not None else self._requested_port

    @property
    def url(self) -> str:
        """ModelArts endpoint base, e.g. ``http://127.0.0.1:8080`` (no trailing slash).

        Bound to every interface (``0.0.0.0``, ``::``), it is still reached through loopback here.
        """
        if self.port == 0:
            raise RuntimeError("the emulator picks its port on start(); start it first")
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self._host, self._host)  # noqa: S104
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    @property
    def iam_url(self) -> str:
        """IAM endpoint base: the same server under ``/v3``."""
        return f"{self.url}/v3"

    @property
    def project_id(self) -> str:
        return self._project_id

    @property
    def region(self) -> str:
        return self._region

    @property
    def credentials(self) -> EmulatorCredentials:
        return self._credentials

    @property
    def latency(self) -> float:
        """Seconds added to every ModelArts (/v1) request; may be changed while running."""
        return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("latency must not be negative")
        self._latency = float(seconds)

    def environ(self, auth: str = "aksk", include_project: bool = True) -> dict[str, str]:
        """Environment variables that point our client at this emulator."""
        if auth not in _AUTH_KINDS:
            raise ValueError(f"auth must be one of {', '.join(_AUTH_KINDS)}, got {auth!r}")
        env = {"MODELARTS_ENDPOINT": self.url, "HW_AUTH_URL": self.iam_url, "HW_REGION_NAME": self._region}
        if include_project:
            env["HW_PROJECT_ID"] = self._project_id
        creds = self._credentials
        if auth == "aksk":
            env.update(HW_ACCESS_KEY=creds.access_key, HW_SECRET_KEY=creds.secret_key)
        elif auth == "password":
            env.update(
                HW_USER_NAME=creds.user_name,
                HW_USER_PASSWORD=creds.password,
                HW_DOMAIN_NAME=creds.domain_name,
            )
        else:
            env["HW_AUTH_TOKEN"] = self.issue_token()
        return env

    def stack_config(self, auth: str = "aksk", include_project: bool = True) -> dict[str, str]:
        """The same settings as :meth:`environ`, as ``modelarts:*`` Pulumi stack config."""
        return {
            _STACK_CONFIG_KEYS[name]: value for name, value in self.environ(auth, include_project).items()
        }

    def describe(self) -> dict[str, Any]:
        """Addresses and demo credentials, for the CLI to print."""
        return {
            "url": self.url,
            "iam_url": self.iam_url,
            "region": self._region,
            "project_id": self._project_id,
            "credentials": dataclasses.asdict(self._credentials),
        }

    # -- jobs --------------------------------------------------------------------------------

    def add_job(self, job_name: str, **fields: Any) -> dict[str, Any]:
        """Store a job (RUNNING unless told otherwise); returns a copy with every field."""
        with self._lock:
            return self._store.add({"job_name": job_name, **fields})

    def update_job(self, job_id: int, **fields: Any) -> dict[str, Any]:
        """Overwrite fields of a job; KeyError when it does not exist."""
        with self._lock:
            return self._store.update(job_id, fields)

    def remove_job(self, job_id: int) -> None:
        """Delete a job whatever its status; KeyError when it does not exist."""
        with self._lock:
            self._store.remove(job_id)

    def get_job(self, job_id: int) -> dict[str, Any] | None:
        """A copy of the job as the API would show it now, or None."""
        with self._lock:
            return self._store.get(job_id)

    def jobs(self) -> list[dict[str, Any]]:
        """Copies of every job, by job ID."""
        with self._lock:
            return self._store.all()

    # -- identity ----------------------------------------------------------------------------

    def add_project(self, name: str, project_id: str) -> None:
        """Register another project of the account (names may repeat); it holds no jobs."""
        with self._lock:
            self._identity.add_project(name, _check_identifier("project_id", project_id))

    def issue_token(self, project_id: str | None = None, ttl: float | None = None) -> str:
        """A valid token scoped to a project (the emulator's by default), for static-token auth."""
        with self._lock:
            project = self._identity.project_by_id(project_id or self._project_id)
            if project is None:
                raise ValueError(f"unknown project ID {project_id!r}")
            return self._identity.issue(project, ("password",), ttl)[0]

    def expire_tokens(self) -> None:
        """Every token issued so far is expired from now on."""
        with self._lock:
            self._identity.expire_all()

    # -- request log and faults --------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request so far, oldest first (no headers, bodies or credentials)."""
        with self._lock:
            return self._log.snapshot()

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    def drain_requests(self) -> list[RequestRecord]:
        """The log so far, cleared in the same step (nothing can slip in between)."""
        with self._lock:
            records = self._log.snapshot()
            self._log.clear()
            return records

    def inject_fault(
        self,
        route: str,
        *,
        count: int = 1,
        status: int | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        retry_after: float | None = None,
        delay: float = 0.0,
        body: bytes | str | None = None,
        content_type: str | None = None,
        truncate: bool = False,
        drop: bool = False,
        reset: bool = False,
        method: str | None = None,
    ) -> None:
        """Queue a fault for the next ``count`` requests on ``route`` ("*" for any route)."""
        fault = Fault(
            route=route,
            count=count,
            status=status,
            error_code=error_code,
            error_message=error_message,
            retry_after=retry_after,
            delay=delay,
            body=body.encode("utf-8") if isinstance(body, str) else body,
            content_type=content_type,
            truncate=truncate,
            drop=drop,
            reset=reset,
            method=method,
        )
        with self._lock:
            self._faults.add(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # -- request pipeline --------------------------------------------------------------------

    def _sleep(self, seconds: float) -> bool:
        """Sleep that stop() interrupts; False when it did, so the request goes unanswered."""
        return not self._stopping.wait(seconds)

    def _handle(self, request: Request) -> Reply:
        arrived = time.monotonic()
        match = routes.match(request.method, request.path)
        with self._lock:
            fault = self._faults.take(match.route, request.method)
        if self._latency > 0 and request.path.startswith("/v1/") and not self._sleep(self._latency):
            reply = _dropped()
        elif fault is None:
            reply = self._answer(request, match)
        else:
            reply = self._faulted(request, match, fault)
        record = RequestRecord(
            method=request.method,
            path=request.path,
            query=request.params,
            time=arrived,
            status=reply.status if reply.action == "respond" else None,
            route=match.route,
            auth=presented_scheme(request),
        )
        with self._lock:
            self._log.append(record)
        return reply

    def _faulted(self, request: Request, match: Match, fault: Fault) -> Reply:
        if fault.delay and not self._sleep(fault.delay):
            return _dropped()
        if fault.drop:
            return _dropped()
        if fault.reset:
            return Reply(0, action="reset")
        if fault.body is not None:
            reply = Reply(fault.status or 200, fault.body, fault.content_type or JSON_CONTENT_TYPE)
        elif fault.status is not None:
            reply = self._fault_error(match.route, fault, request.request_id)
        else:
            reply = self._answer(request, match)
        if fault.truncate:
            reply.body = reply.body[: len(reply.body) // 2]
        if fault.retry_after is not None:
            reply.headers["Retry-After"] = format(fault.retry_after, "g")
        return reply

    @staticmethod
    def _fault_error(route: str, fault: Fault, request_id: str) -> Reply:
        status = fault.status or 500
        if route in routes.MODELARTS_ROUTES:
            layer = "modelarts"
        elif route in routes.IAM_ROUTES:
            layer = "iam"
        else:
            layer = "gateway"
        default_code, default_message = _FAULT_ERRORS[layer].get(
            status, ("APIG.0201", responses.get(status, "Error"))
        )
        code = fault.error_code or default_code
        message = fault.error_message or default_message
        if layer == "modelarts":
            return modelarts_error(status, code, message)
        if layer == "iam":
            return iam_error(status, code, message)
        return gateway_error(status, code, message, request_id)

    def _answer(self, request: Request, match: Match) -> Reply:
        """The normal answer: authentication, project check, then the route's handler."""
        if match.route == routes.UNKNOWN:
            return not_found_api(request.request_id)
        with self._lock:
            if match.route == routes.IAM_TOKEN:
                return iam_api.issue_token(request, self._identity)
            principal = self._identity.authenticate(request)
            if isinstance(principal, AuthFailure):
                return gateway_error(principal.status, principal.code, principal.message, request.request_id)
            if match.route == routes.IAM_PROJECTS:
                return iam_api.list_projects(request, self._identity, self.iam_url)
            if not self._project_allowed(principal, match, request):
                return modelarts_error(403, "ModelArts.0210", _PROJECT_MISMATCH)
            context = v1.Context(self._store, match.project_id == self._project_id, self._not_found_style)
            return v1.handle(match, request, context)

    def _project_allowed(self, principal: Principal, match: Match, request: Request) -> bool:
        """A token works in its own project only; AK/SK in any project of the account."""
        if principal.scheme == "token":
            return principal.project_id == match.project_id
        header = request.header("X-Project-Id")
        return (
            match.project_id is not None
            and self._identity.project_by_id(match.project_id) is not None
            and header in (None, match.project_id)
        )
