"""Figure 1: import time and process start to first result, against ``import pulumi`` and the peer.

Every number is the median over fresh interpreters spawned round-robin (so drift hits every
command alike), after two warm-up rounds that fill the page cache. ``-I`` keeps the current
directory and ``PYTHON*`` variables out of every import-time command, ours and the peer's.
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

from .common import (
    BIN_DIR,
    REPO_ROOT,
    SECRET_CONFIG_KEYS,
    clean_env,
    median,
    ms,
    run_ok,
    sample_emulator,
    time_commands,
)
from .peer_venv import PROBE, peer_python
from .report import Section, ratio, verdict

IMPORT_RUNS = 21
IMPORTTIME_RUNS = 7
COLD_RUNS = 15
SERVER_RUNS = 10
#: The issue's target: what a resource-only program pays on top of ``import pulumi``.
RESOURCE_IMPORT_BUDGET_MS = 60.0

OURS = {
    "interpreter only (-c pass)": "pass",
    "import pulumi (floor)": "import pulumi",
    "import pulumi + pulumi.dynamic": "import pulumi, pulumi.dynamic",
    "resource form: pulumi + VisualizationJob": (
        "import pulumi\nfrom pulumi_modelarts import VisualizationJob"
    ),
    "function form: pulumi + what the first read loads": (
        "import pulumi\nfrom pulumi_modelarts import get_visualization_job_output\n"
        "import pulumi_modelarts.client"
    ),
    "provider process: pulumi.dynamic + provider + runtime": (
        "import pulumi.dynamic\nimport pulumi_modelarts.provider, pulumi_modelarts.client"
    ),
    "import requests": "import requests",
    "HTTP client only: pulumi_modelarts.client": "import pulumi_modelarts.client",
}
PEER_IMPORT = "import openstack\nimport otcextensions.sdk"
PEER_NAME = "peer: openstack + otcextensions.sdk"
_IMPORTTIME = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def _top_level_us(stderr: str, prefix: str | None) -> int:
    """Sum of cumulative µs of top-level imports (those whose name starts with ``prefix``)."""
    total = 0
    for line in stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match and len(match.group(3)) == 1 and (prefix is None or match.group(4).startswith(prefix)):
            total += int(match.group(2))
    return total


def _importtime_ms(python: str, code: str, prefix: str | None, runs: int) -> float:
    import subprocess

    values = []
    for _ in range(runs):
        done = subprocess.run(
            [python, "-I", "-X", "importtime", "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env=clean_env(),
        )
        values.append(_top_level_us(done.stderr, prefix) / 1000)
    return median(values)


def imports(quick: bool) -> Section:
    runs = 7 if quick else IMPORT_RUNS
    peer, reason = peer_python()
    commands = {name: [sys.executable, "-I", "-c", code] for name, code in OURS.items()}
    if peer is not None:
        commands[PEER_NAME] = [str(peer), "-I", "-c", PEER_IMPORT]
    samples = time_commands(commands, runs, env=clean_env(), cwd=REPO_ROOT)
    wall = {name: ms(median(values)) for name, values in samples.items()}
    low = {name: ms(min(values)) for name, values in samples.items()}

    it_runs = 3 if quick else IMPORTTIME_RUNS
    resource_it = _importtime_ms(sys.executable, OURS[list(OURS)[3]], "pulumi_modelarts", it_runs)
    function_it = _importtime_ms(sys.executable, OURS[list(OURS)[4]], "pulumi_modelarts", it_runs)
    client_it = _importtime_ms(
        sys.executable, OURS["HTTP client only: pulumi_modelarts.client"], None, it_runs
    )
    peer_it = _importtime_ms(str(peer), PEER_IMPORT, None, it_runs) if peer is not None else None

    def paired(name: str, base: str) -> float:
        """Median of the per-round differences: robust to drift between rounds."""
        return ms(median(a - b for a, b in zip(samples[name], samples[base], strict=True)))

    section = Section(
        f"1a. Import time (wall ms of `python -I -c`, median of {runs} fresh processes each, interleaved)",
        ["import", "median ms", "min ms", "baseline", "over baseline ms (paired median)", "ratio"],
    )
    baselines = {
        "resource form: pulumi + VisualizationJob": "import pulumi (floor)",
        "function form: pulumi + what the first read loads": "import pulumi (floor)",
        "provider process: pulumi.dynamic + provider + runtime": "import pulumi + pulumi.dynamic",
        "import pulumi + pulumi.dynamic": "import pulumi (floor)",
        "HTTP client only: pulumi_modelarts.client": PEER_NAME if peer is not None else "import requests",
        "import requests": "interpreter only (-c pass)",
        "import pulumi (floor)": "interpreter only (-c pass)",
    }
    for name in [*OURS, PEER_NAME]:
        if name not in wall:
            section.add(name, f"not measured: {reason}", None, None, None, None)
            continue
        base = baselines.get(name)
        if base is None or base not in wall:
            section.add(name, wall[name], low[name], None, None, None)
        else:
            section.add(name, wall[name], low[name], base, paired(name, base), ratio(wall[name], wall[base]))
    added_wall = paired("resource form: pulumi + VisualizationJob", "import pulumi (floor)")
    section.notes.append(
        f"`-X importtime` (median of {it_runs}), cumulative ms of the top-level `pulumi_modelarts` imports "
        f"after `import pulumi`: resource form {resource_it:.1f} ms, function form (first read) "
        f"{function_it:.1f} ms. Whole import of the HTTP client {client_it:.1f} ms"
        + (f" vs the peer's {peer_it:.1f} ms." if peer_it is not None else f"; peer not measured: {reason}.")
    )
    met = max(added_wall, resource_it) <= RESOURCE_IMPORT_BUDGET_MS
    section.notes.append(
        f"Target: resource form <= {RESOURCE_IMPORT_BUDGET_MS:.0f} ms over `import pulumi`: "
        f"{added_wall:.1f} ms (wall), {resource_it:.1f} ms (importtime) — {verdict(met)}."
    )
    section.data = {
        "runs": runs,
        "wall_ms": wall,
        "min_ms": low,
        "importtime_ms": {
            "resource_form_pulumi_modelarts": resource_it,
            "function_form_pulumi_modelarts": function_it,
            "client_total": client_it,
            "peer_total": peer_it,
        },
        "resource_form_over_pulumi_ms": added_wall,
        "target_met": met,
        "peer": reason,
    }
    return section


def first_result(quick: bool) -> Section:
    runs = 5 if quick else COLD_RUNS
    peer, reason = peer_python()
    section = Section(
        f"1b. Cold start: process start to first result (wall ms, median of {runs} fresh processes, "
        "loopback emulator, job 197)",
        ["client", "median ms", "min ms", "vs requests one-shot", "vs peer"],
    )
    with sample_emulator() as emulator:
        token = emulator.issue_token()
        url = f"{emulator.url}/v1/{emulator.project_id}/visualization-jobs/197"
        headers = repr({"X-Auth-Token": token, "Accept": "application/json"})
        commands = {
            "interpreter only (-c pass)": [sys.executable, "-I", "-c", "pass"],
            "stdlib urllib.request GET (token)": [
                sys.executable,
                "-I",
                "-c",
                "import urllib.request\n"
                f"r = urllib.request.urlopen(urllib.request.Request({url!r}, headers={headers}))\n"
                "assert r.status == 200 and r.read()",
            ],
            "requests one-shot GET (token)": [
                sys.executable,
                "-I",
                "-c",
                f"import requests\nr = requests.get({url!r}, headers={headers})\nassert r.ok and r.json()",
            ],
            "modelarts-vis get 197 (AK/SK)": [str(BIN_DIR / "modelarts-vis"), "get", "197"],
        }
        if peer is not None:
            commands["peer: otcextensions get_visualization_job"] = [
                str(peer),
                "-I",
                str(PROBE),
                "cold",
                emulator.url,
                emulator.project_id,
                token,
                "197",
            ]
        env = clean_env(emulator.environ("aksk"))
        samples = time_commands(commands, runs, env=env, cwd=REPO_ROOT)
    wall = {name: ms(median(values)) for name, values in samples.items()}
    low = {name: ms(min(values)) for name, values in samples.items()}
    requests_ms = wall["requests one-shot GET (token)"]
    peer_ms = wall.get("peer: otcextensions get_visualization_job")
    for name in commands:
        section.add(
            name,
            wall[name],
            low[name],
            ratio(wall[name], requests_ms),
            ratio(wall[name], peer_ms) if peer_ms else None,
        )
    if peer is None:
        section.add("peer: otcextensions get_visualization_job", f"not measured: {reason}", None, None, None)
    server = _provider_server_first_read(3 if quick else SERVER_RUNS)
    section.add(
        "provider server: spawn → GetPluginInfo answered", server["ready_ms"], server["ready_min"], None, None
    )
    section.add(
        "provider server: spawn → Configure → first Read answered",
        server["read_ms"],
        server["read_min"],
        None,
        None,
    )
    section.notes.append(
        f"Provider server rows: median of {server['runs']} spawns of `python -m pulumi.dynamic` through "
        f"tests/harness ProviderServer; the first Read adds {server['read_ms'] - server['ready_ms']:.0f} ms "
        "to the SDK server's own start (unpickling the provider, importing the client, one AK/SK GET)."
    )
    section.data = {"runs": runs, "wall_ms": wall, "min_ms": low, "provider_server": server, "peer": reason}
    return section


def _provider_server_first_read(runs: int) -> dict[str, float]:
    from pulumi_modelarts.provider import VisualizationJobProvider
    from tests.harness import ProviderServer, serialized_provider, urn_for

    provider = serialized_provider(VisualizationJobProvider())
    ready: list[float] = []
    first_read: list[float] = []
    with sample_emulator() as emulator, tempfile.TemporaryDirectory() as cwd:
        config = emulator.stack_config()
        inputs = {"job_id": 197, "__provider": provider}
        for index in range(runs * 2):
            started = time.perf_counter()
            with ProviderServer(Path(cwd), clean_env(), project="bench") as server:
                server.get_plugin_info()
                answered = time.perf_counter()
                if index % 2:
                    server.configure(config, SECRET_CONFIG_KEYS)
                    read = server.read(urn_for("job"), "197", inputs, inputs)
                    assert read.outputs["job_name"] == "apiTest-11", read
                    first_read.append(time.perf_counter() - started)
                else:
                    ready.append(answered - started)
    return {
        "runs": runs,
        "ready_ms": ms(median(ready)),
        "ready_min": ms(min(ready)),
        "read_ms": ms(median(first_read)),
        "read_min": ms(min(first_read)),
    }


def run(quick: bool = False) -> list[Section]:
    return [imports(quick), first_result(quick)]


if __name__ == "__main__":
    for result in run(quick="--quick" in sys.argv):
        print(result.render())
    _ = run_ok  # re-exported helper kept for symmetry with other figures
