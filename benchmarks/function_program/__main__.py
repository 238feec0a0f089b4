"""The program behind figure 3, run under mocks by ``tests.programs``: blocks of reads through
``get_visualization_job_output`` (issued at once, awaited in turn) paired with the same reads made
the ``others`` ways, or the peak RSS after ``first`` and ``count`` reads, as ``bench:spec`` says."""

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pulumi

from benchmarks.common import control
from pulumi_modelarts import get_visualization_job, get_visualization_job_output
from pulumi_modelarts.functions import GetVisualizationJobResult, _client
from tests.programs import proc_kib

spec = json.loads(pulumi.Config("bench").require("spec"))
get_visualization_job(job_id=1)
client, threads = _client(None, None, None), ThreadPoolExecutor(16)


async def function_form(ids: range) -> list[GetVisualizationJobResult | None]:
    outputs = [get_visualization_job_output(job_id=i) for i in ids]
    results = [await output.future() for output in outputs]
    assert [r and r.job_id for r in results] == list(ids)  # None: an unknown, never in a mocked run
    return results


async def other_way(way: str, ids: range) -> None:
    if way == "client":
        assert [job.job_id for job in threads.map(client.get_visualization_job, ids)] == list(ids)
    elif way == "direct":
        assert [get_visualization_job(job_id=i).job_id for i in ids] == list(ids)
    else:  # "floor": the direct loop, each result then an SDK Output awaited in turn, as an _output form's
        loop = asyncio.get_running_loop()
        known = loop.create_future()
        known.set_result(True)
        outputs: list[pulumi.Output[GetVisualizationJobResult]] = []
        for i in ids:
            done = loop.create_future()
            done.set_result(get_visualization_job(job_id=i))
            outputs.append(pulumi.Output(set(), done, known))
        assert [(job := await output.future()) and job.job_id for output in outputs] == list(ids)


async def measure(read: Callable[[range], Awaitable[object]], ids: range) -> dict[str, float]:
    control(client.endpoint, "stats")  # the server forgets its peak so far
    wall, cpu = time.perf_counter(), time.process_time()
    await read(ids)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"wall": wall, "cpu": cpu, "peak": control(client.endpoint, "stats")["peak"]}


async def scenario() -> Mapping[str, object]:
    if spec["scenario"] == "memory":
        kept = await function_form(range(1, spec["first"] + 1))
        first = proc_kib("VmHWM")
        kept += await function_form(range(spec["first"] + 1, spec["count"] + 1))
        return {"first_kib": first, "all_kib": proc_kib("VmHWM"), "kept": len(kept)}
    ids = range(1, spec["count"] + 1)
    ways = ["function", *spec["others"]]
    blocks: dict[str, list[dict[str, float]]] = {way: [] for way in ways}
    for block in range(spec["blocks"]):
        for way in ways[block % len(ways) :] + ways[: block % len(ways)]:
            read = function_form if way == "function" else partial(other_way, way)
            blocks[way].append(await measure(read, ids))
    return blocks


pulumi.export("result", pulumi.Output.from_input(asyncio.ensure_future(scenario())))
