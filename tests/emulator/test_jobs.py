"""The job calls (details and list) and the Python API that seeds and changes jobs."""

from __future__ import annotations

import dataclasses
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from pulumi_modelarts import JobStatus
from pulumi_modelarts.emulator import DEFAULT_PROJECT_ID, ModelArtsEmulator, mos_project_id, wire
from pulumi_modelarts.emulator.backend import JOB_FIELDS
from pulumi_modelarts.errors import InvalidInputError
from pulumi_modelarts.outputs import OUTPUTS
from pulumi_modelarts.validation import SORT_KEYS, check_name

from .conftest import Api

JOB_197 = {
    "job_id": 197,
    "job_name": "apiTest-11",
    "job_desc": "ModelArts API Dialtest",
    "service_url": f"https://console.otc.t-systems.com/modelarts2/tensorboard/{DEFAULT_PROJECT_ID}/197/",
    "resource_id": "e17dd874-b5e0-4e9b-aaf0-22b045ad8571",
    "train_url": "/wph-test/zl-test/Flowers-Set/ApiTest/",
    "status": 8,
    "duration": 33000,
    "create_time": 1565149736000,
    "remaining_duration": None,
    "job_type": "TensorBoard",
    "flavor": {"code": "modelarts.vm.cpu.2u"},
    "schedule": None,
}
#: An item of the list call (§1.3), in the documented order.
LIST_ITEM = ["job_name", "status", "create_time", "duration", "job_desc", "service_url", "train_url"]
LIST_ITEM += ["job_id", "resource_id"]
#: Outputs the product derives rather than reads from a wire field of the same name: output -> source.
DERIVED = {
    "status_name": "status",
    "is_running": "status",
    "created_at": "create_time",
    "flavor_code": "flavor",
}


def test_details_and_list_items_carry_the_documented_fields_in_order(api: Api) -> None:
    response = api.jobs("/197")
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert list(response.json().items()) == [("is_success", True), *JOB_197.items()]
    assert api.jobs("/197").content == response.content  # byte-identical, so diffs stay quiet
    [item] = api.jobs(per_page=1).json()["jobs"]
    assert list(item.items()) == [(key, JOB_197[key]) for key in LIST_ITEM]


def test_the_wire_job_carries_every_output_the_product_reads() -> None:
    outputs = {field.name for field in OUTPUTS} - {"project_id", "region"}  # from the request, not the job
    read = outputs - set(DERIVED) | set(DERIVED.values())
    assert set(DERIVED) <= outputs
    assert read <= set(JOB_FIELDS) and set(JOB_FIELDS) - read == {"schedule"}  # no output shows it
    assert wire.SORT_KEYS == SORT_KEYS  # the list call takes every sortBy the product sends


@pytest.mark.parametrize(
    ("style", "job_id", "status", "code", "message"),
    [
        ("400", "999", 400, "ModelArts.2775", "training job (ID 999) not found"),
        ("404", "999", 404, "ModelArts.0015", "The resource you requested is not exist"),
        ("404", "1e3", 400, "ModelArts.0104", "Invalid parameter: job_id should be a number, got 1e3"),
        (
            "400",
            "9" * 20,
            400,
            "ModelArts.0104",
            f"Invalid parameter: job_id should be a number, got {'9' * 20}",
        ),
    ],
)
def test_missing_jobs_and_bad_ids(style: str, job_id: str, status: int, code: str, message: str) -> None:
    with ModelArtsEmulator([{"job_name": "a"}], not_found_style=style) as em, Api(em) as client:
        response = client.jobs(f"/{job_id}")
    assert response.status_code == status
    assert response.json() == {"is_success": False, "error_code": code, "error_message": message}


def test_another_project_of_the_account_holds_no_jobs(emulator: ModelArtsEmulator) -> None:
    with Api(emulator, mos_project_id(emulator.project_id)) as other:
        assert other.jobs("/197").json()["error_code"] == "ModelArts.2775"
        assert other.jobs().json() == {"is_success": True, "job_total_count": 0, "jobs": []}


