"""``python -m benchmarks [--quick] [--only 1,4]``: every figure, tables on stdout, JSON in build/."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from . import cold_start, fanout, memory, provider_pickle, provider_rpc, requests_per_op, scale, warm_read
from .report import Section, machine, machine_lines, verdict, write_json

FIGURES: dict[str, Callable[[bool], list[Section]]] = {
    "1": cold_start.run,
    "2": warm_read.run,
    "3": provider_rpc.run,
    "4": fanout.run,
    "5": requests_per_op.run,
    "6": provider_pickle.run,
    "7": memory.run,
    "8": scale.run,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (for trying changes)")
    parser.add_argument("--only", default=",".join(FIGURES), help="comma-separated figure numbers")
    args = parser.parse_args()
    info = machine()
    print("# pulumi-modelarts benchmarks\n")
    print(machine_lines(info), flush=True)
    started = time.monotonic()
    sections: list[Section] = []
    for number in args.only.split(","):
        figure_started = time.monotonic()
        for section in FIGURES[number.strip()](args.quick):
            print(section.render(), flush=True)
            sections.append(section)
        print(f"(figure {number} took {time.monotonic() - figure_started:.0f} s)\n", flush=True)
    targets = {s.title.split(".")[0]: s.data["target_met"] for s in sections if "target_met" in s.data}
    print("Targets: " + ", ".join(f"figure {k}: {verdict(v)}" for k, v in targets.items()))
    path = write_json("bench", sections, info, quick=args.quick, seconds=time.monotonic() - started)
    print(f"Total {time.monotonic() - started:.0f} s; results in {path}")


if __name__ == "__main__":
    main()
