"""`make demo`: the quickstart stack against the bundled emulator, no cloud account needed.

With a working `pulumi` CLI it runs `pulumi up` on the quickstart as its own stack (`demo`, a
local file backend and Pulumi home in `.pulumi-demo/`, a fixed passphrase), so a cloud quickstart
on another stack is left alone, and prints `pulumi stack output --json`. Without one (not on PATH,
or `pulumi version` fails, hangs or prints no version number on stdout) it says why in one line and
runs the same program in this process under Pulumi's mocks, with the real provider reading the
emulator, and prints what `pulumi stack output --json` would print for it. So it does, leaving the
file alone, when `Pulumi.demo.yaml` holds settings the demo did not write (a stack of the user's own
named `demo`), which `pulumi config set` would change and `pulumi up` would read, and which
`make clean` (`demo.py --clean`) leaves too.
"""

from __future__ import annotations

import base64
import json
import os
import re
import runpy
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from pulumi_modelarts.emulator import SAMPLE_JOBS_PATH, ModelArtsEmulator
from pulumi_modelarts.settings import PROXY_VARIABLES

REPO = Path(__file__).resolve().parent.parent
DEMO_DIR = REPO / ".pulumi-demo"
STACK = "demo"
JOB_ID = "197"
PASSPHRASE = "modelarts-demo"  # noqa: S105 - protects nothing: the demo stack holds no secrets
INSTALL_URL = "https://www.pulumi.com/docs/iac/download-install/"
VERSION_TIMEOUT = 30.0
VERSION = re.compile(r"^v?\d+\.\d+\.\d+\S*$", re.MULTILINE)  # what `pulumi version` prints
CLOUD_VARIABLES = ("HW_", "OS_", "MODELARTS_", "PULUMI_CONFIG_PASSPHRASE")
#: The emulator's port when free: the endpoint is part of the demo stack's state, so a port that
#: changed between two runs would show the demo resource as replaced.
DEMO_PORT = 18197


def _run(command: list[str], env: dict[str, str]) -> None:
    """Run a `pulumi` command; on Ctrl-C, which the terminal sends it too, wait while it cancels
    cleanly (its state written, its plugins stopped) instead of killing it."""
    print(f"$ {shlex.join(command)}", flush=True)
    with subprocess.Popen(command, cwd=REPO, env=env) as process:
        try:
            code = process.wait()
        except KeyboardInterrupt:
            process.wait()  # a second Ctrl-C reaches it too: its own way to stop at once
            raise
    if code:
        raise subprocess.CalledProcessError(code, command)


