"""Figure 2: what a fresh process pays before its first result. Every command is spawned once per
round, round-robin after a warm-up round (``-I`` keeps the current directory and ``PYTHON*``
variables out), against ``benchmarks.server``; the provider row times a ``python -m pulumi.dynamic``
(tests/harness) from spawn to ``GetPluginInfo``, and on to ``Configure`` and a first ``Read``."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import common
from .common import Section, Spread, Target, clean_env, client_environ, server, stack_config

RESOURCE_BUDGET_MS, CLI_LIMIT, FIRST_READ_BUDGET_MS = 60.0, 1.5, 120.0
RESOURCE, CLIENT = "+ VisualizationJob (resource form)", "+ the HTTP client (pulumi_modelarts.client)"
GET, CLI, READ = "one requests.get", "modelarts-vis get 197", "provider: + Configure, first Read"
IMPORTS = {
    "import pulumi": "import pulumi",
    RESOURCE: "import pulumi\nfrom pulumi_modelarts import VisualizationJob",
    "import requests": "import requests",
    CLIENT: "import requests, pulumi_modelarts.client",
}


def spawn_rounds(commands: dict[str, list[str]], rounds: int, env: dict[str, str]) -> dict[str, list[float]]:
    """Wall seconds of each command, spawned once per round, round-robin, after one warm-up round."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(rounds + 1):
        for name, argv in commands.items():
            started = time.perf_counter()
            subprocess.run(argv, env=env, cwd=common.REPO_ROOT, capture_output=True, check=True)
            if round_:
                samples[name].append(time.perf_counter() - started)
    return samples


def _importtime_ms(code: str, prefix: str, runs: int) -> Spread:
    """Cumulative ms of the top-level imports named ``prefix...`` by ``-X importtime``."""
    values = []
    for _ in range(runs):
        argv = [sys.executable, "-I", "-X", "importtime", "-c", code]
        err = subprocess.run(argv, capture_output=True, text=True, check=True).stderr
        found = re.findall(rf"^import time:\s+\d+ \|\s+(\d+) \| {re.escape(prefix)}\S*$", err, re.MULTILINE)
        values.append(sum(int(us) for us in found) / 1000)
    return Spread(values)


def _provider_first_read(url: str, runs: int) -> tuple[list[float], list[float]]:
    from pulumi_modelarts.provider import VisualizationJobProvider
    from tests.harness import ProviderServer, serialized_provider, urn_for

    config, keys = stack_config(client_environ(url)), ("modelarts:accessKey", "modelarts:secretKey")
    inputs = {"job_id": 197, "__provider": serialized_provider(VisualizationJobProvider())}
    ready, first_read = [], []
    with tempfile.TemporaryDirectory() as cwd:
        for round_ in range(runs + 1):
            started = time.perf_counter()
            with ProviderServer(Path(cwd), clean_env(), project="bench") as process:
                process.get_plugin_info()
                answered = time.perf_counter()
                process.configure(config, keys)
                assert process.read(urn_for("job"), "197", inputs, inputs).outputs["job_name"] == "apiTest-11"
                if round_:
                    ready.append(answered - started)
                    first_read.append(time.perf_counter() - started)
    return ready, first_read


def run(quick: bool = False) -> Section:
    rounds = 5 if quick else 21
    section = Section(
        f"2. Cold start (wall ms; medians of {rounds} rounds of fresh processes, a round's pair together)",
        ["process", "median ms", "baseline", "baseline ms", "over baseline"],
    )
    commands = {name: [sys.executable, "-I", "-c", code] for name, code in IMPORTS.items()}
    with server() as url:
        job_url = f"{url}/v1/{client_environ(url)['HW_PROJECT_ID']}/visualization-jobs/197"
        get = f"import requests\nassert requests.get({job_url!r}, headers={{'X-Auth-Token': 't'}}).json()"
        commands[GET] = [sys.executable, "-I", "-c", get]
        commands[CLI] = [str(common.BIN_DIR / "modelarts-vis"), "get", "197"]  # AK/SK, like the provider
        wall = spawn_rounds(commands, rounds, clean_env(client_environ(url)))
        ready, first_read = _provider_first_read(url, 3 if quick else 11)
    ms = {name: [seconds * 1000 for seconds in values] for name, values in wall.items()}
    plugin = [seconds * 1000 for seconds in ready]
    ms[READ] = [seconds * 1000 for seconds in first_read]

    def over(name: str, base: list[float], label: str, ratio: bool = False) -> Spread:
        figure = Spread([a / b if ratio else a - b for a, b in zip(ms[name], base, strict=True)])
        shown = figure.show() if ratio else figure.show(" ms", 1)
        section.add(name, Spread(ms[name]).median, label, Spread(base).median, shown)
        return figure

    resource = over(RESOURCE, ms["import pulumi"], "import pulumi")
    over(CLIENT, ms["import requests"], "import requests")
    cli = over(CLI, ms[GET], GET, ratio=True)
    added = over(READ, plugin, "spawn to GetPluginInfo")
    section.targets += [
        Target.limit("resource form: import over `import pulumi`", resource, RESOURCE_BUDGET_MS, " ms", 1),
        Target.limit("CLI `get` vs a one-`requests.get` process", cli, CLI_LIMIT),
        Target.limit("provider: first Read over GetPluginInfo", added, FIRST_READ_BUDGET_MS, " ms", 0),
    ]
    runs = 3 if quick else 9
    resource_it = _importtime_ms(IMPORTS[RESOURCE], "pulumi_modelarts", runs).show(" ms", 1)
    client_it = _importtime_ms("import pulumi_modelarts.client", "", runs).show(" ms", 1)
    section.notes.append(
        f"`-X importtime` ({runs} runs): the resource form's own imports after `import pulumi`: "
        f"{resource_it}; `import pulumi_modelarts.client`, everything it loads, {client_it}."
    )
    section.data = {"ms": ms, "provider_ready_ms": plugin}
    return section
