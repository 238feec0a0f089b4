"""The Python-side API other tests use: jobs, projects, tokens, environment, configuration."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
import requests

from pulumi_modelarts.emulator import DEFAULT_PROJECT_ID, EmulatorCredentials, ModelArtsEmulator
from pulumi_modelarts.emulator.iam import mos_project_id
from pulumi_modelarts.outputs import JobStatus

from .conftest import FakeClock


def test_add_job_defaults_and_ids(clock: FakeClock) -> None:
    em = ModelArtsEmulator(clock=clock)
    job = em.add_job("first")
    assert job == {
        "job_id": 1,
        "job_name": "first",
        "job_desc": "",
        "service_url": f"https://console.otc.t-systems.com/modelarts2/tensorboard/{DEFAULT_PROJECT_ID}/1/",
        "resource_id": job["resource_id"],
        "train_url": "/obs/first/",
        "status": JobStatus.RUNNING,
        "duration": 0,
        "create_time": int(clock() * 1000),
        "remaining_duration": None,
        "job_type": "TensorBoard",
        "flavor": {"code": "modelarts.vm.cpu.2u"},
        "schedule": None,
    }
    assert uuid.UUID(job["resource_id"]).version == 4
    assert type(job["status"]) is int
    assert em.add_job("tenth", job_id=10)["job_id"] == 10
    assert em.add_job("next")["job_id"] == 11
    assert [j["job_id"] for j in em.jobs()] == [1, 10, 11]


def test_add_job_with_status_enum_and_mindinsight(clock: FakeClock) -> None:
    em = ModelArtsEmulator(clock=clock, project_id="proj")
    job = em.add_job("mi", job_type="MindInsight", status=JobStatus.COMPLETED)
    assert type(job["status"]) is int
    assert job["status"] == 10
    assert job["service_url"].endswith("/mindinsight/proj/1/")


def test_returned_jobs_are_copies(clock: FakeClock) -> None:
    em = ModelArtsEmulator(clock=clock)
    em.add_job("a")["flavor"]["code"] = "changed"
    got = em.get_job(1)
    assert got is not None
    got["job_name"] = "changed"
    assert em.get_job(1) == {**got, "job_name": "a", "flavor": {"code": "modelarts.vm.cpu.2u"}}


@pytest.mark.parametrize(
    "fields",
    [
        {"job_id": 0},
        {"job_id": True},
        {"status": "8"},
        {"duration": 1.5},
        {"job_desc": None},
        {"colour": "red"},
    ],
)
def test_add_job_rejects_bad_fields(clock: FakeClock, fields: dict[str, object]) -> None:
    em = ModelArtsEmulator(clock=clock)
    with pytest.raises(ValueError):  # noqa: PT011 - message differs per case
        em.add_job("x", **fields)
    assert em.jobs() == []


def test_add_job_rejects_duplicate_id(clock: FakeClock) -> None:
    em = ModelArtsEmulator(clock=clock)
    em.add_job("a", job_id=5)
    with pytest.raises(ValueError, match="already exists"):
        em.add_job("b", job_id=5)


def test_update_job_books_running_time_on_status_change(clock: FakeClock) -> None:
    em = ModelArtsEmulator(clock=clock)
    em.add_job("a", duration=1000)
    clock.advance(2.5)
    assert em.update_job(1, status=JobStatus.COMPLETED)["duration"] == 3500
    assert em.update_job(1, status=JobStatus.RUNNING, job_desc="again")["job_desc"] == "again"
    clock.advance(1)
    assert em.update_job(1, status=JobStatus.FAILED, duration=7)["duration"] == 7
    same = em.update_job(1, job_name="renamed")
    assert (same["status"], same["duration"], same["job_name"]) == (11, 7, "renamed")


def test_update_job_to_init_starts_transitions(clock: FakeClock) -> None:
    em = ModelArtsEmulator(clock=clock, transition_delay=2)
    em.add_job("a", status=JobStatus.COMPLETED)
    em.update_job(1, status=JobStatus.INIT)
    clock.advance(4)
    assert em.get_job(1)["status"] == JobStatus.RUNNING  # type: ignore[index]


def test_update_and_remove_errors(clock: FakeClock) -> None:
    em = ModelArtsEmulator(clock=clock)
    em.add_job("a")
    with pytest.raises(KeyError):
        em.update_job(2, job_desc="x")
    assert em.update_job(job_id=1, job_desc="by keyword")["job_desc"] == "by keyword"
    with pytest.raises(ValueError, match="unknown job field"):
        em.update_job(1, colour="red")
    em.remove_job(1)
    assert em.get_job(1) is None
    with pytest.raises(KeyError):
        em.remove_job(1)


def test_issue_token_scopes(emulator: ModelArtsEmulator) -> None:
    mos = mos_project_id(emulator.project_id)
    assert mos != emulator.project_id
    token = emulator.issue_token(mos)
    base = f"{emulator.url}/v1/{{}}/visualization-jobs"
    assert requests.get(base.format(mos), headers={"X-Auth-Token": token}, timeout=5).status_code == 200
    own = requests.get(base.format(emulator.project_id), headers={"X-Auth-Token": token}, timeout=5)
    assert own.status_code == 403
    with pytest.raises(ValueError, match="unknown project"):
        emulator.issue_token("0" * 32)


def test_environ(emulator: ModelArtsEmulator) -> None:
    common = {
        "MODELARTS_ENDPOINT": emulator.url,
        "HW_AUTH_URL": emulator.iam_url,
        "HW_REGION_NAME": "eu-de",
        "HW_PROJECT_ID": emulator.project_id,
    }
    creds = emulator.credentials
    assert emulator.environ() == {
        **common,
        "HW_ACCESS_KEY": creds.access_key,
        "HW_SECRET_KEY": creds.secret_key,
    }
    assert emulator.environ("password", include_project=False) == {
        "MODELARTS_ENDPOINT": emulator.url,
        "HW_AUTH_URL": emulator.iam_url,
        "HW_REGION_NAME": "eu-de",
        "HW_USER_NAME": creds.user_name,
        "HW_USER_PASSWORD": creds.password,
        "HW_DOMAIN_NAME": creds.domain_name,
    }
    env = emulator.environ("token")
    assert set(env) == {*common, "HW_AUTH_TOKEN"}
    response = requests.get(
        f"{env['MODELARTS_ENDPOINT']}/v1/{env['HW_PROJECT_ID']}/visualization-jobs/197",
        headers={"X-Auth-Token": env["HW_AUTH_TOKEN"]},
        timeout=5,
    )
    assert response.status_code == 200
    with pytest.raises(ValueError, match="auth must be"):
        emulator.environ("oauth")


def test_describe(emulator: ModelArtsEmulator) -> None:
    assert emulator.describe() == {
        "url": emulator.url,
        "iam_url": emulator.iam_url,
        "region": "eu-de",
        "project_id": DEFAULT_PROJECT_ID,
        "credentials": dataclasses.asdict(emulator.credentials),
    }
    assert emulator.iam_url == emulator.url + "/v3"
    assert emulator.url == f"http://127.0.0.1:{emulator.port}"
    assert emulator.host == "127.0.0.1"


def test_credentials_defaults_and_repr() -> None:
    creds = EmulatorCredentials()
    assert creds.access_key == "EMULATORACCESSKEY0001"
    assert creds.secret_key not in repr(creds)
    assert creds.password not in repr(creds)
    assert "EMULATORACCESSKEY0001" in repr(creds)
    with pytest.raises(dataclasses.FrozenInstanceError):
        creds.access_key = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"not_found_style": "401"},
        {"token_ttl": 0},
        {"transition_delay": -1},
        {"quota": -1},
        {"latency": -0.1},
        {"project_id": "a/b"},
        {"region": ""},
    ],
)
def test_constructor_validation(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - message differs per case
        ModelArtsEmulator(**kwargs)  # type: ignore[arg-type]


def test_add_project_validates_id(emulator: ModelArtsEmulator) -> None:
    with pytest.raises(ValueError, match="project_id"):
        emulator.add_project("x", "../other")
