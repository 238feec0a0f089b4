"""A loopback ModelArts stand-in that answers and does nothing else: ``python -m benchmarks.server``.

It verifies no signature and no token, so the client under test keeps both cores to itself. Any
``GET .../visualization-jobs/<id>`` gets job 197's fields under that ID; ``/control/latency/<s>``
holds every later answer back that long, ``/control/stats`` answers (and resets) the most requests
answered at once. One asyncio thread in a process of its own; prints its port, then serves."""

from __future__ import annotations

import asyncio
import json
import re
import sys

SAMPLE = {
    "job_name": "apiTest-11",
    "job_desc": "ModelArts API Dialtest",
    "resource_id": "e17dd874-b5e0-4e9b-aaf0-22b045ad8571",
    "train_url": "/wph-test/zl-test/Flowers-Set/ApiTest/",
    "status": 8,
    "duration": 33000,
    "create_time": 1565149736000,
    "job_type": "TensorBoard",
    "flavor": {"code": "modelarts.vm.cpu.2u"},
}
_JOB = re.compile(rb"^GET \S*/visualization-jobs/(\d+) ")
_CONTROL = re.compile(rb"^GET /control/(latency/[0-9.]+|stats) ")


class _Stats:
    latency = 0.0
    in_flight = peak = 0


def _reply(document: object, status: str = "200 OK") -> bytes:
    body = json.dumps(document).encode()
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


class _Connection(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.pending = b""

    def data_received(self, data: bytes) -> None:
        self.pending += data
        while b"\r\n\r\n" in self.pending:
            head, _, self.pending = self.pending.partition(b"\r\n\r\n")
            self._answer(head)

    def _answer(self, head: bytes) -> None:
        if control := _CONTROL.match(head):
            what = control.group(1).decode()
            if what == "stats":
                self.transport.write(_reply({"peak": _Stats.peak}))
                _Stats.peak = 0
            else:
                _Stats.latency = float(what.split("/")[1])
                self.transport.write(_reply({}))
            return
        if job := _JOB.match(head):
            job_id = int(job.group(1))
            name = SAMPLE["job_name"] if job_id == 197 else f"job-{job_id}"
            reply = _reply({**SAMPLE, "job_id": job_id, "job_name": name})
        else:
            reply = _reply({"error_code": "APIG.0101", "error_msg": "no such API"}, "404 Not Found")
        _Stats.in_flight += 1
        _Stats.peak = max(_Stats.peak, _Stats.in_flight)
        if _Stats.latency:
            asyncio.get_running_loop().call_later(_Stats.latency, self._send, reply)
        else:
            self._send(reply)

    def _send(self, reply: bytes) -> None:
        _Stats.in_flight -= 1
        if not self.transport.is_closing():
            self.transport.write(reply)


async def _serve() -> None:
    server = await asyncio.get_running_loop().create_server(_Connection, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    sys.exit(asyncio.run(_serve()))
