"""The function forms (``get_visualization_job(s)`` and their ``_output`` twins) against the emulator.

Direct forms are called in this process with the emulator's ``HW_*`` variables in the environment
(they need no Pulumi engine). Output forms run inside small programs under mocks
(:func:`tests.programs.run_program`), where preview, unknowns and ``depends_on`` exist.
The emulator's request log is the proof of what was sent, and when.
"""

from __future__ import annotations

import asyncio
import bisect
import os
import random
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
import pytest
from pulumi.runtime import config as runtime_config

from pulumi_modelarts import (
    AmbiguousJobNameError,
    GetVisualizationJobResult,
    InvalidInputError,
    JobNotFoundError,
    JobStatus,
    ModelArtsError,
    get_visualization_job,
    get_visualization_jobs,
)
from pulumi_modelarts.emulator import ModelArtsEmulator
from pulumi_modelarts.functions import MAX_CONCURRENT_READS, RESULT_FIELDS
from pulumi_modelarts.outputs import OUTPUT_FIELDS
from tests.checks import outputs_of
from tests.programs import CLOUD_VARIABLE_PREFIXES, modelarts_requests, run_program, write_program as write

#: Fields the list call does not return; the plural form leaves them None.
NOT_IN_LISTINGS = ("job_type", "flavor_code", "remaining_duration")


def result_values(result: GetVisualizationJobResult) -> dict[str, Any]:
    return {name: getattr(result, name) for name in RESULT_FIELDS}


# -- direct forms, in process ------------------------------------------------------------------


def test_by_id_returns_every_field_of_the_job(in_env: ModelArtsEmulator) -> None:
    result = get_visualization_job(job_id=197)

    assert result.id == "197"
    assert result.found is True
    values = result_values(result)
    expected = outputs_of(in_env, 197)
    assert {name: values[name] for name in OUTPUT_FIELDS} == expected
    assert {name: type(values[name]) for name in OUTPUT_FIELDS} == {
        name: type(value) for name, value in expected.items()
    }
    assert modelarts_requests(in_env) == [("GET", f"/v1/{in_env.project_id}/visualization-jobs/197")]


def test_the_direct_result_can_be_awaited(in_env: ModelArtsEmulator) -> None:
    awaitable = get_visualization_job(job_id="212")

    async def wait() -> GetVisualizationJobResult:
        return await awaitable

    awaited = asyncio.run(wait())
    assert type(awaited) is GetVisualizationJobResult
    assert result_values(awaited) == result_values(awaitable)
    assert awaited.job_name == "mnist-insight"


def test_by_name_reads_the_same_job_as_by_id(in_env: ModelArtsEmulator) -> None:
    by_id = get_visualization_job(job_id=245)
    in_env.clear_requests()

    by_name = get_visualization_job(job_name="flowers_vis-2")

    assert result_values(by_name) == result_values(by_id)
    # Found through the list call, then read through the details call like a lookup by ID.
    assert [record.route for record in in_env.requests] == ["list_jobs", "get_job"]
    assert in_env.requests[0].query["search_content"] == ["flowers_vis-2"]


@pytest.mark.parametrize("name", ["apiTest-1", "APITEST-11", "no-such-board"])
def test_a_name_must_match_exactly(in_env: ModelArtsEmulator, name: str) -> None:
    # The service's search is a case-insensitive substring match: the first two names find
    # apiTest-11 there, but a lookup by name only accepts the exact name.
    with pytest.raises(JobNotFoundError) as caught:
        get_visualization_job(job_name=name)
    assert f"no visualization job is named '{name}'" in str(caught.value)


@pytest.mark.parametrize(
    ("lookup", "found", "id_"),
    [
        ({"job_id": 999}, False, "999"),
        ({"job_name": "no-such-board"}, False, None),
        ({"job_id": 197}, True, "197"),
    ],
)
def test_allow_missing_reports_found_false_and_still_reads_an_existing_job(
    in_env: ModelArtsEmulator, lookup: dict[str, Any], found: bool, id_: str | None
) -> None:
    result = get_visualization_job(**lookup, allow_missing=True)

    assert (result.found, result.id) == (found, id_)
    expected = outputs_of(in_env, 197) if found else dict.fromkeys(OUTPUT_FIELDS)
    assert {name: getattr(result, name) for name in OUTPUT_FIELDS} == expected


