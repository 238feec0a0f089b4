"""Self-tests of the engine-level harness against the SDK's real dynamic-provider server.

Every test talks to a genuine ``python -m pulumi.dynamic`` process running ``CountingProvider``;
the provider's own call log (JSON lines written from inside that process) is used to check that
the server really did what the harness reports. Each server start costs ~0.4 s, so the engine
scenarios walk one stack through several operations instead of starting from scratch each time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi.output import Unknown
from pulumi.runtime import rpc

from harness import (
    CheckFailedError,
    Desired,
    DiffOutcome,
    Engine,
    EngineError,
    OperationResult,
    ProviderCallError,
    ProviderServer,
    ProviderStartError,
    pythonpath_for,
    serialized_provider,
    urn_for,
)
from harness.fake_provider import LOG_ENV, CountingProvider, read_log

REPO = Path(__file__).resolve().parents[1]
PYTHONPATH = [pythonpath_for(CountingProvider)]
PROJECT = "vizproj"
CONFIG = {
    "vizproj:region": "cn-north-4",
    "vizproj:apiToken": "tok-123",
    "aws:region": "us-east-1",
}
SECRET_KEYS = {"vizproj:apiToken"}
PLUGIN_CALLS = ["GetPluginInfo", "Configure"]


def _urn(name: str) -> str:
    return urn_for(name, project=PROJECT)


def _max_overlap(intervals: list[tuple[float, float]]) -> int:
    """Largest number of intervals open at the same instant (ends sort before starts)."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    running = best = 0
    for _, delta in events:
        running += delta
        best = max(best, running)
    return best


# -- ProviderServer ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("server") / "calls.jsonl"


@pytest.fixture(scope="module")
def server(server_log: Path) -> Iterator[ProviderServer]:
    env = {LOG_ENV: str(server_log)}
    with ProviderServer(REPO, env, project=PROJECT, pythonpath=PYTHONPATH) as srv:
        srv.configure(CONFIG, SECRET_KEYS)
        yield srv


def test_plugin_info_and_configure_response(server: ProviderServer) -> None:
    assert server.get_plugin_info() == "0.1.0"
    outcome = server.configure(CONFIG, SECRET_KEYS)
    # The Python server never accepts secrets, so the engine strips them from every later call.
    assert not outcome.accept_secrets
    assert not outcome.supports_preview


def test_configure_passes_namespaced_config_with_secret_unwrapped(
    server: ProviderServer, server_log: Path
) -> None:
    provider = serialized_provider(CountingProvider(tag="configure"))
    server.check(_urn("cfg"), {}, {"__provider": provider, "key": "cfg"})
    server.check(_urn("cfg"), {}, {"__provider": provider, "key": "cfg"})

    seen = [e for e in read_log(server_log) if e["method"] == "configure" and e["tag"] == "configure"]
    # configure() runs lazily, once per process and distinct __provider string.
    assert len(seen) == 1
    assert seen[0]["config"] == CONFIG
    # An unqualified key resolves against PULUMI_PROJECT.
    assert seen[0]["region"] == "cn-north-4"


