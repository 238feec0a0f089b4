"""The data source as the engine drives it: the SDK's provider server over gRPC, the emulator
behind it, and the emulator's request log as the proof of what reached the cloud."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pulumi.output import Unknown

from canaries import CANARY, CANARY_SECRETS
from harness import CheckFailedError, Desired, Engine, ProviderCallError, ResourceState
from pulumi_modelarts.emulator import SAMPLE_JOBS_PATH, ModelArtsEmulator
from pulumi_modelarts.outputs import OUTPUT_FIELDS
from pulumi_modelarts.provider import STATE_FIELDS, VisualizationJobProvider
from pulumi_modelarts.responses import JobModel

SECRET_CONFIG = ("modelarts:accessKey", "modelarts:secretKey", "modelarts:password")


@pytest.fixture
def emulator() -> Iterator[ModelArtsEmulator]:
    with ModelArtsEmulator.from_seed_file(SAMPLE_JOBS_PATH, credentials=CANARY) as em:
        yield em


def stack_config(emulator: ModelArtsEmulator, auth: str = "aksk") -> dict[str, str]:
    """``modelarts:*`` stack config pointing at the emulator (no project: it is looked up)."""
    return emulator.stack_config(auth, include_project=False)


@pytest.fixture
def engine(emulator: ModelArtsEmulator) -> Engine:
    return Engine(
        VisualizationJobProvider(),
        config=stack_config(emulator),
        secret_keys=SECRET_CONFIG,
        project="quickstart",
    )


def job(job_id: Any, **overrides: Any) -> Desired:
    """What ``VisualizationJob(name, job_id, ...)`` registers: inputs plus declared outputs."""
    inputs: dict[str, Any] = dict.fromkeys(STATE_FIELDS)
    inputs.update(job_id=job_id, project_id=None, region=None, endpoint=None)
    inputs.update(overrides)
    return Desired(inputs)


def modelarts_calls(emulator: ModelArtsEmulator) -> list[tuple[str, str]]:
    """(method, route) of every ModelArts request; IAM lookups are listed separately."""
    return [(r.method, r.route) for r in emulator.requests if not r.route.startswith("iam_")]


def test_preview_with_an_unknown_job_id_sends_nothing(engine: Engine, emulator: ModelArtsEmulator) -> None:
    result = engine.preview({"board": job(Unknown())})
    assert result.ok, result.error
    step = result.step("board")
    assert step.kind == "create"
    assert step.calls == ["Check"]
    assert step.outputs is not None and isinstance(step.outputs["service_url"], Unknown)
    assert emulator.requests == []


def test_up_reads_the_job_once_and_exports_every_field(engine: Engine, emulator: ModelArtsEmulator) -> None:
    result = engine.up({"board": job(197)})
    assert result.ok, result.error
    step = result.step("board")
    assert (step.kind, step.id, step.calls) == ("create", "197", ["Check", "Create"])
    outputs = step.outputs or {}
    assert "id" not in outputs and "urn" not in outputs
    # The engine drops top-level nulls from state; every other field is exactly the job's.
    expected = JobModel.model_validate(emulator.get_job(197)).to_outputs(
        project_id=emulator.project_id, region="eu-de"
    )
    assert {key: outputs.get(key) for key in OUTPUT_FIELDS} == expected
    assert {key for key in OUTPUT_FIELDS if key not in outputs} == {
        k for k, v in expected.items() if v is None
    }
    assert outputs["job_name"] == "apiTest-11"
    assert (outputs["status"], outputs["status_name"], outputs["is_running"]) == (8, "RUNNING", True)
    assert outputs["created_at"] == "2019-08-07T03:48:56Z"
    assert (outputs["project_id"], outputs["region"], outputs["endpoint"]) == (
        emulator.project_id,
        "eu-de",
        emulator.url,
    )
    assert modelarts_calls(emulator) == [("GET", "get_job")]


def test_a_no_change_up_reads_once_and_changes_nothing(engine: Engine, emulator: ModelArtsEmulator) -> None:
    engine.up({"board": job(197)}).raise_error()
    before = dict(engine.state[engine.urn("board")].outputs)
    emulator.clear_requests()
    for operation in (engine.preview, engine.up):
        result = operation({"board": job(197)})
        assert result.ok, result.error
        assert result.step("board").kind == "same"
        assert result.step("board").diff is not None and result.step("board").diff.changes == "none"  # type: ignore[union-attr]
    assert engine.state[engine.urn("board")].outputs == before
    assert modelarts_calls(emulator) == [("GET", "get_job"), ("GET", "get_job")]


def test_a_remote_change_shows_in_preview_and_up_returns_the_new_outputs(
    engine: Engine, emulator: ModelArtsEmulator
) -> None:
    engine.up({"board": job(197)}).raise_error()
    emulator.update_job(197, job_desc="retrained on v2 data", status=10)
    emulator.clear_requests()

    preview = engine.preview({"board": job(197)})
    assert preview.step("board").kind == "update"
    assert modelarts_calls(emulator) == [("GET", "get_job")]

    emulator.clear_requests()
    up = engine.up({"board": job(197)})
    assert up.ok, up.error
    step = up.step("board")
    assert (step.kind, step.calls) == ("update", ["Check", "Diff", "Update"])
    outputs = step.outputs or {}
    assert outputs["job_desc"] == "retrained on v2 data"
    assert (outputs["status"], outputs["status_name"], outputs["is_running"]) == (10, "COMPLETED", False)
    assert outputs["job_name"] == "apiTest-11"  # never an empty output set
    assert modelarts_calls(emulator) == [("GET", "get_job")]  # Update reuses Diff's read


def fresh_state_outputs(emulator: ModelArtsEmulator, job_id: int) -> dict[str, Any]:
    """What state must hold for the job right now: every field as read, plus the endpoint."""
    expected = JobModel.model_validate(emulator.get_job(job_id)).to_outputs(
        project_id=emulator.project_id, region=emulator.region
    )
    # The engine leaves top-level nulls out of state.
    return {key: value for key, value in {**expected, "endpoint": emulator.url}.items() if value is not None}


def stored(engine: Engine, name: str) -> dict[str, Any]:
    outputs = dict(engine.state[engine.urn(name)].outputs)
    outputs.pop("__provider", None)
    return outputs


#: One job per variant, so one stack shows them all: job -> (variant, fields the service changed).
CLOCK_MOVES: dict[int, tuple[str, dict[str, Any]]] = {
    197: ("duration", {"duration": 9_000_000}),
    212: ("remaining-duration", {"remaining_duration": 1234.5}),
    245: ("both", {"duration": 33_001, "remaining_duration": 0.5}),
}
REAL_DRIFT: dict[int, tuple[str, dict[str, Any]]] = {
    197: ("status-stops-the-clock", {"status": 10}),
    212: ("description-and-clock", {"job_desc": "retrained", "duration": 40_000}),
    245: ("url-gone-and-clock", {"service_url": None, "remaining_duration": 7.5}),
}


def apply_changes(
    engine: Engine, emulator: ModelArtsEmulator, changes: dict[int, tuple[str, dict[str, Any]]]
) -> dict[str, Desired]:
    """Create one resource per variant, then change its job remotely; the program to run next."""
    program = {name: job(job_id) for job_id, (name, _) in changes.items()}
    engine.up(program).raise_error()
    for job_id, (_, fields) in changes.items():
        emulator.update_job(job_id, **fields)
    emulator.clear_requests()
    return program


def test_a_running_jobs_clock_alone_is_not_drift(engine: Engine, emulator: ModelArtsEmulator) -> None:
    program = apply_changes(engine, emulator, CLOCK_MOVES)
    before = {name: stored(engine, name) for name in program}
    processes = engine.servers_started

    for operation in (engine.preview, engine.up):  # `preview --expect-no-changes`, an operator resync
        result = operation(program)
        assert result.ok, result.error
        for name in program:
            step = result.step(name)
            assert (step.kind, step.calls) == ("same", ["Check", "Diff"]), name
            assert step.diff is not None and step.diff.changes == "none", name

    assert engine.servers_started == processes + 2  # a fresh provider process per command
    assert {name: stored(engine, name) for name in program} == before  # the clock as last recorded
    assert modelarts_calls(emulator) == [("GET", "get_job")] * 2 * len(program)


def test_real_drift_updates_every_field_fresh_clock_included(
    engine: Engine, emulator: ModelArtsEmulator
) -> None:
    program = apply_changes(engine, emulator, REAL_DRIFT)

    preview = engine.preview(program)
    assert preview.ok, preview.error
    assert set(preview.kinds.values()) == {"update"}

    up = engine.up(program)
    assert up.ok, up.error
    for job_id, (name, _) in REAL_DRIFT.items():
        assert (up.step(name).kind, up.step(name).calls) == ("update", ["Check", "Diff", "Update"])
        assert stored(engine, name) == fresh_state_outputs(emulator, job_id), name
    assert modelarts_calls(emulator) == [("GET", "get_job")] * 2 * len(program)


#: How state written by this package's 0.1.0 can differ from what it writes now, one job each.
OLD_STATES: dict[str, tuple[int, Callable[[dict[str, Any], dict[str, Any], str], None]]] = {
    "no-place-fields": (
        197,
        lambda outputs, inputs, url: [outputs.pop(k) for k in ("endpoint", "region", "project_id")],
    ),
    "string-job-id": (
        212,
        lambda outputs, inputs, url: (outputs.update(job_id="212"), inputs.update(job_id="212")),
    ),
    "trailing-slash": (230, lambda outputs, inputs, url: outputs.update(endpoint=url + "/")),
    "all-of-them": (
        245,
        lambda outputs, inputs, url: (
            [outputs.pop(k) for k in ("region", "project_id")],
            outputs.update(job_id="245", endpoint=url + "//"),
            inputs.update(job_id="245"),
        ),
    ),
}


def write_old_states(engine: Engine, emulator: ModelArtsEmulator) -> dict[str, Desired]:
    """One resource per variant of old state, as a stack written by 0.1.0; the program that declares them."""
    for name, (job_id, age) in OLD_STATES.items():
        outputs = {**fresh_state_outputs(emulator, job_id), "__provider": engine.provider}
        inputs: dict[str, Any] = {"job_id": job_id, "__provider": engine.provider}
        age(outputs, inputs, emulator.url)
        engine.state[engine.urn(name)] = ResourceState(str(job_id), inputs, outputs)
    return {name: job(job_id) for name, (job_id, _) in OLD_STATES.items()}


def test_state_from_an_older_version_is_never_replaced(engine: Engine, emulator: ModelArtsEmulator) -> None:
    program = write_old_states(engine, emulator)

    preview = engine.preview(program)
    assert preview.ok, preview.error
    for step in preview.steps.values():
        assert step.diff is not None and step.diff.replaces == [], step.name

    up = engine.up(program)
    assert up.ok, up.error
    assert "Create" not in up.calls and "Delete" not in up.calls
    for name, (job_id, _) in OLD_STATES.items():
        # What the older version left out or wrote differently is now written as this one does.
        assert up.step(name).kind == "update", name
        assert stored(engine, name) == fresh_state_outputs(emulator, job_id), name
    assert modelarts_calls(emulator) == [("GET", "get_job")] * 2 * len(program)


def test_refresh_of_state_from_an_older_version(engine: Engine, emulator: ModelArtsEmulator) -> None:
    write_old_states(engine, emulator)

    result = engine.refresh()

    assert result.ok, result.error
    for name, (job_id, _) in OLD_STATES.items():
        step = result.step(name)
        assert not step.dropped and step.diff is not None and step.diff.replaces == [], name
        assert stored(engine, name) == fresh_state_outputs(emulator, job_id), name
    assert modelarts_calls(emulator) == [("GET", "get_job")] * len(OLD_STATES)


def test_refresh_reads_once_and_records_drift(engine: Engine, emulator: ModelArtsEmulator) -> None:
    engine.up({"board": job(197)}).raise_error()
    emulator.update_job(197, job_desc="edited in the console")
    emulator.clear_requests()
    result = engine.refresh()
    assert result.ok, result.error
    step = result.step("board")
    assert step.calls == ["Read", "Diff"]
    assert engine.state[engine.urn("board")].outputs["job_desc"] == "edited in the console"
    assert modelarts_calls(emulator) == [("GET", "get_job")]


def test_a_job_deleted_remotely(engine: Engine, emulator: ModelArtsEmulator) -> None:
    engine.up({"board": job(197)}).raise_error()
    emulator.remove_job(197)
    emulator.clear_requests()

    up = engine.up({"board": job(197)})
    assert isinstance(up.error, ProviderCallError)
    line = up.error.last_line
    assert line.startswith("pulumi_modelarts.errors.JobNotFoundError: ")
    assert "job 197" in line and "not found" in line and f"project {emulator.project_id}" in line
    assert "Traceback" in up.error.details and "requests" not in up.error.details  # no client internals

    refreshed = engine.refresh()
    assert refreshed.ok, refreshed.error
    assert refreshed.step("board").dropped
    assert engine.state == {}
    assert modelarts_calls(emulator) == [("GET", "get_job"), ("GET", "get_job")]


def test_creating_a_missing_job_fails_with_a_clear_message(
    engine: Engine, emulator: ModelArtsEmulator
) -> None:
    result = engine.up({"board": job(4040)})
    assert isinstance(result.error, ProviderCallError)
    assert "JobNotFoundError" in result.error.last_line and "job 4040" in result.error.last_line
    assert engine.state == {}


def test_get_reads_by_id_with_inputs_only(engine: Engine, emulator: ModelArtsEmulator) -> None:
    desired = Desired(dict.fromkeys(STATE_FIELDS) | {"job_id": "212"}, read_id="212")
    for operation in (engine.preview, engine.up):
        result = operation({"existing": desired})
        assert result.ok, result.error
        step = result.step("existing")
        assert (step.kind, step.calls) == ("read", ["Read"])
        assert (step.outputs or {})["job_name"] == "mnist-insight"
    assert modelarts_calls(emulator) == [("GET", "get_job"), ("GET", "get_job")]
    emulator.clear_requests()
    assert engine.destroy().ok
    assert emulator.requests == []  # external: dropped, never deleted
    missing = engine.up({"ghost": Desired(dict.fromkeys(STATE_FIELDS), read_id="999")})
    assert isinstance(missing.error, ProviderCallError)
    assert "JobNotFoundError" in missing.error.last_line


def test_get_with_an_unknown_id_is_read_by_no_one(engine: Engine, emulator: ModelArtsEmulator) -> None:
    """What ``VisualizationJob.get`` registers while an override is unknown: an unknown ID, which the
    engine never hands to the provider (the provider could not tell the override was asked for:
    the server drops unknown values from a Read's properties)."""
    inputs = dict.fromkeys(STATE_FIELDS) | {"job_id": 197, "endpoint": Unknown()}
    result = engine.preview({"seen": Desired(inputs, read_id=Unknown())})

    assert result.ok, result.error
    step = result.step("seen")
    assert (step.kind, step.calls) == ("read", [])
    assert step.outputs is not None and all(isinstance(step.outputs[key], Unknown) for key in STATE_FIELDS)
    assert emulator.requests == []


def test_destroy_sends_nothing_and_the_job_survives(engine: Engine, emulator: ModelArtsEmulator) -> None:
    engine.up({"board": job(197), "insight": job(212)}).raise_error()
    emulator.clear_requests()
    result = engine.destroy()
    assert result.ok, result.error
    assert result.kinds == {"insight": "delete", "board": "delete"}
    assert emulator.requests == []
    assert emulator.get_job(197) is not None and emulator.get_job(212) is not None
    assert engine.state == {}


def test_a_different_job_is_a_replacement_and_nothing_is_deleted(
    engine: Engine, emulator: ModelArtsEmulator
) -> None:
    engine.up({"board": job(197)}).raise_error()
    emulator.clear_requests()
    result = engine.up({"board": job("212")})
    assert result.ok, result.error
    step = result.step("board")
    assert step.kind == "replace"
    assert step.diff is not None and step.diff.replaces == ["job_id"]
    assert step.calls == ["Check", "Diff", "Check", "Create", "Delete"]
    assert (step.outputs or {})["job_name"] == "mnist-insight"
    assert modelarts_calls(emulator) == [("GET", "get_job")]
    assert emulator.get_job(197) is not None


@pytest.mark.parametrize(
    ("override", "replaces"),
    [({"region": "eu-nl"}, ["project_id", "region"]), ({"endpoint": "http://127.0.0.1:9"}, ["endpoint"])],
)
def test_another_region_or_endpoint_is_a_replacement(
    engine: Engine, emulator: ModelArtsEmulator, override: dict[str, str], replaces: list[str]
) -> None:
    engine.up({"board": job(197)}).raise_error()
    if "region" in override:
        emulator.add_project("eu-nl", "0000000000000000000000000000e01e")
    preview = engine.preview({"board": job(197, **override)})
    assert preview.ok, preview.error
    assert preview.step("board").kind == "replace"
    assert preview.step("board").diff.replaces == replaces  # type: ignore[union-attr]


def test_unknown_inputs_in_preview_of_an_existing_resource(
    engine: Engine, emulator: ModelArtsEmulator
) -> None:
    engine.up({"board": job(197)}).raise_error()
    emulator.clear_requests()
    result = engine.preview({"board": job(Unknown())})
    assert result.ok, result.error
    assert result.step("board").kind == "replace"
    assert modelarts_calls(emulator) == []


@pytest.mark.parametrize(
    ("inputs", "property_"),
    [
        ({"job_id": "../197"}, "job_id"),
        ({"job_id": None}, "job_id"),
        ({"job_id": str(2**60 + 1)}, "job_id"),  # would arrive as 1.152921504606847e+18
        ({"job_id": 2**53 + 1}, "job_id"),
        ({"job_id": 197.5}, "job_id"),
        ({"job_id": 197, "project_id": "a/b"}, "project_id"),
        ({"job_id": 197, "endpoint": "http://modelarts.example.com"}, "endpoint"),
        ({"job_id": 197, "region": "eu de"}, "region"),
    ],
)
def test_check_names_the_bad_property_and_sends_nothing(
    engine: Engine, emulator: ModelArtsEmulator, inputs: dict[str, Any], property_: str
) -> None:
    result = engine.preview({"board": job(**inputs) if "job_id" in inputs else job(None)})
    assert isinstance(result.error, CheckFailedError)
    assert property_ in str(result.error)
    if property_ == "job_id" and inputs["job_id"] is not None:
        assert "job_id must be a whole number from 1 to 9007199254740991" in str(result.error)
    assert emulator.requests == []


def test_four_concurrent_reads_on_one_provider(engine: Engine, emulator: ModelArtsEmulator) -> None:
    ids = [197, 212, 230, 245]
    engine.up({f"job{i}": job(i) for i in ids}).raise_error()
    emulator.latency = 0.3
    emulator.clear_requests()
    result = engine.refresh(parallel=4)
    assert result.ok, result.error
    reads = [r for r in emulator.requests if r.route == "get_job"]
    assert sorted(int(r.path.rsplit("/", 1)[1]) for r in reads) == ids
    # All four arrived before the first could have been answered: they were in flight together.
    assert max(r.time for r in reads) - min(r.time for r in reads) < emulator.latency
    for i in ids:
        assert engine.state[engine.urn(f"job{i}")].outputs["job_id"] == i


def test_password_auth_fetches_one_token_per_operation(emulator: ModelArtsEmulator) -> None:
    engine = Engine(
        VisualizationJobProvider(), config=stack_config(emulator, "password"), secret_keys=SECRET_CONFIG
    )
    jobs = {f"job{i}": job(i) for i in (197, 212, 230)}
    for operation in (lambda: engine.up(jobs), engine.refresh, lambda: engine.up(jobs)):
        emulator.clear_requests()
        operation().raise_error()
        routes = [r.route for r in emulator.requests]
        # Stored outputs name the project and endpoint they came from; the provider's own client
        # (one token) still serves them.
        assert (routes.count("iam_token"), routes.count("get_job")) == (1, 3)


@pytest.mark.parametrize("override", ["endpoint", "region"])
def test_password_auth_fetches_one_token_per_operation_with_a_per_resource_override(
    emulator: ModelArtsEmulator, override: str
) -> None:
    config = stack_config(emulator, "password")
    if override == "region":  # the stack reads eu-nl (an empty project); this job lives in eu-de
        emulator.add_project("eu-nl", "0000000000000000000000000000e01e")
        config["modelarts:region"] = "eu-nl"
        jobs = {"board": job(197, region=emulator.region)}
    else:  # the same emulator under another name: another endpoint to the provider
        jobs = {"board": job(197, endpoint=emulator.url.replace("127.0.0.1", "localhost"))}
    engine = Engine(VisualizationJobProvider(), config=config, secret_keys=SECRET_CONFIG)
    engine.up(jobs).raise_error()
    operations = {
        "refresh": engine.refresh,
        "up --refresh": lambda: engine.up(jobs, refresh=True),
        "up": lambda: engine.up(jobs),
    }
    for name, operation in operations.items():
        emulator.clear_requests()
        operation().raise_error()
        routes = [r.route for r in emulator.requests]
        # Read serves stored outputs (project, region, endpoint named); Diff serves inputs (only
        # the override named): both are one place, one client, one token.
        assert routes.count("iam_token") == 1, (name, routes)


@pytest.mark.parametrize("auth", ["aksk", "password"])
def test_canary_secrets_appear_nowhere(emulator: ModelArtsEmulator, auth: str) -> None:
    engine = Engine(
        VisualizationJobProvider(), config=stack_config(emulator, auth), secret_keys=SECRET_CONFIG
    )
    assert not any(secret in engine.provider for secret in CANARY_SECRETS)
    texts: list[str] = [engine.provider]
    for result in (engine.up({"board": job(197)}), engine.refresh(), engine.preview({"board": job(197)})):
        assert result.ok, result.error
        texts += [repr(result.steps), result.stdout, result.stderr]
    echoed = CANARY.secret_key if auth == "aksk" else CANARY.password  # a server echoing a credential
    emulator.inject_fault(
        "get_job", status=403, error_code="ModelArts.0108", error_message=f"denied for {echoed}"
    )
    failed = engine.up({"board": job(197)})
    assert isinstance(failed.error, ProviderCallError)
    texts += [failed.error.details, failed.stdout, failed.stderr, repr(engine.state)]
    blob = "\n".join(texts)
    for secret in CANARY_SECRETS:
        assert secret not in blob
    assert "denied for ***" in failed.error.last_line


def test_provider_pickle_is_small_and_stable(tmp_path: Any) -> None:
    import subprocess
    import sys

    from pulumi.dynamic.dynamic import serialize_provider

    here = serialize_provider(VisualizationJobProvider())
    script = (
        "from pulumi.dynamic.dynamic import serialize_provider;"
        "from pulumi_modelarts.provider import VisualizationJobProvider;"
        "print(serialize_provider(VisualizationJobProvider()))"
    )
    there = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert here == there
    assert len(here) < 400
