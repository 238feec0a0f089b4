"""What the tests and the reliability runs count as right: canary credentials that must never
show up anywhere, and a job's outputs compared with the emulator's stored JSON."""

from __future__ import annotations

import importlib.util
import io
import logging
import pickle
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pulumi_modelarts.cli import run
from pulumi_modelarts.emulator import EmulatorCredentials, ModelArtsEmulator
from pulumi_modelarts.errors import ModelArtsError
from pulumi_modelarts.outputs import OUTPUT_FIELDS
from pulumi_modelarts.responses import JobModel

_spec = importlib.util.spec_from_file_location("demo", Path(__file__).parents[1] / "scripts" / "demo.py")
assert _spec is not None and _spec.loader is not None
demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo)  # `make demo`'s script, with its test of a working CLI

CANARY = EmulatorCredentials(
    access_key="CANARYAK7f3e9d2c1b0a",
    secret_key="canary-secret-key-5d41402abc4b2a76b9719d911017c592",
    user_name="canary-user",
    password="canary-password-9e107d9d372bb6826bd81d3542a419d6",
    domain_name="canary-domain",
)
CANARY_SECRETS = (CANARY.access_key, CANARY.secret_key, CANARY.password)
#: Wrong credentials are secrets too: they must not show up in the errors they cause.
WRONG_SECRET_KEY = "WRONGCANARY-sk-0f9e8d7c6b5a49382716"
WRONG_PASSWORD = "WRONGCANARY-pw-1a2b3c4d5e6f70819283"
#: Stack config keys that carry credentials: what ``pulumi config set --secret`` marks.
SECRET_CONFIG_KEYS = ("modelarts:accessKey", "modelarts:secretKey", "modelarts:password")
#: A run of this many characters of a secret counts as a leak (a secret cut short still leaks).
FRAGMENT = 12


class LeakScanner:
    """Counts the texts it is shown and the ones holding a secret, whole or any ``FRAGMENT``
    characters of one."""

    def __init__(self) -> None:
        secrets = (*CANARY_SECRETS, WRONG_SECRET_KEY, WRONG_PASSWORD)
        self.fragments = {s[i : i + FRAGMENT] for s in secrets for i in range(max(1, len(s) - FRAGMENT + 1))}
        self.scanned = 0
        self.leaks: list[str] = []
        self._lock = threading.Lock()

    def scan(self, where: str, text: str | bytes) -> None:
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        found = [f"{where}: {fragment[:6]}..." for fragment in self.fragments if fragment in text]
        with self._lock:
            self.scanned += 1
            self.leaks += found[:1]

    def scan_error(self, where: str, error: BaseException) -> None:
        """An error as every consumer may see it: message, repr, structured details and pickle, and
        every exception chained to it (shown or not) with its attributes and theirs."""
        details = repr(error.details()) if isinstance(error, ModelArtsError) else ""
        for text in (str(error), repr(error), details, pickle.dumps(error)):
            self.scan(where, text)
        for chained in (error.__context__, error.__cause__):
            if chained is not None:
                attributes = vars(chained).values()
                fields = [getattr(attribute, "__dict__", {}) for attribute in attributes]
                self.scan(f"{where} chained", repr([chained, *attributes, *fields]))
                self.scan_error(where, chained)

    @contextmanager
    def logs(self, where: str) -> Iterator[None]:
        """Scan every log record (DEBUG and up, every logger) emitted inside the block."""
        with logged() as records:
            yield
        for name, text in records:
            self.scan(f"{where} log {name}", text)


class Held:
    """Holds the emulator's answers on ``route``, after the first ``after``, until ``count`` requests
    wait together or :meth:`release` (at most 30 s): that reads were in flight together is then seen,
    not timed against a latency a loaded machine can outlast. ``arrived``: the paths held."""

    def __init__(self, emulator: ModelArtsEmulator, count: int = 0, *, after: int = 0) -> None:
        self.arrived: list[str] = []
        self._count, self._passed, self._released = count, after, threading.Event()
        self._arrival = threading.Condition()
        self._answer = emulator._answer
        emulator._answer = self._held  # type: ignore[method-assign]

    def _held(self, request: Any, match: Any) -> Any:
        if match.route == "get_job" and not self._released.is_set():
            if self._passed:
                self._passed -= 1
            else:
                with self._arrival:
                    self.arrived.append(request.path)
                    self._arrival.notify_all()
                if len(self.arrived) >= self._count > 0:
                    self.release()
                self._released.wait(30)
                self.release()  # those that never came together are not held again
        return self._answer(request, match)

    def release(self) -> None:
        self._released.set()

    def wait_for(self, count: int, timeout: float = 30) -> bool:
        """Whether ``count`` requests are held (or were) within ``timeout``."""
        with self._arrival:
            return self._arrival.wait_for(lambda: len(self.arrived) >= count, timeout)


