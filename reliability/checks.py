"""What counts as a correct result, how an outcome is classified, and the secret-leak scanner."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pulumi_modelarts.errors import ModelArtsError

#: Raw job fields that the outputs carry unchanged (``flavor_code`` comes from ``flavor.code``).
PLAIN_FIELDS = (
    "job_id",
    "job_name",
    "job_desc",
    "service_url",
    "resource_id",
    "train_url",
    "status",
    "duration",
    "create_time",
    "job_type",
    "remaining_duration",
)
RUNNING = 8


def mismatches(
    outputs: Mapping[str, Any], stored: Mapping[str, Any], project_id: str, region: str
) -> list[str]:
    """Fields where ``outputs`` differ from the emulator's stored job (empty when correct).

    Computed from the stored dict directly, not through the package's model, so a parsing bug
    cannot hide itself. Numbers compare by value (the gRPC round trip makes every int a float).
    """
    wrong = [name for name in PLAIN_FIELDS if outputs.get(name) != stored.get(name)]
    flavor = stored.get("flavor") or {}
    if outputs.get("flavor_code") != flavor.get("code"):
        wrong.append("flavor_code")
    if outputs.get("is_running") is not (stored.get("status") == RUNNING):
        wrong.append("is_running")
    if outputs.get("project_id") != project_id:
        wrong.append("project_id")
    if outputs.get("region") != region:
        wrong.append("region")
    return wrong


@dataclass
class Tally:
    """Outcome counts of many reads: correct, typed errors by class, wrong, unhandled."""

    correct: int = 0
    typed_errors: dict[str, int] = field(default_factory=dict)
    wrong: list[str] = field(default_factory=list)
    unhandled: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def ok(self) -> None:
        with self.lock:
            self.correct += 1

    def error(self, exc: BaseException) -> None:
        with self.lock:
            if isinstance(exc, ModelArtsError):
                name = type(exc).__name__
                self.typed_errors[name] = self.typed_errors.get(name, 0) + 1
            else:
                self.unhandled.append(f"{type(exc).__name__}: {exc}"[:300])

    def typed(self, name: str) -> None:
        """A typed refusal that is not an exception (e.g. a ``CheckFailure``)."""
        with self.lock:
            self.typed_errors[name] = self.typed_errors.get(name, 0) + 1

    def bad(self, what: str) -> None:
        with self.lock:
            self.wrong.append(what[:300])

    @property
    def total(self) -> int:
        return self.correct + sum(self.typed_errors.values()) + len(self.wrong) + len(self.unhandled)

    def summary(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "correct": self.correct,
            "typed_errors": dict(sorted(self.typed_errors.items())),
            "wrong": len(self.wrong),
            "unhandled": len(self.unhandled),
            "examples": (self.wrong + self.unhandled)[:5],
        }


#: A run of this many characters of a secret counts as a leak (a secret cut short still leaks).
FRAGMENT = 12


class LeakScanner:
    """Counts occurrences of canary secrets, whole or any ``FRAGMENT``-character part of one,
    in every text the suite produces."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets: tuple[str, ...] = ()
        self._fragments: dict[str, tuple[str, ...]] = {}
        for secret in secrets:
            self.add_secret(secret)
        self.scanned = 0
        self.scanned_chars = 0
        self.leaks: list[str] = []
        self._lock = threading.Lock()

    def add_secret(self, secret: str) -> None:
        self.secrets = tuple(sorted({*self.secrets, secret}))
        width = min(FRAGMENT, len(secret))
        self._fragments[secret] = tuple({secret[i : i + width] for i in range(len(secret) - width + 1)})

    def leaked(self, text: str) -> list[str]:
        """The secrets of which ``text`` holds at least a fragment."""
        return [s for s in self.secrets if any(fragment in text for fragment in self._fragments[s])]

    def scan(self, where: str, content: str | bytes | None) -> None:
        if content is None:
            return
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
        found = self.leaked(text)
        with self._lock:
            self.scanned += 1
            self.scanned_chars += len(text)
            self.leaks.extend(f"{where}: {secret[:6]}…" for secret in found)

    def scan_error(self, where: str, exc: BaseException) -> None:
        """Message, repr, structured details and pickle of an error."""
        import pickle

        self.scan(where, str(exc))
        self.scan(where, repr(exc))
        if isinstance(exc, ModelArtsError):
            self.scan(where, repr(exc.details()))
        try:
            self.scan(f"{where} (pickle)", pickle.dumps(exc))
        except Exception as error:  # an unpicklable error is itself a finding, not a leak
            self.scan(f"{where} (pickle failed)", str(error))

    @contextmanager
    def capturing_logs(self, where: str) -> Iterator[None]:
        """Scan every log record (DEBUG and up, every logger) emitted inside the block."""
        scanner = self

        class _Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                scanner.scan(f"{where} log {record.name}", self.format(record))

        handler = _Handler(logging.DEBUG)
        root = logging.getLogger()
        old_level = root.level
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
        try:
            yield
        finally:
            root.removeHandler(handler)
            root.setLevel(old_level)

    def summary(self) -> dict[str, Any]:
        return {
            "secrets": len(self.secrets),
            "texts_scanned": self.scanned,
            "chars_scanned": self.scanned_chars,
            "leaks": len(self.leaks),
            "where": sorted(set(self.leaks))[:20],
        }
