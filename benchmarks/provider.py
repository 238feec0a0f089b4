"""Figure 4: the resource form through the SDK's provider server (tests/harness).

* GETs per operation: the harness ``Engine`` runs up, a no-change up, refresh and destroy over
  50 jobs, each operation in a fresh ``python -m pulumi.dynamic`` (as the CLI does), 8 steps at
  a time, against the emulator (its request log counts every call; no project is configured,
  so AK/SK also looks it up once per process).
* ``__provider``: ``serialize_provider(VisualizationJobProvider())`` here, in two fresh
  interpreters with other hash seeds, and in a ``git clone`` of HEAD imported through
  ``PYTHONPATH`` (the child prints which copy it imported).
* Peak RSS of one provider process after 100 and after 10,000 refresh-style ``Read`` RPCs over
  200 jobs, 4 at a time (the server's worker count), from ``benchmarks.server``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .common import REPO_ROOT, Check, Section, Server, Spread, Target, clean_env, proc_kib, run_json

JOBS = 50
EXPECTED_GETS = {"up": 1, "no-change up": 1, "refresh": 1, "destroy": 0}
SECRET_KEYS = ("modelarts:accessKey", "modelarts:secretKey", "modelarts:password")
RSS_GROWTH_LIMIT = 1.10
_PICKLE = """
import json, pulumi_modelarts
from pulumi.dynamic.dynamic import serialize_provider
from pulumi_modelarts.provider import VisualizationJobProvider
print(json.dumps([serialize_provider(VisualizationJobProvider()), pulumi_modelarts.__file__]))
"""


def requests_per_operation(section: Section) -> bool:
    from pulumi_modelarts.emulator import SAMPLE_JOBS_PATH, ModelArtsEmulator
    from pulumi_modelarts.provider import STATE_FIELDS, VisualizationJobProvider
    from tests.harness import Desired, Engine

    exact = True
    for auth in ("aksk", "password"):
        with ModelArtsEmulator.from_seed_file(SAMPLE_JOBS_PATH) as emulator:
            ids = [int(emulator.add_job(f"ops-{n}", status=8)["job_id"]) for n in range(JOBS)]
            config = emulator.stack_config(auth, include_project=False)
            engine = Engine(
                VisualizationJobProvider(), config=config, secret_keys=SECRET_KEYS, project="bench"
            )
            desired = {f"job-{i}": Desired({**dict.fromkeys(STATE_FIELDS), "job_id": i}) for i in ids}
            for name, expected in EXPECTED_GETS.items():
                emulator.clear_requests()
                if name == "refresh":
                    result = engine.refresh(parallel=8)
                elif name == "destroy":
                    result = engine.destroy(parallel=8)
                else:
                    result = engine.up(desired, parallel=8)
                routes = [record.route for record in emulator.requests]
                gets, tokens, lookups = (routes.count(r) for r in ("get_job", "iam_token", "iam_projects"))
                ok = result.ok and gets == expected * JOBS and tokens <= 1 and lookups <= 1
                ok = ok and len(routes) == gets + tokens + lookups
                exact = exact and ok
                row = (
                    "AK/SK" if auth == "aksk" else "IAM password",
                    name,
                    gets / JOBS,
                    expected,
                    tokens,
                    lookups,
                )
                section.add(*row, "ok" if ok else f"WRONG ({result.error or routes[:3]})")
    return exact


def provider_pickle() -> tuple[int, bool, list[str]]:
    from pulumi.dynamic.dynamic import serialize_provider

    from pulumi_modelarts.provider import VisualizationJobProvider

    here = serialize_provider(VisualizationJobProvider())
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(
            ["git", "clone", "--quiet", str(REPO_ROOT), str(clone)], check=True, capture_output=True
        )
        children = [clean_env({"PYTHONHASHSEED": seed}) for seed in ("1", "4242")]
        children.append(clean_env({"PYTHONPATH": str(clone / "provider")}))
        found = [run_json([sys.executable, "-c", _PICKLE], env) for env in children]
    assert str(clone) in found[-1][1], found[-1][1]  # the clone's copy was imported
    return len(here), all(pickled == here for pickled, _ in found), [where for _, where in found]


def provider_memory(reads: tuple[int, int]) -> dict[str, int]:
    from pulumi_modelarts.provider import VisualizationJobProvider
    from tests.harness import ProviderServer, serialized_provider, urn_for

    provider = serialized_provider(VisualizationJobProvider())
    peaks: dict[str, int] = {}
    with Server() as server, tempfile.TemporaryDirectory() as cwd:
        env = server.environ()
        config = {
            "modelarts:endpoint": env["MODELARTS_ENDPOINT"],
            "modelarts:projectId": env["HW_PROJECT_ID"],
        }
        config |= {"modelarts:accessKey": env["HW_ACCESS_KEY"], "modelarts:secretKey": env["HW_SECRET_KEY"]}
        with (
            ProviderServer(Path(cwd), clean_env(), project="bench") as process,
            ThreadPoolExecutor(4) as pool,
        ):
            assert process.pid is not None
            process.configure(config, SECRET_KEYS)

            def read(index: int) -> None:
                props = {"job_id": 1 + index % 200, "status_name": "RUNNING", "__provider": provider}
                assert process.read(urn_for(f"job-{index % 200}"), str(1 + index % 200), props, props).id

            done = 0
            for count in reads:
                list(pool.map(read, range(done, count)))
                done, peaks[f"{count:,}"] = count, proc_kib(process.pid, "VmHWM")
    return peaks


def run(quick: bool = False) -> list[Section]:
    section = Section(
        f"4. The resource form through the provider server: GETs per job ({JOBS} jobs, 8 steps at a time)",
        ["auth", "operation", "GETs per job", "expected", "IAM tokens", "IAM project lookups", "requests"],
    )
    exact = requests_per_operation(section)
    section.targets.append(Check("GETs per job: up, no-change up, refresh, destroy", exact, "1, 1, 1, 0"))
    size, identical, imported_from = provider_pickle()
    detail = f"{size} characters, identical in 3 more processes and a second checkout"
    section.targets.append(Check("`__provider` size and determinism", identical, detail))
    reads = (100, 2_000) if quick else (100, 10_000)
    peaks = provider_memory(reads)
    first, last = peaks.values()
    section.targets.append(
        Target(
            f"provider peak RSS after {reads[1]:,} Reads vs after {reads[0]}",
            Spread([last / first]),
            RSS_GROWTH_LIMIT,
        )
    )
    section.notes += [
        f"`__provider`: {size} characters, the class by reference with no state; the same in this process, "
        f"two fresh ones and a second checkout ({imported_from[-1]}).",
        "Provider peak RSS (VmHWM): "
        + ", ".join(f"after {n} Reads {kib / 1024:.1f} MiB" for n, kib in peaks.items())
        + ".",
    ]
    section.data = {
        "exact_gets": exact,
        "provider_characters": size,
        "identical": identical,
        "peak_kib": peaks,
    }
    return [section]


if __name__ == "__main__":
    for result in run(quick="--quick" in sys.argv):
        print(result.render())
