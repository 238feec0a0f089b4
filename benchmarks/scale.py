"""Figure 5: one program declaring 100, 1,000 and 10,000 ``VisualizationJob``s under mocks that echo
the inputs (``python -m benchmarks.scale <count> [--collector-off]``, a fresh interpreter each, counts
taking turns): what the program side costs per resource, the part pulumi/pulumi#17803 made grow
(``sdk_pickle_growth`` shows the SDK's own path), with and without the cyclic garbage collector. The
child also checks that every registration carried the one ``__provider`` and left the pickler as found."""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .common import Section, Spread, Target, clean_env, run_json

if TYPE_CHECKING:
    from pulumi.runtime import MockCallArgs, MockResourceArgs

COUNTS = (100, 1000, 10_000)
MAX_RATIO = 1.3


def run_under_echo_mocks(project: str, declare_resources: Callable[[], None]) -> list[MockResourceArgs]:
    import pulumi
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    registered: list[MockResourceArgs] = []

    class EchoMocks(pulumi.runtime.Mocks):
        def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
            registered.append(args)
            return f"{args.name}-id", dict(args.inputs)

        def call(self, _args: MockCallArgs) -> tuple[dict[str, Any], None]:
            return {}, None

    pulumi.runtime.set_mocks(EchoMocks(), project=project, stack="bench", preview=False)
    _sync_await(run_pulumi_func(declare_resources))
    return registered


def declare(count: int) -> dict[str, Any]:
    import pickle
    import resource
    import time

    from pulumi_modelarts import VisualizationJob

    pickler = dict(vars(pickle._Pickler))

    def program() -> None:
        for index in range(count):
            VisualizationJob(f"job-{index}", job_id=index + 1)

    cpu = time.process_time()
    registered = run_under_echo_mocks("scale", program)
    return {
        "count": count,
        "cpu_s": time.process_time() - cpu,
        "registered": len(registered),
        "types": sorted({args.typ for args in registered}),
        "providers": len({args.inputs["__provider"] for args in registered}),
        "pickler_unchanged": dict(vars(pickle._Pickler)) == pickler,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run(quick: bool = False) -> Section:
    rounds = 1 if quick else 3
    found: list[dict[tuple[int, bool], float]] = []  # per round: CPU ms per resource
    children = []
    for _ in range(rounds):
        cost: dict[tuple[int, bool], list[float]] = {}
        # The smallest programs take a tenth of a second: three of them per round, their median kept.
        for count, off in [(c, off) for c in (*COUNTS, COUNTS[0], COUNTS[0]) for off in (False, True)]:
            argv = [sys.executable, "-m", "benchmarks.scale", str(count), *(["--collector-off"] * off)]
            children.append(run_json(argv, clean_env()))
            cost.setdefault((count, off), []).append(children[-1]["cpu_s"] * 1000 / count)
        found.append({key: Spread(values).median for key, values in cost.items()})

    def ratio(count: int, off: bool) -> Spread:
        return Spread([costs[count, off] / costs[COUNTS[0], off] for costs in found])

    section = Section(
        f"5. Resources in one program (mocks): CPU ms per resource, medians of {rounds} rounds of fresh "
        "interpreters, each count's ratio to 100 taken within its round",
        ["resources", "CPU ms per resource", "vs 100", "collector off: CPU ms", "vs 100", "peak RSS MiB"],
    )
    for count in COUNTS:
        cpu = [Spread([costs[count, off] for costs in found]).median for off in (False, True)]
        rss = max(c["peak_rss_mib"] for c in children if c["count"] == count)
        section.add(f"{count:,}", cpu[0], ratio(count, False).show(), cpu[1], ratio(count, True).show(), rss)
    intact = all(
        c["pickler_unchanged"] and c["registered"] == c["count"] and c["providers"] == 1 for c in children
    )
    check = "every registration carried the one `__provider`, pickler left as found"
    section.targets += [
        Target.limit(f"CPU per resource at {COUNTS[-1]:,} vs at 100", ratio(COUNTS[-1], False), MAX_RATIO),
        Target(check, "all programs", intact),
    ]
    sdk = run_json([sys.executable, "-m", "benchmarks.sdk_pickle_growth", "3000"], clean_env())
    first, last, failure = sdk["batches"][0], sdk["batches"][-1], sdk["failure"]
    section.notes.append(
        f"The SDK's own `dynamic.Resource` (collector off): {first['ms_per_resource']:.2f} ms per resource "
        f"for the first {first['up_to']}, {last['ms_per_resource']:.2f} ms by resource {last['up_to']:,}; "
        + (f"{failure['error']} at resource {failure['at']:,}." if failure else "no failure up to 3,000.")
    )
    rounds_data = [{f"{n} {'off' if off else 'on'}": v for (n, off), v in r.items()} for r in found]
    section.data = {"rounds": rounds_data, "sdk": sdk}
    return section


if __name__ == "__main__":
    if "--collector-off" in sys.argv:
        gc.disable()
    print(json.dumps(declare(int(sys.argv[1]))))