def test_a_missing_job_is_a_job_not_found_error_and_a_run_error(in_env: ModelArtsEmulator) -> None:
    with pytest.raises(JobNotFoundError) as caught:
        get_visualization_job(job_id=999)

    error = caught.value
    # RunError makes the Pulumi CLI print the message alone, without a traceback.
    assert isinstance(error, pulumi.RunError)
    assert isinstance(error, ModelArtsError)
    assert type(error).__name__ == "JobNotFoundError"
    message = str(error)
    assert "\n" not in message
    assert "job 999" in message and "HTTP 400" in message and "Check the job ID" in message
    assert error.job_id == 999
    assert error.__cause__ is None and error.__suppress_context__


def test_several_jobs_of_one_name_are_ambiguous(in_env: ModelArtsEmulator) -> None:
    first = in_env.add_job("shared-board")["job_id"]
    second = in_env.add_job("shared-board", status=int(JobStatus.COMPLETED))["job_id"]

    # allow_missing forgives absence, not ambiguity.
    with pytest.raises(AmbiguousJobNameError) as caught:
        get_visualization_job(job_name="shared-board", allow_missing=True)

    error = caught.value
    assert isinstance(error, pulumi.RunError)
    assert isinstance(error, InvalidInputError)
    message = str(error)
    assert "\n" not in message
    assert f"IDs {first}, {second}" in message
    assert "Read the one you mean by its ID" in message
    # Only the list call was made: no job was read.
    assert [record.route for record in in_env.requests] == ["list_jobs"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of job_id or job_name"),
        ({"job_id": 197, "job_name": "apiTest-11"}, "exactly one of job_id or job_name"),
        ({"job_name": "bad/name"}, "job_name"),
        ({"job_id": "12a"}, "job_id must be a whole number"),
    ],
    ids=["neither", "both", "bad-name", "bad-id"],
)
def test_invalid_lookups_fail_before_sending_anything(
    in_env: ModelArtsEmulator, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message) as caught:
        get_visualization_job(**kwargs)

    assert isinstance(caught.value, pulumi.RunError)
    assert "\n" not in str(caught.value)
    assert in_env.requests == []


def test_jobs_by_status_lists_the_matching_jobs_by_id(in_env: ModelArtsEmulator) -> None:
    result = get_visualization_jobs(status=JobStatus.RUNNING)

    assert [job.job_id for job in result.jobs] == [197, 245]
    assert result.status == 8
    assert result.search_content is None
    assert result.project_id == in_env.project_id and result.region == in_env.region
    assert result.id == f"{in_env.project_id}/visualization-jobs?status=8"
    for job in result.jobs:
        expected = outputs_of(in_env, job.job_id or 0)
        assert job.found is True and job.id == str(job.job_id)
        for name in OUTPUT_FIELDS:
            assert getattr(job, name) == (None if name in NOT_IN_LISTINGS else expected[name]), name
    assert [record.route for record in in_env.requests] == ["list_jobs"]
    assert in_env.requests[0].query["status"] == ["8"]


def test_jobs_is_an_empty_list_when_nothing_matches(in_env: ModelArtsEmulator) -> None:
    result = get_visualization_jobs(status=JobStatus.KILLED)

    assert result.jobs == []
    assert result.id == f"{in_env.project_id}/visualization-jobs?status=12"
    assert [record.route for record in in_env.requests] == ["list_jobs"]


def test_jobs_filters_by_name_and_status_together(in_env: ModelArtsEmulator) -> None:
    in_env.add_job("flowers-stopped", status=int(JobStatus.COMPLETED))

    flowers = get_visualization_jobs(search_content="flowers")
    running_flowers = get_visualization_jobs(status=JobStatus.RUNNING, search_content="flowers")

    assert [job.job_name for job in flowers.jobs] == ["flowers_vis-2", "flowers-stopped"]
    assert [job.job_name for job in running_flowers.jobs] == ["flowers_vis-2"]
    assert running_flowers.id == f"{in_env.project_id}/visualization-jobs?status=8&search_content=flowers"


