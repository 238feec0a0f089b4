"""Hostile servers and careless configuration: the classes of issue #7, each tried in variants.

Every class has an expected outcome per variant; a variant that ends otherwise is counted (and
named), never raised. The catalogues of hostile answers are the test suite's own
(``tests/hostile.py``), so a class the tests know is a class this suite tries.

* whitespace secrets: credentials from files and shells, with stray whitespace around them, read
  correctly (client; full form also through the provider server); control characters inside
  them are refused without being shown;
* issued-token echo and escaped echo: a server quoting the IAM token it issued, or the password,
  raw, JSON-escaped, URL- or HTML-encoded, cut short, in any header or body field;
* trickling and silent servers: every phase of a call, the deadline holds within 0.5 s;
* compression bombs: the body is refused and peak RSS grows by the 10 MiB cap and little more;
* foreign 404s: "not found" in any words but ModelArts' error codes never drops a job;
* non-finite numbers and alternate encodings: refused, never a wrong or foreign job.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import SECRET_CONFIG_KEYS, TESTS_DIR, clean_env, use_test_harness
from benchmarks.report import Section

from pulumi_modelarts.client import ModelArtsClient
from pulumi_modelarts.errors import ConfigurationError, InvalidResponseError, JobNotFoundError, ModelArtsError
from pulumi_modelarts.settings import CREDENTIAL_FIELDS, KEYS_BY_FIELD, Settings

from .checks import LeakScanner, mismatches
from .env import new_emulator

use_test_harness()
import hostile  # noqa: E402 - tests/ is importable only from here on

JOB = 197
TOLERANCE = 0.5
RSS_ALLOWANCE_MIB = 4.0
PADDINGS = ("\n", "\r\n", " ", "\t", "\n\n", " \r\n\t")
CONTROLS = ("\n", "\r", "\x00", "\x1b", "\x7f", "\x85", "\udcff")
#: Per auth mode, the credential variables that may arrive with stray whitespace.
PADDED = {
    "aksk": ("HW_ACCESS_KEY", "HW_SECRET_KEY"),
    "token": ("HW_AUTH_TOKEN",),
    "password": ("HW_USER_NAME", "HW_USER_PASSWORD", "HW_DOMAIN_NAME"),
}


@dataclass
class Outcomes:
    """Variants tried in one class, and the ones that did not end as expected."""

    tried: int = 0
    unexpected: list[str] = field(default_factory=list)
    figures: list[float] = field(default_factory=list)

    def record(self, variant: str, ok: bool, detail: str = "") -> None:
        self.tried += 1
        if not ok:
            self.unexpected.append(f"{variant}: {detail}"[:300])


def _attempt(scanner: LeakScanner, where: str, read: Callable[[], Any]) -> tuple[Any, BaseException | None]:
    """Run ``read``; scan any error for secrets; return the result or the error."""
    try:
        return read(), None
    except Exception as exc:
        scanner.scan_error(where, exc)
        return None, exc


def _raw_client(url: str, **overrides: Any) -> ModelArtsClient:
    return ModelArtsClient(hostile.settings_for(url, max_retries=0, **overrides))


# -- whitespace secrets --------------------------------------------------------------------------


def whitespace_secrets(short: bool, scanner: LeakScanner) -> Outcomes:
    """Credentials with stray whitespace read the right job; control characters are refused."""
    outcomes = Outcomes()
    emulator = new_emulator()
    try:
        paddings = PADDINGS[:2] if short else PADDINGS
        for auth, names in PADDED.items():
            for padding in paddings:
                for source in ("HW_ variables", "OS_ variables", "stack config"):
                    environ = emulator.environ(auth)
                    config: dict[str, str] = {}
                    for name in names:
                        key = next(k for k in KEYS_BY_FIELD.values() if k.env[0] == name)
                        value = environ.pop(name) + padding
                        if source == "HW_ variables":
                            environ[name] = value
                        elif source == "OS_ variables":
                            environ[key.env[-1]] = value
                        else:
                            config[key.config_key] = value
                    variant = f"{auth}, {padding!r}, {source}"
                    job, error = _attempt(
                        scanner,
                        "whitespace secrets",
                        lambda config=config, environ=environ: ModelArtsClient(
                            Settings.from_sources(stack_config=config, environ=environ)
                        ).get_visualization_job(JOB),
                    )
                    wrong = _wrong(job, emulator) if job is not None else [repr(error)]
                    outcomes.record(variant, not wrong, str(wrong))
        for field_name in CREDENTIAL_FIELDS[: 2 if short else None]:
            for control in CONTROLS[: 3 if short else None]:
                value = f"CANARY-head{control}tail-9f8e7d"
                _, error = _attempt(
                    scanner,
                    "control characters",
                    lambda name=field_name, value=value: Settings.from_sources(
                        args={name: value}, environ={}
                    ),
                )
                shown = str(error)
                ok = (
                    isinstance(error, ConfigurationError)
                    and "CANARY-head" not in shown
                    and "tail-9f8e" not in shown
                )
                outcomes.record(f"{field_name} with {control!r}", ok, shown)
    finally:
        emulator.stop()
    return outcomes


def _wrong(job: Any, emulator: Any) -> list[str]:
    outputs = job.to_outputs(project_id=emulator.project_id, region=emulator.region)
    return mismatches(outputs, emulator.get_job(JOB) or {}, emulator.project_id, emulator.region)


# -- echoed secrets ------------------------------------------------------------------------------


def echoed_secrets(secret: str, short: bool, scanner: LeakScanner) -> Outcomes:
    """A server quoting ``secret`` (the issued token or the password) in every place and form."""
    outcomes = Outcomes()
    echo = hostile.EchoServer()
    scanner.add_secret(hostile.ISSUED_TOKEN)
    scanner.add_secret(hostile.PASSWORD)
    places = list(hostile.ECHOES)[: 4 if short else None]
    with hostile.RawServer(echo) as raw:
        settings = hostile.EchoServer.settings(raw.url, hostile.PASSWORD + "\n")
        for place in places:
            echo.echo, echo.secret = hostile.ECHOES[place], secret
            _, error = _attempt(
                scanner, f"echo of {secret[:6]}", lambda: ModelArtsClient(settings).get_visualization_job(JOB)
            )
            text = f"{error} {error!r} {error.details() if isinstance(error, ModelArtsError) else ''}"
            found = hostile.leaks(text, secret)
            outcomes.record(
                place, isinstance(error, ModelArtsError) and not found, f"{found} in {text[:120]}"
            )
    return outcomes


# -- slow servers and bombs ----------------------------------------------------------------------


def _timed_failure(url: str, deadline: float) -> tuple[float, BaseException | None]:
    client = ModelArtsClient(hostile.settings_for(url, timeout=deadline, max_retries=5))
    started = time.monotonic()
    try:
        client.get_visualization_job(JOB)
    except Exception as exc:
        return time.monotonic() - started, exc
    finally:
        client.close()
    return time.monotonic() - started, None


def slow_servers(short: bool, scanner: LeakScanner) -> Outcomes:
    """Every slow or silent server at once, per deadline: the call ends within the tolerance."""
    outcomes = Outcomes()
    for deadline in () if short else (1.0, 2.5):  # the short form leaves them to tests/test_transport.py
        with contextlib.ExitStack() as stack:
            servers = {
                name: stack.enter_context(hostile.RawServer(script, scheme=scheme))
                for name, (script, scheme) in hostile.SLOW_SERVERS.items()
            }
            with ThreadPoolExecutor(len(servers)) as pool:
                urls = [server.url for server in servers.values()]
                results = list(pool.map(_timed_failure, urls, [deadline] * len(urls)))
        for name, (elapsed, error) in zip(servers, results, strict=True):
            if error is not None:
                scanner.scan_error("slow servers", error)
            overrun = elapsed - deadline
            outcomes.figures.append(overrun)
            ok = (
                isinstance(error, ModelArtsError)
                and f"timeout of {deadline:g} s" in str(error)
                and overrun < TOLERANCE
            )
            outcomes.record(f"{name}, deadline {deadline:g} s", ok, f"{elapsed:.2f} s, {error}")
    return outcomes


def bombs(short: bool, scanner: LeakScanner) -> Outcomes:
    """Every compression bomb read in one child process; its peak RSS reset before each."""
    outcomes = Outcomes()
    if short or not Path("/proc/self/clear_refs").exists():
        return outcomes  # the short form leaves them to tests/test_transport.py
    names = list(hostile.BOMBS)
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(hostile.RawServer(hostile.BOMBS[name])) for name in names]
        probe = subprocess.run(  # noqa: S603 - fixed argv
            [sys.executable, "-c", hostile.RSS_PROBE, str(TESTS_DIR), *(server.url for server in servers)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    scanner.scan("bombs (child stderr)", probe.stderr)
    growths = [float(line) for line in probe.stdout.split()]
    for index, name in enumerate(names):
        growth = growths[index] if index < len(growths) else float("inf")
        outcomes.figures.append(growth)
        refused = f"{servers[index].url} refused:" in probe.stderr
        outcomes.record(name, refused and growth < 10 + RSS_ALLOWANCE_MIB, f"RSS +{growth:.1f} MiB")
    return outcomes


# -- answers that must not be taken at face value ------------------------------------------------


@contextlib.contextmanager
def _answering() -> Iterator[tuple[Callable[[bytes], None], str]]:
    """A raw server whose next answer the caller sets."""
    answer = [hostile.reply(200, hostile.JOB_197)]
    with hostile.RawServer(lambda _: iter(answer[-1:])) as raw:
        yield (lambda data: answer.append(data)), raw.url


def refused_answers(short: bool, scanner: LeakScanner) -> dict[str, Outcomes]:
    """Foreign not-founds, non-finite numbers and another job in disguise, through the client."""
    foreign, numbers, disguised = Outcomes(), Outcomes(), Outcomes()
    limit = 4 if short else None
    with _answering() as (set_answer, url):
        client = _raw_client(url)
        for name, (status, body, content_type) in list(hostile.FOREIGN_NOT_FOUNDS.items())[:limit]:
            set_answer(hostile.reply(status, body, Content_Type=content_type))
            _, error = _attempt(scanner, "foreign 404", lambda: client.get_visualization_job(JOB))
            ok = isinstance(error, ModelArtsError) and not isinstance(error, JobNotFoundError)
            foreign.record(f"{name} (client)", ok, repr(error))
        fields = ("remaining_duration", "duration", "create_time", "status")
        for number in hostile.NON_FINITE[:limit]:
            for name in fields[: 1 if short else None]:
                body = b'{"job_id": 197, "job_name": "apiTest-11", "status": 8, "%s": %s}' % (
                    name.encode(),
                    number.encode(),
                )
                set_answer(hostile.reply(200, body))
                _, error = _attempt(scanner, "non-finite", lambda: client.get_visualization_job(JOB))
                numbers.record(f"{name} = {number}", isinstance(error, InvalidResponseError), repr(error))
        for name, body in list(hostile.ANOTHER_JOB_IN_DISGUISE.items())[:limit]:
            set_answer(hostile.reply(200, body))
            _, error = _attempt(scanner, "disguised job", lambda: client.get_visualization_job(JOB))
            disguised.record(name, isinstance(error, InvalidResponseError), repr(error))
        client.close()
    return {"foreign 404s": foreign, "non-finite numbers": numbers, "alternate encodings": disguised}


# -- through the provider server (full form only) --------------------------------------------------


def provider_reads(scanner: LeakScanner, foreign: Outcomes, whitespace: Outcomes, numbers: Outcomes) -> None:
    """Refresh-style Reads through ``python -m pulumi.dynamic``: foreign 404s and non-finite numbers
    keep the job in state; credentials with a trailing newline configure and read."""
    use_test_harness()
    from harness import ProviderCallError, ProviderServer, serialized_provider, urn_for
    from pulumi_modelarts.provider import VisualizationJobProvider

    provider = serialized_provider(VisualizationJobProvider())
    inputs = {"job_id": JOB, "__provider": provider}
    for auth in ("aksk", "password"):
        emulator = new_emulator()
        try:
            config = {
                key: value + "\n" if key in SECRET_CONFIG_KEYS else value
                for key, value in emulator.stack_config(auth).items()
            }
            with (
                tempfile.TemporaryDirectory() as cwd,
                ProviderServer(Path(cwd), clean_env(), project="rel") as server,
            ):
                server.configure(config, SECRET_CONFIG_KEYS)
                urn = urn_for("job")
                stored = server.create(urn, server.check(urn, {}, inputs).inputs).outputs
                whitespace.record(
                    f"{auth}, trailing newline, provider server", stored.get("job_id") == JOB, ""
                )
                if auth != "aksk":
                    continue
                cases: list[tuple[Outcomes, str, dict[str, Any]]] = [
                    (
                        foreign,
                        f"{name} (provider server refresh)",
                        {"status": s, "body": b, "content_type": c},
                    )
                    for name, (s, b, c) in hostile.FOREIGN_NOT_FOUNDS.items()
                ]
                cases += [
                    (numbers, f"remaining_duration = {n} (provider server refresh)", {"body": _job_with(n)})
                    for n in hostile.NON_FINITE
                ]
                for outcomes, variant, fault in cases:
                    emulator.clear_faults()
                    emulator.inject_fault("get_job", **_as_text(fault))
                    try:
                        read = server.read(urn, str(JOB), stored, inputs)
                    except ProviderCallError as exc:
                        scanner.scan(f"provider server {variant}", exc.details)
                        outcomes.record(variant, "JobNotFoundError" not in exc.last_line, exc.last_line)
                    else:  # a transient answer (a 500) may be retried into the right job: kept too
                        wrong = mismatches(
                            read.outputs, emulator.get_job(JOB) or {}, emulator.project_id, emulator.region
                        )
                        outcomes.record(
                            variant, read.id == str(JOB) and not wrong, f"read gave {read.id!r} {wrong}"
                        )
            scanner.scan(f"provider server ({auth}) stderr", server.stderr_text())
        finally:
            emulator.stop()


def _job_with(number: str) -> bytes:
    return (
        b'{"job_id": 197, "job_name": "apiTest-11", "status": 8, "remaining_duration": %s}' % number.encode()
    )


def _as_text(fault: dict[str, Any]) -> dict[str, Any]:
    body = fault.get("body")
    return {**fault, "body": hostile.as_json(body) if isinstance(body, dict) else body}


# -- the section ---------------------------------------------------------------------------------


def run(short: bool, scanner: LeakScanner) -> Section:
    with scanner.capturing_logs("hostile"):
        whitespace = whitespace_secrets(short, scanner)
        refused = refused_answers(short, scanner)
        classes: dict[str, Outcomes] = {
            "whitespace secrets": whitespace,
            "issued-token echo": echoed_secrets(hostile.ISSUED_TOKEN, short, scanner),
            "escaped echo (password)": echoed_secrets(hostile.PASSWORD, short, scanner),
            "trickling and silent servers": slow_servers(short, scanner),
            "compression bombs": bombs(short, scanner),
            **refused,
        }
        if not short:
            provider_reads(scanner, refused["foreign 404s"], whitespace, refused["non-finite numbers"])
    expectations = {
        "whitespace secrets": "the right job; control characters refused, never shown",
        "issued-token echo": "a typed error without the token (raw, escaped, encoded, cut short)",
        "escaped echo (password)": "a typed error without the password in any form",
        "trickling and silent servers": f"ServiceError naming the timeout, at most {TOLERANCE} s late",
        "compression bombs": f"refused; peak RSS under 10 + {RSS_ALLOWANCE_MIB:g} MiB",
        "foreign 404s": "never JobNotFoundError; a refresh keeps the job",
        "non-finite numbers": "InvalidResponseError; a refresh keeps the job",
        "alternate encodings": "InvalidResponseError, never another job",
    }
    section = Section(
        "R5. Hostile servers and careless configuration (the classes of issue #7)",
        ["class", "variants tried", "as expected", "expected", "worst"],
    )
    for name, outcomes in classes.items():
        worst = ""
        if outcomes.figures and name.startswith("trickling"):
            worst = f"{max(outcomes.figures) * 1000:+.0f} ms past the deadline"
        elif outcomes.figures:
            worst = f"RSS +{max(outcomes.figures):.1f} MiB"
        section.add(
            name,
            outcomes.tried,
            outcomes.tried - len(outcomes.unexpected),
            expectations[name],
            worst or "; ".join(outcomes.unexpected[:1]) or "-",
        )
    tried = sum(o.tried for o in classes.values())
    failed = [case for o in classes.values() for case in o.unexpected]
    section.notes.append(
        f"{tried} variants, {tried - len(failed)} as expected. The catalogues are tests/hostile.py's; "
        "'provider server' variants go through `python -m pulumi.dynamic` as a refresh would."
    )
    section.data = {
        "classes": {
            name: {"tried": o.tried, "unexpected": o.unexpected, "figures": o.figures}
            for name, o in classes.items()
        },
        "tried": tried,
        "failed": failed,
    }
    return section