def test_crud_methods_round_trip(server: ProviderServer, server_log: Path) -> None:
    urn = _urn("crud")
    provider = serialized_provider(CountingProvider())
    news = {"__provider": provider, "key": "crud-1", "value": "v"}

    checked = server.check(urn, {}, news)
    assert checked.inputs == news
    assert checked.failures == []

    created = server.create(urn, checked.inputs)
    assert created.id == "id-crud-1"
    assert created.outputs == {**news, "computed": "computed-crud-1"}

    olds = created.outputs
    assert server.diff(urn, created.id, olds, news, news) == DiffOutcome("none")
    changed = {**news, "value": "w"}
    assert server.diff(urn, created.id, olds, changed, news) == DiffOutcome("some")
    rekeyed = {**news, "key": "crud-2", "dbr": True}
    assert server.diff(urn, created.id, olds, rekeyed, news) == DiffOutcome("some", ["key"], True)
    unknown_mode = {**news, "diff_mode": "unknown"}
    assert server.diff(urn, created.id, olds, unknown_mode, news).changes == "unknown"

    updated = server.update(urn, created.id, olds, changed, news)
    assert updated == {**changed, "computed": "computed-crud-1"}

    read = server.read(urn, created.id, updated, changed)
    assert (read.id, read.outputs, read.inputs) == (created.id, updated, None)
    gone = server.read(urn, created.id, {**updated, "gone": True}, changed)
    assert (gone.id, gone.outputs) == ("", {"__provider": provider})

    server.delete(urn, created.id, updated)

    methods = [e["method"] for e in read_log(server_log) if str(e.get("key", "")).startswith("crud")]
    assert methods == ["check", "create", "diff", "diff", "diff", "diff", "update", "read", "read", "delete"]
    assert server.call_names(urn) == [
        "Check", "Create", "Diff", "Diff", "Diff", "Diff", "Update", "Read", "Read", "Delete",
    ]  # fmt: skip


def test_check_round_trips_unknowns_and_reports_failures(server: ProviderServer) -> None:
    urn = _urn("unknowns")
    provider = serialized_provider(CountingProvider())
    news = {"__provider": provider, "key": rpc.UNKNOWN, "nested": {"list": [rpc.UNKNOWN, 1]}}

    checked = server.check(urn, {}, news)
    assert isinstance(checked.inputs["key"], Unknown)
    assert isinstance(checked.inputs["nested"]["list"][0], Unknown)
    assert checked.inputs["nested"]["list"][1] == 1.0  # Struct numbers are floats

    # Unknowns also survive being sent back as Unknown objects (what Engine does with checked inputs).
    diff = server.diff(urn, "id-x", {"__provider": provider, "key": "k"}, checked.inputs)
    assert diff == DiffOutcome("some", ["key"], False)

    failing = server.check(urn, {}, {"__provider": provider, "key": "k", "fail_check": True})
    assert failing.failures == [("key", "fail_check was requested")]


def test_provider_exception_surfaces_as_provider_call_error(server: ProviderServer) -> None:
    urn = _urn("boom")
    props = {"__provider": serialized_provider(CountingProvider()), "key": "boom"}

    with pytest.raises(ProviderCallError) as create_err:
        server.create(urn, {**props, "fail_on": "create"})
    assert create_err.value.method == "Create"
    assert create_err.value.code.name == "UNKNOWN"
    assert create_err.value.details.startswith("Traceback (most recent call last):")
    assert create_err.value.last_line == "RuntimeError: boom in create"

    with pytest.raises(ProviderCallError) as read_err:
        server.read(urn, "job-x", {**props, "gone": "raise"})
    assert read_err.value.last_line == "LookupError: visualization job job-x not found"


def test_server_quirks_are_pinned(server: ProviderServer) -> None:
    """Behaviour of the installed SDK server that the real provider has to live with."""
    urn = _urn("quirks")
    provider = serialized_provider(CountingProvider())

    # The "__provider is unknown -> use olds" fallback in Check/Diff compares an Unknown object
    # with the sentinel string, so it never fires and the provider fails to unpickle.
    with pytest.raises(ProviderCallError, match="not 'Unknown'"):
        server.check(urn, {"__provider": provider}, {"__provider": rpc.UNKNOWN})

    # Import-style reads (no properties, no inputs) cannot find the provider.
    with pytest.raises(ProviderCallError) as import_err:
        server.read(urn, "job-1", {}, {})
    assert import_err.value.last_line == "KeyError: '__provider'"

    # Integers come back as floats, including inside ids built from them.
    created = server.create(urn, {"__provider": provider, "key": 3})
    assert (created.id, created.outputs["key"]) == ("id-3.0", 3.0)


