"""The function forms against the emulator: direct forms in this process (``HW_*`` set), output forms
in programs under mocks (preview, unknowns, ``depends_on``); the request log proves what was sent, when."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import gc
import json
import random
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import weakref
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pulumi
import pulumi.runtime
import pytest

import pulumi_modelarts
from pulumi_modelarts import (
    AmbiguousJobNameError,
    GetVisualizationJobResult,
    InvalidInputError,
    InvalidResponseError,
    JobNotFoundError,
    JobStatus,
    ModelArtsError,
    functions,
    get_visualization_job,
    get_visualization_job_output,
    get_visualization_jobs,
)
from pulumi_modelarts.emulator import SAMPLE_JOBS_PATH, ModelArtsEmulator
from pulumi_modelarts.functions import MAX_CONCURRENT_READS, RESULT_FIELDS
from pulumi_modelarts.outputs import OUTPUT_FIELDS
from tests import programs
from tests.checks import CANARY, AtOnce, Held, outputs_of
from tests.hostile import PagingServer, listed_job
from tests.programs import (
    CHILD_PYTHONPATH,
    clean_environ,
    modelarts_requests,
    run_program,
    write_program as write,
)

#: Fields the list call does not return; the plural form leaves them None.
NOT_IN_LISTINGS = ("job_type", "flavor_code", "remaining_duration")


def result_values(result: GetVisualizationJobResult) -> dict[str, Any]:
    return {name: getattr(result, name) for name in RESULT_FIELDS}


# -- direct forms, in process ------------------------------------------------------------------
def test_by_id_or_name_returns_every_field_of_the_job_and_can_be_awaited(in_env: ModelArtsEmulator) -> None:
    result = get_visualization_job(job_id=245)
    assert (result.id, result.found) == ("245", True)
    values, expected = result_values(result), outputs_of(in_env, 245)
    assert {name: (values[name], type(values[name])) for name in OUTPUT_FIELDS} == {
        name: (value, type(value)) for name, value in expected.items()
    }
    assert modelarts_requests(in_env) == [("GET", f"/v1/{in_env.project_id}/visualization-jobs/245")]
    in_env.clear_requests()
    # By name: found through the list call, then read through the details call like a lookup by ID.
    assert result_values(get_visualization_job(job_name="flowers_vis-2")) == values
    assert [record.route for record in in_env.requests] == ["list_jobs", "get_job"]
    assert in_env.requests[0].query["search_content"] == ["flowers_vis-2"]

    async def wait() -> GetVisualizationJobResult:
        return await result

    awaited = asyncio.run(wait())
    assert type(awaited) is GetVisualizationJobResult and result_values(awaited) == values


@pytest.mark.skipif(sys.version_info < (3, 11), reason="CPython 3.10 shares no key table for these fields")
@pytest.mark.parametrize("lookup", [{"job_id": 245}, {"job_name": "flowers_vis-2"}])
def test_results_share_one_key_table_and_keep_their_fields_where_pulumi_reads_them(
    in_env: ModelArtsEmulator, lookup: dict[str, Any]
) -> None:
    """Thousands of results are kept by a program: each holds its values, not its own table of names."""
    first, second = get_visualization_job(**lookup), get_visualization_job(**lookup)
    for result in (first, second, GetVisualizationJobResult(**vars(first))):
        fields = vars(result)
        assert sys.getsizeof(fields) < sys.getsizeof(dict(fields))
        assert {name: pulumi.get(result, name) for name in fields} == fields == vars(first)
    pulumi.set(second, "job_name", "renamed")
    assert (second.job_name, first == second) == ("renamed", False)


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


def test_allow_missing_never_takes_a_listing_read_in_part_for_an_absent_name(
    in_env: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that ignores ``page`` and sends no count: job-25, on a page never served, is no
    proof of absence; before, the lookup returned ``found=False`` from the first ten jobs."""
    first_page = [listed_job(n) for n in range(1, 11)]
    with PagingServer(lambda page: {"jobs": first_page}, [listed_job(25)]) as server:
        monkeypatch.setenv("MODELARTS_ENDPOINT", server.url)
        with pytest.raises(InvalidResponseError, match="page 2 lists only jobs of earlier pages"):
            get_visualization_job(job_name="job-25", allow_missing=True)
        assert server.list_requests() == 2


#: lookup -> (error, what its message says, routes); allow_missing forgives absence, not ambiguity.
TWINS = ["IDs 1000, 1001", "by its ID, e.g. job_id=1000 instead of job_name"]
FAILED_LOOKUPS: list[tuple[dict[str, Any], type[Exception], list[str], list[str]]] = [
    ({"job_id": 999}, JobNotFoundError, ["job 999", "HTTP 400", "Check the job ID"], ["get_job"]),
    ({"job_name": "twin", "allow_missing": True}, AmbiguousJobNameError, TWINS, ["list_jobs"]),
]
#: lookup -> what the message says: refused as InvalidInputError, nothing sent.
ONE_OF = ["exactly one of job_id or job_name"]
REFUSED = [({}, ONE_OF), ({"job_id": 197, "job_name": "apiTest-11"}, ONE_OF)]
REFUSED += [({"job_name": "bad/name"}, ["job_name"]), ({"job_id": "12a"}, ["job_id must be a whole number"])]
# A name no lookup by name can send (Unicode in either form, blanks, too long): what it may hold, and the way out.
NAMED = "job_name may only contain ASCII letters, digits, '_' and '-' (1-64 characters)"
REFUSED += [
    ({"job_name": name}, [NAMED, "A job whose name holds any other character is read by its ID"])
    for name in ("\u53ef\u89c6\u5316", "caf\u00e9", "cafe\u0301", " board", "board ", "x" * 65)
]
# A number for a name (a job ID given as job_name): its digits are allowed, so the line says its type.
REFUSED += [
    ({"job_name": number}, [f"{NAMED}, got {kind} {number}", "A job is read by its number with job_id"])
    for number, kind in ((197, "int"), (197.0, "float"))
]
REFUSED += [({"job_id": 197, "region": 5}, ["region may only contain", "got int 5"])]
# A blank override names no place: refused, as the resource refuses it, not the configured one.
REFUSED += [({"job_id": 197, "endpoint": ""}, ["endpoint must be a URL", "got ''"])]
REFUSED += [({"job_id": 197, "project_id": ""}, ["project_id may only", "got ''"])]
REFUSED += [({"job_name": "apiTest-11", "region": ""}, ["region may only", "got ''"])]
# Options the direct form cannot honour are refused, never dropped without a word.
OPTS = [pulumi.ResourceOptions(), {"depends_on": []}, pulumi.InvokeOutputOptions(depends_on=[object()])]  # type: ignore[list-item]
SAID = [["opts must be pulumi.InvokeOptions", "got ResourceOptions"]]
SAID += [["got dict", "InvokeOutputOptions(depends_on=[...])"]]
SAID += [["opts.depends_on", "Use get_visualization_job_output()"]]
REFUSED += [({"job_id": 197, "opts": opts}, said) for opts, said in zip(OPTS, SAID, strict=True)]
# A flag that is not a bool (a config string, a number) is refused, never read as its truth.
FLAGS = {"false": "True or False, got 'false'", 0: "True or False, got 0", None: ""}
REFUSED += [
    ({"job_id": 999, "allow_missing": flag}, [f"allow_missing must be {s}"]) for flag, s in FLAGS.items()
]
FAILED_LOOKUPS += [(lookup, InvalidInputError, fragments, []) for lookup, fragments in REFUSED]


