"""Figure 8: one program declaring 100, 1,000 and 10,000 ``VisualizationJob``s under mocks.

Each program runs in a fresh interpreter (``python -m benchmarks.scale <count>``): the mocks
echo the inputs, so the figure is what the program side costs per resource (constructing it and
registering it through the SDK), the part pulumi/pulumi#17803 made grow until RecursionError.
Counts run round-robin; the least CPU time of each count is kept. The child also checks that
every registration carried the one ``__provider`` and that the pickler was left as it was found.
The SDK's own behaviour without our workaround comes from ``benchmarks/sdk_pickle_growth.py``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .common import REPO_ROOT, clean_env, run_ok
from .report import Section, verdict

if TYPE_CHECKING:
    from pulumi.runtime import MockCallArgs, MockResourceArgs

COUNTS = (100, 1000, 10_000)
#: The issue's target: per-resource cost at 10,000 at most this many times the cost at 100.
MAX_RATIO = 1.3


def run_under_echo_mocks(project: str, declare_resources: Callable[[], None]) -> list[MockResourceArgs]:
    """Run a program under mocks that answer every resource with its own inputs; what it registered."""
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
    """One program declaring ``count`` resources: what it cost and what it registered."""
    import pickle
    import time

    from pulumi_modelarts import VisualizationJob

    pickler = dict(vars(pickle._Pickler))

    def program() -> None:
        for index in range(count):
            VisualizationJob(f"job-{index}", job_id=index + 1)

    cpu, wall = time.process_time(), time.perf_counter()
    registered = run_under_echo_mocks("scale", program)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {
        "count": count,
        "cpu_s": cpu,
        "wall_s": wall,
        "registered": len(registered),
        "types": sorted({args.typ for args in registered}),
        "providers": len({args.inputs["__provider"] for args in registered}),
        "pickler_unchanged": dict(vars(pickle._Pickler)) == pickler,
    }


def in_child(count: int, *, collector: bool = True) -> dict[str, Any]:
    """:func:`declare` in a fresh interpreter, so each count starts from a clean heap;
    ``collector=False`` disables Python's cyclic garbage collector in it."""
    argv = [sys.executable, "-m", "benchmarks.scale", str(count), *([] if collector else ["--collector-off"])]
    out = run_ok(argv, env=clean_env(), cwd=REPO_ROOT)
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def run(quick: bool = False) -> list[Section]:
    rounds = 1 if quick else 3
    best: dict[tuple[int, bool], dict[str, Any]] = {}
    for _ in range(rounds):
        for count in COUNTS:
            for collector in (True, False):
                child = in_child(count, collector=collector)
                if (count, collector) not in best or child["cpu_s"] < best[count, collector]["cpu_s"]:
                    best[count, collector] = child
    cost = {key: child["cpu_s"] * 1000 / key[0] for key, child in best.items()}
    first, last = COUNTS[0], COUNTS[-1]
    section = Section(
        "8. Resources in one program (mocks): per-resource cost",
        ["resources", "CPU ms per resource", "vs 100", "collector off: CPU ms", "vs 100", "registered"],
    )
    for count in COUNTS:
        section.add(
            f"{count:,}",
            cost[count, True],
            f"{cost[count, True] / cost[first, True]:.2f}x",
            cost[count, False],
            f"{cost[count, False] / cost[first, False]:.2f}x",
            best[count, True]["registered"],
        )
    ratio = cost[last, True] / cost[first, True]
    intact = all(
        child["pickler_unchanged"] and child["registered"] == child["count"] and child["providers"] == 1
        for child in best.values()
    )
    met = ratio <= MAX_RATIO and intact
    section.notes.append(
        f"Per-resource CPU at {last:,} is {ratio:.2f}x the cost at {first} (target <= {MAX_RATIO}x): "
        f"{verdict(met)}; with Python's cyclic garbage collector off it is "
        f"{cost[last, False] / cost[first, False]:.2f}x. Every registration carried the one "
        f"`__provider` and the pickler was left as found: {verdict(intact)}. Least CPU time of "
        f"{rounds} run(s) per count, each a fresh interpreter."
    )
    sdk = _sdk_without_workaround()
    section.notes.append(sdk["note"])
    section.data = {
        "per_resource_ms": {f"{n}{'' if on else ' collector off'}": ms for (n, on), ms in cost.items()},
        "ratio": ratio,
        "target_met": met,
        "runs": [best[key] | {"collector": key[1]} for key in sorted(best)],
        **sdk,
    }
    return [section]


def _sdk_without_workaround() -> dict[str, Any]:
    """The same provider through the SDK's own ``dynamic.Resource`` path, in a fresh interpreter."""
    code = "import json; from benchmarks.sdk_pickle_growth import measure; print(json.dumps(measure(3000)))"
    result: dict[str, Any] = json.loads(
        run_ok([sys.executable, "-c", code], env=clean_env(), cwd=REPO_ROOT).strip().splitlines()[-1]
    )
    batches, failure = result["batches"], result["failure"]
    first, last = batches[0], batches[-1]
    note = (
        f"Without the workaround (the SDK's own `dynamic.Resource`, `benchmarks/sdk_pickle_growth.py`): "
        f"{first['ms_per_resource']:.2f} ms per resource to construct the first {first['up_to']}, "
        f"{last['ms_per_resource']:.2f} ms for resources {last['up_to'] - 99}-{last['up_to']}, then "
        + (f"{failure['error']} at resource {failure['at']:,}." if failure else "no failure up to 3,000.")
    )
    return {"sdk_without_workaround": result, "note": note}


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].isdigit():
        if "--collector-off" in sys.argv:
            import gc

            gc.disable()
        print(json.dumps(declare(int(sys.argv[1]))))
    else:
        for result in run(quick="--quick" in sys.argv):
            print(result.render())
