"""Figure 2: warm per-read cost of ``ModelArtsClient.get_visualization_job`` against bare HTTP.

All clients read job 197 from the same in-process loopback emulator (its handling time is in
every row alike). Calls are timed one by one with ``perf_counter``; each client gets 200
warm-up calls, then ``ROUNDS`` rounds of ``PER_ROUND`` calls, the clients taking turns per round.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import requests

from pulumi_modelarts.client import ModelArtsClient
from pulumi_modelarts.settings import Settings

from .common import clean_env, median, ms, quantile, sample_emulator
from .peer_venv import PROBE, peer_python
from .report import Section, ratio, verdict

WARMUP = 200
ROUNDS = 5
PER_ROUND = 250
TARGET_RATIO = 1.3


def _timed(call: Callable[[], object], count: int, into: list[float]) -> None:
    clock = time.perf_counter
    for _ in range(count):
        started = clock()
        call()
        into.append(clock() - started)


_OWN_PROCESS = """
import json, statistics, sys, time
from pulumi_modelarts.client import ModelArtsClient
from pulumi_modelarts.settings import Settings
client = ModelArtsClient(Settings.from_sources())
count = int(sys.argv[1])
for _ in range(200):
    client.get_visualization_job(197)
times = []
for _ in range(count):
    started = time.perf_counter()
    client.get_visualization_job(197)
    times.append(time.perf_counter() - started)
print(json.dumps(statistics.median(times) * 1000))
"""


def _own_process_ms(environ: dict[str, str], count: int) -> float:
    """Our client in a process of its own, as the peer runs: the emulator is not in its GIL."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _OWN_PROCESS, str(count)],
        capture_output=True,
        text=True,
        check=True,
        env=clean_env(environ),
    )
    return float(done.stdout)


def run(quick: bool = False) -> list[Section]:
    rounds = 2 if quick else ROUNDS
    with sample_emulator() as emulator:
        token = emulator.issue_token()
        url = f"{emulator.url}/v1/{emulator.project_id}/visualization-jobs/197"
        headers = {"X-Auth-Token": token, "Accept": "application/json", "User-Agent": "bench"}
        token_client = ModelArtsClient(
            Settings.from_sources(environ={**emulator.environ("token"), "HW_AUTH_TOKEN": token})
        )
        aksk_client = ModelArtsClient(Settings.from_sources(environ=emulator.environ("aksk")))
        password_client = ModelArtsClient(Settings.from_sources(environ=emulator.environ("password")))
        session = requests.Session()
        strict = requests.Session()
        strict.trust_env = False  # no proxy/netrc lookups per call: the fastest requests can be
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(parts.netloc)

        def raw_http() -> object:
            connection.request("GET", parts.path, headers=headers)
            response = connection.getresponse()
            return json.loads(response.read())

        calls: dict[str, Callable[[], object]] = {
            "http.client keep-alive GET + json.loads (floor)": raw_http,
            "requests.Session().get + .json() (keep-alive)": lambda: session.get(url, headers=headers).json(),
            "requests.Session(trust_env=False).get + .json() (keep-alive)": lambda: strict.get(
                url, headers=headers
            ).json(),
            "requests.get + .json() (bare, new connection per call)": lambda: requests.get(  # noqa: S113 - the bare call, as users write it
                url, headers=headers
            ).json(),
            "ModelArtsClient.get_visualization_job, token": lambda: token_client.get_visualization_job(197),
            "ModelArtsClient.get_visualization_job, IAM password token": lambda: (
                password_client.get_visualization_job(197)
            ),
            "ModelArtsClient.get_visualization_job, AK/SK signed": lambda: aksk_client.get_visualization_job(
                197
            ),
        }
        samples: dict[str, list[float]] = {name: [] for name in calls}
        for call in calls.values():
            _timed(call, WARMUP, [])
        for _ in range(rounds):
            for name, call in calls.items():
                _timed(call, PER_ROUND, samples[name])
        peer, reason = peer_python()
        peer_ms: float | None = None
        if peer is not None:
            import subprocess

            done = subprocess.run(
                [
                    str(peer),
                    "-I",
                    str(PROBE),
                    "warm",
                    emulator.url,
                    emulator.project_id,
                    token,
                    "197",
                    str(rounds * PER_ROUND),
                    str(WARMUP),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode == 0:
                peer_ms = float(json.loads(done.stdout)["median_ms"])
            else:
                reason = done.stderr.strip().splitlines()[-1][:160] if done.stderr.strip() else "failed"
        own_ms = _own_process_ms(emulator.environ("token") | {"HW_AUTH_TOKEN": token}, rounds * PER_ROUND)
        connection.close()
        strict.close()
        session.close()
        for client in (token_client, aksk_client, password_client):
            client.close()

    med = {name: ms(median(values)) for name, values in samples.items()}
    p90 = {name: ms(quantile(values, 0.9)) for name, values in samples.items()}
    keep_alive = med["requests.Session(trust_env=False).get + .json() (keep-alive)"]
    bare = med["requests.get + .json() (bare, new connection per call)"]
    section = Section(
        f"2. Warm per-read cost (median of {rounds * PER_ROUND} calls each after {WARMUP} warm-ups, µs)",
        ["client", "median µs", "p90 µs", "vs Session(trust_env=False)", "vs bare requests.get"],
    )
    for name in calls:
        section.add(
            name, med[name] * 1000, p90[name] * 1000, ratio(med[name], keep_alive), ratio(med[name], bare)
        )
    section.add(
        "ModelArtsClient, token (own process, like the peer)",
        own_ms * 1000,
        None,
        ratio(own_ms, keep_alive),
        ratio(own_ms, bare),
    )
    if peer_ms is not None:
        section.add(
            "peer: otcextensions get_visualization_job (own process)",
            peer_ms * 1000,
            None,
            ratio(peer_ms, keep_alive),
            ratio(peer_ms, bare),
        )
    else:
        section.add("peer: otcextensions get_visualization_job", f"not measured: {reason}", None, None, None)
    ours = med["ModelArtsClient.get_visualization_job, token"]
    met = ours <= TARGET_RATIO * keep_alive
    section.notes.append(
        f"Target: warm read <= {TARGET_RATIO}x a bare `requests` GET with the same headers. Against the "
        "fastest `requests` set-up, a keep-alive `Session` with `trust_env=False` (the strict reading): "
        f"{ours / keep_alive:.2f}x — {verdict(met)}; against "
        f"module-level `requests.get` (new connection per call): {ours / bare:.2f}x. Our reads also validate "
        "the body into a typed model and check the job ID; the bare calls only `json.loads`."
    )
    section.data = {
        "calls_each": rounds * PER_ROUND,
        "warmup": WARMUP,
        "median_ms": med,
        "p90_ms": p90,
        "peer_median_ms": peer_ms,
        "peer": reason,
        "own_process_median_ms": own_ms,
        "ratio_vs_session": ours / keep_alive,
        "ratio_vs_bare_get": ours / bare,
        "target_met": met,
    }
    return [section]


if __name__ == "__main__":
    import sys

    for result in run(quick="--quick" in sys.argv):
        print(result.render())