@pytest.mark.parametrize(("lookup", "error", "fragments", "routes"), FAILED_LOOKUPS)
def test_a_failed_lookup_is_one_line_and_a_run_error(
    in_env: ModelArtsEmulator, lookup: dict[str, Any], error: type[Exception], fragments: Any, routes: Any
) -> None:
    """RunError makes the Pulumi CLI print the message alone, without a traceback."""
    for job_id in (1000, 1001):
        in_env.add_job("twin", job_id=job_id)
    with pytest.raises(error) as caught:
        get_visualization_job(**lookup)
    assert isinstance(caught.value, pulumi.RunError) and isinstance(caught.value, ModelArtsError)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert "\n" not in str(caught.value) and all(fragment in str(caught.value) for fragment in fragments)
    assert [record.route for record in in_env.requests] == routes


@pytest.mark.parametrize(
    ("status", "search", "expected", "query"),
    [
        (JobStatus.RUNNING, None, [197, 245], "status=8"),
        (8.0, None, [197, 245], "status=8"),  # what a StackReference delivers
        ("8", None, [197, 245], "status=8"),
        (12, None, [], "status=12"),
        (None, "flowers", [245, 1000], "search_content=flowers"),
        (JobStatus.RUNNING, "flowers", [245], "status=8&search_content=flowers"),
        (8, "", [197, 245], "status=8"),  # a blank search filters nothing, and is not in the query's ID
        (None, "flowers vis/2", [], "search_content=flowers%20vis%2F2"),  # free text, as sent
    ],
)
def test_jobs_filter_by_status_and_name(
    in_env: ModelArtsEmulator, status: Any, search: str | None, expected: list[int], query: str
) -> None:
    in_env.add_job("flowers-stopped", job_id=1000, status=int(JobStatus.COMPLETED))
    in_env.clear_requests()
    result = get_visualization_jobs(status=status, search_content=search)
    assert [job.job_id for job in result.jobs] == expected
    assert [r.route for r in in_env.requests] == ["list_jobs"] and result.search_content == (search or None)
    assert (result.status, type(result.status)) == (
        (None, type(None)) if status is None else (int(status), int)
    )
    assert (result.project_id, result.region) == (in_env.project_id, in_env.region)
    assert result.id == f"{in_env.project_id}/visualization-jobs?{query}"
    for job in result.jobs:  # the list call's fields, and None for those it does not return
        stored = outputs_of(in_env, job.job_id or 0)
        assert (job.found, job.id) == (True, str(job.job_id))
        assert [getattr(job, name) for name in OUTPUT_FIELDS] == [
            None if name in NOT_IN_LISTINGS else stored[name] for name in OUTPUT_FIELDS
        ]
    with pytest.raises(InvalidInputError, match="^status must be a whole number from 0 to 9007199254740991"):
        get_visualization_jobs(status=8.5)  # type: ignore[arg-type]  # refused before sending (tests/test_validation.py: every kind)
    assert len(in_env.requests) == 1


SUB = "1" * 32  # a sub-project's ID: another project, another login
#: Reads of one process logging in with a password (no projectId set), each naming its project by ID
#: ("id", or "sub": the sub-project's) and its region ("region") or not, or setting HW_PROJECT_NAME
#: ("name"); a "list" reads with get_visualization_jobs. Then how many logins IAM must see.
LOGINS = {
    "by name, then by ID": ([{}, {"project_id": "id"}], 1),
    "by ID, then by name": ([{"project_id": "id"}, {}], 1),
    "by ID on some calls": ([{}, {"project_id": "id"}, {"list": 1}, {"project_id": "id", "list": 1}, {}], 1),
    "region given, then not": ([{"region": "region"}, {"project_id": "id", "region": "region"}, {}], 1),
    "projectName set, then an ID": ([{"name": "eu-de"}, {"project_id": "id"}, {"name": "EU-DE"}], 1),
    "by ID, then projectName": ([{"project_id": "id", "list": 1}, {"name": "eu-de"}], 1),
    "another project, another login": (
        [{}, {"project_id": "sub", "list": 1}, {"name": "eu-de_sub", "list": 1}],
        2,
    ),
}


@pytest.mark.parametrize(("calls", "logins"), LOGINS.values(), ids=LOGINS)
def test_a_project_named_by_id_or_by_name_is_one_password_login(
    monkeypatch: pytest.MonkeyPatch, in_env: ModelArtsEmulator, calls: list[dict[str, Any]], logins: int
) -> None:
    """Before, a read giving ``project_id=`` logged in again for the project a login by name (the
    region's) had found, and the reverse: one token per process and project, however it is named."""
    in_env.add_project("eu-de_sub", SUB)
    for name in ("HW_ACCESS_KEY", "HW_SECRET_KEY", "HW_PROJECT_ID"):
        monkeypatch.delenv(name)
    for name, value in in_env.environ("password", include_project=False).items():
        monkeypatch.setenv(name, value)
    place = {"id": in_env.project_id, "sub": SUB, "region": in_env.region}
    for call in calls:
        given: dict[str, Any] = {key: place[v] for key, v in call.items() if key in ("project_id", "region")}
        with monkeypatch.context() as context:
            if "name" in call:
                context.setenv("HW_PROJECT_NAME", call["name"])
            read = get_visualization_jobs(**given) if "list" in call else get_visualization_job(197, **given)
        sub = SUB in (given.get("project_id"), call.get("name") == "eu-de_sub" and SUB)
        assert read.project_id == (SUB if sub else in_env.project_id)
    assert [r.route for r in in_env.requests].count("iam_token") == logins


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


