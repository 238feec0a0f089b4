"""Helpers for the emulator's own tests.

They talk HTTP to the emulator with ``requests`` and AK/SK headers signed by
``pulumi_modelarts.signing``, never through the product's client, so they pin the emulator's wire
behaviour on their own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import Any

import pytest
import requests

from pulumi_modelarts import signing
from pulumi_modelarts.emulator import SAMPLE_JOBS_PATH, ModelArtsEmulator


def jobs_path(em: ModelArtsEmulator, suffix: str = "", project_id: str | None = None) -> str:
    return f"/v1/{project_id or em.project_id}/visualization-jobs{suffix}"


def signed_headers(
    em: ModelArtsEmulator, path: str, query: Sequence[tuple[str, str]] = (), skew: float = 0, **sign: Any
) -> dict[str, str]:
    """A signed GET's headers as huaweicloudsdkcore sends them, dated ``skew`` seconds from now.

    ``sign`` overrides ``signing.sign``'s arguments; ``project_id`` adds ``X-Project-Id``.
    """
    headers = {"Content-Type": "application/json", "Host": f"{em.host}:{em.port}"}
    headers["X-Sdk-Date"] = signing.format_sdk_date(datetime.fromtimestamp(time.time() + skew, timezone.utc))
    if sign.get("project_id"):
        headers["X-Project-Id"] = sign["project_id"]
    keys = {"access_key": em.credentials.access_key, "secret_key": em.credentials.secret_key}
    keys |= {key: value for key, value in sign.items() if key != "project_id"}
    headers["Authorization"] = signing.sign(
        method="GET", path=path, query=query, headers=headers, body=b"", **keys
    )
    return headers


def signed_get(
    em: ModelArtsEmulator, path: str, query: Sequence[tuple[str, str]] = (), **sign: Any
) -> requests.Response:
    """A signed GET; the query goes out in its canonical form, as the SDK sends it."""
    url = em.url + path + (f"?{signing.canonical_query(query)}" if query else "")
    return requests.get(url, headers=signed_headers(em, path, query, **sign), timeout=5)


class Api(requests.Session):
    """Token-authenticated calls to one project's visualization jobs."""

    def __init__(self, em: ModelArtsEmulator, project_id: str | None = None) -> None:
        super().__init__()
        self.em = em
        self.base = em.url + jobs_path(em, project_id=project_id)
        self.headers["X-Auth-Token"] = em.issue_token(project_id)

    def jobs(self, suffix: str = "", **params: Any) -> requests.Response:
        return self.get(self.base + suffix, params=params, timeout=5)


@pytest.fixture
def emulator() -> Iterator[ModelArtsEmulator]:
    """The shipped sample jobs (197, 212, 230, 245) with the demo credentials."""
    with ModelArtsEmulator.from_seed_file(SAMPLE_JOBS_PATH) as em:
        yield em


@pytest.fixture
def api(emulator: ModelArtsEmulator) -> Iterator[Api]:
    with Api(emulator) as client:
        yield client
