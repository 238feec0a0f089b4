"""The request log: what was called, when and how it ended, never headers, bodies or secrets."""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Final

from .iam import Scheme

#: Records kept; older ones fall off so a long-running CLI emulator does not grow without bound.
MAX_RECORDS: Final = 100_000


@dataclass(frozen=True)
class RequestRecord:
    """One request as the emulator saw it.

    ``time`` is ``time.monotonic()`` at arrival; ``status`` is None when a fault dropped or reset
    the connection; ``auth`` is the kind of credentials presented (valid or not), None if none.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    time: float
    status: int | None
    route: str
    auth: Scheme | None


class RequestLog:
    """Bounded, append-only list of records."""

    def __init__(self, limit: int = MAX_RECORDS) -> None:
        self._records: collections.deque[RequestRecord] = collections.deque(maxlen=limit)

    def append(self, record: RequestRecord) -> None:
        """Add one record (the oldest falls off at the limit)."""
        self._records.append(record)

    def snapshot(self) -> list[RequestRecord]:
        """The records so far, oldest first."""
        return list(self._records)

    def clear(self) -> None:
        """Forget every record."""
        self._records.clear()