def run_in(emulator: ModelArtsEmulator, directory: Path, body: str, **kwargs: Any) -> Any:
    """A program of ``HEADER`` and ``body`` with the emulator's variables and a ``jobName`` setting."""
    config = {"functions:jobName": "apiTest-11"}
    program = write_program(directory, body)
    return run_program(program, project="functions", config=config, env=emulator.environ(), **kwargs)


def succeeded(run: Any) -> Any:
    """``run``, checked to have ended without an error."""
    assert run.error is None, run.error
    return run


def test_output_forms_give_the_resource_forms_values(tmp_path: Path, emulator: ModelArtsEmulator) -> None:
    body = f"""
        job = VisualizationJob("board", job_id=197)
        values = pulumi.Output.all(*(getattr(job, name) for name in OUTPUT_FIELDS))
        pulumi.export("resource", values.apply(lambda values: dict(zip(OUTPUT_FIELDS, values))))
        pulumi.export("by_id", get_visualization_job_output(job_id=197).apply(fields))
        by_name = get_visualization_job_output(job_name=pulumi.Config().require("jobName"))
        pulumi.export("by_name", by_name.apply(fields))
        # Chained from a resource output: an Input the direct form could not take.
        pulumi.export("chained", get_visualization_job_output(job_name=job.job_name).apply(fields))
        pulumi.export("missing", get_visualization_job_output(job_id=999, allow_missing=True).apply(fields))
        pulumi.export("missing_whole", get_visualization_job_output(job_id=999, allow_missing=True))
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
        """
    refs = {"organization/quickstart/dev": {"job_id": 197, "status": 8}}
    run = succeeded(run_in(emulator, tmp_path, body, stack_references=refs))
    resource = run.value("resource")
    assert resource == outputs_of(emulator, 197)
    for name in ("by_id", "by_name", "chained", "by_secret_id", "by_secret_name", "in_secret_project"):
        assert run.value(name) == {"id": "197", "found": True, **resource}, name
    assert run.value("missing") == {"id": "999", "found": False, **dict.fromkeys(OUTPUT_FIELDS)}
    assert run.exports["missing_whole"] == {"id": "999", "found": False}  # Pulumi leaves None out
    assert run.value("running") == run.value("ref_by_status") == run.value("by_secret_status") == [197, 245]
    assert run.value("killed") == []
    assert run.value("seen") == [197.0, 8.0]
    assert run.value("ref_by_id") == run.value("ref_resource") == "apiTest-11"
    secret = {name for name, entry in run.outputs.items() if entry["secret"]}
    assert secret == {"by_secret_id", "by_secret_name", "in_secret_project", "by_secret_status"}


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
    body = COMPONENT + textwrap.dedent("""
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
        """)
    run = succeeded(run_in(emulator, tmp_path, body, preview=True))
    assert [name for name, entry in run.outputs.items() if entry["known"]] == ["known"]
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
    held = Held(emulator, 2)  # and the first two until both have come
    body = f"""
boards = {declared}
waiting = get_visualization_job_output(job_id=197, opts=pulumi.InvokeOutputOptions(depends_on={depends_on}))
free = get_visualization_job_output(job_id=230)
pulumi.export("waiting", waiting.apply(lambda result: result.job_name))
pulumi.export("free", free.apply(lambda result: result.job_name))
"""
    run = succeeded(run_in(emulator, tmp_path, COMPONENT + body))
    assert run.value("waiting") == "apiTest-11" and run.value("free") == "resnet50-tb"
    arrived = {record.path.rsplit("/", 1)[-1]: record.time for record in emulator.requests}
    assert set(arrived) == {"212", "197", "230"}
    # The resource (a component's child) exists only once its read of 212 has been answered,
    # `latency` after that request arrived: the dependent read cannot have been sent earlier.
    assert arrived["197"] - arrived["212"] >= emulator.latency
    # Control: without depends_on the read went out while the resource's read was in flight.
    assert sorted(path.rsplit("/", 1)[-1] for path in held.arrived) == ["212", "230"]


@pytest.mark.parametrize(("latency", "found", "missing"), [(0.0, 240, 60), (0.05, 40, 8)])
def test_many_output_lookups_each_get_their_own_result(
    tmp_path: Path, emulator: ModelArtsEmulator, latency: float, found: int, missing: int
) -> None:
    """Results come back in batches from at most MAX_CONCURRENT_READS threads: each its own, read once."""
    job_ids = [int(emulator.add_job(f"many-{n}")["job_id"]) for n in range(found)]
    wanted = [*job_ids, *range(900_000, 900_000 + missing)]
    random.Random(7).shuffle(wanted)
    emulator.latency = latency
    body = f"""
        results = {{str(i): get_visualization_job_output(job_id=i, allow_missing=True) for i in {wanted}}}
        pulumi.export("names", pulumi.Output.all(**results).apply(
            lambda values: {{key: [r.id, r.found, r.job_name] for key, r in values.items()}}
        ))
        """
    run = succeeded(run_in(emulator, tmp_path, body))
    names = {job["job_id"]: job["job_name"] for job in emulator.jobs()}
    assert run.value("names") == {str(i): [str(i), i in names, names.get(i)] for i in wanted}
    arrivals = sorted(record.time for record in emulator.requests if record.route == "get_job")
    assert len(arrivals) == len(wanted)
    if latency:  # a thread sends its next request only once its last was answered, `latency` later
        at_once = max(bisect.bisect_left(arrivals, t + latency) - n for n, t in enumerate(arrivals))
        assert at_once <= MAX_CONCURRENT_READS


