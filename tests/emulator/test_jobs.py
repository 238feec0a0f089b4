"""The job calls (details and list) and the Python API that seeds and edits jobs."""

from __future__ import annotations

import dataclasses
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from pulumi_modelarts import JobStatus
from pulumi_modelarts.emulator import (
    DEFAULT_PROJECT_ID,
    EmulatorCredentials,
    ModelArtsEmulator,
    mos_project_id,
)
from pulumi_modelarts.emulator.backend import JOB_FIELDS
from pulumi_modelarts.errors import InvalidInputError
from pulumi_modelarts.outputs import OUTPUTS
from pulumi_modelarts.validation import check_job_name

from .conftest import Api

JOB_197 = {
    "is_success": True,
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
#: Outputs the product derives instead of reading a wire field of the same name: output -> source.
DERIVED_OUTPUTS = {
    "status_name": "status",
    "is_running": "status",
    "created_at": "create_time",
    "flavor_code": "flavor",
    "project_id": None,
    "region": None,
}


def ids(response: requests.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [job["job_id"] for job in response.json()["jobs"]]


def test_details_return_every_documented_field_in_order(api: Api) -> None:
    response = api.jobs("/197")
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert list(response.json().items()) == list(JOB_197.items())
    assert api.jobs("/197").content == response.content  # byte-identical, so diffs stay quiet


def test_the_wire_job_carries_every_output_the_product_reads() -> None:
    read = {field.name for field in OUTPUTS} - set(DERIVED_OUTPUTS)
    read |= {source for source in DERIVED_OUTPUTS.values() if source}
    assert set(DERIVED_OUTPUTS) <= {field.name for field in OUTPUTS}
    assert read <= set(JOB_FIELDS)
    assert set(JOB_FIELDS) - read == {"schedule"}  # the one documented field no output shows


@pytest.mark.parametrize(
    ("style", "suffix", "status", "body"),
    [
        ("400", "/999", 400, ("ModelArts.2775", "training job (ID 999) not found")),
        ("404", "/999", 404, ("ModelArts.0015", "The resource you requested is not exist")),
        ("400", "/abc", 400, ("ModelArts.0104", "Invalid parameter: job_id should be a number, got abc")),
        ("400", "/1e3", 400, ("ModelArts.0104", "Invalid parameter: job_id should be a number, got 1e3")),
        (
            "404",
            "/" + "9" * 20,
            400,
            ("ModelArts.0104", "Invalid parameter: job_id should be a number, got " + "9" * 20),
        ),
    ],
)
def test_job_not_found_and_bad_ids(style: str, suffix: str, status: int, body: tuple[str, str]) -> None:
    with ModelArtsEmulator([{"job_name": "a"}], not_found_style=style) as em, Api(em) as client:
        response = client.jobs(suffix)
    assert response.status_code == status
    assert response.json() == {"is_success": False, "error_code": body[0], "error_message": body[1]}


def test_another_project_of_the_account_holds_no_jobs(emulator: ModelArtsEmulator) -> None:
    with Api(emulator, mos_project_id(emulator.project_id)) as other:
        assert other.jobs("/197").json()["error_code"] == "ModelArts.2775"
        assert other.jobs().json() == {"is_success": True, "job_total_count": 0, "jobs": []}


def test_list_defaults_and_item_shape(api: Api) -> None:
    body = api.jobs().json()
    assert (body["is_success"], body["job_total_count"]) == (True, 4)
    assert [job["job_id"] for job in body["jobs"]] == [197, 212, 230, 245]
    item = {key: JOB_197[key] for key in ("job_name", "status", "create_time", "duration", "job_desc")}
    item |= {key: JOB_197[key] for key in ("service_url", "train_url", "job_id", "resource_id")}
    assert list(body["jobs"][0].items()) == list(item.items())  # §1.3's fields, in its order


@pytest.mark.parametrize(
    ("params", "expected", "total"),
    [
        ({"per_page": 3, "page": 1}, [197, 212, 230], 4),
        ({"per_page": 3, "page": 2}, [245], 4),
        ({"per_page": 3, "page": 3}, [], 4),
        ({"per_page": 1000, "search_content": "t" * 64}, [], 0),
        ({"sortBy": "job_id", "order": "desc"}, [245, 230, 212, 197], 4),
        ({"sortBy": "job_name", "order": "asc"}, [197, 245, 212, 230], 4),
        ({"sortBy": "job_desc"}, [230, 245, 212, 197], 4),
        ({"sortBy": "create_time", "order": "desc"}, [245, 230, 212, 197], 4),
        ({"sortBy": "status"}, [197, 245, 212, 230], 4),
        ({"sortBy": "status", "order": "desc"}, [230, 212, 245, 197], 4),
        ({"sort_by": "job_name"}, [197, 212, 230, 245], 4),  # otcextensions' spelling is ignored
        ({"status": 8}, [197, 245], 2),
        ({"status": 11}, [230], 1),
        ({"search_content": "FLOWERS"}, [245], 1),
        ({"search_content": "test", "status": 8}, [197], 1),
        ({"search_content": ""}, [197, 212, 230, 245], 4),
    ],
)
def test_list_paging_sorting_and_filters(
    api: Api, params: dict[str, Any], expected: list[int], total: int
) -> None:
    response = api.jobs(**params)
    assert ids(response) == expected
    assert response.json()["job_total_count"] == total


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"per_page": 0}, "ModelArts.0104"),
        ({"per_page": 1001}, "ModelArts.0104"),
        ({"per_page": "ten"}, "ModelArts.0104"),
        ({"page": 0}, "ModelArts.0104"),
        ({"page": "-1"}, "ModelArts.0104"),
        ({"order": "up"}, "ModelArts.0104"),
        ({"status": "running"}, "ModelArts.0104"),
        ({"search_content": "x" * 65}, "ModelArts.0104"),
        ({"sortBy": "duration"}, "ModelArts.2790"),
    ],
)
def test_list_rejects_invalid_parameters(api: Api, params: dict[str, Any], code: str) -> None:
    response = api.jobs(**params)
    assert response.status_code == 400
    assert (response.json()["is_success"], response.json()["error_code"]) == (False, code)


