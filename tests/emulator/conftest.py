"""Fixtures for the emulator tests: a fake clock, a seeded emulator and small HTTP helpers.

Everything talks to the emulator over real loopback HTTP with ``requests`` (token auth) or
signed requests built with ``pulumi_modelarts.signing`` (AK/SK), never through the project's
own client, so these tests pin the emulator's wire behaviour on their own.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import Any

import pytest
import requests

from pulumi_modelarts import signing
from pulumi_modelarts.emulator import SAMPLE_JOBS_PATH, ModelArtsEmulator

START = 1_700_000_000.0


class FakeClock:
    """A settable clock; tests move time explicitly instead of sleeping."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def aksk_headers(
    em: ModelArtsEmulator,
    method: str,
    path: str,
    query: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    *,
    at: float,
    access_key: str | None = None,
    secret_key: str | None = None,
    project_id: str | None = None,
    signed_headers: Sequence[str] | None = None,
) -> dict[str, str]:
    """Headers of an AK/SK-signed request, as huaweicloudsdkcore would send them, dated ``at``."""
    moment = datetime.fromtimestamp(at, timezone.utc)
    headers = {
        "Content-Type": "application/json",
        "Host": f"{em.host}:{em.port}",
        "X-Sdk-Date": signing.format_sdk_date(moment),
    }
    if project_id is not None:
        headers["X-Project-Id"] = project_id
    headers["Authorization"] = signing.sign(
        method=method,
        path=path,
        query=query,
        headers=headers,
        body=body,
        access_key=access_key or em.credentials.access_key,
        secret_key=secret_key or em.credentials.secret_key,
        signed_headers=signed_headers,
    )
    return headers


def signed_request(
    em: ModelArtsEmulator,
    method: str,
    path: str,
    query: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    **kwargs: Any,
) -> requests.Response:
    """Send an AK/SK-signed request; the query goes out in its canonical form, as the SDK does."""
    headers = aksk_headers(em, method, path, query, body, **kwargs)
    raw_query = signing.canonical_query(query)
    url = em.url + path + (f"?{raw_query}" if raw_query else "")
    return requests.request(method, url, headers=headers, data=body or None, timeout=5)


def password_auth_body(
    em: ModelArtsEmulator, *, scope: dict[str, Any] | None = None, **overrides: str
) -> dict[str, Any]:
    """A ``POST /v3/auth/tokens`` body using the emulator's demo user."""
    user = {
        "name": overrides.get("name", em.credentials.user_name),
        "password": overrides.get("password", em.credentials.password),
        "domain": {"name": overrides.get("domain", em.credentials.domain_name)},
    }
    body: dict[str, Any] = {"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}}
    if scope is not None:
        body["auth"]["scope"] = scope
    return body


class Api:
    """Token-authenticated calls to the visualization-job collection of one project."""

    def __init__(self, em: ModelArtsEmulator, project_id: str | None = None) -> None:
        self.em = em
        self.project_id = project_id or em.project_id
        self.session = requests.Session()
        self.session.headers["X-Auth-Token"] = em.issue_token(self.project_id)

    @property
    def base(self) -> str:
        return f"{self.em.url}/v1/{self.project_id}/visualization-jobs"

    def get(self, suffix: str = "", **params: Any) -> requests.Response:
        return self.session.get(self.base + suffix, params=params, timeout=5)

    def post(self, suffix: str = "", json: Any = None) -> requests.Response:
        return self.session.post(self.base + suffix, json=json, timeout=5)

    def put(self, suffix: str, json: Any) -> requests.Response:
        return self.session.put(self.base + suffix, json=json, timeout=5)

    def delete(self, suffix: str) -> requests.Response:
        return self.session.delete(self.base + suffix, timeout=5)

    def status_of(self, job_id: int) -> int:
        response = self.get(f"/{job_id}")
        assert response.status_code == 200, response.text
        return int(response.json()["status"])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator(clock: FakeClock) -> Iterator[ModelArtsEmulator]:
    """The shipped sample jobs, a fake clock and one-second status transitions."""
    with ModelArtsEmulator.from_seed_file(SAMPLE_JOBS_PATH, clock=clock) as em:
        yield em


@pytest.fixture
def api(emulator: ModelArtsEmulator) -> Iterator[Api]:
    client = Api(emulator)
    yield client
    client.session.close()
