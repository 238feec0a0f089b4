"""Figure 5: HTTP requests per lifecycle operation, counted in the emulator's request log.

The tests/harness ``Engine`` runs up, a no-change up, refresh and destroy over 50 jobs, each
operation in a fresh ``python -m pulumi.dynamic`` process (as the CLI does), 8 steps at a time.
The stack config names no project, so AK/SK also looks the project up (once per process).
"""

from __future__ import annotations

import sys
from typing import Any

from .common import SECRET_CONFIG_KEYS, add_jobs, sample_emulator
from .report import Section, verdict

JOBS = 50
PARALLEL = 8
EXPECTED_GETS_PER_JOB = {"up": 1, "no-change up": 1, "refresh": 1, "destroy": 0}


def _desired(job_id: int) -> Any:
    from pulumi_modelarts.provider import STATE_FIELDS
    from tests.harness import Desired

    inputs: dict[str, Any] = dict.fromkeys(STATE_FIELDS)
    inputs.update(job_id=job_id, project_id=None, region=None, endpoint=None)
    return Desired(inputs)


def run(quick: bool = False) -> list[Section]:
    del quick
    from pulumi_modelarts.provider import VisualizationJobProvider
    from tests.harness import Engine

    section = Section(
        f"5. Requests per lifecycle operation ({JOBS} jobs, engine parallelism {PARALLEL}, one provider "
        "process per operation)",
        [
            "auth",
            "operation",
            "GET job",
            "per job",
            "expected",
            "IAM token",
            "IAM project lookup",
            "other",
            "ok",
        ],
    )
    all_met = True
    data: dict[str, Any] = {}
    for auth in ("aksk", "password"):
        with sample_emulator() as emulator:
            ids = add_jobs(emulator, JOBS, "ops")
            engine = Engine(
                VisualizationJobProvider(),
                config=emulator.stack_config(auth, include_project=False),
                secret_keys=SECRET_CONFIG_KEYS,
                project="bench",
            )
            resources = {f"job-{job_id}": _desired(job_id) for job_id in ids}
            for name in EXPECTED_GETS_PER_JOB:
                emulator.clear_requests()
                if name in ("up", "no-change up"):
                    result = engine.up(resources, parallel=PARALLEL)
                elif name == "refresh":
                    result = engine.refresh(parallel=PARALLEL)
                else:
                    result = engine.destroy(parallel=PARALLEL)
                routes = [record.route for record in emulator.requests]
                gets, tokens = routes.count("get_job"), routes.count("iam_token")
                lookups = routes.count("iam_projects")
                other = len(routes) - gets - tokens - lookups
                expected = EXPECTED_GETS_PER_JOB[name] * JOBS
                kinds = sorted(set(result.kinds.values()))
                met = result.ok and gets == expected and tokens <= 1 and lookups <= 1 and other == 0
                all_met = all_met and met
                section.add(
                    "AK/SK" if auth == "aksk" else "IAM password",
                    name,
                    gets,
                    gets / JOBS,
                    EXPECTED_GETS_PER_JOB[name],
                    tokens,
                    lookups,
                    other,
                    ("ok " + "/".join(kinds)) if result.ok else f"FAILED: {result.error}",
                )
                data[f"{auth}/{name}"] = {
                    "gets": gets,
                    "tokens": tokens,
                    "lookups": lookups,
                    "other": other,
                    "ok": result.ok,
                }
    section.notes.append(
        "Target: exactly 1, 1, 1, 0 GETs per job and at most one token request (and one project lookup) per "
        f"provider process — {verdict(all_met)}."
    )
    section.data = {"jobs": JOBS, "parallel": PARALLEL, "counts": data, "target_met": all_met}
    return [section]


if __name__ == "__main__":
    for result in run(quick="--quick" in sys.argv):
        print(result.render())