@pytest.mark.parametrize(
    "name",
    ["a", "A" * 20, "x" * 21, "n" * 64, "n" * 65, "", "bad name", "bad/name", "für", "tab\t", "dot.ted"],
)
def test_job_names_follow_the_products_rule(emulator: ModelArtsEmulator, name: str) -> None:
    """A job the product cannot look up by name must not be seedable, and every other one is found."""
    try:
        check_job_name(name)
    except InvalidInputError:
        with pytest.raises(ValueError, match="job_name must be"):
            emulator.add_job(name)
        return
    job_id = emulator.add_job(name)["job_id"]
    with Api(emulator) as client:
        found = client.jobs(search_content=name, per_page=1000).json()["jobs"]
    assert job_id in [job["job_id"] for job in found if job["job_name"] == name]


def test_add_job_defaults_ids_and_copies() -> None:
    em = ModelArtsEmulator(project_id="proj")
    job = em.add_job("first")
    assert job == {
        "job_id": 1,
        "job_name": "first",
        "job_desc": "",
        "service_url": "https://console.otc.t-systems.com/modelarts2/tensorboard/proj/1/",
        "resource_id": job["resource_id"],
        "train_url": "/obs/first/",
        "status": 8,
        "duration": 0,
        "create_time": job["create_time"],
        "remaining_duration": None,
        "job_type": "TensorBoard",
        "flavor": {"code": "modelarts.vm.cpu.2u"},
        "schedule": None,
    }
    assert uuid.UUID(job["resource_id"]).version == 4
    job["flavor"]["code"] = "changed"
    assert em.get_job(1) == {**job, "flavor": {"code": "modelarts.vm.cpu.2u"}}
    mind = em.add_job("mi", job_id=10, job_type="MindInsight", status=JobStatus.COMPLETED)
    assert mind["service_url"].endswith("/mindinsight/proj/10/") and type(mind["status"]) is int
    assert em.add_job("next")["job_id"] == 11
    assert [j["job_id"] for j in em.jobs()] == [1, 10, 11]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"job_id": 0}, "job_id must be positive"),
        ({"job_id": True}, "'job_id' must be an int"),
        ({"status": "8"}, "'status' must be an int"),
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