class AtOnce:
    """Counts the ModelArts requests ``emulator`` (not yet started) handles at once, its latency
    included: ``most`` is how many reads the server saw in flight together, which a loaded machine's
    late answers only raise, where arrival times it spreads out would lower it."""

    def __init__(self, emulator: ModelArtsEmulator) -> None:
        self.most = self._now = 0
        self._lock, self._handle = threading.Lock(), emulator._handle
        emulator._handle = self._counted  # type: ignore[method-assign]

    def _counted(self, request: Any) -> Any:
        counted = request.path.startswith("/v1/")
        with self._lock:
            self._now += counted
            self.most = max(self.most, self._now)
        try:
            return self._handle(request)
        finally:
            with self._lock:
                self._now -= counted


@contextmanager
def logged() -> Iterator[list[tuple[str, str]]]:
    """Every log record (DEBUG and up, every logger) emitted inside the block: its logger, its text
    as a handler formats it (a traceback too). Not pytest's caplog: ``python -m reliability`` runs
    without pytest's logging plugin."""
    records: list[tuple[str, str]] = []

    class Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append((record.name, self.format(record)))

    root, handler = logging.getLogger(), Handler(logging.DEBUG)
    level, root.level = root.level, logging.DEBUG
    root.addHandler(handler)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def find_text(
    value: Any, needles: tuple[str, ...], *, outside_secrets: bool = False, path: str = "$"
) -> list[str]:
    """JSON paths of the strings (and keys) in ``value`` that contain one of ``needles``; with
    ``outside_secrets``, values wrapped as ``{"__secret": ...}`` are not searched."""
    if isinstance(value, dict) and not (outside_secrets and set(value) == {"__secret"}):
        found = [f"{path}.{key} (key)" for key in value if any(needle in str(key) for needle in needles)]
        items = [(f"{path}.{key}", item) for key, item in value.items()]
    elif isinstance(value, list):
        found, items = [], [(f"{path}[{i}]", item) for i, item in enumerate(value)]
    else:
        return [path] if isinstance(value, str) and any(needle in value for needle in needles) else []
    for where, item in items:
        found += find_text(item, needles, outside_secrets=outside_secrets, path=where)
    return found


def outputs_of(emulator: ModelArtsEmulator, job_id: int) -> dict[str, Any]:
    """What every surface must export for a job: the package model's outputs of the stored record."""
    record = emulator.get_job(job_id)
    assert record is not None, f"job {job_id} is not in the emulator"
    return JobModel.model_validate(record).to_outputs(project_id=emulator.project_id, region=emulator.region)


#: Outputs computed from the raw job rather than carried over unchanged (``status_name`` and
#: ``created_at`` are not checked here: the model's own tests pin them).
DERIVED = ("flavor_code", "is_running", "project_id", "region", "status_name", "created_at")


def mismatches(
    outputs: Mapping[str, Any], stored: Mapping[str, Any], project_id: str, region: str
) -> list[str]:
    """Fields where ``outputs`` differ from the emulator's stored job, computed from the stored JSON
    (not the package's model, so that a parsing bug cannot hide itself); numbers compare by value."""
    wrong = [name for name in OUTPUT_FIELDS if name not in DERIVED and outputs.get(name) != stored.get(name)]
    derived = {
        "flavor_code": (stored.get("flavor") or {}).get("code"),
        "project_id": project_id,
        "region": region,
    }
    wrong += [name for name, value in derived.items() if outputs.get(name) != value]
    if outputs.get("is_running") is not (stored.get("status") == 8):
        wrong.append("is_running")
    return wrong


def invoke(*argv: str) -> tuple[int, str, str]:
    """``modelarts-vis argv...`` in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()
