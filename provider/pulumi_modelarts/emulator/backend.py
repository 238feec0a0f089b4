"""The emulator's state, apart from any HTTP: the account (credentials, projects, tokens) and its jobs.

Nothing here locks: the emulator holds its one lock around every call.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import re
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

#: Project ID of the emulator's own project unless told otherwise (32 hex digits, like IAM's).
DEFAULT_PROJECT_ID: Final = "6f0c1b1f2a3d4e5f8a9b0c1d2e3f4a5b"
#: A job as the details call returns it, fields in the documented order (§1.2).
JOB_FIELDS: Final = (
    "job_id",
    "job_name",
    "job_desc",
    "service_url",
    "resource_id",
    "train_url",
    "status",
    "duration",
    "create_time",
    "remaining_duration",
    "job_type",
    "flavor",
    "schedule",
)
#: Job names the service allows; 64 is also the longest ``search_content`` the list call takes.
JOB_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: Project IDs and regions: they become URL path segments, so nothing that needs escaping.
IDENTIFIER: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
RUNNING: Final = 8
CONSOLE_URL: Final = "https://console.otc.t-systems.com/modelarts2"
_INT_FIELDS: Final = ("job_id", "status", "duration", "create_time")


@dataclass(frozen=True)
class EmulatorCredentials:
    """The one account the emulator knows. Defaults are public demo values, not secrets.

    ``secret_key`` and ``password`` stay out of ``repr`` so logging an emulator never prints them.
    """

    access_key: str = "EMULATORACCESSKEY0001"
    secret_key: str = field(default="EMULATORSECRETKEY000000000000000000000001", repr=False)
    user_name: str = "emulator-user"
    password: str = field(default="emulator-password", repr=False)
    domain_name: str = "emulator-domain"


@dataclass(frozen=True)
class Project:
    """An IAM project; several may share a name (the case project lookup must reject)."""

    name: str
    id: str


@dataclass
class Token:
    """An issued token, scoped to one project."""

    project: Project
    methods: tuple[str, ...]
    issued_at: float
    expires_at: float

    @property
    def valid(self) -> bool:
        return time.time() < self.expires_at


def mos_project_id(project_id: str) -> str:
    """ID of the built-in OBS project "MOS": fixed per emulator project, distinct from it."""
    return hashlib.sha256(f"MOS:{project_id}".encode()).hexdigest()[:32]


def check_identifier(name: str, value: object) -> str:
    if not isinstance(value, str) or not IDENTIFIER.fullmatch(value):
        raise ValueError(f"{name} may only contain letters, digits, '_' and '-', got {value!r}")
    return value


def _checked(job: dict[str, Any]) -> dict[str, Any]:
    """Refuse seed typos early; store plain ints (never IntEnum members) in the documented order."""
    unknown = set(job) - set(JOB_FIELDS)
    if unknown:
        raise ValueError(f"unknown job field(s): {', '.join(sorted(unknown))}")
    for name in _INT_FIELDS:
        value = job[name]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"job field {name!r} must be an int, got {value!r}")
        job[name] = int(value)
    if job["job_id"] <= 0:
        raise ValueError(f"job_id must be positive, got {job['job_id']}")
    if not isinstance(job["job_name"], str) or not JOB_NAME.fullmatch(job["job_name"]):
        raise ValueError(f"job_name must be 1-64 letters, digits, '_' or '-', got {job['job_name']!r}")
    if not isinstance(job["job_desc"], str):
        raise ValueError(f"job field 'job_desc' must be a str, got {job['job_desc']!r}")
    return {name: job[name] for name in JOB_FIELDS}


class Backend:
    """Jobs of the emulator's own project (other projects hold none) and the account's identity."""

    def __init__(self, project: Project, credentials: EmulatorCredentials, token_ttl: float) -> None:
        self.project_id = project.id
        self.credentials = credentials
        self.token_ttl = token_ttl
        self.projects = [project, Project("MOS", mos_project_id(project.id))]
        self.tokens: dict[str, Token] = {}
        self.jobs: dict[int, dict[str, Any]] = {}

    # -- jobs ----------------------------------------------------------------------------------

    def add_job(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        if "job_name" not in fields:
            raise ValueError("a job needs a job_name")
        job_id = fields.get("job_id", max(self.jobs, default=0) + 1)
        kind = "mindinsight" if str(fields.get("job_type")).lower() == "mindinsight" else "tensorboard"
        defaults = {
            "job_id": job_id,
            "job_desc": "",
            "service_url": f"{CONSOLE_URL}/{kind}/{self.project_id}/{job_id}/",
            "resource_id": str(uuid.uuid4()),
            "train_url": f"/obs/{fields['job_name']}/",
            "status": RUNNING,
            "duration": 0,
            "create_time": int(time.time() * 1000),
            "remaining_duration": None,
            "job_type": "TensorBoard",
            "flavor": {"code": "modelarts.vm.cpu.2u"},
            "schedule": None,
        }
        job = _checked({**defaults, **copy.deepcopy(dict(fields))})
        if job["job_id"] in self.jobs:
            raise ValueError(f"job {job['job_id']} already exists")
        self.jobs[job["job_id"]] = job
        return copy.deepcopy(job)

    def update_job(self, job_id: int, fields: Mapping[str, Any]) -> dict[str, Any]:
        job = _checked({**self.jobs[job_id], **copy.deepcopy(dict(fields)), "job_id": job_id})
        self.jobs[job_id] = job
        return copy.deepcopy(job)

    def query(self, status: int | None, search: str, sort_by: str, descending: bool) -> list[dict[str, Any]]:
        """Jobs filtered by status and name substring (case-insensitive), sorted stably."""
        needle = search.casefold()
        found = [
            job
            for job in self.jobs.values()
            if status in (None, job["status"]) and needle in job["job_name"].casefold()
        ]
        return sorted(found, key=lambda job: (job[sort_by], job["job_id"]), reverse=descending)

    # -- identity ------------------------------------------------------------------------------

    def add_project(self, name: str, project_id: str) -> None:
        """Register a project; names may repeat, IDs may not."""
        if self.project(project_id) is not None:
            raise ValueError(f"project ID {project_id!r} already exists")
        self.projects.append(Project(name, check_identifier("project_id", project_id)))

    def project(self, project_id: str | None = None, name: str | None = None) -> Project | None:
        """The project with that ID, else the first one with that name, or None."""
        if project_id is not None:
            return next((p for p in self.projects if p.id == project_id), None)
        return next((p for p in self.projects if p.name == name), None)

    def issue_token(
        self, project: Project, methods: tuple[str, ...], ttl: float | None = None
    ) -> tuple[str, Token]:
        """Mint an opaque token; like IAM, a new token does not invalidate older ones."""
        now = time.time()
        token = "MIIemu" + secrets.token_urlsafe(48)
        self.tokens[token] = Token(project, methods, now, now + (self.token_ttl if ttl is None else ttl))
        return token, self.tokens[token]

    def expire_tokens(self) -> None:
        now = time.time()
        for token in self.tokens.values():
            token.expires_at = min(token.expires_at, now)

    def check_password(self, user: object, password: object, domain: object) -> bool:
        """Compare all three in constant time, so nothing tells which one was wrong."""
        wanted = self.credentials
        pairs = ((user, wanted.user_name), (password, wanted.password), (domain, wanted.domain_name))
        return all(
            [isinstance(got, str) and hmac.compare_digest(got.encode(), want.encode()) for got, want in pairs]
        )
