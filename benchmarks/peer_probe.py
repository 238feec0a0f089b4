"""The peer client (openstacksdk + otcextensions), run by the benchmark venv under ``build/``.

Runs with ``python -I`` in that venv only; it imports nothing from this repository. Usage:

    peer_probe.py cold URL PROJECT TOKEN JOB        one GET in a fresh process, prints the name
    peer_probe.py warm URL PROJECT TOKEN JOB N W    N timed GETs after W warm-ups, prints JSON

``admin_token`` auth sends the emulator-issued token as ``X-Auth-Token`` to the endpoint given,
with no Keystone round trip, and ``register_single_service`` loads only ``modelartsv1``.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any


def _connect(url: str, project: str, token: str) -> Any:
    import openstack  # type: ignore[import-not-found]
    from otcextensions import sdk  # type: ignore[import-not-found]

    conn = openstack.connect(
        auth_type="admin_token",
        auth={"endpoint": url, "token": token},
        modelartsv1_endpoint_override=f"{url}/v1/{project}",
        region_name="eu-de",
    )
    sdk.register_single_service(conn, "modelartsv1", project_id=project)
    return conn


def main(argv: list[str]) -> None:
    mode, url, project, token, job = argv[:5]
    conn = _connect(url, project, token)
    job_id = int(job)
    if mode == "cold":
        print(conn.modelartsv1.get_visualization_job(job_id).job_name)
        return
    count, warmups = int(argv[5]), int(argv[6])
    for _ in range(warmups):
        conn.modelartsv1.get_visualization_job(job_id)
    times: list[float] = []
    for _ in range(count):
        started = time.perf_counter()
        conn.modelartsv1.get_visualization_job(job_id)
        times.append(time.perf_counter() - started)
    print(json.dumps({"median_ms": statistics.median(times) * 1000, "calls": count}))


if __name__ == "__main__":
    main(sys.argv[1:])
