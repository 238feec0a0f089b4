"""Reproduction of the SDK's ``wait_for_rpcs`` cost (``pulumi/runtime/stack.py``, pulumi/pulumi#15744):
each completed output makes it wait anew on every pending one, N² steps for N outputs completing one
by one; hence ``pulumi_modelarts.functions`` hands results back in batches.
``python -m benchmarks.sdk_output_wait [N ...]``: CPU seconds of programs (fresh interpreters, mocks)
whose N outputs complete one per event-loop turn, and all in one turn."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def measure(count: int, together: bool) -> float:
    import asyncio

    import pulumi

    from benchmarks.scale import run_under_echo_mocks

    def program() -> None:
        loop = asyncio.get_running_loop()
        known, futures = loop.create_future(), [loop.create_future() for _ in range(count)]
        known.set_result(True)
        for future in futures:
            pulumi.Output(set(), future, known)

        def complete(index: int) -> None:
            for future in futures[index:] if together else futures[index : index + 1]:
                future.set_result(index)
            if not together and index + 1 < count:
                loop.call_soon(complete, index + 1)

        loop.call_soon(complete, 0)

    started = time.process_time()
    run_under_echo_mocks("wait", program)
    return time.process_time() - started


if not __package__:  # `python benchmarks/<name>.py` imports like `python -m benchmarks.<name>` from the root
    sys.path[0] = str(Path(__file__).resolve().parents[1])

if __name__ == "__main__":
    if sys.argv[-1] in ("apart", "together"):
        print(json.dumps(measure(int(sys.argv[1]), sys.argv[2] == "together")))
    else:
        from benchmarks.common import clean_env, run_json

        for count in map(int, sys.argv[1:] or ["250", "500", "1000", "2000"]):
            argv = [sys.executable, "-m", "benchmarks.sdk_output_wait", str(count)]
            apart, together = (run_json([*argv, how], clean_env()) for how in ("apart", "together"))
            print(f"{count:>5} outputs: one by one {apart:.2f} s CPU, all at once {together:.2f} s")
