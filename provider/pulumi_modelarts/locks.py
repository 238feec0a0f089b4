"""The package's locks, which a forked child (``os.fork``, multiprocessing's "fork" context) has anew.
A lock another thread held at the fork (an IAM login or project lookup in flight, a cache being
updated) would be released only in the parent: the child would wait on it until its call's timeout,
or for ever. The state such a lock guards is whole in the child or not yet made, which it makes."""

from __future__ import annotations

import operator
import os
import threading
import weakref
from typing import TYPE_CHECKING


class Lock:
    """A ``threading.Lock`` that is released (a new one) in a forked child."""

    __slots__ = ("__weakref__", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        _LOCKS.add(self)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    if TYPE_CHECKING:

        def __enter__(self) -> bool: ...

        def __exit__(self, *exc_info: object) -> None: ...

    else:  # the lock's own (C) methods: no Python line runs between taking the lock and entering the
        # ``with`` block, nor before giving it back, where Ctrl-C's KeyboardInterrupt would leave it held
        __enter__ = property(operator.attrgetter("_lock.__enter__"))
        __exit__ = property(operator.attrgetter("_lock.__exit__"))


_LOCKS: weakref.WeakSet[Lock] = weakref.WeakSet()


def _released_in_child() -> None:
    for lock in list(_LOCKS):  # the child runs this thread alone: nothing holds or makes a lock
        lock._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_released_in_child)
