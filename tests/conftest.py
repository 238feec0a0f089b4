"""Shared fixtures: a live emulator on loopback and clients pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from canaries import CANARY
from harness.example_programs import QUICKSTART_DIR, QUICKSTART_PROJECT
from harness.programs import run_program
from pulumi_modelarts.client import ModelArtsClient
from pulumi_modelarts.emulator import SAMPLE_JOBS_PATH, ModelArtsEmulator
from pulumi_modelarts.settings import Settings


@pytest.fixture
def emulator() -> Iterator[ModelArtsEmulator]:
    """A fresh emulator with the bundled sample jobs and canary credentials."""
    with ModelArtsEmulator.from_seed_file(SAMPLE_JOBS_PATH, credentials=CANARY) as em:
        yield em


@pytest.fixture
def settings_for(emulator: ModelArtsEmulator) -> Callable[..., Settings]:
    """Settings pointed at the emulator, for one auth mode, with optional overrides."""

    def make(auth: str = "aksk", include_project: bool = True, **overrides: object) -> Settings:
        return Settings.from_sources(args=overrides, environ=emulator.environ(auth, include_project))

    return make


@pytest.fixture
def client_for(settings_for: Callable[..., Settings]) -> Iterator[Callable[..., ModelArtsClient]]:
    """Clients pointed at the emulator; closed after the test."""
    made: list[ModelArtsClient] = []

    def make(auth: str = "aksk", include_project: bool = True, **overrides: object) -> ModelArtsClient:
        client = ModelArtsClient(settings_for(auth, include_project, **overrides))
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(client_for: Callable[..., ModelArtsClient]) -> ModelArtsClient:
    """An AK/SK client with a configured project."""
    return client_for()


@pytest.fixture
def stack_output_json(emulator: ModelArtsEmulator) -> dict[str, Any]:
    """What `pulumi stack output --json` shows for the quickstart reading job 197: its exports from
    the harness's program runner, top-level nulls left out as the engine does, and numbers as the
    CLI prints them (the engine keeps them as floats; Go prints 197.0 as 197)."""
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
