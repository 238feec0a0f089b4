"""Injected faults: queued per route, consumed FIFO by matching requests.

A fault describes how one answer deviates from normal (delay it, replace it, cut it short, or
kill the connection). Nothing here locks: the emulator holds its one lock around every call.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .routes import ROUTES

ANY_ROUTE = "*"


@dataclass(frozen=True)
class Fault:
    """One fault; ``count`` is how many matching requests it affects."""

    route: str
    count: int = 1
    status: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    retry_after: float | None = None
    delay: float = 0.0
    body: bytes | None = None
    content_type: str | None = None
    truncate: bool = False
    drop: bool = False
    reset: bool = False
    method: str | None = None

    def __post_init__(self) -> None:
        if self.route != ANY_ROUTE and self.route not in ROUTES:
            raise ValueError(f"unknown route {self.route!r}; use one of {', '.join(ROUTES)} or '*'")
        if self.count < 1:
            raise ValueError("count must be at least 1")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status code, got {self.status}")
        if self.delay < 0 or (self.retry_after is not None and self.retry_after < 0):
            raise ValueError("delay and retry_after must not be negative")
        if sum((self.body is not None, self.truncate, self.drop, self.reset)) > 1:
            raise ValueError("body, truncate, drop and reset are mutually exclusive")
        if self.method is not None:
            object.__setattr__(self, "method", self.method.upper())

    def matches(self, route: str, method: str) -> bool:
        """Whether a request on ``route`` with ``method`` consumes this fault."""
        return self.route in (ANY_ROUTE, route) and self.method in (None, method)


class FaultQueue:
    """Faults in injection order; the first one matching a request is consumed."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def __len__(self) -> int:
        return len(self._faults)

    def add(self, fault: Fault) -> None:
        """Queue a fault behind those already injected."""
        self._faults.append(fault)

    def take(self, route: str, method: str) -> Fault | None:
        """Consume one use of the first matching fault; drop it once its count is used up."""
        for index, fault in enumerate(self._faults):
            if fault.matches(route, method):
                if fault.count == 1:
                    del self._faults[index]
                else:
                    self._faults[index] = dataclasses.replace(fault, count=fault.count - 1)
                return fault
        return None

    def clear(self) -> None:
        """Forget every queued fault."""
        self._faults.clear()
