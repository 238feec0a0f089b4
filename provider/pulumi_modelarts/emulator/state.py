"""The visualization-job store and its status machine.

Transitions are evaluated lazily from the injected clock whenever a job is touched, so there is
no background thread and a test can step time deterministically. Nothing here locks: the
emulator holds its one lock around every call.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from ..outputs import JobStatus
from ..validation import SORT_KEYS

#: Field order of a job as the details call returns it.
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
#: Fields of one item of the list call (§1.3), in the documented order.
LIST_FIELDS: Final = (
    "job_name",
    "status",
    "create_time",
    "duration",
    "job_desc",
    "service_url",
    "train_url",
    "job_id",
    "resource_id",
)
SORT_FIELDS: Final = frozenset(SORT_KEYS)
DEFAULT_FLAVOR: Final = "modelarts.vm.cpu.2u"
CONSOLE_URL: Final = "https://console.otc.t-systems.com/modelarts2"

_INT_FIELDS = ("job_id", "status", "duration", "create_time")
_STR_FIELDS = ("job_name", "job_desc")

#: Automatic steps: INIT -> SUBMIT_TRYING -> RUNNING, KILLING -> COMPLETED.
_NEXT: Final[dict[int, JobStatus]] = {
    JobStatus.INIT: JobStatus.SUBMIT_TRYING,
    JobStatus.SUBMIT_TRYING: JobStatus.RUNNING,
    JobStatus.KILLING: JobStatus.COMPLETED,
}
_STOPPABLE: Final = frozenset({JobStatus.INIT, JobStatus.SUBMIT_TRYING, JobStatus.WAITING, JobStatus.RUNNING})
#: Statuses in which the job still holds resources; restart is refused in them.
_ACTIVE: Final = frozenset(
    {
        JobStatus.INIT,
        JobStatus.IMAGE_CREATING,
        JobStatus.SUBMIT_TRYING,
        JobStatus.WAITING,
        JobStatus.RUNNING,
        JobStatus.KILLING,
        JobStatus.SCALING,
        JobStatus.CHECK_INIT,
        JobStatus.CHECK_RUNNING,
    }
)


class JobConflictError(Exception):
    """The job's status forbids the operation (ModelArts.0105 on the wire)."""

    def __init__(self, verb: str, status: int) -> None:
        super().__init__(f"This job can't be {verb}. job status: {status}")


class QuotaExceededError(Exception):
    """Creating one more job would exceed the quota."""


@dataclass
class _Job:
    fields: dict[str, Any]
    since: float  # clock time at which the current status was entered


def service_url(project_id: str, job_id: int, job_type: object) -> str:
    """The UI URL the console shows for a job, derived like the documented samples."""
    kind = "mindinsight" if str(job_type).lower() == "mindinsight" else "tensorboard"
    return f"{CONSOLE_URL}/{kind}/{project_id}/{job_id}/"


def _check_known(fields: Mapping[str, Any]) -> None:
    unknown = set(fields) - set(JOB_FIELDS)
    if unknown:
        raise ValueError(f"unknown job field(s): {', '.join(sorted(unknown))}")


def _check_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"job field {name!r} must be an int, got {value!r}")
    return int(value)  # plain int: a JobStatus member would otherwise leak into repr/equality


