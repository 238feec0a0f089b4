"""Visualization-job status codes (ModelArts "Job Statuses", old-version training API).

Standard library only, so the emulator and the CLI's table view can use it cheaply.
"""

from __future__ import annotations

from enum import IntEnum


class JobStatus(IntEnum):
    """Status codes 0-22 with the short names users see in otcextensions and the console."""

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