def test_start_failure_reports_stderr(tmp_path: Path) -> None:
    # A package named like the SDK in the program directory shadows it (cwd is sys.path[0]).
    shadow = tmp_path / "pulumi"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("raise RuntimeError('shadowed pulumi package')\n")

    server = ProviderServer(tmp_path, startup_timeout=20)
    with pytest.raises(ProviderStartError, match="shadowed pulumi package"):
        server.start()
    assert server.returncode not in (None, 0)


# -- Engine --------------------------------------------------------------------------------------


def _engine(log: Path, provider: CountingProvider | None = None) -> Engine:
    return Engine(
        provider or CountingProvider(),
        config={"region": "cn-north-4", "apiToken": "tok-123", "aws:region": "us-east-1"},
        secret_keys={"apiToken"},
        project=PROJECT,
        cwd=REPO,
        env={LOG_ENV: str(log)},
        pythonpath=PYTHONPATH,
    )


def _calls(result: OperationResult) -> dict[str, list[str]]:
    return {step.name: step.calls for step in result.steps.values()}


def _assert_provider_saw(result: OperationResult, log: Path) -> None:
    """The provider process saw exactly the resource calls the harness made, after configure()."""
    methods = [e["method"] for e in read_log(log) if e["pid"] == result.server_pid]
    expected = [c.lower() for c in result.calls[len(PLUGIN_CALLS) :]]
    assert methods == (["configure", *expected] if expected else [])


