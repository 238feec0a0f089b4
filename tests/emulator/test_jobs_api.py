"""The ModelArts v1 visualization-job calls: shapes, list options, validation, lifecycle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from pulumi_modelarts.emulator import DEFAULT_PROJECT_ID, SAMPLE_JOBS_PATH, ModelArtsEmulator
from pulumi_modelarts.emulator.iam import mos_project_id
from pulumi_modelarts.outputs import JobStatus

from .conftest import Api, FakeClock

LIST_ITEM_KEYS = [
    "job_name",
    "status",
    "create_time",
    "duration",
    "job_desc",
    "service_url",
    "train_url",
    "job_id",
    "resource_id",
]
JOB_197 = {
    "is_success": True,
    "job_id": 197,
    "job_name": "apiTest-11",
    "job_desc": "ModelArts API Dialtest",
    "service_url": (f"https://console.otc.t-systems.com/modelarts2/tensorboard/{DEFAULT_PROJECT_ID}/197/"),
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


def ids(response: requests.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [job["job_id"] for job in response.json()["jobs"]]


def assert_error(response: requests.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    body: dict[str, object] = response.json()
    assert body["is_success"] is False
    assert body["error_code"] == code
    assert isinstance(body["error_message"], str)
    assert body["error_message"]
    return body


# -- details -------------------------------------------------------------------------------------


def test_details_return_every_documented_field(api: Api) -> None:
    response = api.get("/197")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert int(response.headers["Content-Length"]) == len(response.content)
    assert response.json() == JOB_197
    assert list(response.json()) == list(JOB_197)  # documented order, stable for diffs


def test_running_job_reads_are_byte_identical_over_time(api: Api, clock: FakeClock) -> None:
    first = api.get("/197").content
    clock.advance(3600)
    assert api.get("/197").content == first


def test_non_numeric_job_id_is_a_parameter_error(api: Api) -> None:
    assert_error(api.get("/abc"), 400, "ModelArts.0104")
    assert_error(api.get("/1e3"), 400, "ModelArts.0104")


def test_missing_job_default_style_is_400_2775(api: Api) -> None:
    body = assert_error(api.get("/999"), 400, "ModelArts.2775")
    assert body["error_message"] == "training job (ID 999) not found"


def test_missing_job_404_style(clock: FakeClock) -> None:
    with ModelArtsEmulator(clock=clock, not_found_style="404") as em:
        body = assert_error(Api(em).get("/197"), 404, "ModelArts.0015")
    assert body["error_message"] == "The resource you requested is not exist"


# -- list ----------------------------------------------------------------------------------------


def test_list_defaults_and_shape(api: Api) -> None:
    body = api.get().json()
    assert body["is_success"] is True
    assert (body["job_total_count"], body["job_count_limit"], body["quotas"]) == (4, 96, 100)
    assert [job["job_id"] for job in body["jobs"]] == [197, 212, 230, 245]
    assert all(list(job) == LIST_ITEM_KEYS for job in body["jobs"])


def test_list_paging(api: Api) -> None:
    assert ids(api.get(per_page=3, page=1)) == [197, 212, 230]
    assert ids(api.get(per_page=3, page=2)) == [245]
    last = api.get(per_page=3, page=3).json()
    assert last["jobs"] == []
    assert last["job_total_count"] == 4


@pytest.mark.parametrize(
    ("sort_by", "order", "expected"),
    [
        ("job_id", "desc", [245, 230, 212, 197]),
        ("job_name", "asc", [197, 245, 212, 230]),
        ("job_desc", "asc", [230, 245, 212, 197]),
        ("create_time", "desc", [245, 230, 212, 197]),
        ("status", "asc", [197, 245, 212, 230]),
        ("status", "desc", [230, 212, 245, 197]),
    ],
)
def test_list_sorting(api: Api, sort_by: str, order: str, expected: list[int]) -> None:
    assert ids(api.get(sortBy=sort_by, order=order)) == expected


def test_list_filters_by_status_and_search(api: Api) -> None:
    assert ids(api.get(status=8)) == [197, 245]
    assert ids(api.get(status=11)) == [230]
    assert ids(api.get(search_content="FLOWERS")) == [245]
    assert ids(api.get(search_content="test", status=8)) == [197]
    assert ids(api.get(search_content="")) == [197, 212, 230, 245]
    filtered = api.get(status=8).json()
    assert filtered["job_total_count"] == 2
    assert filtered["job_count_limit"] == 96


def test_list_ignores_otcextensions_sort_by_spelling(api: Api) -> None:
    # otcextensions sends sort_by; the documented name is sortBy, so the default order holds.
    assert ids(api.get(sort_by="job_name", order="asc")) == [197, 212, 230, 245]


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
    assert_error(api.get(**params), 400, code)


def test_list_accepts_boundaries(api: Api) -> None:
    assert ids(api.get(per_page=1000, search_content="t" * 64)) == []
    assert ids(api.get(per_page=1)) == [197]


# -- create, update, delete, stop, restart ----------------------------------------------------------


def test_create_walks_init_submit_running(api: Api, clock: FakeClock) -> None:
    response = api.post(json={"job_name": "new-job_1", "train_url": "/bucket/logs/"})
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "is_success": True,
        "job_id": 246,
        "job_name": "new-job_1",
        "status": JobStatus.INIT,
        "create_time": int(clock() * 1000),
        "service_url": body["service_url"],
    }
    assert body["service_url"].endswith(f"/tensorboard/{DEFAULT_PROJECT_ID}/246/")
    clock.advance(0.999)
    assert api.status_of(246) == JobStatus.INIT
    clock.advance(0.001)
    assert api.status_of(246) == JobStatus.SUBMIT_TRYING
    clock.advance(1)
    assert api.status_of(246) == JobStatus.RUNNING
    clock.advance(100)
    details = api.get("/246").json()
    assert details["status"] == JobStatus.RUNNING
    assert details["duration"] == 0
    assert details["train_url"] == "/bucket/logs/"
    assert details["job_type"] == "TensorBoard"
    listing = api.get().json()
    assert listing["job_total_count"] == 5
    assert listing["job_count_limit"] == 95


def test_status_catches_up_several_steps_at_once(api: Api, clock: FakeClock) -> None:
    api.post(json={"job_name": "catch-up", "train_url": "/b/"})
    clock.advance(10)
    assert api.status_of(246) == JobStatus.RUNNING


def test_create_normalises_job_type_and_schedule_array(api: Api) -> None:
    response = api.post(
        json={
            "job_name": "insight",
            "train_url": "/b/",
            "job_type": "mindinsight",
            "job_desc": "d",
            "flavor": {"code": "modelarts.vm.cpu.8u"},
            "schedule": [{"type": "stop", "time_unit": "HOURS", "duration": 24}],
        }
    )
    assert response.status_code == 200, response.text
    assert "/mindinsight/" in response.json()["service_url"]
    job = api.get("/246").json()
    assert job["job_type"] == "MindInsight"
    assert job["schedule"] == {"type": "stop", "time_unit": "HOURS", "duration": 24}
    assert job["flavor"] == {"code": "modelarts.vm.cpu.8u"}
    assert job["job_desc"] == "d"


@pytest.mark.parametrize(
    "body",
    [
        {"job_name": "x" * 21, "train_url": "/b/"},
        {"job_name": "", "train_url": "/b/"},
        {"job_name": "bad name", "train_url": "/b/"},
        {"job_name": "ok"},
        {"job_name": "ok", "train_url": ""},
        {"job_name": "ok", "train_url": "/b/", "job_desc": "d" * 257},
        {"job_name": "ok", "train_url": "/b/", "job_type": "Jupyter"},
        {"job_name": "ok", "train_url": "/b/", "flavor": "cpu"},
        {"job_name": "ok", "train_url": "/b/", "schedule": {"type": "stop", "duration": 25}},
    ],
)
def test_create_validation(api: Api, body: object) -> None:
    assert_error(api.post(json=body), 400, "ModelArts.0104")
    assert len(api.em.jobs()) == 4


def test_create_rejects_malformed_json(api: Api) -> None:
    response = api.session.post(api.base, data=b"{not json", timeout=5)
    assert_error(response, 400, "ModelArts.4105")
    assert_error(api.post(json=["not", "an", "object"]), 400, "ModelArts.4105")
    assert len(api.em.jobs()) == 4


def test_create_accepts_twenty_character_name(api: Api) -> None:
    assert api.post(json={"job_name": "A" * 20, "train_url": "/b/"}).status_code == 200


def test_create_beyond_quota_is_refused(clock: FakeClock) -> None:
    with ModelArtsEmulator(quota=1, clock=clock) as em:
        em.add_job("only")
        client = Api(em)
        assert client.get().json()["job_count_limit"] == 0
        assert_error(client.post(json={"job_name": "two", "train_url": "/b/"}), 400, "ModelArts.0118")


def test_update_description(api: Api) -> None:
    assert api.put("/212", {"job_desc": "new words"}).json() == {"is_success": True}
    assert api.get("/212").json()["job_desc"] == "new words"
    assert api.put("/212", {"job_desc": ""}).status_code == 200
    assert_error(api.put("/212", {"job_desc": "d" * 257}), 400, "ModelArts.0104")
    assert_error(api.put("/212", {}), 400, "ModelArts.0104")
    assert_error(api.put("/999", {"job_desc": "x"}), 400, "ModelArts.2775")
    assert api.get("/212").json()["job_desc"] == ""


def test_stop_then_complete_books_running_time(api: Api, clock: FakeClock) -> None:
    clock.advance(42.5)  # job 197 has been running 42.5 s since the emulator started
    assert api.post("/197/stop").json() == {"is_success": True}
    assert api.status_of(197) == JobStatus.KILLING
    assert api.get("/197").json()["duration"] == 33000 + 42500
    body = assert_error(api.delete("/197"), 400, "ModelArts.0105")
    assert body["error_message"] == "This job can't be delete. job status: 9"
    clock.advance(1)
    assert api.status_of(197) == JobStatus.COMPLETED
    body = assert_error(api.post("/197/stop"), 400, "ModelArts.0105")
    assert body["error_message"] == "This job can't be stop. job status: 10"
    assert api.get("/197").json()["duration"] == 75500


def test_restart_refused_while_running_then_resubmits(api: Api, clock: FakeClock) -> None:
    body = assert_error(api.post("/245/restart"), 400, "ModelArts.0105")
    assert body["error_message"] == "This job can't be resubmit. job status: 8"
    api.post("/245/stop")
    clock.advance(1)
    assert api.post("/245/restart").json() == {"is_success": True}
    assert api.status_of(245) == JobStatus.INIT
    clock.advance(2)
    assert api.status_of(245) == JobStatus.RUNNING
    clock.advance(5)
    api.post("/245/stop")
    assert api.get("/245").json()["duration"] == 5000


def test_restart_failed_job(api: Api) -> None:
    assert api.post("/230/restart").status_code == 200
    assert api.status_of(230) == JobStatus.INIT


def test_delete(api: Api) -> None:
    assert api.delete("/212").json() == {"is_success": True}
    assert_error(api.get("/212"), 400, "ModelArts.2775")
    assert ids(api.get()) == [197, 230, 245]
    assert_error(api.delete("/212"), 400, "ModelArts.2775")


def test_zero_transition_delay_completes_immediately(clock: FakeClock) -> None:
    with ModelArtsEmulator(transition_delay=0, clock=clock) as em:
        client = Api(em)
        created = client.post(json={"job_name": "fast", "train_url": "/b/"}).json()
        assert created["job_id"] == 1
        assert created["status"] == JobStatus.RUNNING
        client.post("/1/stop")
        assert client.status_of(1) == JobStatus.COMPLETED


def test_other_project_of_account_has_no_jobs(emulator: ModelArtsEmulator) -> None:
    mos_id = mos_project_id(emulator.project_id)
    client = Api(emulator, mos_id)
    listing = client.get().json()
    assert listing["jobs"] == []
    assert listing["job_total_count"] == 0
    assert_error(client.get("/197"), 400, "ModelArts.2775")
    assert_error(client.post("/197/stop"), 400, "ModelArts.2775")
    assert_error(client.post(json={"job_name": "x", "train_url": "/b/"}), 403, "ModelArts.0108")
    assert emulator.jobs()[0]["status"] == JobStatus.RUNNING


# -- seed files -------------------------------------------------------------------------------------


def test_sample_seed_file_content() -> None:
    document = json.loads(SAMPLE_JOBS_PATH.read_text())
    assert document["project_id"] == DEFAULT_PROJECT_ID
    statuses = {job["job_id"]: job["status"] for job in document["jobs"]}
    assert statuses == {197: 8, 212: 10, 230: 11, 245: 8}
    assert {job["job_type"] for job in document["jobs"]} == {"TensorBoard", "MindInsight"}


def test_seed_file_bare_list_and_overrides(tmp_path: Path, clock: FakeClock) -> None:
    seed = tmp_path / "jobs.json"
    seed.write_text(json.dumps([{"job_id": 7, "job_name": "seven", "status": 10}]))
    em = ModelArtsEmulator.from_seed_file(seed, clock=clock, project_id="p1", region="eu-nl")
    assert (em.project_id, em.region) == ("p1", "eu-nl")
    job = em.get_job(7)
    assert job is not None
    assert job["status"] == 10
    assert job["service_url"].endswith("/tensorboard/p1/7/")
    assert job["create_time"] == int(clock() * 1000)


def test_seed_file_project_and_region(tmp_path: Path) -> None:
    seed = tmp_path / "jobs.json"
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
    ],
)
def test_seed_file_rejects_bad_content(tmp_path: Path, content: str) -> None:
    seed = tmp_path / "jobs.json"
    seed.write_text(content)
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies per case
        ModelArtsEmulator.from_seed_file(seed)
