"""Figure 8: one program declaring 100, 1,000 and 10,000 ``VisualizationJob``s under mocks.

Each program runs in a fresh interpreter (``python -m benchmarks.scale <count>``): the mocks
echo the inputs, so the figure is what the program side costs per resource (constructing it and
registering it through the SDK), the part pulumi/pulumi#17803 made grow until RecursionError.
Counts run round-robin; the least CPU time of each count is kept. The child also checks that
every registration carried the one ``__provider`` and that the pickler was left as it was found.
Each count also runs with Python's cyclic garbage collector off (``--collector-off``), which
separates what our code costs from what the collector costs as the heap grows; and 1,000 run
once more with the class's annotations as strings (``--string-annotations``, as resource.py had
them), which the SDK evaluates anew at every registration. The SDK's own behaviour without our
workaround comes from ``benchmarks/sdk_pickle_growth.py``.
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


def declare(count: int, *, string_annotations: bool = False) -> dict[str, Any]:
    """One program declaring ``count`` resources: what it cost and what it registered."""
    import inspect
    import pickle
    import resource
    import time

    from pulumi_modelarts import VisualizationJob

    job_class = VisualizationJob
    if (
        string_annotations
    ):  # the same class, its annotations as `from __future__ import annotations` leaves them

        class StringAnnotated(VisualizationJob, module="modelarts", name="VisualizationJob"):
            pass

        StringAnnotated.__annotations__ = {
            name: inspect.formatannotation(hint) for name, hint in VisualizationJob.__annotations__.items()
        }
        job_class = StringAnnotated
    pickler = dict(vars(pickle._Pickler))

    def program() -> None:
        for index in range(count):
            job_class(f"job-{index}", job_id=index + 1)

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
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def in_child(count: int, *flags: str) -> dict[str, Any]:
    """:func:`declare` in a fresh interpreter, so each count starts from a clean heap."""
    out = run_ok(
        [sys.executable, "-m", "benchmarks.scale", str(count), *flags], env=clean_env(), cwd=REPO_ROOT
    )
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def run(quick: bool = False) -> list[Section]:
    rounds = 1 if quick else 3
    variants = [(count, flags) for count in COUNTS for flags in ((), ("--collector-off",))]
    variants.append((1000, ("--collector-off", "--string-annotations")))
    # The smallest programs take a tenth of a second: three times as many tries steady their minimum.
    variants += [(COUNTS[0], flags) for flags in ((), ("--collector-off",))] * 2
    best: dict[tuple[int, tuple[str, ...]], dict[str, Any]] = {}
    for _ in range(rounds):
        for count, flags in variants:
            child = in_child(count, *flags)
            if (count, flags) not in best or child["cpu_s"] < best[count, flags]["cpu_s"]:
                best[count, flags] = child
    cost = {key: child["cpu_s"] * 1000 / key[0] for key, child in best.items()}
    on, off, first, last = (), ("--collector-off",), COUNTS[0], COUNTS[-1]
    section = Section(
        "8. Resources in one program (mocks): CPU ms per resource, least of "
        f"{rounds} fresh interpreter(s) per count ({3 * rounds} for {COUNTS[0]}), interleaved",
        ["resources", "CPU ms per resource", "vs 100", "collector off: CPU ms", "vs 100", "registered"],
    )
    for count in COUNTS:
        section.add(
            f"{count:,}",
            cost[count, on],
            f"{cost[count, on] / cost[first, on]:.2f}x",
            cost[count, off],
            f"{cost[count, off] / cost[first, off]:.2f}x",
            best[count, on]["registered"],
        )
    ratio = cost[last, on] / cost[first, on]
    intact = all(
        child["pickler_unchanged"] and child["registered"] == child["count"] and child["providers"] == 1
        for child in best.values()
    )
    met = ratio <= MAX_RATIO and intact
    strings = cost[1000, (*off, "--string-annotations")]
    section.notes += [
        f"Per-resource CPU at {last:,} is {ratio:.2f}x the cost at {first} (target <= {MAX_RATIO}x): "
        f"{verdict(met)}; with Python's cyclic garbage collector off it is "
        f"{cost[last, off] / cost[first, off]:.2f}x. Every registration carried the one "
        f"`__provider` and the pickler was left as found: {verdict(intact)}.",
        f"Annotations as strings (resource.py before): {strings:.2f} ms per resource at 1,000 with the "
        f"collector off, against {cost[1000, off]:.2f} ms with real annotations "
        f"(+{strings - cost[1000, off]:.2f} ms, {strings / cost[1000, off]:.2f}x).",
        f"Peak RSS of the {last:,}-resource program (mocks included): "
        f"{best[last, on]['peak_rss_mib']:.0f} MiB, {best[last, off]['peak_rss_mib']:.0f} MiB with the "
        "collector off.",
    ]
    sdk = _sdk_without_workaround()
    section.notes.append(sdk["note"])
    section.data = {
        "per_resource_ms": {f"{n} {' '.join(flags)}".strip(): ms for (n, flags), ms in cost.items()},
        "ratio": ratio,
        "target_met": met,
        "runs": [best[key] | {"flags": list(key[1])} for key in sorted(best)],
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
        f"Without the workaround (the SDK's own `dynamic.Resource`, `benchmarks/sdk_pickle_growth.py`, "
        f"collector off): {first['ms_per_resource']:.2f} ms per resource to construct the first "
        f"{first['up_to']}, {last['ms_per_resource']:.2f} ms for resources {last['up_to'] - 99}-"
        f"{last['up_to']}, then "
        + (f"{failure['error']} at resource {failure['at']:,}." if failure else "no failure up to 3,000.")
    )
    return {"sdk_without_workaround": result, "note": note}


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].isdigit():
        if "--collector-off" in sys.argv:
            import gc

            gc.disable()
        print(json.dumps(declare(int(sys.argv[1]), string_annotations="--string-annotations" in sys.argv)))
    else:
        for result in run(quick="--quick" in sys.argv):
            print(result.render())