def test_managed_lifecycle_call_sequences(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    engine = _engine(log)
    goal = {
        "a": Desired({"key": "a1", "value": "x", "computed": None}),
        "b": Desired({"key": "b1", "value": "x", "diff_mode": "unknown", "computed": None}),
        "c": Desired({"key": "c1", "gone": True}),
        "e": Desired({"key": "e1", "dbr": True}),
    }

    # preview of new resources: Check only; outputs are the checked inputs, output-only unknown.
    preview = engine.preview(goal)
    assert preview.ok, preview.error
    assert preview.kinds == {"a": "create", "b": "create", "c": "create", "e": "create"}
    assert preview.calls == [*PLUGIN_CALLS, "Check", "Check", "Check", "Check"]
    shown = preview.step("a").outputs
    assert shown is not None
    assert shown["key"] == "a1"
    assert isinstance(shown["computed"], Unknown)
    assert engine.state == {}
    _assert_provider_saw(preview, log)

    # up: Check + Create; the server adds __provider to the outputs.
    created = engine.up(goal)
    assert created.ok, created.error
    assert _calls(created) == {n: ["Check", "Create"] for n in "abce"}
    assert created.step("a").id == "id-a1"
    assert created.step("a").outputs == {
        "key": "a1", "value": "x", "computed": "computed-a1", "__provider": engine.provider,
    }  # fmt: skip
    assert [engine.state[_urn(n)].id for n in "abce"] == ["id-a1", "id-b1", "id-c1", "id-e1"]
    assert "fake: created id-a1" in created.stdout
    assert "fake: create log line for id-a1" in created.stderr
    _assert_provider_saw(created, log)

    # no-change up: Check + Diff, "same", old outputs kept; DIFF_UNKNOWN resolved by the engine.
    outputs_before = {urn: s.outputs for urn, s in engine.state.items()}
    same = engine.up(goal)
    assert same.ok, same.error
    assert same.kinds == {"a": "same", "b": "same", "c": "same", "e": "same"}
    assert _calls(same) == {n: ["Check", "Diff"] for n in "abce"}
    assert same.step("b").diff == DiffOutcome("unknown")
    assert {urn: s.outputs for urn, s in engine.state.items()} == outputs_before

    changed = {
        **goal,
        "a": Desired({"key": "a1", "value": "y", "computed": None}),
        "b": Desired({"key": "b1", "value": "y", "diff_mode": "unknown", "computed": None}),
        "e": Desired({"key": "e2", "dbr": True}),
    }
    # preview of changes: no Update/Create/Delete, but a replacement re-runs Check(olds={}).
    planned = engine.preview(changed)
    assert planned.ok, planned.error
    assert planned.kinds == {"a": "update", "b": "update", "c": "same", "e": "replace"}
    assert _calls(planned) == {
        "a": ["Check", "Diff"], "b": ["Check", "Diff"], "c": ["Check", "Diff"],
        "e": ["Check", "Diff", "Check"],
    }  # fmt: skip
    planned_a = planned.step("a").outputs
    assert planned_a is not None
    assert isinstance(planned_a["computed"], Unknown)
    assert engine.state[_urn("a")].outputs == outputs_before[_urn("a")]
    _assert_provider_saw(planned, log)

    # up of changes: Update for in-place changes, delete-before-replace for e.
    applied = engine.up(changed)
    assert applied.ok, applied.error
    assert applied.kinds == {"a": "update", "b": "update", "c": "same", "e": "replace"}
    assert _calls(applied) == {
        "a": ["Check", "Diff", "Update"], "b": ["Check", "Diff", "Update"],
        "c": ["Check", "Diff"], "e": ["Check", "Diff", "Check", "Delete", "Create"],
    }  # fmt: skip
    assert engine.state[_urn("a")].outputs["value"] == "y"
    assert engine.state[_urn("e")].id == "id-e2"
    deleted = [e["id"] for e in read_log(log) if e["method"] == "delete"]
    assert deleted == ["id-e1"]

    # create-before-delete replacement of a; b is gone from the program, so it is deleted last.
    final = {"a": Desired({"key": "a2", "value": "y"}), "c": goal["c"], "e": changed["e"]}
    replaced = engine.up(final)
    assert replaced.ok, replaced.error
    assert replaced.kinds == {"a": "replace", "c": "same", "e": "same", "b": "delete"}
    assert replaced.calls == [
        *PLUGIN_CALLS,
        "Check", "Diff", "Check", "Create", "Delete",
        "Check", "Diff",
        "Check", "Diff",
        "Delete",
    ]  # fmt: skip
    assert list(engine.state) == [_urn("a"), _urn("c"), _urn("e")]
    assert engine.state[_urn("a")].id == "id-a2"
    _assert_provider_saw(replaced, log)

    # refresh: Read, then Diff(olds=refreshed outputs, news=old inputs); c reads as gone.
    refreshed = engine.refresh()
    assert refreshed.ok, refreshed.error
    assert refreshed.kinds == {"a": "refresh", "c": "refresh", "e": "refresh"}
    assert _calls(refreshed) == {"a": ["Read", "Diff"], "c": ["Read"], "e": ["Read", "Diff"]}
    assert refreshed.step("c").dropped
    assert refreshed.step("a").diff == DiffOutcome("none")
    assert list(engine.state) == [_urn("a"), _urn("e")]
    _assert_provider_saw(refreshed, log)

    # destroy: Delete with the old outputs, in reverse order.
    destroyed = engine.destroy()
    assert destroyed.ok, destroyed.error
    assert destroyed.kinds == {"e": "delete", "a": "delete"}
    assert destroyed.calls == [*PLUGIN_CALLS, "Delete", "Delete"]
    assert engine.state == {}
    _assert_provider_saw(destroyed, log)

    # One fresh provider process per operation, like the CLI.
    assert len({e["pid"] for e in read_log(log)}) == engine.servers_started == 8


def test_read_resource_lifecycle(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    engine = _engine(log)
    g = Desired({"key": "g1", "computed": None}, read_id="job-1")

    # Reads run in preview too; an unknown id skips the provider; a failing read stops the preview.
    preview = engine.preview(
        {
            "g": g,
            "later": Desired({"key": "l", "computed": None}, read_id=rpc.UNKNOWN),
            "missing": Desired({"key": "m", "gone": "raise"}, read_id="job-404"),
            "never": Desired({"key": "n"}, read_id="job-2"),
        }
    )
    assert isinstance(preview.error, ProviderCallError)
    assert preview.error.last_line == "LookupError: visualization job job-404 not found"
    assert preview.failed_urn == _urn("missing")
    assert preview.kinds == {"g": "read", "later": "read"}
    assert _calls(preview) == {"g": ["Read"], "later": []}
    later = preview.step("later").outputs
    assert later is not None
    assert isinstance(later["computed"], Unknown)
    assert preview.calls == [*PLUGIN_CALLS, "Read", "Read"]
    assert engine.state == {}

    read = engine.up({"g": g})
    assert read.ok, read.error
    assert read.kinds == {"g": "read"}
    assert _calls(read) == {"g": ["Read"]}
    state = engine.state[_urn("g")]
    assert (state.id, state.external, state.outputs["computed"]) == ("job-1", True, "computed-g1")

    # refresh of an external resource: Read, but no Diff.
    refreshed = engine.refresh()
    assert refreshed.ok, refreshed.error
    assert _calls(refreshed) == {"g": ["Read"]}
    assert refreshed.step("g").diff is None

    # Dropping a read resource from the program discards it without a provider call.
    swapped = engine.up({"g2": Desired({"key": "g2"}, read_id="job-2")})
    assert swapped.ok, swapped.error
    assert swapped.kinds == {"g2": "read", "g": "discard"}
    assert _calls(swapped) == {"g2": ["Read"], "g": []}

    destroyed = engine.destroy()
    assert destroyed.ok, destroyed.error
    assert destroyed.kinds == {"g2": "discard"}
    assert destroyed.calls == PLUGIN_CALLS
    assert engine.state == {}
    assert [e["method"] for e in read_log(log) if e["method"] == "delete"] == []


def test_failures_stop_the_operation(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "calls.jsonl")

    up = engine.up(
        {
            "x": Desired({"key": "x"}),
            "y": Desired({"key": "y", "fail_on": "create"}),
            "z": Desired({"key": "z"}),
        }
    )
    assert isinstance(up.error, ProviderCallError)
    assert up.error.last_line == "RuntimeError: boom in create"
    assert up.failed_urn == _urn("y")
    assert up.calls == [*PLUGIN_CALLS, "Check", "Create", "Check", "Create"]
    assert list(engine.state) == [_urn("x")]

    checked = engine.preview({"x": Desired({"key": "x"}), "bad": Desired({"fail_check": True})})
    assert isinstance(checked.error, CheckFailedError)
    assert checked.error.failures == [("key", "fail_check was requested")]
    assert checked.kinds == {"x": "same"}

    blank = engine.up({"x": Desired({"key": "x"}), "nil": Desired({"key": "n", "empty_id": True})})
    assert isinstance(blank.error, EngineError)
    assert "empty ID" in str(blank.error)
    assert list(engine.state) == [_urn("x")]

    with pytest.raises(ValueError, match="only possible in preview"):
        engine.up({"x": Desired({"key": rpc.UNKNOWN})})


def test_parallel_up_overlaps_but_server_caps_at_four(tmp_path: Path) -> None:
    def create_intervals(log: Path) -> list[tuple[float, float]]:
        return [(e["start"], e["end"]) for e in read_log(log) if e["method"] == "create"]

    log = tmp_path / "parallel.jsonl"
    engine = _engine(log)
    goal: dict[str, Desired] = {f"p{i}": Desired({"key": f"p{i}", "sleep": 0.4}) for i in range(6)}
    result = engine.up(goal, parallel=6)
    assert result.ok, result.error
    assert set(result.kinds.values()) == {"create"}
    assert list(engine.state) == [_urn(f"p{i}") for i in range(6)]  # committed in program order
    overlap = _max_overlap(create_intervals(log))
    assert 2 <= overlap <= 4  # concurrent, but ThreadPoolExecutor(max_workers=4) in the server

    control_log = tmp_path / "sequential.jsonl"
    control: dict[str, Any] = {f"s{i}": Desired({"key": f"s{i}", "sleep": 0.1}) for i in range(2)}
    assert _engine(control_log).up(control).ok
    assert _max_overlap(create_intervals(control_log)) == 1
