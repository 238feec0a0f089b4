"""Figure 4: the resource form through the SDK's provider server (tests/harness): GETs per operation
(the harness ``Engine``'s up, no-change up, refresh and destroy over 50 jobs, each in a fresh
``python -m pulumi.dynamic``, 8 steps at a time, against the emulator, no project configured);
``__provider`` here, in two interpreters with other hash seeds and in a ``git clone`` of HEAD; and
the provider process's peak RSS after 100 and 10,000 ``Read``s, 4 at a time, from ``benchmarks.server``."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from tests.checks import SECRET_CONFIG_KEYS
from tests.programs import proc_kib

from . import common
from .common import Section, Spread, Target, clean_env

JOBS = 50
EXPECTED_GETS = {"up": 1, "no-change up": 1, "refresh": 1, "destroy": 0}
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
            engine = Engine(VisualizationJobProvider(), config=config, secret_keys=SECRET_CONFIG_KEYS)
            desired = {f"job-{i}": Desired({**dict.fromkeys(STATE_FIELDS), "job_id": i}) for i in ids}
            up = partial(engine.up, desired)
            operations: dict[str, Callable[..., Any]] = {"up": up, "no-change up": up}
            operations |= {"refresh": engine.refresh, "destroy": engine.destroy}
            for name, expected in EXPECTED_GETS.items():
                emulator.clear_requests()
                result = operations[name](parallel=8)
                routes = [record.route for record in emulator.requests]
                gets, tokens, lookups = (routes.count(r) for r in ("get_job", "iam_token", "iam_projects"))
                ok = result.ok and (gets, len(routes)) == (expected * JOBS, gets + tokens + lookups)
                ok = ok and tokens <= 1 and lookups <= 1
                exact = exact and ok
                mode = "AK/SK" if auth == "aksk" else "IAM password"
                outcome = "ok" if ok else f"WRONG ({result.error or routes[:3]})"
                section.add(mode, name, gets / JOBS, expected, tokens, lookups, outcome)
    return exact


def provider_pickle() -> tuple[int, bool]:
    from pulumi.dynamic.dynamic import serialize_provider

    from pulumi_modelarts.provider import VisualizationJobProvider

    here = serialize_provider(VisualizationJobProvider())
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "clone"
        git = ["git", "clone", "--quiet", str(common.REPO_ROOT), str(clone)]
        subprocess.run(git, check=True, capture_output=True)
        children = [clean_env({"PYTHONHASHSEED": seed}) for seed in ("1", "4242")]
        children.append(clean_env({"PYTHONPATH": str(clone / "provider")}))
        found = [common.run_json([sys.executable, "-c", _PICKLE], env) for env in children]
    assert str(clone) in found[-1][1], found[-1][1]  # the clone's copy was imported
    return len(here), all(pickled == here for pickled, _ in found)


def provider_memory(reads: tuple[int, int]) -> dict[str, int]:
    from pulumi_modelarts.provider import VisualizationJobProvider
    from tests.harness import ProviderServer, serialized_provider, urn_for

    provider = serialized_provider(VisualizationJobProvider())
    peaks: dict[str, int] = {}
    with (
        common.server() as url,
        tempfile.TemporaryDirectory() as cwd,
        ProviderServer(cwd, clean_env(), project="bench") as process,
        ThreadPoolExecutor(4) as pool,
    ):
        assert process.pid is not None
        process.configure(common.stack_config(common.client_environ(url)), SECRET_CONFIG_KEYS)

        def read(index: int) -> None:
            props = {"job_id": 1 + index % 200, "status_name": "RUNNING", "__provider": provider}
            assert process.read(urn_for(f"job-{index % 200}"), str(1 + index % 200), props, props).id

        done = 0
        for count in reads:
            list(pool.map(read, range(done, count)))
            done, peaks[f"{count:,}"] = count, proc_kib("VmHWM", process.pid)
    return peaks


def run(quick: bool = False) -> Section:
    section = Section(
        f"4. The resource form through the provider server: GETs per job ({JOBS} jobs, 8 steps at a time)",
        ["auth", "operation", "GETs per job", "expected", "IAM tokens", "IAM project lookups", "requests"],
    )
    exact = requests_per_operation(section)
    section.targets.append(Target("GETs per job: up, no-change up, refresh, destroy", "1, 1, 1, 0", exact))
    size, identical = provider_pickle()
    detail = f"{size} characters, identical in 3 more processes and a second checkout"
    section.targets.append(Target("`__provider` size and determinism", detail, identical))
    reads = (100, 2_000) if quick else (100, 10_000)
    peaks = provider_memory(reads)
    first, last = peaks.values()
    name = f"provider peak RSS after {reads[1]:,} Reads vs after {reads[0]}"
    section.targets.append(Target.limit(name, Spread([last / first]), RSS_GROWTH_LIMIT))
    after = ", ".join(f"after {n} Reads {kib / 1024:.1f} MiB" for n, kib in peaks.items())
    section.notes.append(f"Provider peak RSS (VmHWM): {after}.")
    section.data = {"exact_gets": exact, "provider_characters": size}
    section.data |= {"identical": identical, "peak_kib": peaks}
    return section
