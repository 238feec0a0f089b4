"""The program behind figure 3, run under mocks by ``tests.programs`` against ``benchmarks.server``.

``bench:spec`` (JSON) names a scenario. After one warm-up read (imports, settings, connections),
a task takes turns between blocks of ``count`` reads through ``get_visualization_job_output``
(all issued at once, then each awaited in turn: how a program combines them, with
``Output.all`` say, is the program's cost, not the package's) and the same reads made another
way: ``client`` (``ModelArtsClient.read_job`` on 16 plain threads) or ``direct``
(``get_visualization_job`` in a loop). Each block records its wall and CPU seconds (every
thread of this process) and the server's count of requests answered at once. ``memory`` reads
``first`` jobs and then the rest of ``count``, recording the peak RSS after each. The result is
the stack output ``result``.
"""

import asyncio
import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pulumi

from pulumi_modelarts import get_visualization_job, get_visualization_job_output
from pulumi_modelarts.functions import _client

spec = json.loads(pulumi.Config("bench").require("spec"))
get_visualization_job(job_id=1)
client, threads = _client(None, None, None), ThreadPoolExecutor(16)


def server_peak() -> int:
    """The most requests the server answered at once since it was last asked (then it forgets)."""
    connection = http.client.HTTPConnection(urlsplit(client.endpoint).netloc)
    connection.request("GET", "/control/stats")
    peak = int(json.loads(connection.getresponse().read())["peak"])
    connection.close()
    return peak


def peak_rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


async def function_form(ids: range) -> list[object]:
    outputs = [get_visualization_job_output(job_id=i) for i in ids]
    results = [await output.future() for output in outputs]
    assert [r.job_id for r in results] == list(ids)  # type: ignore[union-attr]
    return results  # type: ignore[return-value]


async def other_way(way: str, ids: range) -> None:
    if way == "client":
        assert [job.job_id for job in threads.map(client.read_job, ids)] == list(ids)
    else:
        assert [get_visualization_job(job_id=i).job_id for i in ids] == list(ids)


async def measure(read: object, ids: range) -> dict[str, float]:
    server_peak()
    wall, cpu = time.perf_counter(), time.process_time()
    await read(ids)  # type: ignore[operator]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"wall": wall, "cpu": cpu, "peak": server_peak()}


async def scenario() -> dict[str, object]:
    if spec["scenario"] == "memory":
        kept = await function_form(range(1, spec["first"] + 1))
        first = peak_rss_kib()
        kept += await function_form(range(spec["first"] + 1, spec["count"] + 1))
        return {"first_kib": first, "all_kib": peak_rss_kib(), "kept": len(kept)}
    ids = range(1, spec["count"] + 1)
    blocks: dict[str, list[dict[str, float]]] = {"function": [], spec["other"]: []}
    for block in range(spec["blocks"]):
        ways = ["function", spec["other"]][:: 1 if block % 2 else -1]
        for way in ways:
            read = function_form if way == "function" else lambda ids, way=way: other_way(way, ids)
            blocks[way].append(await measure(read, ids))
    return blocks


pulumi.export("result", pulumi.Output.from_input(asyncio.ensure_future(scenario())))