def run_alone(
    command: list[str], env: dict[str, str], timeout: float, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` with stdin closed (a prompt ends at once instead of waiting) in a session of
    its own, so that one running past ``timeout`` is stopped with everything it started (the CLI's
    language host, program and provider processes) before ``TimeoutExpired`` is raised. A Ctrl-C
    that comes while it starts, before it can be stopped, is held until it can."""
    interrupted: list[object] = []
    previous = signal.signal(signal.SIGINT, lambda *_: interrupted.append(None))
    try:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except BaseException:
        signal.signal(signal.SIGINT, previous)
        raise
    with process:
        try:
            signal.signal(signal.SIGINT, previous)
            if interrupted:
                raise KeyboardInterrupt
            out, err = process.communicate(timeout=timeout)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):  # Ctrl-C does not reach its session
            os.killpg(process.pid, signal.SIGKILL)
            raise
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def cli_environ(env: dict[str, str], directory: Path, passphrase: str) -> dict[str, str]:
    """``env`` for a `pulumi` of its own in ``directory``: a local file backend and Pulumi home there
    (the user's logins, stacks and selected stack stay as they are), the passphrase from env (no
    prompt), and no update check or plugin download: the program needs only the plugins bundled
    with the CLI. Names as in pulumi/pulumi sdk/go/common/env/env.go (``PULUMI_`` + name)."""
    (directory / "state").mkdir(parents=True, exist_ok=True)
    return {
        **env,
        "PULUMI_BACKEND_URL": (directory / "state").as_uri(),
        "PULUMI_HOME": str(directory / "home"),
        "PULUMI_CONFIG_PASSPHRASE": passphrase,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    }


def working_pulumi(env: dict[str, str], timeout: float = VERSION_TIMEOUT) -> tuple[str | None, str]:
    """The `pulumi` on PATH if `pulumi version` prints a version number; otherwise None and why not.
    It runs alone (:func:`run_alone`): an npm shim that asks before it downloads gets no answer."""
    # One that cannot run (a download without its executable bit) is tried, and says why it failed.
    path = env.get("PATH")
    pulumi = shutil.which("pulumi", path=path) or shutil.which("pulumi", os.F_OK, path=path)
    if pulumi is None:
        return None, "the pulumi CLI is not on PATH"
    pulumi = os.path.abspath(pulumi)  # found through a relative entry (`node_modules/.bin`, or empty)
    asked = f"`{shlex.join([pulumi, 'version'])}`"
    try:
        done = run_alone([pulumi, "version"], env, timeout)
    except subprocess.TimeoutExpired:
        return None, f"{asked} did not answer within {timeout:.0f} s"
    except OSError as exc:
        return None, f"{asked} could not start ({exc.strerror or exc})"
    out, err = done.stdout, done.stderr
    said = [line.strip() for line in (err + out).splitlines() if line.strip()]
    # Quoted in one line as text: a terminal's escape sequences (colours, a cleared screen) escaped.
    last = "".join(c if c.isprintable() else repr(c)[1:-1] for c in said[-1][:200]) if said else ""
    if done.returncode != 0:
        return None, f"{asked} exited with {done.returncode}" + (f": {last}" if last else "")
    if not VERSION.search(out):
        return None, f"{asked} printed no version number on stdout" + (f": {last}" if last else "")
    return pulumi, ""


def foreign_stack_config(directory: Path = REPO) -> str:
    """Why the demo stack's config file in ``directory`` is not the demo's to write, or "": it holds
    more than the demo writes there (its ``jobId`` and the passphrase's ``encryptionsalt``)."""
    path = directory / f"Pulumi.{STACK}.yaml"
    try:
        settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        settings = "unreadable"
    project = yaml.safe_load((directory / "Pulumi.yaml").read_text(encoding="utf-8"))["name"]
    if settings is None or (
        isinstance(settings, dict)
        and set(settings) <= {"encryptionsalt", "config"}
        and settings.get("config") in (None, {}, {f"{project}:jobId": JOB_ID})
    ):
        return ""
    return f"{path.name} holds settings the demo did not write (your own stack {STACK}?), left as they are"


def clean(directory: Path = REPO) -> None:
    """`make clean`: the demo's state and Pulumi home, and its stack config unless that holds settings
    the demo did not write (a stack of the user's own named `demo`, whose salt and secrets it keeps)."""
    shutil.rmtree(directory / DEMO_DIR.name, ignore_errors=True)
    if reason := foreign_stack_config(directory):
        print(f"make clean: {reason}", file=sys.stderr)
    else:
        (directory / f"Pulumi.{STACK}.yaml").unlink(missing_ok=True)


def with_pulumi(pulumi: str, env: dict[str, str]) -> None:
    """The real thing: `pulumi up` on the quickstart's demo stack, then its outputs as JSON."""
    env = cli_environ(env, DEMO_DIR, PASSPHRASE)
    _run([pulumi, "stack", "select", "--create", STACK, "--non-interactive"], env)
    _run([pulumi, "config", "set", "jobId", JOB_ID, "--stack", STACK], env)
    _run([pulumi, "up", "--yes", "--skip-preview", "--non-interactive", "--stack", STACK], env)
    _run([pulumi, "stack", "output", "--json", "--stack", STACK], env)


def project_config(program_dir: Path, config: Mapping[str, str]) -> dict[str, str]:
    """The config the CLI runs the program in ``program_dir`` with: the `config:` its Pulumi.yaml
    declares (a project key's default, in the long or short form, or another package's value), under
    the stack's own ``config``; every key namespaced (a bare one is the project's) and every value
    text, a number, boolean, list or map as JSON (`mergeConfig` in pulumi/pulumi pkg/workspace)."""
    try:
        project = yaml.safe_load((program_dir / "Pulumi.yaml").read_text(encoding="utf-8"))
    except FileNotFoundError:
        project = {}
    name = project.get("name", "")
    merged: dict[str, str] = {}
    for key, entry in (project.get("config") or {}).items():
        if isinstance(entry, dict):
            entry = entry.get("value", entry.get("default"))
        if entry is not None:
            text = entry if isinstance(entry, str) else json.dumps(entry, separators=(",", ":"))
            merged[key if ":" in key else f"{name}:{key}"] = text
    return merged | {key if ":" in key else f"{name}:{key}": value for key, value in config.items()}


def stack_outputs(program_dir: Path, config: Mapping[str, str]) -> dict[str, Any]:
    """What `pulumi stack output --json` shows after `pulumi up` of the program in ``program_dir``.

    The program runs in this process under Pulumi's mocks. Each dynamic resource is served by its
    own provider (unpickled from ``__provider``, then Check and Create as on `pulumi up`); other
    resources keep their inputs. Like the CLI, top-level null outputs are left out and secret
    ones show as ``"[secret]"``.
    """
    import dill
    import pulumi
    from pulumi.dynamic import ConfigureRequest
    from pulumi.dynamic.config import Config
    from pulumi.runtime import rpc
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    project = yaml.safe_load((program_dir / "Pulumi.yaml").read_text(encoding="utf-8"))["name"]
    full_config = project_config(program_dir, config)

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
            inputs = dict(args.inputs)
            if "__provider" not in inputs:
                return f"{args.name}-id", inputs
            pickled = rpc.unwrap_rpc_secret(inputs.pop("__provider"))
            provider = dill.loads(base64.b64decode(pickled))  # noqa: S301 - this program's own provider
            provider.configure(ConfigureRequest(config=Config(raw_config=full_config, project_name=project)))
            checked = provider.check({}, inputs)
            if checked.failures:
                raise ValueError(
                    "; ".join(f"{failure.property}: {failure.reason}" for failure in checked.failures)
                )
            created = provider.create(checked.inputs)
            return created.id, created.outs

        def call(self, _args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
            return {}, None

    async def resolve(exports: dict[str, Any]) -> dict[str, Any]:
        shown: dict[str, Any] = {}
        for name, export in exports.items():
            output = pulumi.Output.from_input(export)
            value = await output.future()
            if value is not None:
                shown[name] = "[secret]" if await output.is_secret() else value
        return shown

    pulumi.runtime.set_mocks(Mocks(), project=project, stack=STACK, preview=False)
    pulumi.runtime.set_all_config(full_config)
    path = str(program_dir / "__main__.py")

    def program() -> None:
        runpy.run_path(path, run_name="__main__")

    cwd = os.getcwd()
    os.chdir(program_dir)  # as the language host runs it
    try:
        _sync_await(run_pulumi_func(program))
    finally:
        os.chdir(cwd)
    root = pulumi.runtime.get_root_resource()
    assert isinstance(root, pulumi.runtime.stack.Stack)
    return _sync_await(resolve(root.outputs))


def as_cli_json(value: Any) -> str:
    """JSON as the CLI prints it: keys sorted, two-space indent, UTF-8, and whole numbers without
    `.0` (the engine keeps every number as a float; Go prints 197.0 as 197)."""

    def plain(item: Any) -> Any:
        if isinstance(item, float) and item.is_integer():
            return int(item)
        if isinstance(item, dict):
            return {key: plain(inner) for key, inner in item.items()}
        if isinstance(item, list):
            return [plain(inner) for inner in item]
        return item

    return json.dumps(plain(value), indent=2, sort_keys=True, ensure_ascii=False)


def without_pulumi(reason: str) -> None:
    """No `pulumi up`: say why, then print the quickstart's stack outputs from an in-process run."""
    print(
        f"No `pulumi up` ran: {reason}. Printing what "
        f"`pulumi stack output --json` would print for the quickstart with jobId={JOB_ID}, "
        "from the same program run in-process against the emulator:",
        flush=True,
    )
    print(as_cli_json(stack_outputs(REPO, {"jobId": JOB_ID})), flush=True)


def start_emulator() -> ModelArtsEmulator:
    """The bundled emulator on :data:`DEMO_PORT`, or on any free port when that one is taken."""
    try:
        return ModelArtsEmulator.from_seed_file(SAMPLE_JOBS_PATH, port=DEMO_PORT).start()
    except OSError:
        return ModelArtsEmulator.from_seed_file(SAMPLE_JOBS_PATH).start()


def main() -> int:
    with start_emulator() as emulator:
        print(
            f"ModelArts emulator running at {emulator.url} with jobs "
            f"{', '.join(str(job['job_id']) for job in emulator.jobs())}",
            flush=True,
        )
        # Only the emulator's settings: cloud credentials of this shell must not be used.
        for key in [key for key in os.environ if key.startswith(CLOUD_VARIABLES)]:
            del os.environ[key]
        os.environ.update(emulator.environ(auth="aksk"))
        # Every read is of the loopback emulator, and the CLI needs no network here: a proxy set in
        # this shell (one the package could not use, SOCKS or malformed, included) plays no part.
        for key in {name for names in PROXY_VARIABLES.values() for name in names} & set(os.environ):
            del os.environ[key]
        env = dict(os.environ)
        pulumi, reason = working_pulumi(env)
        if pulumi is None:
            reason += f" (install the CLI from {INSTALL_URL})"
        else:
            reason = foreign_stack_config()
        try:
            if pulumi and not reason:
                with_pulumi(pulumi, env)
            else:
                without_pulumi(reason)
        except subprocess.CalledProcessError as exc:
            failed = shlex.join(map(str, exc.cmd))
            print(f"demo failed: `{failed}` exited with {exc.returncode}", file=sys.stderr)
            return 1
        except BrokenPipeError:
            raise
        except Exception as exc:  # the program's own error (e.g. pulumi.RunError): one line, no traceback
            print(f"demo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
    print("Emulator stopped.", flush=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--clean"]:
        clean()
        sys.exit(0)
    try:
        sys.exit(main())
    except BrokenPipeError:  # `make demo | head`: the reader took what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
    except KeyboardInterrupt:  # Ctrl-C: the emulator is stopped; one line, as modelarts-vis says it
        print("demo interrupted", file=sys.stderr)
        sys.exit(130)