def test_update_and_remove_job() -> None:
    em = ModelArtsEmulator([{"job_name": "a", "job_id": 5}])
    updated = em.update_job(5, status=10, job_desc="again")
    assert (updated["job_id"], updated["status"], updated["job_desc"]) == (5, 10, "again")
    assert em.get_job(5) == updated
    em.remove_job(5)
    assert em.get_job(5) is None
    for call in (em.remove_job, lambda job_id: em.update_job(job_id, job_desc="x")):
        with pytest.raises(KeyError):
            call(5)


def test_environ_stack_config_and_describe(emulator: ModelArtsEmulator) -> None:
    creds = emulator.credentials
    place = {
        "MODELARTS_ENDPOINT": emulator.url,
        "HW_AUTH_URL": emulator.url + "/v3",
        "HW_REGION_NAME": "eu-de",
    }
    assert emulator.environ() == {
        **place,
        "HW_PROJECT_ID": DEFAULT_PROJECT_ID,
        "HW_ACCESS_KEY": creds.access_key,
        "HW_SECRET_KEY": creds.secret_key,
    }
    assert emulator.environ("password", include_project=False) == {
        **place,
        "HW_USER_NAME": creds.user_name,
        "HW_USER_PASSWORD": creds.password,
        "HW_DOMAIN_NAME": creds.domain_name,
    }
    token = emulator.stack_config("token")
    assert set(token) == {
        f"modelarts:{key}" for key in ("endpoint", "authUrl", "region", "projectId", "authToken")
    }
    with Api(emulator) as client:
        client.headers["X-Auth-Token"] = token["modelarts:authToken"]
        assert client.jobs("/197").status_code == 200
    assert emulator.describe() == {
        "url": emulator.url,
        "iam_url": emulator.iam_url,
        "region": "eu-de",
        "project_id": DEFAULT_PROJECT_ID,
        "credentials": dataclasses.asdict(creds),
    }
    with pytest.raises(ValueError, match="auth must be"):
        emulator.environ("oauth")
    with pytest.raises(ValueError, match="unknown project"):
        emulator.issue_token("0" * 32)
    with pytest.raises(ValueError, match="project_id"):
        emulator.add_project("x", "../other")


def test_credentials_keep_secrets_out_of_repr() -> None:
    creds = EmulatorCredentials()
    assert "EMULATORACCESSKEY0001" in repr(creds)
    assert creds.secret_key not in repr(creds) and creds.password not in repr(creds)
    with pytest.raises(dataclasses.FrozenInstanceError):
        creds.access_key = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs",
    [{"not_found_style": "401"}, {"token_ttl": 0}, {"latency": -0.1}, {"project_id": "a/b"}, {"region": ""}],
)
def test_constructor_validation(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - message differs per case
        ModelArtsEmulator(**kwargs)


def test_seed_files(tmp_path: Path) -> None:
    seed = tmp_path / "jobs.json"
    seed.write_text(json.dumps([{"job_id": 7, "job_name": "seven", "status": 10}]))
    em = ModelArtsEmulator.from_seed_file(seed, project_id="p1", region="eu-nl")
    assert (em.project_id, em.region, (em.get_job(7) or {})["status"]) == ("p1", "eu-nl", 10)
    seed.write_text(json.dumps({"project_id": "abc", "region": "eu-ch2", "jobs": []}))
    em = ModelArtsEmulator.from_seed_file(seed)
    assert (em.project_id, em.region, em.jobs()) == ("abc", "eu-ch2", [])
    assert ModelArtsEmulator.from_seed_file(seed, project_id="xyz").project_id == "xyz"


@pytest.mark.parametrize(
    "content",
    [
        '{"jobs": {"job_name": "x"}}',
        "[1, 2]",
        '[{"job_name": "x", "colour": "red"}]',
        '[{"job_name": "x", "status": "8"}]',
        '[{"job_name": "x", "job_id": 1}, {"job_name": "y", "job_id": 1}]',
        '{"region": 5, "jobs": []}',
    ],
)
def test_seed_file_rejects_bad_content(tmp_path: Path, content: str) -> None:
    seed = tmp_path / "jobs.json"
    seed.write_text(content)
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies per case
        ModelArtsEmulator.from_seed_file(seed)
