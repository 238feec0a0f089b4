"""The emulator's state apart from HTTP: the account (credentials, projects, tokens) and its
jobs. Like a moto backend, it is also the Python API tests use to seed and change that state."""

from __future__ import annotations

import copy
import json
import math
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Final

from ..validation import MAX_WHOLE_NUMBER, check_target

#: Project ID of the emulator's own project unless told otherwise (32 hex digits, like IAM's).
DEFAULT_PROJECT_ID: Final = "6f0c1b1f2a3d4e5f8a9b0c1d2e3f4a5b"
#: A job's fields in the order the details call returns them (§1.4's, then those seen beyond it).
JOB_FIELDS: Final = (
    *("job_id", "job_name", "job_desc", "service_url", "resource_id", "train_url", "status", "duration"),
    *("create_time", "remaining_duration", "job_type", "flavor", "schedule"),
)
#: Job names, project IDs and regions: path segments, so nothing that needs escaping.
IDENTIFIER: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
CONSOLE_URL: Final = "https://console.otc.t-systems.com/modelarts2"
YEAR: Final = 365 * 86400  # the longest delay, latency, token_ttl or retry_after, in seconds


@dataclass(frozen=True)
class EmulatorCredentials:
    """The one account the emulator knows: public demo values, still kept out of ``repr``."""

    access_key: str = "EMULATORACCESSKEY0001"
    secret_key: str = field(default="EMULATORSECRETKEY000000000000000000000001", repr=False)
    user_name: str = "emulator-user"
    password: str = field(default="emulator-password", repr=False)
    domain_name: str = "emulator-domain"

    def __post_init__(self) -> None:
        for name, value in vars(self).items():  # never shown: two of them are secrets
            if not isinstance(value, str) or not value or not value.isprintable():
                raise ValueError(f"the emulator's {name} must be printable text, not empty")


@dataclass(frozen=True)
class Project:
    """An IAM project; several may share a name (the case project lookup must reject)."""

    name: str
    id: str


def check_identifier(name: str, value: object) -> str:
    """A name or ID as the client spells it (a region and a hex project ID in lower case), so a
    seed's ``EU-NL`` or upper-case project ID is the place the client reads, not one it never finds."""
    if not isinstance(value, str) or not IDENTIFIER.fullmatch(value):
        raise ValueError(f"{name} may only contain letters, digits, '_' and '-', got {value!r}")
    return str(check_target(name, value)) if name in ("project_id", "region") else value


def is_text(value: object) -> bool:
    """Null or text UTF-8 can carry: a lone surrogate would fail every answer that holds the job."""
    return value is None or (isinstance(value, str) and value.encode("utf-8", "replace").decode() == value)