@pytest.mark.parametrize("status", [8.0, "8", JobStatus.RUNNING, 8], ids=["float", "string", "enum", "int"])
def test_status_takes_any_whole_number_form(in_env: ModelArtsEmulator, status: Any) -> None:
    result = get_visualization_jobs(status=status)

    assert [job.job_id for job in result.jobs] == [197, 245]
    assert result.status == 8 and type(result.status) is int
    assert [record.query.get("status") for record in in_env.requests] == [["8"]]


@pytest.mark.parametrize("status", [8.5, -1, -8.0, True, "8.0", "RUNNING", float("nan"), 2.0**53])
def test_status_that_is_not_a_whole_number_is_refused_before_sending(
    in_env: ModelArtsEmulator, status: Any
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        get_visualization_jobs(status=status)

    assert str(caught.value).startswith("status must be a whole number from 0 to 9007199254740991, got ")
    assert isinstance(caught.value, pulumi.RunError)
    assert in_env.requests == []


@pytest.fixture
def stack_config() -> Iterator[dict[str, str]]:
    """Stack config set through the Pulumi runtime, restored afterwards."""
    saved_config = dict(runtime_config.CONFIG.get())
    saved_secret_keys = list(runtime_config._SECRET_KEYS.get())
    config: dict[str, str] = {}
    yield config
    pulumi.runtime.set_all_config(saved_config, saved_secret_keys)


def test_direct_forms_read_modelarts_stack_config(
    monkeypatch: pytest.MonkeyPatch, emulator: ModelArtsEmulator, stack_config: dict[str, str]
) -> None:
    for name in list(os.environ):
        if name.startswith(CLOUD_VARIABLE_PREFIXES):
            monkeypatch.delenv(name)
    creds = emulator.credentials
    stack_config.update(
        {
            "modelarts:endpoint": emulator.url,
            "modelarts:authUrl": emulator.iam_url,
            "modelarts:accessKey": creds.access_key,
            "modelarts:secretKey": creds.secret_key,
        }
    )
    pulumi.runtime.set_all_config(stack_config, ["modelarts:accessKey", "modelarts:secretKey"])

    # Namespaced keys ("modelarts:endpoint"), not "<project>:modelarts:endpoint"; no HW_* set.
    result = get_visualization_job(job_id=197)

    assert result.job_name == "apiTest-11"
    assert result.project_id == emulator.project_id  # looked up through the configured IAM URL
    assert [record.route for record in emulator.requests] == ["iam_projects", "get_job"]


# -- output forms, in programs under mocks -----------------------------------------------------


HEADER = """\
import pulumi
from pulumi_modelarts import (
    OUTPUT_FIELDS,
    JobStatus,
    VisualizationJob,
    get_visualization_job_output,
    get_visualization_jobs_output,
)

FIELDS = ("id", "found", *OUTPUT_FIELDS)


def fields(result):
    return {name: getattr(result, name) for name in FIELDS}


def job_ids(result):
    return [job.job_id for job in result.jobs]

"""


def write_program(directory: Path, body: str) -> Path:
    return write(directory, HEADER + textwrap.dedent(body))


def run_in(emulator: ModelArtsEmulator, program: Path, **kwargs: Any) -> Any:
    config = {"functions:jobName": "apiTest-11", **kwargs.pop("config", {})}
    return run_program(program, project="functions", config=config, env=emulator.environ(), **kwargs)


def test_output_forms_give_the_resource_forms_values(tmp_path: Path, emulator: ModelArtsEmulator) -> None:
    program = write_program(
        tmp_path,
        f"""
        job = VisualizationJob("board", job_id=197)
        values = pulumi.Output.all(*(getattr(job, name) for name in OUTPUT_FIELDS))
        pulumi.export("resource", values.apply(lambda values: dict(zip(OUTPUT_FIELDS, values))))
        pulumi.export("by_id", get_visualization_job_output(job_id=197).apply(fields))
        by_name = get_visualization_job_output(job_name=pulumi.Config().require("jobName"))
        pulumi.export("by_name", by_name.apply(fields))
        # Chained from a resource output: an Input the direct form could not take.
        pulumi.export("chained", get_visualization_job_output(job_name=job.job_name).apply(fields))
        pulumi.export("missing", get_visualization_job_output(job_id=999, allow_missing=True).apply(fields))
        pulumi.export("running", get_visualization_jobs_output(status=JobStatus.RUNNING).apply(job_ids))
        pulumi.export("killed", get_visualization_jobs_output(status=12).apply(job_ids))
        # A StackReference delivers 197.0 and 8.0: every form takes them as the integers they are.
        ref = pulumi.StackReference("organization/quickstart/dev")
        job_id, status = ref.require_output("job_id"), ref.require_output("status")
        pulumi.export("seen", pulumi.Output.all(job_id, status))
        pulumi.export("ref_by_id", get_visualization_job_output(job_id=job_id).apply(lambda r: r.job_name))
        pulumi.export("ref_by_status", get_visualization_jobs_output(status=status).apply(job_ids))
        pulumi.export("ref_resource", VisualizationJob("ref-board", job_id=job_id).job_name)
        # A secret input makes the result secret.
        secret = pulumi.Output.secret
        pulumi.export("by_secret_id", get_visualization_job_output(job_id=secret(197)).apply(fields))
        pulumi.export("by_secret_name", get_visualization_job_output(job_name=secret("apiTest-11")).apply(fields))
        in_secret_project = get_visualization_job_output(job_id=197, project_id=secret("{emulator.project_id}"))
        pulumi.export("in_secret_project", in_secret_project.apply(fields))
        pulumi.export("by_secret_status", get_visualization_jobs_output(status=secret(8)).apply(job_ids))
        """,
    )

    run = run_in(
        emulator, program, stack_references={"organization/quickstart/dev": {"job_id": 197, "status": 8}}
    )

    assert run.error is None, run.error
    resource = run.value("resource")
    assert resource == outputs_of(emulator, 197)
    for name in ("by_id", "by_name", "chained", "by_secret_id", "by_secret_name", "in_secret_project"):
        assert run.value(name) == {"id": "197", "found": True, **resource}, name
    assert run.value("missing") == {"id": "999", "found": False, **dict.fromkeys(OUTPUT_FIELDS)}
    assert run.value("running") == run.value("ref_by_status") == run.value("by_secret_status") == [197, 245]
    assert run.value("killed") == []
    assert run.value("seen") == [197.0, 8.0]
    assert run.value("ref_by_id") == run.value("ref_resource") == "apiTest-11"
    assert {name for name, entry in run.outputs.items() if entry["secret"]} == {
        "by_secret_id",
        "by_secret_name",
        "in_secret_project",
        "by_secret_status",
    }


COMPONENT = """
class Boards(pulumi.ComponentResource):
    def __init__(self, name, job_id, opts=None):
        super().__init__("test:index:Boards", name, None, opts)
        self.job = VisualizationJob(f"{name}-job", job_id=job_id, opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


class Site(pulumi.ComponentResource):
    def __init__(self, name):
        super().__init__("test:index:Site", name)
        self.boards = Boards(f"{name}-boards", 212, pulumi.ResourceOptions(parent=self))
        self.register_outputs({})
"""


def test_output_forms_with_unknown_inputs_stay_unknown_and_send_nothing(
    tmp_path: Path, emulator: ModelArtsEmulator
) -> None:
    program = write_program(
        tmp_path,
        COMPONENT
        + textwrap.dedent("""
        job = VisualizationJob("board", job_id=197)  # its outputs are unknown in preview
        pulumi.export("by_name", get_visualization_job_output(job_name=job.job_name).apply(fields))
        pulumi.export("by_status", get_visualization_jobs_output(status=job.status).apply(job_ids))
        after_job = get_visualization_job_output(job_id=230, opts=pulumi.InvokeOutputOptions(depends_on=[job]))
        pulumi.export("after_job", after_job.apply(fields))
        # A component whose child is new: as unknown as the child.
        after_site = get_visualization_job_output(job_id=230, opts=pulumi.InvokeOutputOptions(depends_on=[Site("site")]))
        pulumi.export("after_site", after_site.apply(fields))
        # Known inputs are read in preview too (functions have no state to fall back on).
        pulumi.export("known", get_visualization_job_output(job_id=245).apply(fields))
        """),
    )

    run = run_in(emulator, program, preview=True)

    assert run.error is None, run.error
    assert {name: entry["known"] for name, entry in run.outputs.items()} == {
        "by_name": False,
        "by_status": False,
        "after_job": False,
        "after_site": False,
        "known": True,
    }
    assert run.value("known")["job_name"] == "flowers_vis-2"
    assert modelarts_requests(emulator) == [("GET", f"/v1/{emulator.project_id}/visualization-jobs/245")]


@pytest.mark.parametrize(
    ("declared", "depends_on"),
    [
        ('VisualizationJob("board", job_id=212)', "[boards]"),
        ('Boards("boards", 212)', "[boards]"),
        ('Site("site")', "boards"),  # a single resource (not a list), its job two components down
        ('Boards("boards", 212)', "pulumi.Output.from_input([boards])"),
    ],
    ids=["resource", "component", "nested-component", "output-of-list"],
)
def test_depends_on_waits_for_the_resource_and_a_components_children(
    tmp_path: Path, emulator: ModelArtsEmulator, declared: str, depends_on: str
) -> None:
    emulator.latency = 0.3  # every /v1 answer is held back this long
    program = write_program(
        tmp_path,
        COMPONENT
        + f"""
boards = {declared}
waiting = get_visualization_job_output(job_id=197, opts=pulumi.InvokeOutputOptions(depends_on={depends_on}))
free = get_visualization_job_output(job_id=230)
pulumi.export("waiting", waiting.apply(lambda result: result.job_name))
pulumi.export("free", free.apply(lambda result: result.job_name))
""",
    )

    run = run_in(emulator, program)

    assert run.error is None, run.error
    assert run.value("waiting") == "apiTest-11" and run.value("free") == "resnet50-tb"
    arrived = {record.path.rsplit("/", 1)[-1]: record.time for record in emulator.requests}
    assert set(arrived) == {"212", "197", "230"}
    # The resource (a component's child) exists only once its read of 212 has been answered,
    # `latency` after that request arrived: the dependent read cannot have been sent earlier.
    assert arrived["197"] - arrived["212"] >= emulator.latency
    # Control: without depends_on the read went out while the resource's read was in flight.
    assert arrived["230"] - arrived["212"] < emulator.latency


def test_output_form_reads_overlap(tmp_path: Path, emulator: ModelArtsEmulator) -> None:
    for number in range(4):
        emulator.add_job(f"extra-board-{number}")
    job_ids = [job["job_id"] for job in emulator.jobs()]
    assert len(job_ids) == 8
    emulator.latency = 0.3
    program = write_program(
        tmp_path,
        f"""
        names = [get_visualization_job_output(job_id=job_id).apply(lambda r: r.job_name) for job_id in {job_ids}]
        pulumi.export("names", pulumi.Output.all(*names))
        """,
    )

    run = run_in(emulator, program)

    assert run.error is None, run.error
    assert run.value("names") == [job["job_name"] for job in emulator.jobs()]
    arrivals = sorted(record.time for record in emulator.requests if record.route == "get_job")
    assert len(arrivals) == 8
    # Each answer is held back `latency` seconds after its request arrived. The last request
    # arrived before the first could have been answered, so all eight were in flight together.
    assert arrivals[-1] - arrivals[0] < emulator.latency


@pytest.mark.parametrize(("latency", "found", "missing"), [(0.0, 240, 60), (0.05, 40, 8)])
def test_many_output_lookups_each_get_their_own_result(
    tmp_path: Path, emulator: ModelArtsEmulator, latency: float, found: int, missing: int
) -> None:
    """Results go back to the program in batches, from a pool of at most MAX_CONCURRENT_READS
    threads: every output still gets its own job (or its own absence), read once."""
    job_ids = [int(emulator.add_job(f"many-{n}")["job_id"]) for n in range(found)]
    wanted = [*job_ids, *range(900_000, 900_000 + missing)]
    random.Random(7).shuffle(wanted)
    emulator.latency = latency
    program = write_program(
        tmp_path,
        f"""
        results = {{str(i): get_visualization_job_output(job_id=i, allow_missing=True) for i in {wanted}}}
        pulumi.export("names", pulumi.Output.all(**results).apply(
            lambda values: {{key: [r.id, r.found, r.job_name] for key, r in values.items()}}
        ))
        """,
    )

    run = run_in(emulator, program)

    assert run.error is None, run.error
    names = {job["job_id"]: job["job_name"] for job in emulator.jobs()}
    assert run.value("names") == {str(i): [str(i), i in names, names.get(i)] for i in wanted}
    arrivals = sorted(record.time for record in emulator.requests if record.route == "get_job")
    assert len(arrivals) == len(wanted)
    if latency:  # a thread sends its next request only once its last was answered, `latency` later
        at_once = max(bisect.bisect_left(arrivals, t + latency) - n for n, t in enumerate(arrivals))
        assert at_once <= MAX_CONCURRENT_READS


@pytest.mark.parametrize("job_id", ["abc", 0, 2.5, "12/34"])
def test_a_plain_lookup_with_bad_input_fails_the_program_and_sends_nothing(
    tmp_path: Path, emulator: ModelArtsEmulator, job_id: object
) -> None:
    program = write_program(
        tmp_path,
        f"""
        pulumi.export("ok", get_visualization_job_output(job_id=197).apply(lambda r: r.job_name))
        pulumi.export("bad", get_visualization_job_output(job_id={job_id!r}).apply(fields))
        """,
    )

    run = run_in(emulator, program)

    assert run.error is not None and run.error["type"] == "InvalidInputError"
    assert "RunError" in run.error["mro"] and "\n" not in run.error["message"]
    assert "job_id must be a whole number" in run.error["message"]
    assert modelarts_requests(emulator) in (
        [],
        [("GET", f"/v1/{emulator.project_id}/visualization-jobs/197")],
    )


def test_output_form_fails_the_program_with_one_line(tmp_path: Path, emulator: ModelArtsEmulator) -> None:
    program = write_program(
        tmp_path,
        """
        pulumi.export("missing", get_visualization_job_output(job_id=999).apply(fields))
        """,
    )

    run = run_in(emulator, program)

    assert run.error is not None
    assert run.error["type"] == "JobNotFoundError"
    assert {"JobNotFoundError", "ModelArtsError", "RunError"} <= set(run.error["mro"])
    assert "\n" not in run.error["message"]
    assert "job 999" in run.error["message"]


def test_output_forms_read_modelarts_stack_config(tmp_path: Path, emulator: ModelArtsEmulator) -> None:
    """The read runs on a worker thread, but settings come from the program's stack config."""
    program = write_program(
        tmp_path / "config-only",
        """
        one = get_visualization_job_output(job_id=197)
        many = get_visualization_jobs_output(status=JobStatus.RUNNING)
        pulumi.export("name", one.apply(lambda r: r.job_name))
        pulumi.export("running", many.apply(job_ids))
        """,
    )
    creds = emulator.credentials
    config = {
        "modelarts:endpoint": emulator.url,
        "modelarts:authUrl": emulator.iam_url,
        "modelarts:accessKey": creds.access_key,
        "modelarts:secretKey": creds.secret_key,
    }
    run = run_program(program, project="functions", config=config)  # no HW_* in the environment
    assert run.error is None, run.error
    assert run.value("name") == "apiTest-11"
    assert run.value("running") == [197, 245]
    assert [route for route in (r.route for r in emulator.requests)].count("iam_projects") == 1
