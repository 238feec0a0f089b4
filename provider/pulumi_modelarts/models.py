"""The visualization job as the details call returns it, and the flat outputs derived from it.

Parsing is tolerant where the API is inconsistent (numbers sent as JSON strings, fields that
come and go, unknown extra fields) and strict where a silent coercion would hide a broken
response (a boolean where a number belongs, text where an ID belongs, a number that is not
finite: ``NaN``, ``Infinity``, ``1e999`` or ``"nan"`` would print as invalid JSON and never
compare equal, so every diff would show a change).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from .outputs import OUTPUT_FIELDS
from .status import JobStatus, status_name

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _whole_number(value: Any) -> Any:
    """Accept ints, integral floats and decimal strings; reject bools and everything else."""
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text[:1] == "-" else text
        if digits.isascii() and digits.isdigit() and len(digits) <= 19:
            return int(text)
    raise ValueError(f"expected a whole number, got {type(value).__name__}")


def _real_number(value: Any) -> Any:
    """Like :func:`_whole_number` but fractions are allowed (``remaining_duration``); finite only."""
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError("expected a number, got text") from None
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return value
    raise ValueError(
        "expected a finite number"
        if isinstance(value, float)
        else f"expected a number, got {type(value).__name__}"
    )


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]
RealNumber = Annotated[float, BeforeValidator(_real_number)]


class _ApiModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=False)


class Flavor(_ApiModel):
    """Resource specification of the job (``flavor.code``)."""

    code: str | None = None


class Schedule(_ApiModel):
    """Auto-stop setting of the job."""

    type: str | None = None
    time_unit: str | None = None
    duration: WholeNumber | None = None


class VisualizationJob(_ApiModel):
    """One visualization job, from ``GET /v1/{project_id}/visualization-jobs/{job_id}``."""

    job_id: WholeNumber = Field(gt=0)
    job_name: str
    status: WholeNumber
    job_desc: str | None = None
    service_url: str | None = None
    resource_id: str | None = None
    train_url: str | None = None
    duration: WholeNumber | None = None
    create_time: WholeNumber | None = None
    remaining_duration: RealNumber | None = None
    job_type: str | None = None
    flavor: Flavor | None = None
    schedule: Schedule | None = None
    is_success: bool | None = None

    @property
    def status_name(self) -> str:
        """Short status name (``RUNNING``); codes newer than this release read ``UNKNOWN_<n>``."""
        return status_name(self.status)

    @property
    def is_running(self) -> bool:
        """True while the TensorBoard/MindInsight UI is being served."""
        return self.status == JobStatus.RUNNING

    @property
    def created_at(self) -> str | None:
        """``create_time`` as RFC 3339 in UTC ending in ``Z``; never the machine's local time."""
        if self.create_time is None:
            return None
        seconds, millis = divmod(self.create_time, 1000)
        try:
            moment = _EPOCH + timedelta(seconds=seconds)
        except OverflowError:
            return None
        text = moment.strftime("%Y-%m-%dT%H:%M:%S")
        return f"{text}.{millis:03d}Z" if millis else f"{text}Z"

    def to_outputs(self, *, project_id: str, region: str) -> dict[str, Any]:
        """The flat, JSON-native output set; equal remote state always gives an equal dict."""
        outputs: dict[str, Any] = {
            "job_id": self.job_id,
            "job_name": self.job_name,
            "job_desc": self.job_desc,
            "service_url": self.service_url,
            "resource_id": self.resource_id,
            "train_url": self.train_url,
            "status": self.status,
            "status_name": self.status_name,
            "is_running": self.is_running,
            "duration": self.duration,
            "create_time": self.create_time,
            "created_at": self.created_at,
            "job_type": self.job_type,
            "flavor_code": self.flavor.code if self.flavor else None,
            "remaining_duration": self.remaining_duration,
            "project_id": project_id,
            "region": region,
        }
        assert tuple(outputs) == OUTPUT_FIELDS
        return outputs


class JobPage(_ApiModel):
    """One page of ``GET /v1/{project_id}/visualization-jobs``."""

    job_total_count: WholeNumber = 0
    jobs: list[VisualizationJob] = Field(default_factory=list)
    is_success: bool | None = None
