"""Parsing of job bodies: coercions, tolerance, strictness and derived values. Non-finite numbers
are refused where they arrive, on the wire (tests/test_responses.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from pulumi_modelarts.outputs import JobStatus, status_name
from pulumi_modelarts.responses import JobModel, JobPage

DOC_SAMPLE: dict[str, Any] = {
    "duration": 33000,
    "job_name": "apiTest-11",
    "create_time": 1565149736000,
    "train_url": "/wph-test/zl-test/Flowers-Set/ApiTest/",
    "job_id": 197,
    "job_desc": "ModelArts API Dialtest",
    "resource_id": "e17dd874-b5e0-4e9b-aaf0-22b045ad8571",
    "status": 7,
    "service_url": "https://console.otc.t-systems.com/modelarts2/tensorboard/p/197/",
}
MISSING = object()


def test_documented_sample_parses_with_optional_fields_none_and_extra_fields_ignored() -> None:
    job = JobModel.model_validate({**DOC_SAMPLE, "brand_new_field": {"a": [1]}})
    assert (job.job_id, job.job_name, job.status, job.duration) == (197, "apiTest-11", 7, 33000)
    assert job.job_type is job.flavor is job.schedule is job.remaining_duration is job.is_success is None
    page = JobPage.model_validate({"job_total_count": "2", "jobs": [DOC_SAMPLE, {**DOC_SAMPLE, "job_id": 5}]})
    assert page.job_total_count == 2 and [job.job_id for job in page.jobs] == [197, 5]
    assert JobPage.model_validate({}).jobs == []


def test_numbers_sent_as_json_strings_are_coerced_and_optional_fields_read() -> None:
    body = {**DOC_SAMPLE, "job_id": "10", "status": "1", "create_time": "1524189990635", "duration": "0"}
    body |= {"is_success": True, "remaining_duration": "1800.5", "job_type": "MindInsight"}
    body |= {
        "flavor": {"code": "modelarts.vm.cpu.2u", "extra": 1},
        "schedule": {"type": "stop", "duration": "4"},
    }
    job = JobModel.model_validate(json.loads(json.dumps(body)))
    assert (job.job_id, job.status, job.create_time, job.duration) == (10, 1, 1524189990635, 0)
    assert (job.is_success, job.remaining_duration, job.job_type) == (True, 1800.5, "MindInsight")
    assert job.flavor is not None and job.flavor.code == "modelarts.vm.cpu.2u"
    assert job.schedule is not None and job.schedule.duration == 4


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", True),  # a boolean must not silently become status 1
        ("status", "running"),
        ("job_id", 1.5),
        ("job_id", 0),
        ("job_id", -3),
        ("job_name", 123),
        ("duration", [1]),
        ("create_time", {"ms": 1}),
        ("remaining_duration", False),
        *((identity, MISSING) for identity in ("job_id", "job_name", "status")),
    ],
)
def test_wrong_field_types_and_missing_identity_are_rejected(field: str, value: object) -> None:
    body = {key: item for key, item in {**DOC_SAMPLE, field: value}.items() if item is not MISSING}
    with pytest.raises(ValidationError):
        JobModel.model_validate(body)


@pytest.mark.parametrize(
    ("status", "name"), [(8, "RUNNING"), (7, None), (10, None), (0, None), (23, "UNKNOWN_23")]
)
def test_status_names_unknown_codes_and_is_running(status: int, name: str | None) -> None:
    assert [int(s) for s in JobStatus] == list(range(23))
    assert JobStatus.RUNNING == 8 and JobStatus.FAILED == 11 and JobStatus.MOUNT_FAILED == 22
    job = JobModel.model_validate({**DOC_SAMPLE, "status": status})
    assert job.status_name == status_name(status) and (name is None or status_name(status) == name)
    assert job.is_running is (status == 8)


@pytest.mark.parametrize(
    ("create_time", "created_at"),
    [
        (1565149736000, "2019-08-07T03:48:56Z"),
        (1565149736123, "2019-08-07T03:48:56.123Z"),
        (0, "1970-01-01T00:00:00Z"),
        (None, None),
    ],
)
def test_created_at_is_utc_rfc3339(
    create_time: int | None, created_at: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # a local zone must not leak into the value
    assert JobModel.model_validate({**DOC_SAMPLE, "create_time": create_time}).created_at == created_at
