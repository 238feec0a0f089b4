"""A small dynamic provider used only by the harness self-tests.

It runs inside the ``pulumi.dynamic`` server process, so it can only talk back to the test through
side channels: every method appends one JSON line to the file named by ``$HARNESS_FAKE_LOG``
(method, pid, thread, monotonic start/end, id, key). The monotonic clock is system-wide on Linux, so
the test can compare intervals to prove that calls overlapped.

Behaviour is steered by marker inputs, so one provider class covers every engine path:

- ``key``: the identity; a changed ``key`` makes ``diff`` ask for a replacement.
- ``diff_mode="unknown"``: ``diff`` returns ``DiffResult()`` (DIFF_UNKNOWN; the engine diffs inputs).
- ``dbr=True``: replacements are delete-before-replace.
- ``fail_on="<method>"``: that method raises ``RuntimeError("boom in <method>")``.
- ``fail_check=True``: ``check`` reports a failure on ``key``.
- ``gone=True``: ``read`` reports not-found (blank id); ``gone="raise"`` makes it raise instead.
- ``empty_id=True``: ``create`` returns a blank id (an engine error).
- ``sleep=<seconds>``: ``create``/``read``/``update`` sleep, to make concurrency observable.

Outputs echo the inputs (minus ``__provider``, which the server adds back) plus the output-only
property ``computed``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown

LOG_ENV = "HARNESS_FAKE_LOG"
OUTPUT_ONLY = ("computed",)

# Module-level, so it is never pickled into ``__provider`` (the class is pickled by reference).
_LOG_LOCK = threading.Lock()


def read_log(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Parse the JSON-lines call log written by the provider process."""
    p = Path(path)
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


@contextmanager
def _recorded(method: str, **fields: Any) -> Iterator[dict[str, Any]]:
    entry: dict[str, Any] = {
        "method": method,
        "pid": os.getpid(),
        "thread": threading.current_thread().name,
        "start": time.monotonic(),
        **fields,
    }
    try:
        yield entry
    finally:
        entry["end"] = time.monotonic()
        path = os.environ.get(LOG_ENV)
        if path:
            line = json.dumps(entry, default=repr, sort_keys=True)
            with _LOG_LOCK, open(path, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")


def _fail_if_asked(method: str, props: dict[str, Any]) -> None:
    if props.get("fail_on") == method:
        raise RuntimeError(f"boom in {method}")


def _sleep_if_asked(props: dict[str, Any]) -> None:
    delay = props.get("sleep")
    if isinstance(delay, (int, float)) and delay > 0:
        time.sleep(float(delay))


def _echo(props: dict[str, Any]) -> dict[str, Any]:
    outs = {k: v for k, v in props.items() if k != "__provider" and k not in OUTPUT_ONLY}
    outs["computed"] = f"computed-{props.get('key')}"
    return outs


def _changed(olds: dict[str, Any], news: dict[str, Any], key: str) -> bool:
    new = news.get(key)
    return isinstance(new, Unknown) or olds.get(key) != new


class CountingProvider(ResourceProvider):
    """Echoing provider that logs every call; ``tag`` only varies the pickled ``__provider``."""

    def __init__(self, tag: str = "") -> None:
        super().__init__()
        self.tag = tag

    def configure(self, req: ConfigureRequest) -> None:
        # The raw mapping is private to Config; reading it is fine for a test double.
        raw = dict(req.config._props)
        with _recorded("configure", tag=self.tag, config=raw, region=req.config.get("region")):
            pass

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        unknown = sorted(k for k, v in news.items() if isinstance(v, Unknown))
        with _recorded("check", key=news.get("key"), olds_keys=sorted(olds), unknown=unknown):
            _fail_if_asked("check", news)
            failures = []
            if news.get("fail_check"):
                failures.append(CheckFailure("key", "fail_check was requested"))
            return CheckResult(dict(news), failures)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        with _recorded("diff", id=id_, key=news.get("key")):
            _fail_if_asked("diff", news)
            if news.get("diff_mode") == "unknown":
                return DiffResult()
            ignored = {"__provider", *OUTPUT_ONLY}
            changed = sorted(k for k in set(olds) | set(news) if k not in ignored and _changed(olds, news, k))
            replaces = ["key"] if "key" in changed else []
            return DiffResult(
                changes=bool(changed),
                replaces=replaces,
                delete_before_replace=bool(news.get("dbr")) and bool(replaces),
            )

    def create(self, props: dict[str, Any]) -> CreateResult:
        with _recorded("create", key=props.get("key")) as entry:
            _fail_if_asked("create", props)
            _sleep_if_asked(props)
            id_ = "" if props.get("empty_id") else f"id-{props.get('key')}"
            entry["id"] = id_
            print(f"fake: created {id_}", flush=True)
            print(f"fake: create log line for {id_}", file=sys.stderr, flush=True)
            return CreateResult(id_, _echo(props))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with _recorded("read", id=id_, key=props.get("key")):
            _fail_if_asked("read", props)
            _sleep_if_asked(props)
            gone = props.get("gone")
            if gone == "raise":
                raise LookupError(f"visualization job {id_} not found")
            if gone:
                return ReadResult("", {})
            return ReadResult(id_, _echo(props))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        with _recorded("update", id=id_, key=news.get("key")):
            _fail_if_asked("update", news)
            _sleep_if_asked(news)
            return UpdateResult(_echo(news))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        with _recorded("delete", id=id_, key=props.get("key")):
            _fail_if_asked("delete", props)
