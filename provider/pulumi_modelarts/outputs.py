"""The job's fields as every surface exports them (Pulumi outputs, function results, CLI JSON), its
status codes, and how a line names many jobs: the one definition the others derive from. Standard library
only, so the resource declares its outputs without pydantic; renaming a field breaks consumers'
StackReferences."""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from types import UnionType

SHOWN_IDS = 10  # of many jobs, the most one line names by ID


class OutputField:
    """One output: name, Python type, meaning, and whether it moves on its own (a running job's
    clock), which is never drift. A plain class: a NamedTuple costs this import ten times as much."""

    __slots__ = ("meaning", "moves", "name", "type")

    def __init__(self, name: str, type: type | UnionType, meaning: str, *, moves: bool = False) -> None:
        self.name, self.type, self.meaning, self.moves = name, type, meaning, moves


OUTPUTS: tuple[OutputField, ...] = (
    OutputField("job_id", int, "Job ID, as the API returns it"),
    OutputField("job_name", str, "Job name"),
    OutputField("job_desc", str | None, "Description"),
    OutputField("service_url", str | None, "URL of the TensorBoard / MindInsight UI"),
    OutputField("resource_id", str | None, "ID of the charged resource"),
    OutputField("train_url", str | None, "OBS path of the job's logs"),
    OutputField("status", int, "Status code (0-22, see JobStatus)"),
    OutputField("status_name", str, "Short status name (RUNNING, ...); UNKNOWN_<n> for newer codes"),
    OutputField("is_running", bool, "True while the UI is served (status 8)"),
    OutputField("duration", int | None, "Running time in milliseconds", moves=True),
    OutputField("create_time", int | None, "Creation time in epoch milliseconds, as the API returns it"),
    OutputField("created_at", str | None, "Creation time as RFC 3339 in UTC ending in Z (never local time)"),
    OutputField("job_type", str | None, "TensorBoard or MindInsight"),
    OutputField("flavor_code", str | None, "Resource specification code"),
    OutputField("remaining_duration", float | None, "Time left before auto-stop, when scheduled", moves=True),
    OutputField("project_id", str, "Project the job was read in"),
    OutputField("region", str, "Region the job was read in"),
)
OUTPUT_FIELDS: tuple[str, ...] = tuple(field.name for field in OUTPUTS)


class JobStatus(IntEnum):
    """Status codes 0-22 (ModelArts "Job Statuses") with the names otcextensions and the console use."""

    UNKNOWN = 0
    INIT = 1
    IMAGE_CREATING = 2
    IMAGE_FAILED = 3
    SUBMIT_TRYING = 4
    SUBMIT_FAILED = 5
    DELETE_FAILED = 6
    WAITING = 7
    RUNNING = 8
    KILLING = 9
    COMPLETED = 10
    FAILED = 11
    KILLED = 12
    CANCELED = 13
    LOST = 14
    SCALING = 15
    SUBMIT_MODEL_FAILED = 16
    DEPLOY_SERVICE_FAILED = 17
    CHECK_INIT = 18
    CHECK_RUNNING = 19
    CHECK_RUNNING_COMPLETED = 20
    CHECK_FAILED = 21
    MOUNT_FAILED = 22


def status_name(code: int) -> str:
    """The short name of a status code; codes newer than this table read ``UNKNOWN_<code>``."""
    try:
        return JobStatus(code).name
    except ValueError:
        return f"UNKNOWN_{code}"


def some_ids(ids: Sequence[int]) -> str:
    """The first :data:`SHOWN_IDS` of ``ids``, and how many more there are."""
    more = f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else ""
    return ", ".join(map(str, ids[:SHOWN_IDS])) + more