@pytest.mark.slow
def test_reads_run_inline_while_the_process_is_busy_and_on_threads_again_once_they_wait(
    tmp_path: Path, emulator: ModelArtsEmulator
) -> None:
    """While the process is busy (here a clock that counts one more core at work, so that a machine
    shared with other processes cannot starve a spinning thread of it), reads soon run inline, with the
    pool's results; reads of a slow server then go back to threads and overlap. One failing inline is
    one line, as from the pool."""
    slow = ModelArtsEmulator.from_seed_file(SAMPLE_JOBS_PATH, credentials=CANARY, latency=0.1)
    reads = AtOnce(slow)
    with slow:
        body = f"""
            import asyncio, json, time, types
            from pulumi_modelarts import functions
            busy = {{"since": None, "before": 0.0}}  # wall seconds another core has been at work
            def process_time():
                since = busy["since"]
                return time.process_time() + busy["before"] + (0.0 if since is None else time.perf_counter() - since)
            functions.time = types.SimpleNamespace(**{{**vars(time), "process_time": process_time}})
            async def read_all(job_ids, **options):
                outputs = [get_visualization_job_output(job_id=i, allow_missing=True, **options) for i in job_ids]
                return [(await output.future()).job_name for output in outputs]
            async def busy_until_inline():
                started, names = time.monotonic(), []
                busy["since"] = time.perf_counter()
                while not functions._READS._inline and time.monotonic() < started + 60:
                    names.append(await read_all([197, 212, 999_999] * 20))
                busy["before"] += time.perf_counter() - busy["since"]
                busy["since"] = None
                return functions._READS._inline, names
            async def phases():
                inline, read_busy = await busy_until_inline()
                slow = await read_all([197, 212, 230, 245] * 8, endpoint={slow.url!r})
                seen = {{"inline": inline, "busy": read_busy, "slow": slow, "inline_after": functions._READS._inline}}
                seen["inline_again"] = (await busy_until_inline())[0]
                with open("phases.json", "w") as file:
                    json.dump(seen, file)
                await get_visualization_job_output(job_id=999_999).future()
            pulumi.export("phases", pulumi.Output.from_input(asyncio.ensure_future(phases())))
            """
        run = run_in(emulator, tmp_path, body)
        phases = json.loads((tmp_path / "phases.json").read_text())
        assert phases["inline"] is phases["inline_again"] is True and phases["inline_after"] is False
        names = {job["job_id"]: job["job_name"] for job in emulator.jobs()}
        assert phases["busy"] and all(read == [names[197], names[212], None] * 20 for read in phases["busy"])
        assert phases["slow"] == [names[197], names[212], names[230], names[245]] * 8
        assert [record.route for record in slow.requests].count("get_job") == 32
        assert reads.most >= 8  # after at most a few reads in turn, they overlap again
        assert run.error is not None and run.error["type"] == "JobNotFoundError"
        assert "RunError" in run.error["mro"] and "\n" not in run.error["message"]


INVALID, MISSING = "InvalidInputError", ("JobNotFoundError", "job 999")
#: Arguments -> (error, what it says). allow_missing is an Input like the others: an Output of False is
#: False, not a truthy object; ResourceOptions' depends_on would be dropped (the read could come first).
OUTPUT_FAILURES = [(f"job_id={bad!r}", INVALID, "job_id must be a whole number") for bad in ["abc", 0, 2.5]]
OUTPUT_FAILURES += [("job_id='12/34'", INVALID, "job_id must be a whole number"), ("job_id=999", *MISSING)]
OUTPUT_FAILURES += [(f"job_id=999, allow_missing={flag}(False)", *MISSING) for flag in ("known", "secret")]
FLAG = "allow_missing must be True or False"
OUTPUT_FAILURES += [("job_id=999, allow_missing=known('true')", INVALID, FLAG)]
OPTS_SAID = "opts must be pulumi.InvokeOptions or pulumi.Invoke"
BOARD_OPTS = "pulumi.ResourceOptions(depends_on=[VisualizationJob('board', job_id=197)])"
OUTPUT_FAILURES += [(f"job_id=230, opts={BOARD_OPTS}", INVALID, OPTS_SAID)]
OUTPUT_FAILURES += [("job_id=230, opts={'depends_on': []}", INVALID, OPTS_SAID + "OutputOptions, got dict")]


@pytest.mark.parametrize(("arguments", "error", "fragment"), OUTPUT_FAILURES)
def test_an_output_lookup_that_fails_fails_the_program_with_one_line(
    tmp_path: Path, emulator: ModelArtsEmulator, arguments: str, error: str, fragment: str
) -> None:
    """Bad input sends nothing; a missing job is read once."""
    body = f"""
        known, secret = pulumi.Output.from_input, pulumi.Output.secret
        pulumi.export("ok", get_visualization_job_output(job_id=197).apply(lambda r: r.job_name))
        pulumi.export("bad", get_visualization_job_output({arguments}).apply(fields))
        """
    run = run_in(emulator, tmp_path, body)
    assert run.error is not None and run.error["type"] == error
    assert {"ModelArtsError", "RunError"} <= set(run.error["mro"]) and "\n" not in run.error["message"]
    assert fragment in run.error["message"]
    readable = (197, 999) if error == "JobNotFoundError" else (197,)
    sent = {path for _, path in modelarts_requests(emulator)}
    assert sent <= {f"/v1/{emulator.project_id}/visualization-jobs/{n}" for n in readable}


#: Canaries for secret inputs: a job ID and a project ID found nowhere else.
JOB_CANARY, PROJECT_CANARY = 987654321, "5ec7e7c0ffee4b1d9a8e7f6d5c4b3a29"
READ_JOB = "get_visualization_job_output(JOB, project_id=PROJECT, endpoint=ENDPOINT)"
#: Each kind of error a read can end in, as the program reads them: label -> (error, the read, the
#: emulator's answer: fault options, the server echoing the job and project in each). ``JOB``,
#: ``PROJECT``, ``ENDPOINT`` and ``CLOSED`` (a port no server listens on) are the inputs.
SECRET_READS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "not found": ("JobNotFoundError", READ_JOB, {"status": 400, "error_code": "ModelArts.2775"}),
    "denied": ("PermissionDeniedError", READ_JOB, {"status": 403}),
    "5xx": ("ServiceError", READ_JOB, {"status": 503}),
    "invalid": ("InvalidResponseError", READ_JOB, {"body": "<p>{echo}</p>", "content_type": "text/html"}),
    "refused": ("ServiceError", READ_JOB.replace("ENDPOINT", "CLOSED"), None),
    "list 5xx": (
        "ServiceError",
        "get_visualization_jobs_output(project_id=PROJECT, endpoint=ENDPOINT)",
        {"status": 503},
    ),
}
SECRET_PROGRAM = """
import asyncio, json, traceback

def shown(exc):
    chain = [exc]
    while (cause := chain[-1].__cause__ or chain[-1].__context__) is not None and cause not in chain:
        chain.append(cause)
    texts = [text for error in chain for text in (str(error), repr(error))]
    texts += [json.dumps(exc.details(), default=str), "".join(traceback.format_exception(exc))]
    return {"type": type(exc).__name__, "line": str(exc), "texts": texts}

async def passes():
    seen = {}
    for wrap in (pulumi.Output.from_input, pulumi.Output.secret):
        given = {name: wrap(value) if name in SECRET else value for name, value in VALUES.items()}
        JOB, PROJECT, ENDPOINT, CLOSED = given["job_id"], given["project_id"], given["endpoint"], given["closed"]
        for label, call in READS.items():
            output = eval(call)
            output._untrack()  # its error is handled here: the run does not fail of it
            try:
                seen[f"{label} {wrap.__name__}"] = await output.future()
            except Exception as exc:
                seen[f"{label} {wrap.__name__}"] = shown(exc)
    return seen

pulumi.export("seen", pulumi.Output.from_input(asyncio.ensure_future(passes())))
"""


