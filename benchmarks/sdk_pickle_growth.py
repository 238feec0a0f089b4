"""Reproduction of pulumi/pulumi#17803: the SDK's ``serialize_provider`` wraps the pickler anew for
every ``dynamic.Resource`` and never unwraps it. ``python -m benchmarks.sdk_pickle_growth [max]``
(or ``python benchmarks/sdk_pickle_growth.py [max]``)
declares plain ``pulumi.dynamic.Resource``s with our provider (without the workaround in
``pulumi_modelarts.resource``) under mocks and prints, as JSON, what each batch of 100 costs and how
many wrappers ``pickle._Pickler._batch_setitems`` holds, until RecursionError."""

from __future__ import annotations

import gc
import json
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import pulumi.dynamic

from pulumi_modelarts.provider import STATE_FIELDS, VisualizationJobProvider

BATCH = 100


def wrapper_depth() -> int:
    """How many sorting wrappers ``serialize_provider`` has stacked on ``_batch_setitems``."""
    depth, function = 0, vars(pickle._Pickler)["_batch_setitems"]
    while inner := [
        cell.cell_contents for cell in function.__closure__ or () if callable(cell.cell_contents)
    ]:
        depth, function = depth + 1, inner[0]
    return depth


def measure(limit: int) -> dict[str, Any]:
    """Per-resource construction cost of each batch, and where (if) the program failed; the cyclic
    garbage collector is off, so that what grows is the wrapper chain alone."""
    from benchmarks.scale import run_under_echo_mocks

    gc.disable()

    class PlainDynamicJob(pulumi.dynamic.Resource, module="modelarts", name="VisualizationJob"):
        """What ``VisualizationJob`` would be without the workaround."""

    batches: list[dict[str, float]] = []
    failure: dict[str, Any] = {}

    def program() -> None:
        declared = 0
        while declared < limit:
            started = time.process_time()
            try:
                for _ in range(BATCH):
                    props = {**dict.fromkeys(STATE_FIELDS), "job_id": declared + 1}
                    PlainDynamicJob(VisualizationJobProvider(), f"job-{declared}", props)
                    declared += 1
            except RecursionError:
                failure.update(error="RecursionError", at=declared + 1, depth=wrapper_depth())
                return
            cost = (time.process_time() - started) * 1000 / BATCH
            batches.append({"up_to": declared, "ms_per_resource": cost, "depth": wrapper_depth()})

    run_under_echo_mocks("repro", program)
    return {"batches": batches, "failure": failure}


if not __package__:  # `python benchmarks/<name>.py` imports like `python -m benchmarks.<name>` from the root
    sys.path[0] = str(Path(__file__).resolve().parents[1])

if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 3000)))
