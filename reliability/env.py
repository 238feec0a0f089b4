"""Emulators and clients with the test suite's canary credentials."""

from __future__ import annotations

from typing import Any

from benchmarks.common import use_test_harness

from pulumi_modelarts.client import ModelArtsClient
from pulumi_modelarts.emulator import SAMPLE_JOBS_PATH, EmulatorCredentials, ModelArtsEmulator
from pulumi_modelarts.settings import Settings

use_test_harness()
from canaries import CANARY, CANARY_SECRETS  # noqa: E402 - tests/ is importable only from here on

__all__ = ["CANARY", "CANARY_SECRETS", "WRONG_SECRETS", "client_for", "new_emulator"]

#: Wrong credentials are secrets too: they must not show up in the errors they cause.
WRONG_SECRETS = {
    "secret_key": "WRONGCANARY-sk-0f9e8d7c6b5a49382716",
    "password": "WRONGCANARY-pw-1a2b3c4d5e6f70819283",
}


def new_emulator(**kwargs: Any) -> ModelArtsEmulator:
    """A started emulator with the sample jobs and the canary credentials."""
    credentials: EmulatorCredentials = CANARY
    return ModelArtsEmulator.from_seed_file(SAMPLE_JOBS_PATH, credentials=credentials, **kwargs).start()


def client_for(
    emulator: ModelArtsEmulator, auth: str = "aksk", include_project: bool = True, **overrides: Any
) -> ModelArtsClient:
    """A client pointed at the emulator; ``overrides`` are setting names (``max_retries``, ...)."""
    return ModelArtsClient(
        Settings.from_sources(args=overrides, environ=emulator.environ(auth, include_project))
    )