@pytest.mark.parametrize("secret_input", ["job_id", "project_id", "endpoint"])
def test_a_secret_input_is_shown_in_no_read_error_and_a_plain_one_still_is(
    tmp_path: Path, emulator: ModelArtsEmulator, closed_port: int, secret_input: str
) -> None:
    """Every kind of read error, made on the pool: its line, repr, ``details()``, traceback and
    chained exceptions show ``[secret]`` where the same read of plain inputs names the input (the
    server echoing it too); the line is otherwise the same, status, error code and request ID kept."""
    emulator.add_project("canary-project", PROJECT_CANARY)
    closed = f"http://127.0.0.1:{closed_port}"
    inputs = {"job_id": JOB_CANARY, "project_id": None, "endpoint": emulator.url, "closed": closed}
    canaries = [str(JOB_CANARY)]
    if secret_input == "project_id":
        inputs |= {"job_id": 197, "project_id": PROJECT_CANARY}
        canaries = [PROJECT_CANARY]
    elif secret_input == "endpoint":
        canaries = [urlsplit(emulator.url).netloc, urlsplit(closed).netloc]
    echo = f"job {inputs['job_id']} of project {inputs['project_id'] or emulator.project_id} is not yours"
    reads = {
        label: read
        for label, read in SECRET_READS.items()
        if secret_input != "job_id" or "jobs" not in read[1]
    }
    for _ in ("plain", "secret"):  # the faults each pass uses up, in the order of its reads
        for _, call, fault in reads.values():
            if fault is not None:
                route = "list_jobs" if "jobs" in call else "get_job"
                options = {
                    name: value.format(echo=echo) if isinstance(value, str) else value
                    for name, value in fault.items()
                }
                echoed = {} if "body" in options else {"error_message": echo}  # a body says it itself
                emulator.inject_fault(route, **(echoed | options))
    secret = {secret_input} | ({"closed"} if secret_input == "endpoint" else set())
    program = f"VALUES, SECRET = {inputs!r}, {secret!r}\nREADS = { ({k: v[1] for k, v in reads.items()})!r}\n"
    env = {**emulator.environ(), "HW_MAX_RETRIES": "0"}  # one answer a read: the faults stay in order
    run = run_program(write_program(tmp_path, program + SECRET_PROGRAM), project="functions", env=env)
    seen = succeeded(run).value("seen")
    for label, (error, _, _) in reads.items():
        plain, hidden = seen[f"{label} from_input"], seen[f"{label} secret"]
        assert plain is not None and hidden is not None and plain["type"] == hidden["type"] == error, label
        assert any(canary in plain["line"] for canary in canaries), (label, plain["line"])
        assert [text for text in hidden["texts"] for canary in canaries if canary in text] == [], label
        for canary in canaries:
            plain["line"] = plain["line"].replace(canary, "[secret]")
        assert re.sub("request-id [0-9a-f]+", "", hidden["line"]) == re.sub(
            "request-id [0-9a-f]+", "", plain["line"]
        )
    assert not any(canary in run.stdout + run.stderr for canary in canaries)


@pytest.mark.parametrize(
    ("place", "error", "denied"),
    [
        ({"region": "eu-nl"}, "no IAM project named 'eu-nl'", False),
        ({"region": "eu-nl"}, "IAM project lookup: access denied", True),  # no right to list projects
        ({"project_id": "0" * 32}, "does not match", False),
    ],
)
def test_a_read_of_a_place_of_its_own_is_told_to_name_its_project_there(
    in_env: ModelArtsEmulator,
    monkeypatch: pytest.MonkeyPatch,
    place: dict[str, Any],
    error: str,
    denied: bool,
) -> None:
    """A region given to one read drops the configured project, so configuring one (the only way the
    hint named before) could not help; a project given to one read is the one to change."""
    if denied:
        monkeypatch.setenv("HW_MAX_RETRIES", "0")
        in_env.inject_fault("iam_projects", status=403)
    with pytest.raises(ModelArtsError, match=error) as caught:
        get_visualization_job(job_id=197, **place)
    assert "\n" not in str(caught.value) and "a read's project_id" in caught.value.hint


#: How the listing of a lookup by name fails: the service, or an answer that is no listing.
LISTING_FAULTS = [{"status": 503}, {"body": "<p>down</p>", "content_type": "text/html"}]


@pytest.mark.parametrize("fault", LISTING_FAULTS)
def test_a_lookup_by_name_that_fails_while_listing_names_the_name(
    tmp_path: Path, emulator: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, fault: dict[str, Any]
) -> None:
    """Many lookups by name in one program: the line says which failed (before, only that a listing
    had), and a secret name stays hidden there as everywhere else."""
    environ = {**emulator.environ(), "HW_MAX_RETRIES": "0"}
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    emulator.inject_fault("list_jobs", **fault)
    with pytest.raises(ModelArtsError) as caught:
        get_visualization_job(job_name="apiTest-11", allow_missing=True)
    assert str(caught.value).startswith("find visualization job 'apiTest-11': ")
    emulator.inject_fault("list_jobs", **fault)
    body = """
        name = pulumi.Output.secret("apiTest-11")
        pulumi.export("job", get_visualization_job_output(job_name=name, allow_missing=True).job_id)
        """
    run = run_program(write_program(tmp_path, body), project="functions", env=environ)
    assert run.error is not None and run.error["message"].startswith("find visualization job '[secret]': ")
    assert "apiTest-11" not in run.error["message"] + run.error["traceback"] + run.stdout + run.stderr


