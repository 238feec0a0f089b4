"""``python -m reliability [--short]``: fault matrix, fuzz, soak, hostile servers and secrets;
JSON in build/."""

from __future__ import annotations

import argparse
import sys
import time

from benchmarks.report import machine, machine_lines, write_json

from . import suite


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m reliability", description=__doc__)
    parser.add_argument("--short", action="store_true", help="the reduced form run by `make test`")
    args = parser.parse_args()
    info = machine()
    print(f"# pulumi-modelarts reliability{' (short form)' if args.short else ''}\n")
    print(machine_lines(info), flush=True)
    started = time.monotonic()
    result = suite.run(args.short)
    wrong = (
        result.data("R1")["wrong_outputs"]
        + sum(part["wrong"] for part in result.data("R2")["results"].values())
        + result.data("R3")["wrong"]
    )
    unhandled = (
        sum(part["unhandled"] for part in result.data("R2")["results"].values())
        + result.data("R3")["unhandled"]
    )
    failed_cases = result.data("R1")["failed"] + result.data("R5")["failed"]
    leaks = result.data("R4")["total_leaks"]
    print(
        f"Summary: {wrong} wrong outputs, {unhandled} unhandled exceptions, {len(failed_cases)} fault cases "
        f"and hostile variants not as expected, {leaks} secret leaks; "
        f"soak RSS growth {result.data('R3')['rss_growth']:+.1%}."
    )
    path = write_json(
        "reliability-short" if args.short else "reliability",
        result.sections,
        info,
        short=args.short,
        seconds=result.seconds,
        summary={"wrong": wrong, "unhandled": unhandled, "failed_cases": failed_cases, "leaks": leaks},
    )
    print(f"Total {time.monotonic() - started:.0f} s; results in {path}")
    sys.exit(0)


if __name__ == "__main__":
    main()
