"""Figure 3: the function form's CPU per read, its fan-out, its cost at 0 latency, and its memory,
each run a fresh program under mocks (``benchmarks/function_program``) reading from
``benchmarks.server``, its blocks of reads paired with the same reads made another way."""

from __future__ import annotations

import json
from typing import Any

from .common import REPO_ROOT, Section, Spread, Target, client_environ, control, paired, server

PROGRAM = REPO_ROOT / "benchmarks" / "function_program"
LATENCY, POOL = 0.02, 16
CPU_LIMIT, FANOUT_LIMIT, MEMORY_LIMIT = 1.3, 2.0, 1.10
#: (reads at once, blocks per run, server latency, the other ways): a row of the table per other way.
SCENARIOS = (
    (16, 30, LATENCY, ("client",)),
    (200, 8, LATENCY, ("client",)),
    (2000, 6, 0.0, ("direct", "floor")),
)

Blocks = dict[str, list[dict[str, float]]]


def _program(url: str, **spec: Any) -> Any:
    from tests.programs import run_program

    config = {"bench:spec": json.dumps(spec)}
    run = run_program(PROGRAM, project="bench", config=config, env=client_environ(url), timeout=900)
    if run.error is not None:
        raise RuntimeError(f"benchmark program failed: {run.error['traceback']}")
    return run.value("result")


def _ratio(runs: list[Blocks], other: str, key: str) -> Spread:
    """Per run, the median over blocks of the function form's figure over the other way's."""
    return Spread([paired([b[key] for b in r["function"]], [b[key] for b in r[other]]) for r in runs])


def _median(blocks: list[dict[str, float]], key: str) -> float:
    return Spread([block[key] for block in blocks]).median


def run(quick: bool = False) -> Section:
    runs = 2 if quick else 3
    section = Section(
        f"3. Function form (medians of paired blocks in each of {runs} fresh programs; CPU of every thread)",
        ["reads at once", "latency", "other way", "function form: wall s", "CPU ms per read",
         "other way: wall s", "CPU ms per read", "CPU ratio", "wall ratio", "in flight at most"],
    )  # fmt: skip
    found: dict[int, list[Blocks]] = {}
    with server() as url:
        for count, blocks, latency, others in SCENARIOS:
            control(url, f"latency/{latency}")
            spec = {"scenario": "blocks", "count": count, "others": others, "blocks": 3 if quick else blocks}
            found[count] = [_program(url, **spec) for _ in range(runs)]
            every = {way: [block for r in found[count] for block in r[way]] for way in ("function", *others)}
            for other in others:
                cpu, wall = _ratio(found[count], other, "cpu"), _ratio(found[count], other, "wall")
                section.add(
                    count, f"{latency * 1000:.0f} ms", other, _median(every["function"], "wall"),
                    _median(every["function"], "cpu") * 1000 / count, _median(every[other], "wall"),
                    _median(every[other], "cpu") * 1000 / count, cpu.show(), wall.show(),
                    max(int(block["peak"]) for block in every["function"]),
                )  # fmt: skip
                if other == "client":
                    name = f"CPU per read, {count} reads at once, vs the bare client"
                    section.targets.append(Target.limit(name, cpu, CPU_LIMIT))
                elif other == "direct":
                    section.targets += [
                        Target.limit(f"{count:,} reads at 0 latency, wall vs a sequential loop", wall, 1.0),
                        Target.limit(f"{count:,} reads at 0 latency, CPU vs a sequential loop", cpu, 1.0),
                    ]
        ideal = 200 * LATENCY / POOL
        fanout = Spread([_median(r["function"], "wall") / ideal for r in found[200]])
        floor = Spread([_median(r["function"], "cpu") / ideal for r in found[200]])
        name = f"fan-out, 200 reads at 20 ms, vs ideal {ideal:.2f} s"
        section.targets.append(Target.limit(name, fanout, FANOUT_LIMIT))
        control(url, "latency/0")
        memory = [_program(url, scenario="memory", first=200, count=2000) for _ in range(runs)]
    growth = Spread([m["all_kib"] / m["first_kib"] for m in memory])
    name = "peak RSS after 2,000 reads vs after 200, one program"
    section.targets.append(Target.limit(name, growth, MEMORY_LIMIT))
    section.notes += [
        "'client': the same reads by `ModelArtsClient.get_visualization_job` on 16 plain threads; 'direct': "
        "`get_visualization_job` in a sequential loop; 'floor': that loop with each result then made "
        "an SDK `Output` and awaited, the least any `_output` form can cost. The program awaits each "
        "result in turn; "
        "combining thousands with `Output.all` costs a program more, in the SDK.",
        f"Fan-out CPU floor: the program's CPU seconds per 200-read block are {floor.show('x')} the ideal "
        "wall time; one interpreter lock cannot finish sooner than its own CPU work.",
        "Peak RSS: "
        + ", ".join(f"{m['first_kib'] / 1024:.1f} -> {m['all_kib'] / 1024:.1f} MiB" for m in memory),
    ]
    section.data = {"runs": found, "memory": memory}
    return section
