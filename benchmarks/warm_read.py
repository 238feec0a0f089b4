"""Figure 1: the warm per-read cost of ``ModelArtsClient`` against a plain ``requests`` GET (keep-alive,
``trust_env=False``, static headers, ``.json()``). Each run is a fresh process reading job 197 from
``benchmarks.server``, blocks of each kind of call taking turns; a run's ratio is the median of its
blocks' ratios."""

from __future__ import annotations

import json
import sys

from .common import Section, Spread, Target, blocks, clean_env, client_environ, paired, run_json, server

AKSK_OVER_BEARER, AKSK_OVER_GET, BEARER_OVER_GET = 1.10, 1.15, 1.3
GET, BEARER, AKSK = "requests GET, static headers", "ModelArtsClient, token", "ModelArtsClient, AK/SK signed"


def _one_run(url: str, count: int, per_block: int) -> dict[str, list[tuple[float, float]]]:
    """In the child: every kind of call, warmed up, then ``count`` blocks of each in turn."""
    import requests

    from pulumi_modelarts.client import ModelArtsClient
    from pulumi_modelarts.settings import Settings

    session = requests.Session()
    session.trust_env = False  # no proxy or netrc lookups per call: the fastest requests can be
    environ = client_environ(url, "token")
    headers = {"X-Auth-Token": environ["HW_AUTH_TOKEN"], "Accept": "application/json", "User-Agent": "bench"}
    job_url = f"{url}/v1/{environ['HW_PROJECT_ID']}/visualization-jobs/197"
    token = ModelArtsClient(Settings.from_sources(environ=environ))
    aksk = ModelArtsClient(Settings.from_sources(environ=client_environ(url, "aksk")))
    calls = {
        GET: lambda: session.get(job_url, headers=headers).json(),
        BEARER: lambda: token.get_visualization_job(197),
        AKSK: lambda: aksk.get_visualization_job(197),
    }
    blocks(calls, 3, per_block)  # warm-up: connections, caches
    return blocks(calls, count, per_block)


def run(quick: bool = False) -> Section:
    runs, count, per_block = (3, 10, 50) if quick else (9, 30, 100)
    with server() as url:
        argv = [sys.executable, "-m", "benchmarks.warm_read", url, str(count), str(per_block)]
        found = [run_json(argv, clean_env()) for _ in range(runs)]
    section = Section(
        f"1. Warm read (medians per call; {count} blocks x {per_block} calls in each of {runs} processes)",
        ["client", "wall us", "CPU us", "CPU vs requests GET", "wall vs requests GET"],
    )

    def ratio(name: str, base: str, column: int) -> Spread:
        return Spread([paired([b[column] for b in r[name]], [b[column] for b in r[base]]) for r in found])

    for name in (GET, BEARER, AKSK):
        wall, cpu = (
            Spread([Spread([b[i] * 1e6 for b in r[name]]).median for r in found]).median for i in (0, 1)
        )
        section.add(name, wall, cpu, ratio(name, GET, 1).show(), ratio(name, GET, 0).show())
    for what, column in (("CPU", 1), ("wall", 0)):
        section.targets += [
            Target.limit(f"AK/SK read vs token read, {what}", ratio(AKSK, BEARER, column), AKSK_OVER_BEARER),
            Target.limit(f"AK/SK read vs requests GET, {what}", ratio(AKSK, GET, column), AKSK_OVER_GET),
        ]
    bearer = ratio(BEARER, GET, 1)
    section.targets.append(Target.limit("token read vs requests GET, CPU", bearer, BEARER_OVER_GET))
    section.notes.append(
        "Our reads also check the body (UTF-8 JSON, size), validate it into a typed model and check the "
        "job ID, under a per-call deadline; the GET only parses the JSON."
    )
    section.data = {"runs": found}
    return section


if __name__ == "__main__":
    print(json.dumps(_one_run(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