@pytest.mark.parametrize(
    ("params", "expected", "total"),
    [
        ({}, [197, 212, 230, 245], 4),
        ({"per_page": 3, "page": 2}, [245], 4),
        ({"per_page": 3, "page": 3}, [], 4),
        ({"per_page": 1000, "search_content": "t" * 64}, [], 0),
        ({"sortBy": "job_name", "order": "desc"}, [230, 212, 245, 197], 4),
        ({"sortBy": "job_desc"}, [230, 245, 212, 197], 4),
        ({"sortBy": "status", "order": "desc"}, [230, 212, 245, 197], 4),  # ties by job ID, reversed
        ({"sort_by": "job_name"}, [197, 212, 230, 245], 4),  # otcextensions' spelling is ignored
        ({"status": 8}, [197, 245], 2),
        ({"search_content": "FLOWERS"}, [245], 1),
        ({"search_content": "test", "status": 8}, [197], 1),
    ],
)
def test_list_paging_sorting_and_filters(
    api: Api, params: dict[str, Any], expected: list[int], total: int
) -> None:
    body = api.jobs(**params).json()
    assert (body["is_success"], body["job_total_count"]) == (True, total)
    assert [job["job_id"] for job in body["jobs"]] == expected


INVALID = [{"per_page": 1001}, {"per_page": "ten"}, {"page": 0}, {"order": "up"}, {"status": "x"}]


@pytest.mark.parametrize("params", [*INVALID, {"search_content": "x" * 65}, {"sortBy": "duration"}])
def test_list_rejects_invalid_parameters(api: Api, params: dict[str, Any]) -> None:
    response = api.jobs(**params)
    assert (response.status_code, response.json()["is_success"]) == (400, False)
    assert response.json()["error_code"] == ("ModelArts.2790" if "sortBy" in params else "ModelArts.0104")


@pytest.mark.parametrize("name", ["a", "A" * 21, "n" * 64, "n" * 65, "", "bad name", "bad/name", "für"])
def test_job_names_follow_the_products_rule(emulator: ModelArtsEmulator, name: str) -> None:
    """A job the product cannot look up by name must not be seedable; every other one is found."""
    try:
        check_name(name, field="job_name")
    except InvalidInputError:
        with pytest.raises(ValueError, match="job_name must be"):
            emulator.add_job(name)
        return
    job_id = emulator.add_job(name)["job_id"]
    with Api(emulator) as client:
        found = client.jobs(search_content=name, per_page=1000).json()["jobs"]
    assert job_id in [job["job_id"] for job in found if job["job_name"] == name]


def test_add_update_and_remove_jobs() -> None:
    em = ModelArtsEmulator(project_id="proj")
    job = em.add_job("first")
    defaults = {
        "job_desc": "",
        "train_url": "/obs/first/",
        "status": 8,
        "duration": 0,
        "remaining_duration": None,
    }
    defaults |= {"job_type": "TensorBoard", "flavor": {"code": "modelarts.vm.cpu.2u"}, "schedule": None}
    assert {key: job[key] for key in defaults} == defaults and list(job) == list(JOB_FIELDS)
    assert job["service_url"] == "https://console.otc.t-systems.com/modelarts2/tensorboard/proj/1/"
    assert uuid.UUID(job["resource_id"]).version == 4 and job["create_time"] > 1_700_000_000_000
    job["flavor"]["code"] = "changed"  # a copy
    assert em.get_job(1) == {**job, "flavor": {"code": "modelarts.vm.cpu.2u"}}
    mind = em.add_job("mi", job_id=10, job_type="MindInsight", status=JobStatus.COMPLETED)
    assert mind["service_url"].endswith("/mindinsight/proj/10/") and type(mind["status"]) is int
    assert [j["job_id"] for j in (em.add_job("next"), *em.jobs())] == [11, 1, 10, 11]
    updated = em.update_job(10, status=8, job_desc="again")
    assert (updated["job_id"], updated["status"], updated["job_desc"], em.get_job(10)) == (
        10,
        8,
        "again",
        updated,
    )
    em.remove_job(10)
    assert em.get_job(10) is None
    for change in (em.remove_job, lambda job_id: em.update_job(job_id, job_desc="x")):
        with pytest.raises(KeyError):
            change(10)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"job_id": 0}, "job_id must be positive"),
        ({"job_id": True}, "'job_id' must be an int"),
        ({"duration": 1.5}, "'duration' must be an int"),
        ({"job_desc": None}, "'job_desc' must be a str"),
        ({"colour": "red"}, "unknown job field"),
        ({"job_id": 5}, "already exists"),
    ],
)
def test_add_and_update_refuse_bad_fields(fields: dict[str, object], message: str) -> None:
    em = ModelArtsEmulator([{"job_name": "a", "job_id": 5}])
    with pytest.raises(ValueError, match=message):
        em.add_job("x", **fields)
    if "job_id" not in fields:
        with pytest.raises(ValueError, match=message):
            em.update_job(5, **fields)
    assert [job["job_name"] for job in em.jobs()] == ["a"]


