"""Figure 5: one program declaring 100, 1,000 and 10,000 ``VisualizationJob``s under mocks that echo
the inputs (``python -m benchmarks.scale <count> [--collector-off] [--plain]``, a fresh interpreter
each, counts taking turns): what the program side costs per resource, the part pulumi/pulumi#17803 made
grow (``sdk_pickle_growth`` shows the SDK's own path), with and without the cyclic garbage collector.
``--plain`` declares a bare ``pulumi.CustomResource`` with the same properties instead: the SDK's floor.
The child also checks that every registration carried the one ``__provider`` and left the pickler as found."""

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


def declare(count: int, plain: bool = False) -> dict[str, Any]:
    import pickle
    import resource
    import time

    import pulumi

    from pulumi_modelarts import VisualizationJob
    from pulumi_modelarts.provider import STATE_FIELDS
    from pulumi_modelarts.resource import _serialized_provider

    pickler, provider = dict(vars(pickle._Pickler)), _serialized_provider()

    def program() -> None:
        for index in range(count):
            if plain:  # what the SDK alone costs for a resource with these properties
                props = {**dict.fromkeys(STATE_FIELDS), "job_id": index + 1, "__provider": provider}
                pulumi.CustomResource("pulumi-python:dynamic:Resource", f"job-{index}", props)
            else:
                VisualizationJob(f"job-{index}", job_id=index + 1)

    cpu = time.process_time()
    registered = run_under_echo_mocks("scale", program)
    return {
        "count": count,
        "plain": plain,
        "cpu_s": time.process_time() - cpu,
        "registered": len(registered),
        "types": sorted({args.typ for args in registered}),
        "providers": len({args.inputs["__provider"] for args in registered}),
        "pickler_unchanged": dict(vars(pickle._Pickler)) == pickler,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


PLAIN_COLUMNS = ["plain CustomResource: CPU ms", "vs 100", "peak RSS MiB"]
#: Each mode's command-line flags: the package with the collector on, off, and the SDK's floor.
MODES = {"on": [], "off": ["--collector-off"], "plain": ["--plain"]}


def run(quick: bool = False) -> Section:
    rounds = 1 if quick else 3
    found: list[dict[tuple[int, str], float]] = []  # per round: CPU ms per resource
    children = []
    for _ in range(rounds):
        cost: dict[tuple[int, str], list[float]] = {}
        # The smallest programs take a tenth of a second: three of them per round, their median kept.
        for count, mode in [(c, mode) for c in (*COUNTS, COUNTS[0], COUNTS[0]) for mode in MODES]:
            argv = [sys.executable, "-m", "benchmarks.scale", str(count), *MODES[mode]]
            children.append(run_json(argv, clean_env()))
            cost.setdefault((count, mode), []).append(children[-1]["cpu_s"] * 1000 / count)
        found.append({key: Spread(values).median for key, values in cost.items()})

    def ratio(count: int, mode: str) -> Spread:
        return Spread([costs[count, mode] / costs[COUNTS[0], mode] for costs in found])

    section = Section(
        f"5. Resources in one program (mocks): CPU ms per resource, medians of {rounds} rounds of fresh "
        "interpreters, each count's ratio to 100 taken within its round",
        ["resources", "CPU ms per resource", "vs 100", "collector off: CPU ms", "vs 100", *PLAIN_COLUMNS],
    )
    for count in COUNTS:
        rss = max(c["peak_rss_mib"] for c in children if c["count"] == count and not c["plain"])
        cpu = {mode: Spread([costs[count, mode] for costs in found]).median for mode in MODES}
        shown = [value for mode in MODES for value in (cpu[mode], ratio(count, mode).show())]
        section.add(f"{count:,}", *shown, rss)
    intact = all(
        c["pickler_unchanged"] and c["registered"] == c["count"] and c["providers"] == 1 for c in children
    )
    section.notes.append(
        f"The SDK's floor: a plain `pulumi.CustomResource` with the same properties costs "
        f"{ratio(COUNTS[-1], 'plain').show()} per resource at {COUNTS[-1]:,} vs at 100, the collector on."
    )
    check = "every registration carried the one `__provider`, pickler left as found"
    section.targets += [
        Target.limit(f"CPU per resource at {COUNTS[-1]:,} vs at 100", ratio(COUNTS[-1], "on"), MAX_RATIO),
        Target(check, "all programs", intact),
    ]
    sdk = run_json([sys.executable, "-m", "benchmarks.sdk_pickle_growth", "3000"], clean_env())
    first, last, failure = sdk["batches"][0], sdk["batches"][-1], sdk["failure"]
    section.notes.append(
        f"The SDK's own `dynamic.Resource` (collector off): {first['ms_per_resource']:.2f} ms per resource "
        f"for the first {first['up_to']}, {last['ms_per_resource']:.2f} ms by resource {last['up_to']:,}; "
        + (f"{failure['error']} at resource {failure['at']:,}." if failure else "no failure up to 3,000.")
    )
    rounds_data = [{f"{n} {mode}": v for (n, mode), v in r.items()} for r in found]
    section.data = {"rounds": rounds_data, "sdk": sdk}
    return section


if __name__ == "__main__":
    if "--collector-off" in sys.argv:
        gc.disable()
    print(json.dumps(declare(int(sys.argv[1]), plain="--plain" in sys.argv)))
