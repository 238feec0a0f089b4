"""Soak: many reads over 8 threads sharing one client, with 5 % random faults.

Before each read a thread injects, with probability 5 %, one random fault on the next
``get_job`` request (any thread's: the fault queue is shared, which is the point). Transient
faults (429, 500 ModelArts.5039, 502 HTML, 503, reset, dropped connection) must be retried into
a correct result; permanent ones (truncated or ill-typed body, another job's body) must give a
typed error. Every 2,000 reads one thread expires every IAM token. The client uses IAM
password auth, so token renewal runs under concurrency.

Memory: ``VmRSS`` of this process (client *and* emulator) after the first 10 % of the reads
(every thread, session and connection exists by then) against the end. The emulator's request
log is drained as it goes, so it does not grow.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from benchmarks.common import add_jobs, proc_status
from benchmarks.report import Section, verdict

from pulumi_modelarts.emulator import ModelArtsEmulator

from .checks import LeakScanner, Tally, mismatches
from .env import client_for, new_emulator

THREADS = 8
FAULT_RATE = 0.05
EXPIRE_EVERY = 2000
RSS_BUDGET = 0.10
HTML = "<html><body>502 Bad Gateway</body></html>"
FAULTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("429 Retry-After 0", {"status": 429, "error_code": "APIG.0308", "retry_after": 0}),
    ("500 ModelArts.5039", {"status": 500, "error_code": "ModelArts.5039"}),
    ("502 HTML", {"status": 502, "body": HTML, "content_type": "text/html"}),
    ("503", {"status": 503, "error_code": "ModelArts.4302"}),
    ("reset", {"reset": True}),
    ("dropped", {"drop": True}),
    ("truncated JSON", {"truncate": True}),
    ("wrong types", {"body": json.dumps({"job_id": 1, "job_name": 5, "status": "x"})}),
    ("another job's body", {"body": json.dumps({"job_id": 1, "job_name": "other", "status": 8})}),
)


def _drain(emulator: ModelArtsEmulator, counts: Counter[str]) -> None:
    """Move the request log into ``counts``."""
    records = emulator.drain_requests()
    counts.update(f"{record.route} {record.status}" for record in records)


def run(short: bool, scanner: LeakScanner) -> Section:
    reads = 800 if short else 20_000
    emulator = new_emulator()
    tally = Tally()
    injected: Counter[str] = Counter()
    requests: Counter[str] = Counter()
    rss: dict[str, int] = {}
    done = 0
    done_lock = threading.Lock()
    try:
        ids = [197, 212, *add_jobs(emulator, 48, "soak")]
        stored = {job_id: emulator.get_job(job_id) or {} for job_id in ids}
        client = client_for(emulator, "password", include_project=False)
        checkpoint = max(THREADS, reads // 10)

        def worker(seed: int) -> None:
            nonlocal done
            rng = random.Random(seed)
            for _ in range(reads // THREADS):
                if rng.random() < FAULT_RATE:
                    name, fault = rng.choice(FAULTS)
                    emulator.inject_fault("get_job", **fault)
                    with done_lock:
                        injected[name] += 1
                job_id = rng.choice(ids)
                try:
                    job = client.get_visualization_job(job_id)
                except Exception as exc:
                    tally.error(exc)
                    scanner.scan_error("soak", exc)
                else:
                    outputs = job.to_outputs(project_id=client.project_id, region=client.region)
                    wrong = mismatches(outputs, stored[job_id], emulator.project_id, emulator.region)
                    if wrong:
                        tally.bad(f"job {job_id}: {wrong}")
                    else:
                        tally.ok()
                with done_lock:
                    done += 1
                    count = done
                if count == checkpoint:
                    rss["warm"] = proc_status(os.getpid())["VmRSS"]
                if count % EXPIRE_EVERY == 0:
                    emulator.expire_tokens()
                if count % 500 == 0:
                    _drain(emulator, requests)

        started = time.monotonic()
        with scanner.capturing_logs("soak"), ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(worker, range(THREADS)))
        seconds = time.monotonic() - started
        rss["end"] = proc_status(os.getpid())["VmRSS"]
        scanner.scan("soak", repr(client))
        client.close()
    finally:
        emulator.stop()
    _drain(emulator, requests)
    growth = rss["end"] / rss["warm"] - 1
    section = Section(
        f"R3. Soak: {tally.total:,} reads, {THREADS} threads, one shared client (IAM password), "
        f"{FAULT_RATE:.0%} random faults",
        ["measure", "value"],
    )
    errors = ", ".join(f"{name} {n}" for name, n in sorted(tally.typed_errors.items())) or "0"
    section.add("reads", tally.total)
    section.add("correct results", tally.correct)
    section.add("typed errors (from permanent faults)", errors)
    section.add("wrong outputs", len(tally.wrong))
    section.add("unhandled exceptions", len(tally.unhandled))
    section.add(
        "faults injected",
        f"{sum(injected.values())} ({', '.join(f'{k} {v}' for k, v in sorted(injected.items()))})",
    )
    section.add(
        "GET requests / IAM token requests",
        f"{sum(n for k, n in requests.items() if k.startswith('get_job'))} / "
        f"{sum(n for k, n in requests.items() if k.startswith('iam_token'))}",
    )
    section.add("wall time s (reads per s)", f"{seconds:.1f} ({tally.total / seconds:.0f})")
    section.add(
        "RSS after 10 % of reads -> end (growth)",
        f"{rss['warm'] / 1024:.1f} -> {rss['end'] / 1024:.1f} MiB ({growth:+.1%})",
    )
    met = not tally.wrong and not tally.unhandled and growth < RSS_BUDGET
    section.notes.append(
        "Target: zero wrong outputs, zero unhandled exceptions, RSS growth under "
        f"{RSS_BUDGET:.0%} — {verdict(met)}. "
        "Typed errors are expected exactly for the permanent faults (a fault may be consumed by another "
        "thread's read, so the counts need not match one to one)."
    )
    section.data = {
        **tally.summary(),
        "threads": THREADS,
        "fault_rate": FAULT_RATE,
        "faults": dict(injected),
        "requests": dict(requests),
        "seconds": seconds,
        "rss_kib": rss,
        "rss_growth": growth,
        "target_met": met,
    }
    return section