def test_environ_stack_config_and_describe(emulator: ModelArtsEmulator) -> None:
    creds = emulator.credentials
    place = {
        "MODELARTS_ENDPOINT": emulator.url,
        "HW_AUTH_URL": emulator.url + "/v3",
        "HW_REGION_NAME": "eu-de",
    }
    aksk = {
        "HW_PROJECT_ID": DEFAULT_PROJECT_ID,
        "HW_ACCESS_KEY": creds.access_key,
        "HW_SECRET_KEY": creds.secret_key,
    }
    assert emulator.environ() == place | aksk
    user = {
        "HW_USER_NAME": creds.user_name,
        "HW_USER_PASSWORD": creds.password,
        "HW_DOMAIN_NAME": creds.domain_name,
    }
    assert emulator.environ("password", include_project=False) == place | user
    token = emulator.stack_config("token")
    assert set(token) == {
        f"modelarts:{key}" for key in ("endpoint", "authUrl", "region", "projectId", "authToken")
    }
    with Api(emulator) as client:
        client.headers["X-Auth-Token"] = token["modelarts:authToken"]
        assert client.jobs("/197").status_code == 200
    described = {
        "url": emulator.url,
        "iam_url": emulator.iam_url,
        "region": "eu-de",
        "project_id": DEFAULT_PROJECT_ID,
    }
    assert emulator.describe() == described | {"credentials": dataclasses.asdict(creds)}
    assert "EMULATORACCESSKEY0001" in repr(creds) and creds.secret_key not in repr(creds)
    assert creds.password not in repr(creds)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ModelArtsEmulator(not_found_style="401"), "not_found_style"),
        (lambda: ModelArtsEmulator(token_ttl=0), "token_ttl"),
        (lambda: ModelArtsEmulator(latency=-0.1), "latency"),
        (lambda: ModelArtsEmulator(project_id="a/b"), "project_id"),
        (lambda: ModelArtsEmulator(region=""), "region"),
        (lambda: ModelArtsEmulator().environ("oauth"), "auth must be"),
        (lambda: ModelArtsEmulator().issue_token("0" * 32), "unknown project"),
        (lambda: ModelArtsEmulator().add_project("x", "../other"), "project_id"),
        (lambda: ModelArtsEmulator(project_id="p").add_project("x", "p"), "already exists"),
    ],
)
def test_bad_settings_are_refused(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_seed_files(tmp_path: Path) -> None:
    """Refusals of bad seed files are tested through the CLI (tests/test_cli.py)."""
    seed = tmp_path / "jobs.json"
    seed.write_text(json.dumps([{"job_id": 7, "job_name": "seven", "status": 10}]))
    em = ModelArtsEmulator.from_seed_file(seed, project_id="p1", region="eu-nl")
    assert (em.project_id, em.region, (em.get_job(7) or {})["status"]) == ("p1", "eu-nl", 10)
    seed.write_text(json.dumps({"project_id": "abc", "region": "eu-ch2", "jobs": []}))
    em = ModelArtsEmulator.from_seed_file(seed)
    assert (em.project_id, em.region, em.jobs()) == ("abc", "eu-ch2", [])
    assert ModelArtsEmulator.from_seed_file(seed, project_id="xyz").project_id == "xyz"