def is_number(value: object) -> bool:
    """A JSON number the client reads back: finite, and an int within 2^53 - 1."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_WHOLE_NUMBER


def check_seconds(name: str, value: object, *, positive: bool = False) -> float:
    """Up to a year: NaN would expire every token at once, 1e10 fail every wait, 1e12 every login."""
    low = "above 0" if positive else "0 or more"
    if isinstance(value, int | float) and is_number(value) and 0 <= value <= YEAR and (value or not positive):
        return float(value)
    raise ValueError(f"{name} must be a number of seconds, {low}, at most {YEAR} (a year), got {value!r}")


def _checked(job: dict[str, Any]) -> dict[str, Any]:
    """Refuse seed typos early; store plain ints (never IntEnum members) in the documented order."""
    if unknown := set(job) - set(JOB_FIELDS):
        raise ValueError(f"unknown job field(s): {', '.join(sorted(unknown))}")
    for name in ("job_id", "status", "duration", "create_time"):  # what the client can read back
        low, value = int(name == "job_id"), job[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_WHOLE_NUMBER:
            raise ValueError(
                f"job field {name!r} must be an int from {low} to {MAX_WHOLE_NUMBER}, got {value!r}"
            )
        job[name] = int(value)
    if not (job["remaining_duration"] is None or is_number(left := job["remaining_duration"])):
        raise ValueError(f"job field 'remaining_duration' must be a finite number or null, got {left!r}")
    for name in ("job_desc", "service_url", "resource_id", "train_url", "job_type"):
        if not is_text(job[name]):
            raise ValueError(f"job field {name!r} must be text or null, got {job[name]!r}")
    flavor = job["flavor"]
    if flavor is not None and not (isinstance(flavor, dict) and is_text(flavor.get("code"))):
        raise ValueError(f"job field 'flavor' must be {{'code': text}} or null, got {flavor!r}")
    for name in ("flavor", "schedule"):  # sent as they are
        try:
            json.dumps(job[name], ensure_ascii=False, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError, RecursionError):
            raise ValueError(f"job field {name!r} must be JSON UTF-8 can carry, got {job[name]!r}") from None
    check_identifier("job_name", job["job_name"])
    return {name: job[name] for name in JOB_FIELDS}


class Backend:
    """The account's projects and tokens, and its own project's jobs, all guarded by ``lock``."""

    def __init__(
        self, project_id: str, region: str, credentials: EmulatorCredentials | None, token_ttl: float
    ) -> None:
        self.project_id = check_identifier("project_id", project_id)
        self.region = check_identifier("region", region)
        if not isinstance(credentials, EmulatorCredentials | None):
            raise ValueError(f"credentials must be EmulatorCredentials, got {type(credentials).__name__}")
        self.credentials = credentials or EmulatorCredentials()
        self.token_ttl = token_ttl
        self.projects = [Project(self.region, self.project_id)]
        self.tokens: dict[str, tuple[Project | None, float]] = {}  # -> project (None: global), expiry
        self.by_id: dict[int, dict[str, Any]] = {}
        self.last_id = 0
        self.lock = threading.RLock()

    def __setattr__(self, name: str, value: Any) -> None:
        """``token_ttl`` (seconds a token lasts, for tokens issued after) and the emulator's ``latency``
        are refused as they are set, not on a later request."""
        if name in ("token_ttl", "latency"):
            value = check_seconds(name, value, positive=name == "token_ttl")
        super().__setattr__(name, value)

    def add_job(self, /, job_name: str, **fields: Any) -> dict[str, Any]:
        """Store a job (RUNNING unless told otherwise); returns a copy with every field."""
        with self.lock:
            job_id = fields["job_id"] if "job_id" in fields else self.last_id + 1
            kind = "mindinsight" if str(fields.get("job_type")).lower() == "mindinsight" else "tensorboard"
            job = {"job_id": job_id, "job_name": job_name, "train_url": f"/obs/{job_name}/", "status": 8}
            job |= {"service_url": f"{CONSOLE_URL}/{kind}/{self.project_id}/{job_id}/", "duration": 0}
            job |= {"resource_id": str(uuid.uuid4()), "create_time": int(time.time() * 1000), "job_desc": ""}
            job |= {"job_type": "TensorBoard", "flavor": {"code": "modelarts.vm.cpu.2u"}, "schedule": None}
            job = _checked({**job, "remaining_duration": None, **copy.deepcopy(fields)})
            if job["job_id"] in self.by_id:
                raise ValueError(f"job {job['job_id']} already exists")
            self.by_id[job["job_id"]] = job
            self.last_id = max(self.last_id, job["job_id"])  # as the service, never reused
            return copy.deepcopy(job)

    def update_job(self, /, job_id: int, **fields: Any) -> dict[str, Any]:
        """Overwrite fields of a job (never its ID); KeyError when it does not exist."""
        with self.lock:
            job = _checked({**self.by_id[job_id], **copy.deepcopy(fields), "job_id": job_id})
            self.by_id[job_id] = job
            return copy.deepcopy(job)

    def remove_job(self, job_id: int) -> None:
        """Forget a job; KeyError when it does not exist."""
        with self.lock:
            del self.by_id[job_id]

    def get_job(self, job_id: int) -> dict[str, Any] | None:
        """A copy of the job as the details call shows it, or None."""
        with self.lock:
            return copy.deepcopy(self.by_id.get(job_id))

    def jobs(self) -> list[dict[str, Any]]:
        """Copies of every job, by job ID."""
        with self.lock:
            return copy.deepcopy([self.by_id[job_id] for job_id in sorted(self.by_id)])

    def query(self, status: int | None, search: str, sort_by: str, desc: bool) -> list[dict[str, Any]]:
        """Jobs filtered by status and name substring (case-insensitive), sorted as the product sorts:
        ties by job ID, a null (a description) after every value, so first in descending order."""
        found = [job for job in self.by_id.values() if search.casefold() in job["job_name"].casefold()]
        found = [job for job in found if status in (None, job["status"])]
        return sorted(found, key=lambda j: (j[sort_by] is None, j[sort_by], j["job_id"]), reverse=desc)

    def add_project(self, name: str, project_id: str) -> None:
        """Register another project of the account (names may repeat, IDs may not); it holds no jobs."""
        with self.lock:
            project_id = check_identifier("project_id", project_id)
            if self.project(project_id) is not None:
                raise ValueError(f"project ID {project_id!r} already exists")
            self.projects.append(Project(check_identifier("name", name), project_id))

    def project(self, project_id: str | None = None, name: str | None = None) -> Project | None:
        """The project with that ID, else the first one with that name, or None."""
        key, value = ("id", project_id) if project_id is not None else ("name", name)
        return next((p for p in self.projects if getattr(p, key) == value), None)

    def issue_token(self, project_id: str | None = None) -> str:
        """A valid token scoped to a project (the emulator's by default), for static-token auth; the
        ID in either case, as ``add_project`` takes it."""
        with self.lock:
            project = self.project(check_identifier("project_id", project_id or self.project_id))
            if project is None:
                raise ValueError(f"unknown project ID {project_id!r}")
            return self.mint(project)

    def mint(self, project: Project | None) -> str:
        """A new opaque token; like IAM's, it does not invalidate older ones."""
        token = "MIIemu" + secrets.token_urlsafe(48)
        self.tokens[token] = (project, time.time() + self.token_ttl)
        return token

    def expire_tokens(self) -> None:
        """Every token issued so far is expired from now on."""
        with self.lock:
            self.tokens = {token: (project, 0.0) for token, (project, _ends) in self.tokens.items()}
