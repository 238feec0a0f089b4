"""Figure 7: peak RSS of the provider server after 100 and after 10,000 ``Read`` RPCs.

One ``python -m pulumi.dynamic`` process (tests/harness ProviderServer) refreshes 200 distinct
jobs round-robin, 4 RPCs at a time (the server's worker count). ``VmHWM`` (peak resident set)
and ``VmRSS`` are read from ``/proc/<pid>/status`` after configuration, after 100 Reads and
after 10,000.
"""

from __future__ import annotations

import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .common import (
    SECRET_CONFIG_KEYS,
    add_jobs,
    clean_env,
    proc_status,
    sample_emulator,
)
from .report import Section, ratio

JOBS = 200
CHECKPOINTS = (100, 10_000)
CLIENT_THREADS = 4


def run(quick: bool = False) -> list[Section]:
    from pulumi_modelarts.provider import VisualizationJobProvider
    from tests.harness import ProviderServer, serialized_provider, urn_for

    checkpoints = (100, 2_000) if quick else CHECKPOINTS
    provider = serialized_provider(VisualizationJobProvider())
    samples: dict[str, dict[str, int]] = {}
    with sample_emulator() as emulator, tempfile.TemporaryDirectory() as cwd:
        ids = add_jobs(emulator, JOBS, "mem")
        with ProviderServer(Path(cwd), clean_env(), project="bench") as server:
            assert server.pid is not None
            server.configure(emulator.stack_config(), SECRET_CONFIG_KEYS)
            samples["after Configure, before any Read"] = proc_status(server.pid)

            def read(index: int) -> None:
                job_id = ids[index % JOBS]
                props = {"job_id": job_id, "status_name": "RUNNING", "__provider": provider}
                outcome = server.read(urn_for(f"job-{job_id}"), str(job_id), props, props)
                assert outcome.id == str(job_id)

            done = 0
            with ThreadPoolExecutor(CLIENT_THREADS) as pool:
                for checkpoint in checkpoints:
                    list(pool.map(read, range(done, checkpoint)))
                    done = checkpoint
                    samples[f"after {checkpoint:,} Reads"] = proc_status(server.pid)
            emulator.clear_requests()
    first, last = (samples[f"after {c:,} Reads"] for c in checkpoints)
    section = Section(
        f"7. Memory of the provider server ({JOBS} distinct jobs, {CLIENT_THREADS} RPCs in flight)",
        ["point", "peak RSS (VmHWM) MiB", "RSS (VmRSS) MiB", f"VmHWM vs after {checkpoints[0]}"],
    )
    for name, values in samples.items():
        section.add(
            name, values["VmHWM"] / 1024, values["VmRSS"] / 1024, ratio(values["VmHWM"], first["VmHWM"])
        )
    growth = (last["VmHWM"] - first["VmHWM"]) / 1024
    section.notes.append(
        f"Peak RSS grew {growth:.1f} MiB ({(last['VmHWM'] / first['VmHWM'] - 1) * 100:.1f} %) between "
        f"{checkpoints[0]:,} and {checkpoints[1]:,} Reads."
    )
    section.data = {"jobs": JOBS, "checkpoints": list(checkpoints), "kib": samples, "growth_mib": growth}
    return [section]


if __name__ == "__main__":
    for result in run(quick="--quick" in sys.argv):
        print(result.render())