def test_both_forms_read_stack_config_and_output_form_reads_overlap(
    tmp_path: Path, emulator: ModelArtsEmulator
) -> None:
    """Settings from the program's stack config (no ``HW_*``), also on the pool's threads, eight at once."""
    job_ids = [197, 212, 230, 245, *(emulator.add_job(f"extra-{n}")["job_id"] for n in range(4))]
    held = Held(emulator, len(job_ids), after=1)  # the direct read is answered at once
    body = f"""
        from pulumi_modelarts import get_visualization_job
        pulumi.export("direct", get_visualization_job(job_id=197).job_name)  # answered before the rest
        names = [get_visualization_job_output(job_id=job_id).apply(lambda r: r.job_name) for job_id in {job_ids}]
        pulumi.export("names", pulumi.Output.all(*names))
        pulumi.export("running", get_visualization_jobs_output(status=JobStatus.RUNNING).apply(job_ids))
        """
    config = emulator.stack_config(include_project=False)  # namespaced keys, as the CLI sets them
    run = succeeded(run_program(write_program(tmp_path, body), project="functions", config=config))
    assert run.value("names") == [job["job_name"] for job in emulator.jobs()]
    assert run.value("direct") == "apiTest-11"
    assert run.value("running") == [n for n in job_ids if (emulator.get_job(n) or {})["status"] == 8]
    assert [r.route for r in emulator.requests].count("iam_projects") == 1  # looked up once per process
    # The last request arrived before the first was answered: all were in flight together.
    assert sorted(int(path.rsplit("/", 1)[1]) for path in held.arrived) == sorted(job_ids)


def test_output_reads_in_flight_together_naming_their_project_or_not_log_in_once(
    tmp_path: Path, emulator: ModelArtsEmulator
) -> None:
    """Sixteen reads on the pool, every other one giving ``project_id=``: one login by name and one
    by ID started together before (two tokens); the second now waits for the first and takes its token."""
    held = Held(emulator, 8)
    body = f"""
        reads = [get_visualization_job_output(job_id=197, project_id=None if n % 2 else {emulator.project_id!r})
                 for n in range(16)]
        pulumi.export("projects", pulumi.Output.all(*reads).apply(lambda rs: sorted({{r.project_id for r in rs}})))
        """
    config = emulator.stack_config("password", include_project=False)
    run = succeeded(run_program(write_program(tmp_path, body), project="functions", config=config))
    assert run.value("projects") == [emulator.project_id] and len(held.arrived) >= 8
    assert [r.route for r in emulator.requests].count("iam_token") == 1


def test_a_thread_the_program_starts_reads_its_stack_config_only_in_a_copy_of_its_context(
    tmp_path: Path, emulator: ModelArtsEmulator
) -> None:
    """As ``pulumi.Config``: the stack config lives in the program's context (the Automation API sets
    it there), so a bare thread sees the environment alone and reads nowhere; a copied context reads."""
    body = """
        import contextvars, threading
        from pulumi_modelarts import get_visualization_job
        read = {}
        def lookup(how):
            try:
                read[how] = get_visualization_job(job_id=197).job_name
            except Exception as exc:
                read[how] = type(exc).__name__
        for how, target in (("bare", lookup), ("copied", contextvars.copy_context().run)):
            thread = threading.Thread(target=target, args=(how,) if how == "bare" else (lookup, how))
            thread.start()
            thread.join()
        pulumi.export("read", read)
        """
    config = emulator.stack_config()
    run = succeeded(run_program(write_program(tmp_path, body), project="functions", config=config))
    assert run.value("read") == {"bare": "ConfigurationError", "copied": "apiTest-11"}
    assert modelarts_requests(emulator) == [("GET", f"/v1/{emulator.project_id}/visualization-jobs/197")]


def test_an_output_form_called_in_a_thread_without_a_loop_says_where_to_call_it(
    tmp_path: Path, emulator: ModelArtsEmulator
) -> None:
    """An Output belongs to the program's event loop: a thread the program starts has none, and is
    told which form it can call there instead of asyncio's bare ``RuntimeError``."""
    body = """
        import contextvars, threading
        import pulumi_modelarts
        said = {}
        def lookup(form):
            try:
                getattr(pulumi_modelarts, form)(job_id=197) if "jobs" not in form else getattr(pulumi_modelarts, form)()
            except Exception as exc:
                said[form] = [type(exc).__name__, isinstance(exc, pulumi.RunError), str(exc)]
        for form in ("get_visualization_job_output", "get_visualization_jobs_output"):
            thread = threading.Thread(target=contextvars.copy_context().run, args=(lookup, form))
            thread.start()
            thread.join()
        pulumi.export("said", said)
        """
    run = succeeded(
        run_program(write_program(tmp_path, body), project="functions", config=emulator.stack_config())
    )
    for form, (error, run_error, message) in run.value("said").items():
        assert (error, run_error) == ("InvalidInputError", True)
        assert message.startswith(f"{form}() was called in thread 'Thread-") and "\n" not in message
        assert message.endswith(f"call {form[:-7]}() in this thread")
    assert modelarts_requests(emulator) == []


@pytest.mark.parametrize("form", ["get_visualization_job_output", "get_visualization_jobs_output"])
def test_an_output_form_called_where_asyncio_run_left_no_loop_says_where_to_call_it(
    in_env: ModelArtsEmulator, form: str
) -> None:
    """``asyncio.run()`` leaves the main thread without an event loop (a script, a test suite), as
    Python 3.14 starts it: an Output made there gets asyncio's bare ``RuntimeError`` too."""
    asyncio.run(asyncio.sleep(0))
    call = getattr(pulumi_modelarts, form)
    with pytest.raises(InvalidInputError) as raised:
        call(job_id=197) if "jobs" not in form else call()
    message = str(raised.value)
    assert message.startswith(f"{form}() was called in thread 'MainThread', which has no event loop")
    assert message.endswith(f"call {form[:-7]}() in this thread") and "\n" not in message
    assert isinstance(raised.value, pulumi.RunError) and in_env.requests == []


#: Each form's read, by the path it requests; ``board`` is a resource created before it.
CONTEXT_READS = {
    "direct": ("get_visualization_job(job_id=197)", "/visualization-jobs/197"),
    "output": ("get_visualization_job_output(job_id=212)", "/visualization-jobs/212"),
    "output-of-output": ("get_visualization_job_output(job_id=pulumi.Output.from_input(245))", "/245"),
    "depends-on": ("get_visualization_job_output(job_name='resnet50-tb', opts=AFTER_BOARD)", "resnet50-tb"),
    "list": ("get_visualization_jobs_output(status=8)", "status=8"),
}


