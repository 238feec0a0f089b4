"""Shared fixtures: a live emulator on loopback and clients pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from canaries import CANARY
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
