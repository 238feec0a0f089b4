"""``python -m benchmarks [--quick] [--only 1,3]``: every figure, its targets, JSON in build/."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from tests.programs import machine

from . import cold_start, function_form, provider, scale, warm_read
from .common import PACKAGES, Section, write_json

FIGURES: dict[str, Callable[[bool], Section]] = {
    "1": warm_read.run,
    "2": cold_start.run,
    "3": function_form.run,
}
FIGURES |= {"4": provider.run, "5": scale.run}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer runs (for trying changes)")
    parser.add_argument("--only", default=",".join(FIGURES), help="comma-separated figure numbers")
    args = parser.parse_args()
    info, started = machine(*PACKAGES), time.monotonic()
    print("# pulumi-modelarts benchmarks\n")
    print(f"{info['cpu']}; {info['system']}; Python {info['python']}; load {info['load_1min']}", end="; ")
    print(f"commit {info['commit']}")
    print(", ".join(f"{name} {version}" for name, version in info["packages"].items()) + "\n", flush=True)
    sections: list[Section] = []
    for number in args.only.split(","):
        figure_started = time.monotonic()
        sections.append(FIGURES[number.strip()](args.quick))
        print(sections[-1].render(), flush=True)
        print(f"(figure {number} took {time.monotonic() - figure_started:.0f} s)\n", flush=True)
    print("## Targets\n")
    for section in sections:
        print("\n".join(f"- figure {section.title.split('.')[0]}: {t.show()}" for t in section.targets))
    path = write_json(sections, info, quick=args.quick, seconds=time.monotonic() - started)
    print(f"\nTotal {time.monotonic() - started:.0f} s; results in {path}")


if __name__ == "__main__":
    main()
