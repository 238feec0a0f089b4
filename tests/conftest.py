"""Shared fixtures: a live emulator on loopback and clients pointed at it; the size of the
reliability classes (``--full``: what ``python -m reliability`` runs)."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from pulumi_modelarts.client import ModelArtsClient
from pulumi_modelarts.emulator import SAMPLE_JOBS_PATH, ModelArtsEmulator
from pulumi_modelarts.settings import Settings
from tests.checks import CANARY, LeakScanner
from tests.programs import (
    CLOUD_VARIABLE_PREFIXES,
    QUICKSTART_DIR,
    QUICKSTART_PROJECT,
    proxy_variables,
    run_program,
)

# Every test reads servers on loopback past a proxy in the developer's shell; a test of proxies sets its own.
for _variable in proxy_variables():
    os.environ.pop(_variable, None)

# Hypothesis tests that name no example count are the fuzz of the reliability classes.
settings.register_profile(
    "short", max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
settings.register_profile("full", settings.get_profile("short"), max_examples=1000)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--full", action="store_true", help="the reliability classes at full size")


def pytest_configure(config: pytest.Config) -> None:
    settings.load_profile("full" if config.getoption("full") else "short")
    # A shell starts a background job (``make test &``, a CI step) with SIGINT ignored, and a child
    # keeps an ignored signal: Ctrl-C would never reach the commands these tests interrupt. Handled
    # here, it is reset to the default in each child, as a terminal's foreground job has it.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def full(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("full"))


@pytest.fixture(autouse=True)
def leaks(
    request: pytest.FixtureRequest, record_property: Callable[[str, Any], None]
) -> Iterator[LeakScanner]:
    """In a reliability class: every log record is scanned for the canaries, as is every error a
    test hands to ``leaks.scan_error``; none may hold one."""
    scanner = LeakScanner()
    if request.node.get_closest_marker("reliability") is None:
        yield scanner
        return
    with scanner.logs(request.node.name):
        yield scanner
    record_property("texts scanned for secrets", scanner.scanned)
    assert scanner.leaks == []


@pytest.fixture
def emulator(request: pytest.FixtureRequest) -> Iterator[ModelArtsEmulator]:
    """A fresh emulator with the bundled sample jobs and canary credentials (and, parametrized
    indirectly, the ``project_id`` and ``region`` given)."""
    place = getattr(request, "param", {})
    with ModelArtsEmulator.from_seed_file(SAMPLE_JOBS_PATH, credentials=CANARY, **place) as em:
        yield em


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on for the whole test: held bound but never listening (a
    connection is refused), so that no server of a test running beside it can take it and answer."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


@pytest.fixture
def in_env(monkeypatch: pytest.MonkeyPatch, emulator: ModelArtsEmulator) -> ModelArtsEmulator:
    """The emulator, with only its AK/SK, project, region and endpoints in the environment."""
    for name in list(os.environ):
        if name.startswith(CLOUD_VARIABLE_PREFIXES):
            monkeypatch.delenv(name)
    for name, value in emulator.environ().items():
        monkeypatch.setenv(name, value)
    return emulator


@pytest.fixture
def client_for(emulator: ModelArtsEmulator) -> Iterator[Callable[..., ModelArtsClient]]:
    """Clients pointed at the emulator for one auth mode, with setting overrides; closed after."""
    made: list[ModelArtsClient] = []

    def make(auth: str = "aksk", include_project: bool = True, **overrides: object) -> ModelArtsClient:
        environ = emulator.environ(auth, include_project)
        made.append(ModelArtsClient(Settings.from_sources(args=overrides, environ=environ)))
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(client_for: Callable[..., ModelArtsClient]) -> ModelArtsClient:
    return client_for()  # AK/SK, a configured project


@pytest.fixture(scope="session")
def stack_output_json() -> dict[str, Any]:
    """What `pulumi stack output --json` shows for the quickstart reading job 197: its exports,
    top-level nulls left out as the engine does, whole numbers as the CLI prints them (the engine
    keeps them as floats; Go prints 197.0 as 197)."""
    with ModelArtsEmulator.from_seed_file(SAMPLE_JOBS_PATH, credentials=CANARY) as emulator:
        config = {**emulator.stack_config(), f"{QUICKSTART_PROJECT}:jobId": "197"}
        run = run_program(QUICKSTART_DIR, project=QUICKSTART_PROJECT, config=config)
    assert run.error is None, run.error

    def as_printed(value: Any) -> Any:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, dict):
            return {key: as_printed(item) for key, item in value.items()}
        return value

    return {name: as_printed(value) for name, value in run.values().items() if value is not None}


@pytest.fixture(autouse=True)
def _password_logins_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test logs in as a process of its own would: no IAM token from an earlier test's server."""
    from collections import OrderedDict
    from weakref import WeakValueDictionary

    from pulumi_modelarts import auth

    monkeypatch.setattr(auth, "_TOKEN_AUTHS", OrderedDict())
    monkeypatch.setattr(auth, "_LET_GO", WeakValueDictionary())
