"""Self-tests of the engine-level harness against the SDK's real dynamic-provider server.

Every test talks to a genuine ``python -m pulumi.dynamic`` process running ``CountingProvider``;
the provider's own call log (JSON lines written from inside that process) is used to check that
the server really did what the harness reports.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pulumi.output import Unknown
from pulumi.runtime import rpc

from harness import (
    DiffOutcome,
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


def _urn(name: str) -> str:
    return urn_for(name, project=PROJECT)


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
