"""Figure 3: a ``Read`` RPC through the provider server against a direct client call.

One ``python -m pulumi.dynamic`` process (tests/harness ProviderServer), configured like the
engine does, reads job 197 the way ``pulumi refresh`` does (properties = stored outputs, so
nothing is served from the process's recent-read memo). The direct call is the same read, with
the same outputs mapping, in this process. ``Delete`` (which sends nothing) is the gRPC floor.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pulumi_modelarts.client import ModelArtsClient
from pulumi_modelarts.settings import Settings

from .common import (
    SECRET_CONFIG_KEYS,
    clean_env,
    median,
    ms,
    quantile,
    sample_emulator,
)
from .report import Section

WARMUP = 100
CALLS = 1000


def _timed(call: Callable[[], object], count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def run(quick: bool = False) -> list[Section]:
    from pulumi_modelarts.provider import VisualizationJobProvider
    from tests.harness import ProviderServer, serialized_provider, urn_for

    calls = 300 if quick else CALLS
    urn = urn_for("job")
    with sample_emulator() as emulator, tempfile.TemporaryDirectory() as cwd:
        client = ModelArtsClient(Settings.from_sources(environ=emulator.environ("aksk")))
        project, region = client.project_id, client.region

        def direct() -> object:
            return client.get_visualization_job(197).to_outputs(project_id=project, region=region)

        with ProviderServer(Path(cwd), clean_env(), project="bench") as server:
            server.configure(emulator.stack_config(), SECRET_CONFIG_KEYS)
            inputs = {"job_id": 197, "__provider": serialized_provider(VisualizationJobProvider())}
            checked = server.check(urn, {}, inputs).inputs
            created = server.create(urn, checked)
            stored = created.outputs

            def read() -> object:
                outcome = server.read(urn, "197", stored, checked)
                assert outcome.id == "197"
                return outcome

            def delete() -> None:
                server.delete(urn, "197", stored, checked)

            for call in (read, delete, direct):
                _timed(call, WARMUP)
            samples: dict[str, list[float]] = {"read": [], "delete": [], "direct": []}
            for _ in range(5):  # interleaved blocks
                for name, call in (("read", read), ("delete", delete), ("direct", direct)):
                    samples[name] += _timed(call, calls // 5)
            emulator.clear_requests()
            _timed(read, 10)
            gets = sum(1 for record in emulator.requests if record.route == "get_job")
        client.close()
    med = {name: ms(median(values)) for name, values in samples.items()}
    p90 = {name: ms(quantile(values, 0.9)) for name, values in samples.items()}
    added = med["read"] - med["direct"]
    section = Section(
        f"3. Through the provider server (median of {calls} calls each, interleaved, ms)",
        ["call", "median ms", "p90 ms", "added over direct ms"],
    )
    section.add(
        "direct: client.get_visualization_job(197).to_outputs() in-process", med["direct"], p90["direct"], 0.0
    )
    section.add("Read RPC (refresh-style) through python -m pulumi.dynamic", med["read"], p90["read"], added)
    section.add(
        "Delete RPC (no I/O: gRPC + unpickle + serialization floor)",
        med["delete"],
        p90["delete"],
        None,
    )
    section.notes.append(
        f"A Read RPC adds {added:.2f} ms to the direct call; {med['delete']:.2f} ms of that is the SDK "
        f"server's per-RPC cost that any dynamic provider pays (10 Reads sent {gets} GETs: each Read is "
        "one real HTTP read)."
    )
    section.data = {
        "calls": calls,
        "warmup": WARMUP,
        "median_ms": med,
        "p90_ms": p90,
        "added_ms": added,
        "gets_per_10_reads": gets,
    }
    return [section]


if __name__ == "__main__":
    for result in run(quick="--quick" in sys.argv):
        print(result.render())