def test_every_read_sees_the_context_the_program_set_before_the_call(
    tmp_path: Path, emulator: ModelArtsEmulator
) -> None:
    """On a pool thread too, as the SDK's own invokes (``wrap_with_context``): a tracing context
    (OpenTelemetry's is a context variable) and the program's settings hold where the request is sent."""
    body = f"""
        import contextvars, pulumi, requests
        from opentelemetry import context as otel
        from pulumi_modelarts import *
        span = contextvars.ContextVar("span", default=None)
        seen, send = {{}}, requests.adapters.HTTPAdapter.send
        def traced(adapter, request, **kwargs):  # where the request leaves, traced or not
            seen.setdefault(request.url, []).append([span.get(), otel.get_value("trace"), pulumi.get_stack()])
            return send(adapter, request, **kwargs)
        requests.adapters.HTTPAdapter.send = traced
        board = pulumi.CustomResource("test:index:Board", "board", {{"value": 1}})
        AFTER_BOARD = pulumi.InvokeOutputOptions(depends_on=[board])
        span.set("program-span")
        otel.attach(otel.set_value("trace", "program-trace"))
        reads = {{name: call for name, (call, _) in {list(CONTEXT_READS.items())!r}}}
        results = {{name: eval(call) for name, call in reads.items()}}
        pulumi.export("seen", pulumi.Output.all(*results.values()).apply(lambda _: seen))
        """
    config = emulator.stack_config()
    run = succeeded(run_program(write(tmp_path, body), project="functions", config=config))
    seen = run.value("seen")
    for name, (_, path) in CONTEXT_READS.items():
        urls = [url for url in seen if path in url]
        sent = [context for url in urls for context in seen[url]]
        assert sent and all(context == ["program-span", "program-trace", "dev"] for context in sent), name


def reads_ended() -> None:
    """Waits (at most 30 s) until the reads in flight have ended."""
    deadline = time.monotonic() + 30
    while functions._READS._busy and time.monotonic() < deadline:
        time.sleep(0.01)


def end_run(loop: asyncio.AbstractEventLoop) -> None:
    """As the Automation API ends an inline program's run: cancel what is left, close, forget its outputs."""
    for task in asyncio.all_tasks(loop):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(task)
    loop.close()
    pulumi.runtime.settings.SETTINGS.outputs.clear()


@pytest.mark.parametrize("reads", [1, 40])
@pytest.mark.parametrize("ending", ["closed", "cancelled"])
def test_a_program_whose_loop_closes_with_reads_in_flight_leaves_the_pool_whole(
    in_env: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, reads: int, ending: str
) -> None:
    """An inline program's loop closed with reads in flight: threads live on, no traceback, next run reads."""
    monkeypatch.setattr(functions, "_READS", functions._Reads())  # this test's pool alone
    others = set(threading.enumerate())
    errors: list[Any] = []
    monkeypatch.setattr(threading, "excepthook", errors.append)
    held, in_flight = Held(in_env), min(reads, MAX_CONCURRENT_READS)  # no answer before the loop closes

    async def abandon() -> None:
        outputs = [get_visualization_job_output(job_id=197) for _ in range(reads)]
        _awaiting = [asyncio.ensure_future(output.future()) for output in outputs]  # as exports are
        sent = asyncio.get_running_loop().run_in_executor(None, held.wait_for, in_flight)
        assert await sent  # and not answered

    loop = asyncio.new_event_loop()
    loop.run_until_complete(asyncio.wait_for(abandon(), 30))
    if ending == "cancelled":
        end_run(loop)
    loop.close()
    held.release()
    reads_ended()
    assert errors == []
    pool = [thread for thread in threading.enumerate() if thread.name == "modelarts-read"]
    assert len(set(pool) - others) == functions._READS._threads
    assert len([record for record in in_env.requests if record.route == "get_job"]) == in_flight

    async def again() -> list[str | None]:
        outputs = [get_visualization_job_output(job_id=212) for _ in range(8)]
        return [(await output.future()).job_name for output in outputs]  # type: ignore[union-attr]

    assert asyncio.run(asyncio.wait_for(again(), 30)) == ["mnist-insight"] * 8


#: How a program ends while its reads wait on the server: it raises, or Ctrl-C stops a direct form's read.
ENDINGS = {
    "raises": "while not os.path.exists('go'):\n    time.sleep(0.01)\nraise ValueError('the program failed')",
    "interrupted": "get_visualization_job(job_id=212)",
}


