"""The data source as the engine drives it (tests/harness); the emulator's log proves what was sent."""

from __future__ import annotations

import base64
import dataclasses
import json
import pickle
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config
from pulumi.output import UNKNOWN, Unknown

from pulumi_modelarts import validation
from pulumi_modelarts.emulator import SAMPLE_JOBS_PATH, ModelArtsEmulator
from pulumi_modelarts.errors import ModelArtsError
from pulumi_modelarts.outputs import OUTPUTS
from pulumi_modelarts.provider import HIDDEN_TARGETS, STATE_FIELDS, TARGET_INPUTS, VisualizationJobProvider
from tests import harness
from tests.checks import CANARY, SECRET_CONFIG_KEYS, WRONG_PASSWORD, Held, LeakScanner, mismatches, outputs_of
from tests.harness import Engine, ProviderCallError, ProviderServer, serialized_provider, urn_for
from tests.hostile import PROJECT, SLOW_SERVERS, RawServer, Script, reply

PLUGIN_CALLS, REPLACE = ["GetPluginInfo", "Configure"], ["Check", "Diff", "Check"]


def engine_for(emulator: ModelArtsEmulator, auth: str = "aksk", **config: str) -> Engine:
    """Stack config pointing at the emulator (no project: it is looked up), plus ``config``."""
    config = {**emulator.stack_config(auth, include_project=False), **config}
    return Engine(VisualizationJobProvider(), config=config, secret_keys=SECRET_CONFIG_KEYS)


@pytest.fixture
def engine(emulator: ModelArtsEmulator) -> Engine:
    return engine_for(emulator)


def job(job_id: Any, read_id: Any = None, **overrides: Any) -> harness.Desired:
    """What ``VisualizationJob(...)`` (or ``.get`` with ``read_id``) registers: inputs and outputs."""
    return harness.Desired({**dict.fromkeys(STATE_FIELDS), "job_id": job_id, **overrides}, read_id)


def modelarts_calls(emulator: ModelArtsEmulator) -> list[tuple[str, str]]:
    return [(r.method, r.route) for r in emulator.requests if not r.route.startswith("iam_")]


def fresh_state_outputs(emulator: ModelArtsEmulator, job_id: int) -> dict[str, Any]:
    """Every field as read now, plus the endpoint; the engine leaves top-level nulls out of state."""
    expected = {**outputs_of(emulator, job_id), "endpoint": emulator.url}
    return {key: value for key, value in expected.items() if value is not None}