class JobStore:
    """Jobs of the emulator's project, keyed by job ID."""

    def __init__(
        self,
        project_id: str,
        *,
        clock: Callable[[], float],
        transition_delay: float,
        quota: int,
    ) -> None:
        self.project_id = project_id
        self.quota = quota
        self._clock = clock
        self._delay = transition_delay
        self._jobs: dict[int, _Job] = {}

    def __len__(self) -> int:
        return len(self._jobs)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._jobs

    # -- admin (Python) side ------------------------------------------------------------------

    def add(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Store a job given by (a subset of) its fields; defaults fill the rest."""
        _check_known(fields)
        if "job_name" not in fields:
            raise ValueError("a job needs a job_name")
        now = self._clock()
        job_id = _check_int("job_id", fields.get("job_id", self._next_id()))
        if job_id <= 0:
            raise ValueError(f"job_id must be positive, got {job_id}")
        if job_id in self._jobs:
            raise ValueError(f"job {job_id} already exists")
        name = fields["job_name"]
        job_type = fields.get("job_type", "TensorBoard")
        record: dict[str, Any] = {
            "job_id": job_id,
            "job_name": name,
            "job_desc": "",
            "service_url": service_url(self.project_id, job_id, job_type),
            "resource_id": str(uuid.uuid4()),
            "train_url": f"/obs/{name}/",
            "status": int(JobStatus.RUNNING),
            "duration": 0,
            "create_time": int(now * 1000),
            "remaining_duration": None,
            "job_type": job_type,
            "flavor": {"code": DEFAULT_FLAVOR},
            "schedule": None,
        }
        record.update(copy.deepcopy(dict(fields)))
        self._check_types(record)
        self._jobs[job_id] = _Job(record, now)
        return self._view(self._jobs[job_id])

    def update(self, job_id: int, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Overwrite fields of a job (never its ID); a status change restarts its transition timer."""
        job = self._require(job_id)
        _check_known(fields)
        self._advance(job)
        record = {**job.fields, **copy.deepcopy(dict(fields)), "job_id": job_id}
        self._check_types(record)
        if record["status"] != job.fields["status"]:
            # Go through _enter so the timer restarts and leaving RUNNING books the run time.
            self._enter(job, record["status"], self._clock())
            if "duration" not in fields:
                record["duration"] = job.fields["duration"]
        job.fields = record
        return self._view(job)

    def remove(self, job_id: int) -> None:
        """Forget a job regardless of its status (the admin side is not the API)."""
        self._require(job_id)
        del self._jobs[job_id]

    def get(self, job_id: int) -> dict[str, Any] | None:
        """A copy of a job with its status brought up to date, or None."""
        job = self._jobs.get(job_id)
        return None if job is None else self._view(job)

    def all(self) -> list[dict[str, Any]]:
        """Copies of every job, by job ID."""
        return [self._view(self._jobs[key]) for key in sorted(self._jobs)]

    # -- API side ----------------------------------------------------------------------------

    def create(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """A job created through the API starts in INIT and walks towards RUNNING."""
        if len(self._jobs) >= self.quota:
            raise QuotaExceededError
        return self.add({**fields, "status": int(JobStatus.INIT)})

    def set_description(self, job_id: int, description: str) -> None:
        """PUT: only the description can change."""
        self._require(job_id).fields["job_desc"] = description

    def delete(self, job_id: int) -> None:
        """DELETE: refused while the job is being killed, as in the documented sample."""
        job = self._require(job_id)
        status = self._advance(job)
        if status == JobStatus.KILLING:
            raise JobConflictError("delete", status)
        del self._jobs[job_id]

    def stop(self, job_id: int) -> None:
        """Stop: an initialising, waiting or running job moves to KILLING, then COMPLETED."""
        job = self._require(job_id)
        status = self._advance(job)
        if status not in _STOPPABLE:
            raise JobConflictError("stop", status)
        self._enter(job, JobStatus.KILLING, self._clock())
        self._advance(job)

    def restart(self, job_id: int) -> None:
        """Restart ("resubmit"): a finished job starts over from INIT; active jobs refuse."""
        job = self._require(job_id)
        status = self._advance(job)
        if status in _ACTIVE:
            raise JobConflictError("resubmit", status)
        self._enter(job, JobStatus.INIT, self._clock())
        self._advance(job)

    def query(
        self, *, status: int | None, search: str, sort_by: str, descending: bool
    ) -> list[dict[str, Any]]:
        """Jobs filtered by status and name substring (case-insensitive), sorted stably."""
        needle = search.casefold()
        found = [
            view
            for view in (self._view(job) for job in self._jobs.values())
            if (status is None or view["status"] == status) and needle in view["job_name"].casefold()
        ]
        found.sort(key=lambda view: (view[sort_by], view["job_id"]), reverse=descending)
        return found

    # -- internals ---------------------------------------------------------------------------

    def _next_id(self) -> int:
        return max(self._jobs, default=0) + 1

    def _require(self, job_id: int) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise KeyError(job_id)
        return job

    def _view(self, job: _Job) -> dict[str, Any]:
        self._advance(job)
        return {name: copy.deepcopy(job.fields[name]) for name in JOB_FIELDS}

    @staticmethod
    def _check_types(record: dict[str, Any]) -> None:
        """Reject wrong types early (seed typos) and store plain ints, never IntEnum members."""
        for name in _INT_FIELDS:
            record[name] = _check_int(name, record[name])
        for name in _STR_FIELDS:
            if not isinstance(record[name], str):
                raise ValueError(f"job field {name!r} must be a str, got {record[name]!r}")

    def _enter(self, job: _Job, status: int, at: float) -> None:
        """Switch status at time ``at``; leaving RUNNING adds the running time to duration."""
        if job.fields["status"] == JobStatus.RUNNING and status != JobStatus.RUNNING:
            job.fields["duration"] += max(0, round((at - job.since) * 1000))
        job.fields["status"] = int(status)
        job.since = at

    def _advance(self, job: _Job) -> int:
        """Apply every automatic step whose time has come; returns the current status."""
        now = self._clock()
        while True:
            status: int = job.fields["status"]
            following = _NEXT.get(status)
            if following is None or now - job.since < self._delay:
                return status
            self._enter(job, following, job.since + self._delay)