@pytest.mark.parametrize("ending", ENDINGS)
def test_a_program_that_ends_with_reads_in_flight_ends_at_once_in_its_own_error(
    tmp_path: Path, emulator: ModelArtsEmulator, ending: str
) -> None:
    """The SDK waits for every output after a program raised: reads still waiting end in its error, not
    at their deadlines, and those not sent yet are never sent. Each held answer would come 30 s late."""
    held = Held(emulator)
    body = f"""
        import os, time
        from pulumi_modelarts import get_visualization_job
        outputs = [get_visualization_job_output(job_id=197) for _ in range(200)]
        pulumi.export("names", pulumi.Output.all(*outputs).apply(len))
        {textwrap.indent(ENDINGS[ending], " " * 8).lstrip()}
        """
    program = write_program(tmp_path, body)
    spec = {"project": "functions", "config": {}, "preview": False, "stack_references": {}}
    env = {**clean_environ(emulator.environ()), "PYTHONPATH": CHILD_PYTHONPATH}
    command = [sys.executable, "-m", "tests.programs", json.dumps(spec)]
    with subprocess.Popen(
        command, cwd=program, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as run:
        try:
            assert held.wait_for(MAX_CONCURRENT_READS + (ending == "interrupted"))
            (program / "go").touch() if ending == "raises" else run.send_signal(signal.SIGINT)
            stdout, stderr = run.communicate(timeout=25)  # before the first held answer would come
        finally:
            run.kill()
            held.release()
    assert len(held.arrived) == MAX_CONCURRENT_READS + (ending == "interrupted")
    if ending == "raises":
        error = json.loads(stdout.rpartition(programs.MARKER)[2])["error"]
        assert (error["type"], error["message"]) == ("ValueError", "the program failed")
    else:  # Python's own report of Ctrl-C, from the main thread alone
        assert run.returncode == -signal.SIGINT and stderr.splitlines()[-1] == "KeyboardInterrupt"
        assert stderr.count("Traceback") == 1 and "modelarts-read" not in stderr


@pytest.mark.parametrize("runs", [1, 3])
@pytest.mark.parametrize("awaited", [True, False], ids=["answered", "in-flight"])
def test_the_pool_keeps_no_event_loop_of_a_run_that_has_ended(
    in_env: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, runs: int, awaited: bool
) -> None:
    """Runs one after another in one process (Automation API, a test runner), each on its own loop."""
    monkeypatch.setattr(functions, "_READS", functions._Reads())
    in_env.latency = 0.05

    async def program(awaited: bool) -> None:
        outputs = [get_visualization_job_output(job_id=job_id) for job_id in (197, 212)]
        if awaited:
            for output in outputs:
                await output.future()

    closed = []
    for _ in range(runs):
        loop = asyncio.new_event_loop()
        loop.run_until_complete(program(awaited))
        end_run(loop)
        closed.append(weakref.ref(loop))
        del loop
    asyncio.run(program(True))
    reads_ended()
    gc.collect()
    assert [ref() for ref in closed] == [None] * runs


@pytest.mark.parametrize("threads", [0, 1])
def test_reads_go_on_when_no_more_threads_may_start(
    in_env: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    """Python refuses new threads at interpreter shutdown (3.12+: atexit, a pool still reading) or at
    the system's limit: the threads running take the reads, or with none the reads run inline."""
    monkeypatch.setattr(functions, "_READS", functions._Reads())
    errors: list[Any] = []
    monkeypatch.setattr(threading, "excepthook", errors.append)
    start, started = threading.Thread.start, list[threading.Thread]()

    def refused(thread: threading.Thread) -> None:
        if thread.name == "modelarts-read":
            if len(started) >= threads:
                raise RuntimeError("can't create new thread at interpreter shutdown")
            started.append(thread)
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", refused)

    async def program() -> list[str | None]:
        outputs = [get_visualization_job_output(job_id=job_id) for job_id in (197, 212) * 4]
        return [(await output.future()).job_name for output in outputs]  # type: ignore[union-attr]

    assert asyncio.run(asyncio.wait_for(program(), 30)) == ["apiTest-11", "mnist-insight"] * 4
    reads_ended()
    assert (errors, len(started), functions._READS._threads, functions._READS._busy) == (
        [],
        threads,
        threads,
        0,
    )


SHUTDOWN = """
import asyncio, atexit, time
from pulumi_modelarts import functions, get_visualization_job_output

def at_exit():  # Python refuses new threads from here on (3.12+)
    print("exiting", flush=True)  # the first read's answer, held until now, comes
    deadline = time.monotonic() + 30
    while functions._READS._busy and time.monotonic() < deadline:
        time.sleep(0.01)
    print(f"unread {functions._READS._busy}", flush=True)

atexit.register(at_exit)
functions._READS._limit = 1  # one thread, which starts another once its first read is answered

async def program():
    return [get_visualization_job_output(job_id=197) for _ in range(4)]

outputs = asyncio.new_event_loop().run_until_complete(program())
"""


def test_a_program_ending_with_reads_in_flight_exits_without_a_thread_traceback(
    tmp_path: Path, emulator: ModelArtsEmulator
) -> None:
    """A pool thread growing the pool at interpreter shutdown (refused from Python 3.12) leaves no
    ``Exception in thread`` traceback on stderr, and the threads running read on."""
    held = Held(emulator)
    env = {**clean_environ(emulator.environ()), "PYTHONPATH": CHILD_PYTHONPATH}
    with subprocess.Popen(
        [sys.executable, "-c", SHUTDOWN],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            assert held.wait_for(1) and child.stdout is not None and child.stdout.readline() == "exiting\n"
            held.release()
            stdout, stderr = child.communicate(timeout=60)
        finally:
            held.release()
            child.kill()
    assert (child.returncode, stdout, stderr) == (0, "unread 0\n", "")


MOCKS_SUITE = """
import json, os, sys
import pulumi
from pulumi_modelarts import get_visualization_job, get_visualization_job_output

class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return f"{args.name}-id", args.inputs

    def call(self, args):
        return {}, None

pulumi.runtime.set_mocks(Mocks(), project="suite", stack="dev")
seen = []
for config, environ in json.loads(sys.argv[1]):  # one test of a suite each, as a unittest module runs them
    if "{how}" == "environ":  # no stack config: the place comes from the variables
        os.environ.update(environ)
    elif "{how}" == "PULUMI_CONFIG":  # as the CLI hands a program its config
        os.environ["PULUMI_CONFIG"] = json.dumps(config)
    elif "{how}" == "set_config":
        for key, value in config.items():
            pulumi.runtime.set_config(key, value)
    else:
        if "{how}" == "set_mocks":
            pulumi.runtime.set_mocks(Mocks(), project="suite", stack="dev")
        pulumi.runtime.set_all_config(config)

    @pulumi.runtime.test
    def test_board():
        direct = get_visualization_job(job_id=5000)
        output = get_visualization_job_output(job_id=5000)
        return output.apply(lambda result: seen.append([direct.project_id, result.project_id]))

    test_board()
print(json.dumps(seen))
"""


@pytest.mark.parametrize("how", ["set_all_config", "set_config", "set_mocks", "environ", "PULUMI_CONFIG"])
def test_programs_run_one_after_another_under_mocks_each_read_with_their_own_config(
    tmp_path: Path, how: str
) -> None:
    """A unittest suite under ``set_mocks``: one process, one root stack, each test its own place's
    config, set as stack config or in the environment (each variable set again by the next test)."""
    projects = [f"{n:x}" * 32 for n in (10, 11, 12)]
    with contextlib.ExitStack() as stack:
        configs = []
        for project_id in projects:
            emulator = ModelArtsEmulator(project_id=project_id, credentials=CANARY)
            stack.enter_context(emulator).add_job("board", job_id=5000)
            configs.append((emulator.stack_config(), emulator.environ()))
        script = tmp_path / "suite.py"
        script.write_text(MOCKS_SUITE.replace("{how}", how), encoding="utf-8")
        env = {**clean_environ(), "PYTHONPATH": CHILD_PYTHONPATH}
        command = [sys.executable, str(script), json.dumps(configs)]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == [[project_id] * 2 for project_id in projects]


def test_an_output_forms_fields_are_lifted_as_the_generated_sdks_are(
    tmp_path: Path, emulator: ModelArtsEmulator
) -> None:
    """``get_x_output(...).field`` is an ``Output`` of that field, as for a generated SDK's result type."""
    body = """
        job = get_visualization_job_output(job_id=197)
        pulumi.export("url", job.service_url)
        pulumi.export("name", job.job_name)
        pulumi.export("status", job.status_name)
        pulumi.export("listed", get_visualization_jobs_output(status=JobStatus.RUNNING).jobs.apply(len))
    """
    exports = succeeded(run_in(emulator, tmp_path, body)).exports
    assert exports["url"].endswith("/197/") and exports["name"] == "apiTest-11"
    assert (exports["status"], exports["listed"]) == ("RUNNING", 2)
