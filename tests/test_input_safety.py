"""Hostile input never reaches another path: it is refused before any request, or it becomes
exactly ``/v1/{project}/visualization-jobs/{number}``."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pulumi_modelarts.client import ModelArtsClient
from pulumi_modelarts.emulator import SAMPLE_JOBS_PATH, ModelArtsEmulator
from pulumi_modelarts.errors import ConfigurationError, InvalidInputError, JobNotFoundError, ModelArtsError
from pulumi_modelarts.settings import Settings

HOSTILE = [
    "../197",
    "197/../../v3/auth/tokens",
    "%2e%2e%2f197",
    "197%2F..",
    "197?x=1",
    "197#frag",
    "197;rm",
    "\u0661\u0669\u0667",  # Arabic-Indic digits
    "197\x00",
    "197\n",
    " 197",
    "1" * 20,
    str(2**63),
    "-197",
    "0",
    "1e9",
]


@pytest.fixture(scope="module")
def live() -> Iterator[tuple[ModelArtsEmulator, ModelArtsClient]]:
    with ModelArtsEmulator.from_seed_file(SAMPLE_JOBS_PATH) as emulator:
        client = ModelArtsClient(Settings.from_sources(environ=emulator.environ()))
        yield emulator, client
        client.close()


def _expect_safe(emulator: ModelArtsEmulator, client: ModelArtsClient, job_id: object) -> None:
    emulator.clear_requests()
    try:
        client.get_visualization_job(job_id)  # type: ignore[arg-type]
    except InvalidInputError:
        assert emulator.requests == []  # refused before any request
        return
    except JobNotFoundError:
        pass
    [request] = emulator.requests
    assert re.fullmatch(rf"/v1/{emulator.project_id}/visualization-jobs/[1-9][0-9]{{0,18}}", request.path)
    assert request.query == {}


@pytest.mark.parametrize("job_id", HOSTILE)
def test_known_hostile_job_ids(live: tuple[ModelArtsEmulator, ModelArtsClient], job_id: str) -> None:
    emulator, client = live
    emulator.clear_requests()
    with pytest.raises(InvalidInputError):
        client.get_visualization_job(job_id)
    assert emulator.requests == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    job_id=st.one_of(
        st.text(max_size=30),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(HOSTILE),
        st.from_regex(r"[0-9]{1,22}", fullmatch=True),
        st.booleans(),
        st.none(),
    )
)
def test_any_job_id_is_refused_or_read_at_exactly_its_path(
    live: tuple[ModelArtsEmulator, ModelArtsClient], job_id: object
) -> None:
    emulator, client = live
    _expect_safe(emulator, client, job_id)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    project=st.one_of(
        st.text(max_size=40),
        st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
        st.sampled_from(["../x", "a/b", "%2F", "..", "proj?x=1", "p#f", "x" * 65, "\u00e9t\u00e9"]),
    )
)
def test_any_project_id_is_refused_or_used_verbatim(
    live: tuple[ModelArtsEmulator, ModelArtsClient], project: str
) -> None:
    emulator, _ = live
    emulator.clear_requests()
    try:
        settings_ = Settings.from_sources(args={"project_id": project}, environ=emulator.environ())
    except ConfigurationError:
        assert emulator.requests == []
        return
    if not project.strip():
        return  # blank means "not set": the configured project is used
    client = ModelArtsClient(settings_)
    with contextlib.suppress(ModelArtsError):  # a well-formed foreign project is refused by the service
        client.get_visualization_job(197)
    for request in emulator.requests:
        assert request.path == f"/v1/{project}/visualization-jobs/197"
