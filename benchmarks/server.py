"""A loopback ModelArts stand-in that does no work beyond answering: ``python -m benchmarks.server``.

It verifies no signature and no token, so the client under test keeps both cores to itself. Any
``GET .../visualization-jobs/<id>`` is answered with a job of that ID (``job-<id>``; 197 is the
sample job); ``/control/latency/<seconds>`` holds every later answer back that long, and
``/control/stats`` answers (and resets) the requests seen, the most answered at once, and the
``time.monotonic()`` of the first and last arrival (system-wide on Linux, so comparable between
processes). Runs in a process of its own (asyncio, one thread); prints its port, then serves.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time

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


def job_name(job_id: int) -> str:
    """The name this server gives job ``job_id``."""
    return str(SAMPLE["job_name"]) if job_id == 197 else f"job-{job_id}"


def _reply(document: object, status: str = "200 OK") -> bytes:
    body = json.dumps(document).encode()
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


class _Stats:
    latency = 0.0
    seen = in_flight = peak = 0
    first = last = 0.0

    def reset(self) -> dict[str, float]:
        out = {"requests": self.seen, "peak": self.peak, "first": self.first, "last": self.last}
        self.seen = self.peak = 0
        return out


STATS = _Stats()


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
        control = _CONTROL.match(head)
        if control:
            what = control.group(1).decode()
            if what.startswith("latency/"):
                STATS.latency = float(what.split("/")[1])
            self.transport.write(_reply(STATS.reset() if what == "stats" else {}))
            return
        now = time.monotonic()
        STATS.first, STATS.last = (STATS.first if STATS.seen else now), now
        STATS.seen += 1
        job = _JOB.match(head)
        reply = (
            _reply({**SAMPLE, "job_id": int(job.group(1)), "job_name": job_name(int(job.group(1)))})
            if job
            else _reply({"error_code": "APIG.0101", "error_msg": "no such API"}, "404 Not Found")
        )
        STATS.in_flight += 1
        STATS.peak = max(STATS.peak, STATS.in_flight)
        if STATS.latency:
            asyncio.get_running_loop().call_later(STATS.latency, self._send, reply)
        else:
            self._send(reply)

    def _send(self, reply: bytes) -> None:
        STATS.in_flight -= 1
        if not self.transport.is_closing():
            self.transport.write(reply)


async def _serve() -> None:
    server = await asyncio.get_running_loop().create_server(_Connection, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    sys.exit(asyncio.run(_serve()))