def put_in_state(
    engine: Engine, emulator: ModelArtsEmulator, name: str, job_id: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """State as an ``up`` of job ``job_id`` writes it (without running one); its inputs and outputs."""
    outputs = {**fresh_state_outputs(emulator, job_id), "__provider": engine.provider}
    inputs: dict[str, Any] = {"job_id": job_id, "__provider": engine.provider}
    engine.state[engine.urn(name)] = harness.ResourceState(str(job_id), inputs, outputs)
    return inputs, outputs


def spelt(given: dict[str, Any], **names: str) -> dict[str, Any]:
    """``given`` with the ``{placeholders}`` in its text filled in from ``names``."""
    return {key: value.format(**names) if isinstance(value, str) else value for key, value in given.items()}


def configured(emulator: ModelArtsEmulator, auth: str = "aksk") -> VisualizationJobProvider:
    """A provider configured as the SDK's server does, with stack config naming the emulator."""
    provider, config = VisualizationJobProvider(), engine_for(emulator, auth).config
    provider.configure(ConfigureRequest(Config(raw_config=config, project_name="p")))
    return provider


def stored(engine: Engine, name: str) -> dict[str, Any]:
    return {k: v for k, v in engine.state[engine.urn(name)].outputs.items() if k != "__provider"}


def state_json(engine: Engine) -> str:
    return json.dumps({urn: vars(state) for urn, state in engine.state.items()})


# -- the harness: the engine's call sequences ------------------------------------------------------
def test_the_harness_issues_the_engines_call_sequences(engine: Engine, emulator: ModelArtsEmulator) -> None:
    """The engine's lifecycle (pulumi-dynamic notes, 1.2), each operation in a fresh provider process."""
    program = {"board": job(197), "seen": job(212, read_id="212"), "later": job(230, read_id=UNKNOWN)}
    rows: list[tuple[Callable[[], harness.OperationResult], dict[str, list[str]]]] = [
        (lambda: engine.up(program), {"board": ["Check", "Create"], "seen": ["Read"], "later": []}),
        (engine.refresh, {"board": ["Read", "Diff"], "seen": ["Read"]}),
        (lambda: engine.up({"board": job(212)}), {"board": [*REPLACE, "Create", "Delete"], "seen": []}),
        (lambda: engine.up({"other": job(197)}), {"other": ["Check", "Create"], "board": ["Delete"]}),
        (engine.destroy, {"other": ["Delete"]}),
    ]
    pids = set()
    for operation, calls in rows:
        emulator.clear_requests()
        result = operation()
        assert result.ok, result.error
        assert {step.name: step.calls for step in result.steps.values()} == calls
        assert result.calls == [*PLUGIN_CALLS, *(call for step in calls.values() for call in step)]
        pids.add(result.server_pid)
    assert len(pids) == engine.servers_started == len(rows) and engine.state == {}
    # Destroy (the last row) sent nothing, and the jobs survive it.
    assert emulator.requests == [] and emulator.get_job(197) is not None and emulator.get_job(212) is not None


# -- reading jobs ----------------------------------------------------------------------------------
def test_preview_sends_nothing_and_up_reads_the_job_once(engine: Engine, emulator: ModelArtsEmulator) -> None:
    preview = engine.preview({"board": job(UNKNOWN)}).step("board")
    assert (preview.kind, preview.calls, emulator.requests) == ("create", ["Check"], [])
    assert preview.outputs is not None and isinstance(preview.outputs["service_url"], Unknown)
    step = engine.up({"board": job(197)}).step("board")
    assert (step.kind, step.id, step.calls) == ("create", "197", ["Check", "Create"])
    outputs = step.outputs or {}
    # Every field exactly the job's, no "id" or "urn"; the engine drops top-level nulls from state.
    assert stored(engine, "board") == fresh_state_outputs(emulator, 197)
    assert (outputs["status"], outputs["status_name"], outputs["is_running"]) == (8, "RUNNING", True)
    assert (outputs["created_at"], outputs["region"]) == ("2019-08-07T03:48:56Z", "eu-de")
    assert modelarts_calls(emulator) == [("GET", "get_job")]


#: One job per variant, so one stack shows them all: job -> (variant, fields the service changed).
CLOCK_MOVES: dict[int, tuple[str, dict[str, object]]] = {
    197: ("duration", {"duration": 9_000_000}),
    212: ("remaining-duration", {"remaining_duration": 1234.5}),
    245: ("both", {"duration": 33_001, "remaining_duration": 0.5}),
}
REAL_DRIFT: dict[int, tuple[str, dict[str, object]]] = {
    197: ("status-stops-the-clock", {"status": 10}),
    212: ("description-and-clock", {"job_desc": "retrained", "duration": 40_000}),
    245: ("url-gone-and-clock", {"service_url": None, "remaining_duration": 7.5}),
}


@pytest.mark.parametrize(
    ("changes", "drift"), [(CLOCK_MOVES, False), (REAL_DRIFT, True)], ids=["clock", "drift"]
)
def test_a_running_jobs_clock_alone_is_not_drift(
    engine: Engine, emulator: ModelArtsEmulator, changes: dict[int, tuple[str, dict[str, Any]]], drift: bool
) -> None:
    program = {name: job(job_id) for job_id, (name, _) in changes.items()}
    engine.up(program).raise_error()
    before = {name: stored(engine, name) for name in program}
    for job_id, (_, fields) in changes.items():
        emulator.update_job(job_id, **fields)
    emulator.clear_requests()
    for operation in ("preview", "up"):  # `preview --expect-no-changes`, an operator resync
        result = getattr(engine, operation)(program)
        calls = ["Check", "Diff", "Update"] if drift and operation == "up" else ["Check", "Diff"]
        kinds = {step.name: (step.kind, step.calls) for step in result.steps.values()}
        assert kinds == dict.fromkeys(program, ("update" if drift else "same", calls))
    # A clock alone keeps the values last recorded; real drift writes every field fresh, clock included.
    fresh = {name: fresh_state_outputs(emulator, job_id) for job_id, (name, _) in changes.items()}
    assert {name: stored(engine, name) for name in program} == (fresh if drift else before)
    assert modelarts_calls(emulator) == [("GET", "get_job")] * 2 * len(program)


@pytest.mark.parametrize("refresh", ["refresh", "up --refresh"])
def test_a_refresh_shows_drift_but_not_a_clock(
    engine: Engine, emulator: ModelArtsEmulator, refresh: str
) -> None:
    """A refresh whose Diff finds drift shows as an update; state takes every field fresh either way."""
    program = {name: job(job_id) for job_id, (name, _) in REAL_DRIFT.items()}
    engine.up(program).raise_error()
    for changes, drift in ((REAL_DRIFT, True), (CLOCK_MOVES, False), ({}, False)):
        for job_id, (_, fields) in changes.items():
            emulator.update_job(job_id, **fields)
        refreshed = engine.refresh() if refresh == "refresh" else engine.up(program, refresh=True)
        steps = refreshed.steps.values()
        if refresh == "refresh":
            assert {step.name: step.diff for step in steps} == dict.fromkeys(program, (drift, [])), changes
        else:
            same = dict.fromkeys(program, ("same", ["Read", "Diff", "Check", "Diff"]))
            assert {step.name: (step.kind, step.calls) for step in steps} == same
        fresh = {name: fresh_state_outputs(emulator, job_id) for job_id, (name, _) in REAL_DRIFT.items()}
        assert {name: stored(engine, name) for name in program} == fresh


def rotate(emulator: ModelArtsEmulator, engine: Engine | None = None) -> None:
    """IAM takes a new password (a second canary); with ``engine``, its Secret is updated too."""
    emulator.credentials = dataclasses.replace(CANARY, password=WRONG_PASSWORD)
    engine.env.update(emulator.environ("password", include_project=False)) if engine else None


def stall(emulator: ModelArtsEmulator, engine: Engine) -> None:
    """Every attempt stalls past a read timeout this resync alone is given: a loaded machine's answers
    to the others may take longer, and would be retried."""
    engine.config["modelarts:readTimeout"] = "0.5"
    emulator.inject_fault("get_job", delay=1.0, count=3)


def stopped_and_failing(emulator: ModelArtsEmulator, _: Engine) -> None:
    emulator.update_job(197, status=10)
    emulator.inject_fault("get_job", status=503, count=2)


#: What happens before each of an operator's resyncs (``pulumi up --refresh``, credentials in the
#: workspace's environment from a Secret) -> the drift its refresh tells, or the error it ends in.
RESYNCS: list[tuple[str, Callable[[ModelArtsEmulator, Engine], Any], bool | str]] = [
    ("clock moves", lambda em, _: em.update_job(197, duration=40_000, remaining_duration=60.0), False),
    ("IAM answers 503 twice", lambda em, _: em.inject_fault("iam_token", status=503, count=2), False),
    (
        "stopped, ModelArts answers 503 twice",
        stopped_and_failing,
        True,
    ),
    ("IAM takes a new password", lambda em, _: rotate(em), "AuthenticationError"),
    ("the Secret follows", lambda em, engine: rotate(em, engine), False),
    ("URL gone, clock moves", lambda em, _: em.update_job(197, service_url=None, duration=50_000), True),
    ("ModelArts times out", stall, "ServiceError"),
    ("restarted", lambda em, _: em.update_job(197, status=8, service_url="https://tb.example/197/"), True),
    ("nothing", lambda em, _: None, False),
]


@pytest.mark.slow
@pytest.mark.reliability("fault matrix")
def test_an_operators_resyncs_stay_quiet_tell_drift_once_and_keep_state_through_failures(
    emulator: ModelArtsEmulator, leaks: LeakScanner
) -> None:
    """Each in a provider process of its own: a change is told once, by the refresh, and a failure keeps
    state as it was; only GETs reach ModelArts, and no credential reaches state or output."""
    config = {"modelarts:maxRetries": "2"}
    engine = Engine(VisualizationJobProvider(), config=config)
    engine.env = emulator.environ("password", include_project=False)
    program = {"board": job("197"), "seen": job(197, read_id="197")}
    engine.up(program).raise_error()
    for name, change, told in RESYNCS:
        before = state_json(engine)
        change(emulator, engine)
        emulator.clear_requests()
        result = engine.up(program, refresh=True)
        emulator.clear_faults()
        engine.config.pop("modelarts:readTimeout", None)
        for text in (state_json(engine), result.output, getattr(result.error, "details", "")):
            leaks.scan(name, text)
        assert {r.method for r in emulator.requests if not r.route.startswith("iam_")} <= {"GET"}, name
        if isinstance(told, str):  # nothing stored, nothing dropped
            assert isinstance(result.error, ProviderCallError) and told in result.error.last_line, name
            assert state_json(engine) == before, name
            continue
        assert result.ok, (name, result.error)
        diffs = {step.name: step.diff for step in result.refreshes.values()}
        assert diffs == {"board": (told, []), "seen": None}, name
        assert result.kinds == {"board": "same", "seen": "read"}, name
        assert stored(engine, "board") == stored(engine, "seen") == fresh_state_outputs(emulator, 197), name


#: A ``.get`` beside ``VisualizationJob("board", job_id=197)`` naming the same job, in either order of
#: state: name -> (program order, the ``.get``'s ID and overrides).
SAME_JOB_READ_TWICE: dict[str, tuple[tuple[str, ...], str, dict[str, str]]] = {
    "managed-first": (("board", "seen"), "197", {}),
    "get-first": (("seen", "board"), "197", {}),
    "managed-first-spelt-otherwise": (("board", "seen"), "0197", {"endpoint": "{URL}/", "region": "EU-DE"}),
}


@pytest.mark.parametrize("case", SAME_JOB_READ_TWICE.values(), ids=SAME_JOB_READ_TWICE)
def test_up_refresh_with_a_get_of_the_same_job_shows_no_update(
    engine: Engine, emulator: ModelArtsEmulator, case: tuple[tuple[str, ...], str, dict[str, str]]
) -> None:
    """A ``.get``'s Read (no Diff) must not stand in for the managed resource's state at its Diff."""
    order, read_id, overrides = case
    given = spelt(overrides, URL=emulator.url.upper())
    goals = {"board": job(197), "seen": job(read_id, read_id=read_id, **given)}
    program = {name: goals[name] for name in order}
    engine.up(program).raise_error()
    emulator.update_job(197, status=10)  # stopped since the last up
    result = engine.up(program, refresh=True)
    assert result.ok, result.error
    board = result.step("board")
    assert (board.kind, board.calls) == ("same", ["Read", "Diff", "Check", "Diff"])
    assert stored(engine, "board") == stored(engine, "seen") == fresh_state_outputs(emulator, 197)
    assert engine.refresh().step("board").diff == (False, [])
    emulator.update_job(197, status=8)  # drift since the last refresh is still told
    assert engine.refresh().step("board").diff == (True, [])


@pytest.mark.parametrize("order", ["reads-first", "reads-first-diffs-reversed"])
@pytest.mark.parametrize(
    ("change", "drift"),
    [({"status": 10}, True), ({"service_url": None}, True), ({"duration": 1}, False)],
    ids=["stopped", "url-gone", "clock"],
)
def test_a_parallel_refresh_tells_each_resource_reading_a_job_its_drift(
    engine: Engine, emulator: ModelArtsEmulator, order: str, change: dict[str, Any], drift: bool
) -> None:
    """Reads of one job may all come before the diffs: each diff tells the drift of its own state."""
    slash = job(197, endpoint=f"{emulator.url}/")
    program = {"board": job(197), "padded": job("0197"), "slash": slash, "seen": job("197", read_id="197")}
    engine.up({**program, "other": job(212)}).raise_error()
    emulator.update_job(197, **change)
    with ProviderServer() as server:
        server.configure(engine.config, SECRET_CONFIG_KEYS)
        reads = {urn: server.read(urn, old.id, old.outputs, old.inputs) for urn, old in engine.state.items()}
        managed = [urn for urn, old in engine.state.items() if not old.external]
        diffs = {}
        for urn in managed if order == "reads-first" else managed[::-1]:
            read, inputs = reads[urn], engine.state[urn].inputs
            diffs[urn.rsplit("::", 1)[-1]] = server.diff(urn, read.id, read.outputs, inputs, inputs)
    assert diffs == {**dict.fromkeys(("board", "padded", "slash"), (drift, [])), "other": (False, [])}


@pytest.mark.parametrize("order", ["diffs-in-read-order", "diffs-reversed"])
def test_a_parallel_refresh_tells_drift_of_the_resource_whose_state_drifted(
    engine: Engine, emulator: ModelArtsEmulator, order: str
) -> None:
    """Resources reading one job with other states (``up --target`` updated one, a ``.get`` read it
    later): each refresh's Diff tells the drift of its own state, not of another resource's."""
    program = {"stale": job(197), "fresh": job(197), "seen": job("197", read_id="197")}
    engine.up(program).raise_error()
    emulator.update_job(197, status=10)
    engine.up(program).raise_error()
    # The job running still, as an up of the others alone (--target) leaves it.
    engine.state[engine.urn("stale")].outputs.update(status=8, status_name="RUNNING", is_running=True)
    with ProviderServer() as server:
        server.configure(engine.config, SECRET_CONFIG_KEYS)
        reads = {urn: server.read(urn, old.id, old.outputs, old.inputs) for urn, old in engine.state.items()}
        managed = [engine.urn("stale"), engine.urn("fresh")]
        diffs = {}
        for urn in managed if order == "diffs-in-read-order" else managed[::-1]:
            read, inputs = reads[urn], engine.state[urn].inputs
            diffs[urn.rsplit("::", 1)[-1]] = server.diff(urn, read.id, read.outputs, inputs, inputs)
    assert diffs == {"stale": (True, []), "fresh": (False, [])}


def test_up_refresh_run_program_tells_each_refresh_its_drift_whatever_checks_come_between(
    engine: Engine, emulator: ModelArtsEmulator
) -> None:
    """``up --refresh --run-program`` refreshes each resource as the program registers it
    (pulumi/pulumi#19449): another resource's Check may come between a refresh's Read and its Diff."""
    program = {"board": job(197), "other": job(212)}
    engine.up(program).raise_error()
    emulator.update_job(212, job_desc="retrained")  # since the last up
    board, other = (engine.state[engine.urn(name)] for name in program)
    with ProviderServer() as server:
        server.configure(engine.config, SECRET_CONFIG_KEYS)
        read_board = server.read(engine.urn("board"), "197", board.outputs, board.inputs)
        read_other = server.read(engine.urn("other"), "212", other.outputs, other.inputs)
        board_diff = server.diff(engine.urn("board"), "197", read_board.outputs, board.inputs, board.inputs)
        checked = server.check(engine.urn("board"), board.inputs, board.inputs).inputs  # its up goes on
        other_diff = server.diff(engine.urn("other"), "212", read_other.outputs, other.inputs, other.inputs)
        up_diff = server.diff(engine.urn("board"), "197", read_board.outputs, checked, board.inputs)
    assert (board_diff, other_diff, up_diff) == ((False, []), (True, []), (False, []))


#: A value of each stored field that the job (197) does not have.
ANOTHER_VALUE: dict[str, Any] = {
    **{field.name: f"other-{field.name}" for field in OUTPUTS if field.type in (str, str | None)},
    **dict(job_id=212, status=10, is_running=False, duration=1, create_time=1, remaining_duration=0.5),
    **dict(project_id="0" * 32, region="eu-nl", endpoint="http://127.0.0.1:9"),
}


def test_each_stored_field_is_drift_unless_it_moves_on_its_own(
    engine: Engine, emulator: ModelArtsEmulator
) -> None:
    """The clock, or a target an old version did not store, is no change; a place replaces; others
    update, a stored ``job_id`` too: the resource ID names the job."""
    assert set(ANOTHER_VALUE) == set(STATE_FIELDS)
    emulator.update_job(197, remaining_duration=3600.0)  # every field has a value
    expected = {}
    for key, how in ((key, how) for key in STATE_FIELDS for how in ("changed", "absent")):
        _, outputs = put_in_state(engine, emulator, f"{key}-{how}", 197)
        outputs.pop(key) if how == "absent" else outputs.update({key: ANOTHER_VALUE[key]})
        outputs["field_of_another_version"] = "kept"
        replaced = [key] if how == "changed" and key in TARGET_INPUTS[1:] else []
        replaced = ["project_id", "region"] if replaced == ["region"] else replaced
        unchanged = key in ("duration", "remaining_duration") or (how == "absent" and key in TARGET_INPUTS)
        kind = "same" if unchanged else "replace" if replaced else "update"
        expected[f"{key}-{how}"] = (kind, replaced)
    steps = engine.preview({name: job(197) for name in expected}).steps.values()
    assert {step.name: (step.kind, step.diff and step.diff.replaces) for step in steps} == expected
    assert modelarts_calls(emulator) == [("GET", "get_job")]  # one read of job 197 serves every Diff


#: How state written by this package's 0.1.0, or under a place spelt otherwise, can differ from
#: what it writes now, one resource each ({URL}: the endpoint in upper case, {port}: its port):
#: name -> (job, outputs it left out, outputs and inputs it wrote otherwise).
OLD_STATES: dict[str, tuple[int, tuple[str, ...], dict[str, Any], dict[str, Any]]] = {
    "no-place-fields": (197, ("endpoint", "region", "project_id"), {}, {}),
    "no-clock-fields": (197, ("duration", "remaining_duration"), {}, {}),
    "field-of-another-version": (197, (), {"ui_theme": "dark"}, {"ui_theme": "dark"}),
    "string-job-id": (212, (), {"job_id": "212"}, {"job_id": "212"}),
    "zero-padded-job-id": (212, (), {"job_id": "0212"}, {"job_id": "0212"}),
    "trailing-slash": (230, (), {"endpoint": "{url}/"}, {}),
    "endpoint-in-upper-case": (230, (), {"endpoint": "{URL}//"}, {"endpoint": "{URL}/"}),
    "zero-padded-port": (230, (), {"endpoint": "http://localhost:0{port}"}, {}),
    "region-and-project-in-upper-case": (245, (), {"region": "EU-DE", "project_id": "{PROJECT}"}, {}),
    # A place field stored blank names no place, as one not stored: a refresh must not fail on it.
    "blank-region": (212, (), {"region": ""}, {}),
    "blank-project-and-endpoint": (230, (), {"project_id": "", "endpoint": ""}, {}),
    "all-of-them": (
        245,
        ("region",),
        {"job_id": "245", "endpoint": "{URL}//", "project_id": "{PROJECT}"},
        {"job_id": "245", "region": "Eu-De"},
    ),
}
#: Beside them, real drift: the job stopped since the state was written; also in outputs whose
#: ``__provider`` another Python pickled (3.14's default protocol, 5): an up that found no change
#: left it there, and gave the inputs this one's.
STOPPED = {"status": 10, "status_name": "STOPPED", "is_running": False}
PICKLED_ELSEWHERE = base64.b64encode(pickle.dumps(VisualizationJobProvider(), protocol=5)).decode()
DRIFTED: dict[str, tuple[int, tuple[str, ...], dict[str, Any], dict[str, Any]]] = {
    "stopped": (197, (), STOPPED, {}),
    "stopped, pickled elsewhere": (197, (), {**STOPPED, "__provider": PICKLED_ELSEWHERE}, {}),
}


@pytest.mark.parametrize("auth", ["aksk", "password"])
@pytest.mark.parametrize("operation", ["up", "refresh"])
def test_state_spelt_otherwise_is_no_change_and_drift_is(
    emulator: ModelArtsEmulator, operation: str, auth: str
) -> None:
    """Another spelling (or a field not stored) is no change, real drift is; a refresh rewrites state."""
    engine = engine_for(emulator, auth)
    url = engine.config["modelarts:endpoint"] = emulator.url.replace("127.0.0.1", "localhost")
    names = dict(url=url, URL=url.upper(), port=url.rsplit(":", 1)[1], PROJECT=emulator.project_id.upper())
    states, written = {**OLD_STATES, **DRIFTED}, {}
    for name, (job_id, left_out, outputs_then, inputs_then) in states.items():
        inputs, outputs = put_in_state(engine, emulator, name, job_id)
        outputs["endpoint"] = url
        for key in left_out:
            outputs.pop(key, None)
        outputs.update(spelt(outputs_then, **names))
        inputs.update(spelt(inputs_then, **names))
        written[name] = {key: value for key, value in outputs.items() if key != "__provider"}
    program = {name: job(engine.state[engine.urn(name)].id) for name in states}
    expected = {
        **dict.fromkeys(OLD_STATES, (False, list[str]())),
        **dict.fromkeys(DRIFTED, (True, list[str]())),
    }
    if operation == "up":
        assert {step.name: step.diff for step in engine.preview(program).steps.values()} == expected
    result = engine.up(program) if operation == "up" else engine.refresh()
    assert result.ok, result.error
    assert "Create" not in result.calls and "Delete" not in result.calls
    assert {step.name: step.diff for step in result.steps.values()} == expected
    for name, (job_id, *_) in states.items():
        # Kept as written until a refresh or real drift rewrites it as this version writes it.
        fresh = {**fresh_state_outputs(emulator, job_id), "endpoint": url}
        kept = operation == "up" and name not in DRIFTED
        assert stored(engine, name) == (written[name] if kept else fresh), name
    reads = 2 * 4 if operation == "up" else len(program)  # a refresh reads each; an up each job once
    assert modelarts_calls(emulator) == [("GET", "get_job")] * reads


@pytest.mark.parametrize("stored_as", ["absent", "blank"])
def test_state_not_naming_its_job_is_read_as_its_resource_id(
    engine: Engine, emulator: ModelArtsEmulator, stored_as: str
) -> None:
    """State of job 212 (as an older version may write it) without its ``job_id``: the resource ID
    names the job, so a program naming job 197 replaces it, never stores 197's outputs under ID 212."""
    inputs, outputs = put_in_state(engine, emulator, "board", 212)
    for props in (inputs, outputs):
        props.pop("job_id") if stored_as == "absent" else props.update(job_id="")
    for operation in (engine.preview, engine.up):
        step = operation({"board": job(197)}).step("board")
        assert (step.kind, step.diff) == ("replace", harness.Diff(True, ["job_id"])), step
    assert engine.state[engine.urn("board")].id == "197" and stored(engine, "board")["job_id"] == 197
    assert modelarts_calls(emulator) == [("GET", "get_job")]  # the replacement's Create alone


@pytest.mark.parametrize(("program", "kind"), [(212, "replace"), (197, "update")])
def test_state_naming_another_job_than_its_resource_id_is_the_job_its_id_names(
    engine: Engine, emulator: ModelArtsEmulator, program: int, kind: str
) -> None:
    """Job 212's outputs and inputs under resource ID 197 (state edited by hand): a program naming 212
    replaces it, so the ID names the job read (it kept ID 197 for good), one naming 197 updates it."""
    put_in_state(engine, emulator, "board", 212)
    engine.state[engine.urn("board")].id = "197"
    replaces = ["job_id"] if kind == "replace" else []
    for operation in (engine.preview, engine.up):
        step = operation({"board": job(program)}).step("board")
        assert (step.kind, step.diff) == (kind, harness.Diff(True, replaces)), step
    assert engine.state[engine.urn("board")].id == str(program)
    assert stored(engine, "board") == fresh_state_outputs(emulator, program)
    assert engine.up({"board": job(program)}).kinds == {"board": "same"}


@pytest.mark.parametrize("stored_as", ["absent", "blank"])
def test_a_refresh_of_state_not_naming_its_job_reads_its_resource_id(
    engine: Engine, emulator: ModelArtsEmulator, stored_as: str
) -> None:
    """A refresh's Diff gets the stored inputs as its news: without a ``job_id`` in them, the
    resource ID names the job there too, and the refresh tells its drift as for any state."""
    inputs, outputs = put_in_state(engine, emulator, "board", 212)
    for props in (inputs, outputs):
        props.pop("job_id") if stored_as == "absent" else props.update(job_id="")
    emulator.update_job(212, job_desc="retrained")
    for operation in (engine.refresh, partial(engine.up, {"board": job(212)}, refresh=True)):
        result = operation()
        assert result.ok, result.error
        refresh = result.refreshes[engine.urn("board")]
        assert refresh.diff == harness.Diff(operation == engine.refresh, [])  # drift, then none
        assert stored(engine, "board") == fresh_state_outputs(emulator, 212)
    assert modelarts_calls(emulator) == [("GET", "get_job")] * 2  # each refresh's read, no more


def test_an_update_naming_another_job_than_its_resource_id_is_refused_in_one_line(
    engine: Engine, emulator: ModelArtsEmulator
) -> None:
    """Whatever an engine sends: an Update of resource 212 to job 197 reads nothing and stores nothing."""
    _, outputs = put_in_state(engine, emulator, "board", 212)
    with ProviderServer() as server:
        server.configure(engine.config, SECRET_CONFIG_KEYS)
        news = {"job_id": 197, "__provider": engine.provider}
        with pytest.raises(ProviderCallError) as refused:
            server.update(engine.urn("board"), "212", outputs, news, {**news, "job_id": 212})
    assert refused.value.details.strip() == refused.value.last_line
    assert refused.value.last_line.startswith("pulumi_modelarts.errors.InvalidInputError: job_id 197 ")
    assert "resource ID '212' name two jobs" in refused.value.last_line and emulator.requests == []


#: Places stored in a form no read can use (state edited by hand): (output, value).
UNUSABLE_PLACES = [("region", 5), ("region", "eu de"), ("project_id", "a/b"), ("endpoint", "ftp://x")]


@pytest.mark.parametrize(("key", "value"), UNUSABLE_PLACES)
def test_a_refresh_of_a_place_no_read_can_use_says_it_is_the_states_and_what_to_do(
    engine: Engine, emulator: ModelArtsEmulator, key: str, value: Any
) -> None:
    """A refresh reads where state says: a place stored unusable fails it in one line, before any
    request, saying that state holds it and that a plain ``up`` stores the place the program names."""
    put_in_state(engine, emulator, "board", 197)[1][key] = value
    refreshed = engine.refresh()
    assert isinstance(refreshed.error, ProviderCallError) and emulator.requests == []
    line = refreshed.error.details.strip()
    assert line.startswith(f"pulumi_modelarts.errors.InvalidInputError: the state's {key} ")
    assert "\n" not in line
    assert line.endswith("run 'pulumi up' without --refresh to store the place the program names")
    assert engine.up({"board": job(197)}).kinds == {"board": "replace"}
    assert engine.refresh().ok and stored(engine, "board") == fresh_state_outputs(emulator, 197)


def test_a_job_deleted_remotely(engine: Engine, emulator: ModelArtsEmulator) -> None:
    engine.up({"board": job(197)}).raise_error()
    emulator.remove_job(197)
    emulator.clear_requests()
    preview = engine.preview({"board": job(197)})  # fails as `up` does (README), state kept
    assert isinstance(preview.error, ProviderCallError) and "JobNotFoundError" in preview.error.last_line
    assert "job 197" in preview.error.last_line and engine.urn("board") in engine.state
    up = engine.up({"board": job(197)})
    assert isinstance(up.error, ProviderCallError)
    line = up.error.last_line
    assert line.startswith("pulumi_modelarts.errors.JobNotFoundError: ")
    assert "job 197" in line and "not found" in line and f"project {emulator.project_id}" in line
    # The SDK's server shows its frames (README, Errors), none of the client's: the line comes last.
    assert up.error.details.count('File "') <= 3 and "pulumi_modelarts/client" not in up.error.details
    refreshed = engine.refresh()
    assert refreshed.ok and refreshed.step("board").dropped and engine.state == {}
    assert modelarts_calls(emulator) == [("GET", "get_job")] * 3
    missing = engine.up({"board": job(4040)})  # creating a missing job: one clear line, nothing stored
    assert isinstance(missing.error, ProviderCallError) and "JobNotFoundError" in missing.error.last_line
    assert "job 4040" in missing.error.last_line and engine.state == {}


@pytest.mark.parametrize("gone", [False, True], ids=["job there", "job gone"])
def test_a_refresh_of_outputs_an_sdk_default_update_wiped_refreshes_them(
    engine: Engine, emulator: ModelArtsEmulator, gone: bool
) -> None:
    """The SDK's default ``update`` (an early version had none) left outputs of ``__provider`` alone
    (pulumi/pulumi#7809): a refresh fills them in and shows that, or drops a job since deleted."""
    _, outputs = put_in_state(engine, emulator, "board", 212)
    for key in STATE_FIELDS:
        outputs.pop(key, None)
    if gone:
        emulator.remove_job(212)
    result = engine.refresh()
    assert result.ok, result.error
    if gone:
        assert result.step("board").dropped and engine.state == {}
    else:
        assert result.step("board").diff == harness.Diff(True, [])
        assert stored(engine, "board") == fresh_state_outputs(emulator, 212)
    assert modelarts_calls(emulator) == [("GET", "get_job")]


def test_get_reads_by_id_with_inputs_only(engine: Engine, emulator: ModelArtsEmulator) -> None:
    up_refresh = partial(engine.up, refresh=True)
    for operation, calls in ((engine.preview, ["Read"]), (engine.up, ["Read"]), (up_refresh, ["Read"] * 2)):
        step = operation({"existing": job("212", read_id="212")}).step("existing")
        assert (step.kind, step.calls) == ("read", calls)
        assert step.outputs is not None and step.outputs["job_name"] == "mnist-insight"
    # One read per command: `up --refresh` reads it to refresh and serves the program's read with it.
    assert modelarts_calls(emulator) == [("GET", "get_job")] * 3
    emulator.clear_requests()
    assert engine.destroy().kinds == {"existing": "discard"}
    assert emulator.requests == [] and engine.state == {}  # external: dropped, never deleted
    missing = engine.up({"ghost": job("999", read_id="999")})  # a .get always sends its job_id
    assert isinstance(missing.error, ProviderCallError) and "JobNotFoundError" in missing.error.last_line


def test_each_job_id_a_call_names_is_parsed_once(
    emulator: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``.get``'s Read (its ID and ``job_id``) and a Create parse each value naming the job once, as
    the engine sends it (a number as a float)."""
    provider, parsed = configured(emulator), list[object]()
    whole_number = validation.parse_whole_number

    def counted(value: object, **kwargs: Any) -> int:
        parsed.extend([value] if kwargs["field"] == "job_id" else [])
        return whole_number(value, **kwargs)

    monkeypatch.setattr(validation, "parse_whole_number", counted)
    outputs = provider.read("212", {"job_id": 212.0}).outs
    assert outputs is not None and (parsed, outputs["job_id"]) == (["212", 212.0], 212)
    parsed.clear()
    assert provider.create({"job_id": 197.0}).id == "197" and parsed == [197.0]


#: (job_id, resource ID, the job read): another job than ``job_id`` names reads nothing.
READ_IDS = [(197, "212", None), ("0197", "212", None), (212.0, "197", None), (197, "0197", 197)]


@pytest.mark.parametrize(("job_id", "read_id", "read"), [*READ_IDS, ("212", "212", 212)])
def test_a_read_whose_inputs_name_another_job_than_its_id_reads_nothing(
    engine: Engine, emulator: ModelArtsEmulator, job_id: Any, read_id: str, read: int | None
) -> None:
    """The ID alone would read another job than ``job_id`` names and show it under that ``job_id``."""
    for operation in (engine.preview, engine.up):
        result = operation({"board": job(job_id, read_id=read_id)})
        if read is None:
            assert isinstance(result.error, ProviderCallError) and engine.state == {}
            assert result.error.last_line.startswith("pulumi_modelarts.errors.InvalidInputError: job_id ")
            assert f"and resource ID {read_id!r} name two jobs" in result.error.last_line
            assert emulator.requests == []
        else:
            assert (result.step("board").outputs or {})["job_id"] == read, result.error


@pytest.mark.parametrize("auth", ["aksk", "password", "token", "credentials-since-removed"])
def test_destroy_sends_nothing_in_any_auth_mode(emulator: ModelArtsEmulator, auth: str) -> None:
    """Not a ModelArts request nor an IAM login: destroy needs no settings, even broken ones."""
    engine = engine_for(emulator, auth.replace("credentials-since-removed", "password"))
    engine.up({"board": job(197), "seen": job(212, read_id="212")}).raise_error()
    if auth == "credentials-since-removed":
        engine.config = {"modelarts:userName": "someone", "modelarts:endpoint": "http://127.0.0.1:9"}
    emulator.clear_requests()
    assert engine.destroy().kinds == {"seen": "discard", "board": "delete"}
    assert emulator.requests == [] and engine.state == {}


@pytest.mark.parametrize(
    ("override", "replaces"),
    [
        ({"job_id": "212"}, ["job_id"]),
        ({"region": "eu-nl"}, ["project_id", "region"]),
        ({"endpoint": "http://127.0.0.1:9"}, ["endpoint"]),
        ({"job_id": UNKNOWN}, ["job_id"]),
        # An override unknown in preview is another place until known: nothing is read from the old one.
        ({"endpoint": UNKNOWN}, ["endpoint"]),
        ({"project_id": UNKNOWN, "region": UNKNOWN}, ["project_id", "region"]),
    ],
    ids=["job", "region", "endpoint", "unknown-job", "unknown-endpoint", "unknown-project-and-region"],
)
def test_another_job_or_place_is_a_replacement_and_nothing_is_deleted(
    engine: Engine, emulator: ModelArtsEmulator, override: dict[str, Any], replaces: list[str]
) -> None:
    put_in_state(engine, emulator, "board", 197)
    emulator.add_project("eu-nl", "0000000000000000000000000000e01e")
    emulator.clear_requests()
    preview = engine.preview({"board": job(**{"job_id": 197, **override})}).step("board")
    assert (preview.kind, preview.calls) == ("replace", REPLACE)
    assert preview.diff is not None and preview.diff.replaces == replaces
    assert modelarts_calls(emulator) == []  # no read is needed to see another job
    if override == {"job_id": "212"}:
        step = engine.up({"board": job("212")}).step("board")
        assert (step.kind, (step.outputs or {})["job_name"]) == ("replace", "mnist-insight")
        assert modelarts_calls(emulator) == [("GET", "get_job")] and emulator.get_job(197) is not None


#: Inputs naming job 197 at the configured place, spelt otherwise ({url}: the emulator's endpoint).
SPELT_OTHERWISE: dict[str, dict[str, Any]] = {
    "job-id-text": {"job_id": "197"},
    "job-id-float": {"job_id": 197.0},
    "job-id-0": {"job_id": "0197"},
    "endpoint-slashes": {"endpoint": "{url}//"},
    "endpoint-upper-case": {"endpoint": "{URL}"},
    "endpoint-zero-padded-port": {"endpoint": "{url0}"},
    "region-upper-case": {"region": "EU-DE"},
    "project-upper-case": {"project_id": "{PROJECT}"},
    "all-of-them": {"job_id": "0197", "endpoint": "{URL}/", "region": "Eu-De", "project_id": "{PROJECT}"},
}


@pytest.mark.parametrize("auth", ["aksk", "password"])
def test_inputs_naming_the_same_job_and_place_spelt_otherwise_are_no_change(
    emulator: ModelArtsEmulator, auth: str
) -> None:
    engine = engine_for(emulator, auth)
    url, (head, port) = emulator.url, emulator.url.rsplit(":", 1)
    names = dict(url=url, URL=url.upper(), url0=f"{head}:0{port}", PROJECT=emulator.project_id.upper())
    written = {name: put_in_state(engine, emulator, name, 197)[1] for name in SPELT_OTHERWISE}
    program = {
        name: job(**{"job_id": 197, **spelt(given, **names)}) for name, given in SPELT_OTHERWISE.items()
    }
    for operation in (engine.preview, engine.up):
        steps = operation(program).steps.values()
        same = dict.fromkeys(program, ("same", (False, list[str]())))
        assert {step.name: (step.kind, step.diff) for step in steps} == same
    assert {name: engine.state[engine.urn(name)].outputs for name in program} == written
    assert modelarts_calls(emulator) == [("GET", "get_job")] * 2  # one read of job 197 per command


#: Stack config moved after an up: another endpoint or region is a replacement told without any
#: request (no IAM login or project lookup either); the same place spelt otherwise is no change.
CONFIG_MOVES: dict[str, tuple[dict[str, str], list[str]]] = {
    "endpoint": ({"modelarts:endpoint": "http://127.0.0.1:9"}, ["endpoint"]),
    "region": ({"modelarts:region": "eu-nl"}, ["project_id", "region"]),
    "region-and-endpoint": (
        {"modelarts:region": "eu-nl", "modelarts:endpoint": "http://[::1]:9"},
        ["project_id", "region", "endpoint"],
    ),
    "endpoint-spelt-otherwise": ({"modelarts:endpoint": "{URL}//"}, []),
    "region-spelt-otherwise": ({"modelarts:region": "EU-DE"}, []),
}


@pytest.mark.parametrize("auth", ["aksk", "password", "token"])
@pytest.mark.parametrize(("config", "replaces"), CONFIG_MOVES.values(), ids=CONFIG_MOVES)
def test_a_config_move_is_a_replacement_told_without_a_request(
    emulator: ModelArtsEmulator, auth: str, config: dict[str, str], replaces: list[str]
) -> None:
    engine = engine_for(emulator, auth)
    engine.up({"board": job(197)}).raise_error()
    engine.config.update(spelt(config, URL=emulator.url.upper()))
    emulator.clear_requests()
    step = engine.preview({"board": job(197)}).step("board")
    assert step.diff is not None and step.diff.replaces == replaces
    if not replaces:
        assert (step.kind, modelarts_calls(emulator)) == ("same", [("GET", "get_job")])
    else:
        assert (step.kind, emulator.requests) == ("replace", [])


def test_four_concurrent_reads_on_one_provider(engine: Engine, emulator: ModelArtsEmulator) -> None:
    ids = [197, 212, 230, 245]
    engine.up({f"job{i}": job(i) for i in ids}).raise_error()
    emulator.clear_requests()
    held = Held(emulator, len(ids))
    engine.refresh(parallel=4).raise_error()
    reads = [r for r in emulator.requests if r.route == "get_job"]
    assert sorted(int(r.path.rsplit("/", 1)[1]) for r in reads) == ids
    # All four arrived before the first was answered: they were in flight together.
    assert len(held.arrived) == len(ids)
    assert [engine.state[engine.urn(f"job{i}")].outputs["job_id"] for i in ids] == ids


def test_resources_reading_one_job_at_once_share_one_read(
    engine: Engine, emulator: ModelArtsEmulator
) -> None:
    """The engine runs four steps at once: resources naming one job (spelt otherwise, a ``.get`` too)
    are one GET per command, as the README says, however their RPCs interleave."""
    program = {
        "board": job(197),
        "padded": job("0197"),
        "float": job(197.0),
        "seen": job("197", read_id="197"),
    }
    emulator.latency = 0.3  # every read is in flight while the others' RPCs arrive
    for operation in (engine.preview, engine.up, engine.up, engine.preview):
        emulator.clear_requests()
        operation(program, parallel=4).raise_error()
        assert modelarts_calls(emulator) == [("GET", "get_job")]
    assert {name: stored(engine, name) for name in program} == dict.fromkeys(
        program, fresh_state_outputs(emulator, 197)
    )


#: Servers holding reads far past the engine's patience: silent, trickling, or asking for a long back-off.
HELD_READS = {
    **{name: SLOW_SERVERS[name] for name in SLOW_SERVERS if name.startswith(("silent", "body", "TLS"))},
    "backing off": (lambda _: [reply(503, {}, Retry_After="25")], "http"),
}


@pytest.mark.slow
@pytest.mark.parametrize("server", HELD_READS.values(), ids=HELD_READS)
def test_the_engines_sigint_ends_reads_in_flight_and_the_process_at_once(server: tuple[Script, str]) -> None:
    """SIGINT, then a kill a few seconds later: reads in flight (beyond the server's four workers) end at
    once, without a traceback, where the SDK's server would wait for each of them."""
    config = {"modelarts:authToken": "token", "modelarts:projectId": PROJECT, "modelarts:timeout": "30"}
    with RawServer(*server) as slow, ProviderServer() as provider, ThreadPoolExecutor(6) as pool:
        provider.configure({**config, "modelarts:endpoint": slow.url})
        pickled = serialized_provider(VisualizationJobProvider())
        # Six jobs, not one: reads of one job share a single request.
        props = [{"job_id": 197 + n, "__provider": pickled} for n in range(6)]
        reads = [pool.submit(provider.create, urn_for(f"job{n}"), props[n]) for n in range(6)]
        # Until four reads are held (a TLS handshake sends no request head).
        assert slow.wait_until(lambda: len(slow.clients) >= 4)
        assert provider.stop(signal.SIGINT, timeout=5) == 0
        assert all(isinstance(read.exception(), ProviderCallError) for read in reads)
    assert provider.output == {"stdout": [], "stderr": []}


IAM_ROUTE = {"aksk": "iam_projects", "token": "iam_projects", "password": "iam_token"}


@pytest.mark.parametrize("iam", [pytest.param("slow", marks=pytest.mark.slow), "silent"])
@pytest.mark.parametrize("auth", IAM_ROUTE)
def test_every_rpc_ends_within_the_timeout_its_authentication_included(
    emulator: ModelArtsEmulator, auth: str, iam: str
) -> None:
    """An RPC's IAM request and read are one call under one timeout, and RPCs waiting for another's IAM
    request (the server runs four at once) end at theirs, not one timeout after another."""
    delay = {"slow": 0.7, "silent": 30.0}[iam]
    emulator.inject_fault(IAM_ROUTE[auth], delay=delay, count=9)
    emulator.inject_fault("get_job", delay=delay, count=9)
    with ProviderServer() as server, ThreadPoolExecutor(4) as pool:
        server.configure({**emulator.stack_config(auth, include_project=False), "modelarts:timeout": "1"})
        props = {"job_id": 197, "__provider": serialized_provider(VisualizationJobProvider())}
        # A first RPC imports the transport before its deadline starts (a loaded machine: most of a
        # second): one refused before any request does that here, out of the RPCs timed.
        with pytest.raises(ProviderCallError, match="job_id must be"):
            server.create(urn_for("refused"), {**props, "job_id": -1})
        rpcs = [
            partial(server.create, urn_for("created"), props),
            partial(server.read, urn_for("read"), "197", props, props),
            partial(server.diff, urn_for("diffed"), "197", props, props, props),
            partial(server.update, urn_for("updated"), "197", props, props, props),
        ]

        def timed(rpc: Callable[[], Any]) -> tuple[float, str]:
            started = time.monotonic()
            with pytest.raises(ProviderCallError) as failed:
                rpc()
            return time.monotonic() - started, failed.value.last_line

        outcomes = list(pool.map(timed, rpcs))
    late = [(round(took, 2), line) for took, line in outcomes if took >= 1.8 or "timeout of 1 s" not in line]
    assert late == []


@pytest.mark.parametrize("auth", ["aksk", "password"])
@pytest.mark.parametrize("first", ["configured", "override"])
def test_one_job_read_in_two_regions_at_one_endpoint_keeps_each_its_region(
    emulator: ModelArtsEmulator, auth: str, first: str
) -> None:
    """Another region at one endpoint and project is another place; its read stands in for no other."""
    emulator.add_project("eu-nl", "0000000000000000000000000000e01e")
    engine = engine_for(emulator, auth)
    jobs = {"home": job(197), "away": job(197, region="EU-NL", project_id=emulator.project_id)}
    jobs = jobs if first == "configured" else dict(reversed(jobs.items()))
    regions = {"home": emulator.region, "away": "eu-nl"}
    for operation in (partial(engine.up, jobs), partial(engine.up, jobs, refresh=True)):
        result = operation()
        assert result.ok, result.error
        assert {name: (step.outputs or {})["region"] for name, step in result.steps.items()} == {
            engine.urn(name): region for name, region in regions.items()
        }
        assert set(result.kinds.values()) <= {"create", "same"}, result.kinds


@pytest.mark.parametrize("override", [None, "endpoint", "region"])
def test_password_auth_fetches_one_token_per_operation(
    emulator: ModelArtsEmulator, override: str | None
) -> None:
    engine, jobs = engine_for(emulator, "password"), {f"job{i}": job(i) for i in (197, 212, 230)}
    if override == "region":  # the stack reads eu-nl (an empty project); this job lives in eu-de
        emulator.add_project("eu-nl", "0000000000000000000000000000e01e")
        engine.config["modelarts:region"] = "eu-nl"
        jobs = {"board": job(197, region=emulator.region)}
    elif override == "endpoint":  # the same emulator under another name: another endpoint
        jobs = {"board": job(197, endpoint=emulator.url.replace("127.0.0.1", "localhost"))}
    engine.up(jobs).raise_error()
    # Each in a provider process of its own: a refresh, and what reads and diffs in one process.
    operations: dict[str, Callable[[], harness.OperationResult]] = {"preview": lambda: engine.preview(jobs)}
    operations["refresh"] = engine.refresh
    operations["up"] = lambda: engine.up(jobs, refresh=override is not None)
    for name, operation in operations.items():
        emulator.clear_requests()
        operation().raise_error()
        routes = [r.route for r in emulator.requests]
        # Read serves stored outputs (project, region, endpoint named); Diff serves inputs (only the
        # override named): one place, one client, one token.
        assert routes.count("iam_token") == 1, (name, routes)
        assert override is not None or routes.count("get_job") == 3, (name, routes)


@pytest.mark.reliability("secrets")
@pytest.mark.parametrize("auth", ["aksk", "password"])
def test_canary_secrets_appear_nowhere(emulator: ModelArtsEmulator, auth: str, leaks: LeakScanner) -> None:
    engine, provider = engine_for(emulator, auth), configured(emulator, auth)
    provider.create({"job_id": 197})  # after configure() saw the secrets and a read used them
    texts = [engine.provider, serialized_provider(provider), repr(provider), repr(vars(provider))]
    for result in (engine.up({"board": job(197)}), engine.refresh(), engine.preview({"board": job(197)})):
        assert result.ok, result.error
        texts += [repr(result.steps), result.output]
    echoed = CANARY.secret_key if auth == "aksk" else CANARY.password  # a server echoing a credential
    emulator.inject_fault(
        "get_job", status=403, error_code="ModelArts.0108", error_message=f"denied for {echoed}"
    )
    failed = engine.up({"board": job(197)})
    assert isinstance(failed.error, ProviderCallError) and "denied for ***" in failed.error.last_line
    texts += [failed.error.details, failed.output, state_json(engine)]
    for text in texts:
        leaks.scan(f"engine ({auth})", text)


BUGGY_CALLS: dict[str, Callable[[VisualizationJobProvider], Any]] = {
    "create": lambda provider: provider.create({"job_id": 197}),
    "diff": lambda provider: provider.diff("197", {"job_id": 197}, {"job_id": 197}),
    "update": lambda provider: provider.update("197", {}, {"job_id": 197}),
    "read": lambda provider: provider.read("197", {}),
}


@pytest.mark.parametrize("call", BUGGY_CALLS.values(), ids=BUGGY_CALLS)
def test_a_bug_in_the_provider_is_one_scrubbed_line(
    emulator: ModelArtsEmulator, monkeypatch: pytest.MonkeyPatch, call: Any
) -> None:
    """The SDK's server sends a bug's whole traceback to the engine, credential (a quoted header) and all."""
    provider = configured(emulator)

    def fail(*_: Any, **__: Any) -> Any:
        raise RuntimeError(f"Invalid header value b'{CANARY.secret_key}'")

    monkeypatch.setattr("pulumi_modelarts.provider._Runtime.read", fail)
    with pytest.raises(ModelArtsError) as caught:
        call(provider)
    assert str(caught.value).startswith("unexpected RuntimeError (Invalid header value b'***')"), caught.value
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


TOKENS = {"modelarts:securityToken": CANARY.password, "modelarts:authToken": WRONG_PASSWORD}
#: name -> (config beyond the emulator's AK/SK, the fault on reads, the error named last): every
#: secret setting, plain or ``--secret``, through failures of every kind.
GRPC_FAILURES: dict[str, tuple[dict[str, str], dict[str, Any], str]] = {
    "securityToken echoed": (TOKENS, {"status": 403, "error_message": f"for {CANARY.password}"}, "denied"),
    "authToken rejected": ({"modelarts:authToken": WRONG_PASSWORD}, {}, "AuthenticationError"),
    "an invalid timeout beside them": ({**TOKENS, "modelarts:timeout": "soon"}, {}, "modelarts:timeout"),
    "a read timeout": (
        {"modelarts:readTimeout": "0.2", "modelarts:maxRetries": "0"},
        {"delay": 1.0},
        "timeout",
    ),
}


@pytest.mark.reliability("secrets")
@pytest.mark.parametrize("secret", [True, False], ids=["secret config", "plain config"])
@pytest.mark.parametrize(("config", "fault", "named"), GRPC_FAILURES.values(), ids=GRPC_FAILURES)
def test_no_failure_over_grpc_shows_a_secret_from_stack_config(
    emulator: ModelArtsEmulator, leaks: LeakScanner, secret: bool, config: Any, fault: Any, named: str
) -> None:
    """The whole traceback the provider server sends, the engine's output and state."""
    config = {**emulator.stack_config(), **config}
    engine = Engine(VisualizationJobProvider(), config=config, secret_keys=config if secret else ())
    emulator.inject_fault("get_job", **fault, count=9) if fault else None
    failed = engine.up({"board": job(197)})
    assert isinstance(failed.error, ProviderCallError) and named in failed.error.last_line
    for text in (failed.error.details, failed.output, state_json(engine)):
        leaks.scan("grpc", text)


#: Stack config a YAML stack file holds as numbers (``modelarts:password: 20240131``), which the
#: engine may send as JSON numbers: each is the text written, never ``20240131.0``.
NUMBERS: dict[str, float] = {"modelarts:projectId": 4242424242, "modelarts:password": 20240131}
NUMBERS |= {"modelarts:userName": 7, "modelarts:maxRetries": 2.0, "modelarts:timeout": 30}
NUMBERS |= {"modelarts:insecure": False}


@pytest.mark.parametrize("secret", [True, False], ids=["secret config", "plain config"])
def test_stack_config_sent_as_json_numbers_reads_as_the_text_written(secret: bool) -> None:
    credentials = dataclasses.replace(CANARY, user_name="7", password="20240131")
    with ModelArtsEmulator.from_seed_file(
        SAMPLE_JOBS_PATH, credentials=credentials, project_id="4242424242"
    ) as em:
        config: dict[str, Any] = {**em.stack_config("password"), **NUMBERS}
        engine = Engine(VisualizationJobProvider(), config=config, secret_keys=NUMBERS if secret else ())
        created = engine.up({"board": job(197)})
        created.raise_error()
        assert stored(engine, "board")["project_id"] == "4242424242"
        assert [r.status for r in em.requests if r.route == "iam_token"] == [201]


# -- refresh under faults: the provider server keeps a job unless it is really gone -----------------
PAGE = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
HTML_502, HTML_404 = ({"body": body, "content_type": "text/html"} for body in (PAGE, "<html>404</html>"))
GONE = '{"error_code": "ModelArts.0015", "error_message": "gone", "request_id": null}'
NAN = {"body": b'{"job_id": 197, "job_name": "apiTest-11", "status": 8, "remaining_duration": NaN}'}
#: name -> (fault, outcome). Every foreign 404 and non-finite number is refused by the client
#: (tests/test_responses.py); here one of each shows what the provider server makes of that.
INVALID = "kept: InvalidResponseError"
REFRESH_FAULTS: dict[str, tuple[dict[str, Any], str]] = {
    "502 HTML x3, maxRetries 2 (exhausted)": ({"status": 502, **HTML_502, "count": 3}, "kept: ServiceError"),
    "429 x2 (Retry-After: 0)": ({"status": 429, "retry_after": 0, "count": 2}, "recovered"),
    "404 HTML page (not a ModelArts answer)": ({"status": 404, **HTML_404}, INVALID),
    "truncated JSON": ({"truncate": True}, INVALID),
    "credentials rejected": (
        {"status": 401, "error_code": "APIG.0301", "count": 5},
        "kept: AuthenticationError",
    ),
    "job gone (ModelArts.2775)": ({"status": 400, "error_code": "ModelArts.2775"}, "dropped"),
    "foreign 404 (Not Found)": ({"status": 404, "body": '{"message": "Not Found"}'}, INVALID),
    "job gone, on a 200 without is_success": ({"status": 200, "body": GONE}, "dropped"),
    "a gateway's code on a 200": (
        {"status": 200, "body": '{"error_code": "APIG.0301"}'},
        "kept: AuthenticationError",
    ),
    "non-finite number (NaN)": (NAN, INVALID),
    "403 with a not-found code": (
        {"status": 403, "body": '{"error_code": "ModelArts.2775"}'},
        "kept: PermissionDeniedError",
    ),
    "401 with a not-found code": (
        {"status": 401, "body": '{"error_code": "ModelArts.0015"}', "count": 3},
        "kept: AuthenticationError",
    ),
}


@pytest.fixture(scope="module", params=["aksk", "password"])
def refresher(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A provider process per auth mode, credentials from a Secret file (newline and all), job 197 read."""
    with ModelArtsEmulator.from_seed_file(SAMPLE_JOBS_PATH, credentials=CANARY) as emulator:
        config = emulator.stack_config(request.param)
        padded = {key: value + "\n" if key in SECRET_CONFIG_KEYS else value for key, value in config.items()}
        with ProviderServer(tmp_path_factory.mktemp("cwd")) as server:
            server.configure({**padded, "modelarts:maxRetries": "2"}, SECRET_CONFIG_KEYS)
            inputs = {"job_id": 197, "__provider": serialized_provider(VisualizationJobProvider())}
            outputs = server.create(urn_for("job"), server.check(urn_for("job"), {}, inputs).inputs).outputs
            yield request.param, emulator, server, inputs, outputs


@pytest.mark.reliability("fault matrix")
@pytest.mark.parametrize(("fault", "expected"), REFRESH_FAULTS.values(), ids=REFRESH_FAULTS.keys())
def test_a_refresh_keeps_the_job_unless_it_is_really_gone(
    refresher: Any, fault: dict[str, Any], expected: str, leaks: LeakScanner
) -> None:
    _, emulator, server, inputs, outputs = refresher
    emulator.clear_faults()
    emulator.inject_fault("get_job", **fault)
    try:
        read = server.read(urn_for("job"), "197", outputs, inputs)
    except ProviderCallError as exc:
        leaks.scan("refresh", exc.details)
        outcome = f"kept: {exc.last_line.split(':')[0].rsplit('.', 1)[-1]}"
    else:
        wrong = mismatches(read.outputs, emulator.get_job(197) or {}, emulator.project_id, emulator.region)
        outcome = (
            "dropped" if not read.id else "recovered" if read.id == "197" and not wrong else f"wrong {wrong}"
        )
    assert outcome == expected
    leaks.scan("provider server stderr", "".join(server.output["stderr"]))


@pytest.mark.reliability("fault matrix")
def test_a_token_expiring_mid_run_is_renewed_by_the_provider_process(refresher: Any) -> None:
    auth, emulator, server, inputs, outputs = refresher
    emulator.clear_faults()
    emulator.expire_tokens()
    emulator.clear_requests()
    assert server.read(urn_for("job"), "197", outputs, inputs).id == "197"
    renewal = [("get_job", 401), ("iam_token", 201)] if auth == "password" else []
    assert [(r.route, r.status) for r in emulator.requests] == [*renewal, ("get_job", 200)]


#: (property, value) Check refuses: a job ID past 2**53 (it would arrive as a double) as given;
#: spellings int() would read, and a reader might not, never guessed.
BAD_INPUTS = [("job_id", bad) for bad in ("../197", None, str(2**60 + 1), 2**53 + 1, 197.5, True)]
BAD_INPUTS += [("job_id", bad) for bad in (" 197 ", "+197", "1_97", "\u0661\u0669\u0667")]
BAD_INPUTS += [("project_id", bad) for bad in ("a/b", " 6f0c1b1f", "6f0c1b1f\n")]
BAD_INPUTS += [("endpoint", bad) for bad in ("http://modelarts.example.com", "https://127.1")]
BAD_INPUTS += [("endpoint", bad) for bad in ("https://bücher.example", " https://h.example")]
BAD_INPUTS += [
    ("endpoint", f"https://modelarts.eu-de.otc.t-systems.com{path}") for path in ("/v1", "/v1/" + "f" * 32)
]
BAD_INPUTS += [("region", bad) for bad in ("eu de", " eu-de", "eu-de\t")]


@pytest.mark.parametrize(("property_", "bad"), BAD_INPUTS)
def test_check_names_the_bad_property_and_sends_nothing(refresher: Any, property_: str, bad: Any) -> None:
    _, emulator, server, *_ = refresher
    emulator.clear_requests()
    inputs = {"job_id": 197, property_: bad, "__provider": serialized_provider(VisualizationJobProvider())}
    failures = server.check(urn_for("board"), {}, inputs).failures
    assert [name for name, _ in failures] == [property_]
    if property_ == "job_id" and bad is not None:
        assert failures[0][1].startswith("job_id must be a whole number from 1 to 9007199254740991")
    assert emulator.requests == []


@pytest.mark.parametrize("id_", [" 197", "197.0", "0x1", "", "-197", "\u0661\u0669\u0667"])
@pytest.mark.parametrize("role", ["refresh", "get"])
def test_a_read_of_an_id_in_another_form_is_one_line_and_sends_nothing(
    refresher: Any, id_: str, role: str
) -> None:
    """Refresh (outputs) and ``.get`` (inputs) of an ID not ASCII digits; a Delete sends nothing either."""
    _, emulator, server, inputs, outputs = refresher
    emulator.clear_requests()
    with pytest.raises(ProviderCallError) as caught:
        server.read(urn_for("job"), id_, outputs if role == "refresh" else inputs, inputs)
    assert caught.value.last_line.startswith("pulumi_modelarts.errors.InvalidInputError: job_id must be")
    assert "client.py" not in caught.value.details and "validation.py" not in caught.value.details
    server.delete(
        urn_for("job"), id_, {"__provider": inputs["__provider"], "job_id": id_, "endpoint": "ftp://x"}
    )
    assert emulator.requests == []


def test_the_config_of_the_first_operation_is_the_one_used(emulator: ModelArtsEmulator) -> None:
    """The SDK configures a dynamic provider at its first operation with the last ``Configure``."""
    dead = {**emulator.stack_config(), "modelarts:endpoint": "http://127.0.0.1:9"}
    props = {"job_id": 197, "__provider": serialized_provider(VisualizationJobProvider())}
    with ProviderServer() as server:
        server.configure(dead, SECRET_CONFIG_KEYS)
        server.configure(emulator.stack_config(), SECRET_CONFIG_KEYS)
        assert server.read(urn_for("a"), "197", props).outputs["endpoint"] == emulator.url
        server.configure(dead, SECRET_CONFIG_KEYS)
        assert server.read(urn_for("b"), "212", {**props, "job_id": 212}).outputs["endpoint"] == emulator.url


@pytest.mark.parametrize(
    "mib",
    [4.5, pytest.param(8.5, marks=pytest.mark.slow)],
    ids=["over gRPC's default 4 MiB", "near the 10 MiB body cap"],
)
def test_a_field_of_megabytes_is_stored_whole_and_shows_no_change(
    engine: Engine, emulator: ModelArtsEmulator, mib: float
) -> None:
    """A description the size of several MiB crosses the engine (its gRPC limit is 400 MiB) as it is."""
    unit = "\U0001f600" + "x" * 57 + "\n"  # non-BMP, a line break: 62 bytes in UTF-8, 71 in JSON
    text = unit * int(mib * 2**20 / len(unit.encode()))
    emulator.update_job(197, job_desc=text)
    engine.up({"board": job(197)}).raise_error()
    assert stored(engine, "board")["job_desc"] == text
    for operation in ("up", "refresh", "up"):
        result = getattr(engine, operation)(*[{"board": job(197)}] * (operation == "up"))
        kinds = result.refreshes if operation == "refresh" else result.steps
        assert [step.kind for step in kinds.values()] == ["same" if operation == "up" else "refresh"]
    assert stored(engine, "board")["job_desc"] == text


#: Credentials or a project left in the provider process's environment, of another kind than the
#: stack configures: the stack's config is the one used.
LEFT_IN_ENV = {
    "a stale token beside configured AK/SK": ("aksk", {"OS_AUTH_TOKEN": "stale-token"}),
    "wrong AK/SK beside a configured password": ("password", {"HW_ACCESS_KEY": "AK", "HW_SECRET_KEY": "SK"}),
    "another project ID beside a configured project name": ("aksk", {"HW_PROJECT_ID": "f" * 32}),
}


@pytest.mark.parametrize(("auth", "env"), LEFT_IN_ENV.values(), ids=LEFT_IN_ENV)
def test_what_the_stack_configures_wins_over_another_kind_in_the_environment(
    emulator: ModelArtsEmulator, auth: str, env: dict[str, str]
) -> None:
    engine = engine_for(emulator, auth, **{"modelarts:projectName": emulator.region})
    engine.env.update(env)
    engine.up({"board": job(197)}).raise_error()
    assert stored(engine, "board")["project_id"] == emulator.project_id


@pytest.mark.parametrize("include_project", [True, False], ids=["projectId", "project looked up"])
def test_password_auth_fetches_one_token_per_iam_user_and_project_over_every_endpoint(
    emulator: ModelArtsEmulator, include_project: bool
) -> None:
    """Jobs read at two ModelArts endpoints (one emulator under two names) in one project: one IAM
    token for all of them, read concurrently, and one renewal when it expires mid-run."""
    other = emulator.url.replace("127.0.0.1", "localhost")
    config = emulator.stack_config("password", include_project=include_project)
    props = {"__provider": serialized_provider(VisualizationJobProvider())}
    places = [
        {"job_id": job_id, **props, **place} for job_id in (197, 212) for place in ({}, {"endpoint": other})
    ]
    with ProviderServer() as server, ThreadPoolExecutor(4) as pool:
        server.configure(config, SECRET_CONFIG_KEYS)

        def read(inputs: dict[str, Any]) -> str:
            name = f"job{inputs['job_id']}{'endpoint' in inputs}"
            return server.create(urn_for(name), server.check(urn_for(name), {}, inputs).inputs).id

        assert list(pool.map(read, places)) == ["197", "197", "212", "212"]
        assert [r.route for r in emulator.requests].count("iam_token") == 1
        emulator.expire_tokens()
        emulator.clear_requests()
        for inputs in places:  # a refresh: each read goes to ModelArts
            server.read(urn_for("refreshed"), str(inputs["job_id"]), {**inputs, "job_name": "x"}, inputs)
    assert [r.route for r in emulator.requests].count("iam_token") == 1


#: Failures that carry no advice of their own kind: each still says what to do.
ADVISED = {
    "5xx after retries": ({"status": 503, "count": 9}, "Try again later"),
    "a 4xx ModelArts has no name for": ({"status": 409, "error_code": "ModelArts.9999"}, "Check the job ID"),
}


@pytest.mark.parametrize(("fault", "advice"), ADVISED.values(), ids=ADVISED)
def test_a_service_failure_says_what_to_do(refresher: Any, fault: dict[str, Any], advice: str) -> None:
    _, emulator, server, inputs, outputs = refresher
    emulator.clear_faults()
    emulator.inject_fault("get_job", **fault)
    with pytest.raises(ProviderCallError) as caught:
        server.read(urn_for("job"), "197", outputs, inputs)
    assert caught.value.last_line.startswith("pulumi_modelarts.errors.ServiceError: ")
    assert f"). {advice}" in caught.value.last_line


def test_every_error_over_grpc_is_its_one_line_without_a_traceback(refresher: Any) -> None:
    """The SDK's server sends ``traceback.format_exc()``: ours go as the error's line alone, and a
    failure before any Configure (settings from the environment only) too."""
    _, emulator, server, inputs, _ = refresher
    emulator.clear_faults()
    emulator.inject_fault("get_job", status=404, error_code="ModelArts.0015")
    with pytest.raises(ProviderCallError) as caught:
        server.read(urn_for("job"), "212", {**inputs, "job_id": 212}, {**inputs, "job_id": 212})
    assert caught.value.details.startswith("pulumi_modelarts.errors.JobNotFoundError: get visualization job")
    assert caught.value.details.count("\n") == 1 and "Traceback" not in caught.value.details
    with pytest.raises(ProviderCallError) as caught:  # the SDK's own failure: its traceback, as ever
        server.read(urn_for("job"), "212", {}, {})
    assert caught.value.details.startswith("Traceback (most recent call last):")
    assert caught.value.details.rstrip().endswith("KeyError: '__provider'")
    with ProviderServer() as unconfigured:
        with pytest.raises(ProviderCallError) as caught:
            unconfigured.create(urn_for("job"), inputs)
        assert caught.value.details.startswith("pulumi_modelarts.errors.ConfigurationError: no ModelArts")
        assert caught.value.details.count("\n") == 1 and unconfigured.output["stderr"] == []


@pytest.mark.parametrize("operation", ["up", "up, the project in stack config", "refresh"])
def test_targets_the_program_gave_as_secrets_are_secret_in_the_providers_errors(
    engine: Engine, emulator: ModelArtsEmulator, operation: str
) -> None:
    """The engine hands the provider plain values; the names of the secret ones come with them (and
    are stored with the outputs for a refresh), so a failed read shows those as ``[secret]``, also
    when the secret is the stack config's (the provider is not told which config is secret)."""
    seen = []
    for names in (["project_id"], None):  # then, as control, not secret: named as given
        given: dict[str, Any] = {"project_id": "hiddenproject7", HIDDEN_TARGETS: names}
        if operation.endswith("stack config"):
            engine.config["modelarts:projectId"] = given.pop("project_id")
        if operation.startswith("up"):
            result = engine.up({"board": job(197, **given)})
        else:
            put_in_state(engine, emulator, "board", 197)[1].update(given)
            result = engine.refresh()
        seen.append(str(result.error))
    assert "hiddenproject7" not in seen[0] and "project [secret]" in seen[0], seen[0]
    assert "project hiddenproject7" in seen[1], seen[1]
    assert modelarts_calls(emulator) == [("GET", "get_job")] * 2


def test_a_target_made_secret_later_is_secret_in_a_refreshs_errors(
    engine: Engine, emulator: ModelArtsEmulator
) -> None:
    """A target the program makes secret (or plain) on a resource in state is an update, whose one
    read the diff's is: otherwise the state keeps the old names and a refresh shows the value."""
    project = emulator.project_id
    assert engine.up({"board": job(197, project_id=project)}).ok
    made_secret = engine.up({"board": job(197, project_id=project, **{HIDDEN_TARGETS: ["project_id"]})})
    assert made_secret.kinds == {"board": "update"}, made_secret.error
    assert stored(engine, "board")[HIDDEN_TARGETS] == ["project_id"]
    assert modelarts_calls(emulator) == [("GET", "get_job")] * 2
    emulator.inject_fault("get_job", status=403, error_code="ModelArts.0108", error_message="denied")
    refreshed = str(engine.refresh().error)
    assert project not in refreshed and "project [secret]" in refreshed, refreshed
    assert engine.up({"board": job(197, project_id=project)}).kinds == {"board": "update"}
    assert HIDDEN_TARGETS not in stored(engine, "board")
