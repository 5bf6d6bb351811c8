"""Admission: how many calls of each kind run at once, and the threads working for them.

Streams (``Restore``, ``RestoreFrames``) and images (``RestoreImage``) are counted separately, each
against its own limit, so the memory the server can be made to hold is bounded by a figure the
operator can compute (``docs/service.md``, "Resource limits").
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import LimitExceededError

__all__ = ["StreamSlots"]


class StreamSlots:
    """Limits concurrent streams; counts live sessions and the threads working for them."""

    def __init__(self, limit: int, what: str = "concurrent streams") -> None:
        self.limit = limit
        self.what = what
        self._lock = threading.Lock()
        self._active = 0
        self._threads = 0
        self._ids = itertools.count(1)
        self.started = 0

    @property
    def active(self) -> int:
        return self._active

    @property
    def threads(self) -> int:
        """Threads started for streams and not yet finished (each of them joins its own helpers)."""
        return self._threads

    @contextmanager
    def acquire(self) -> Iterator[int]:
        """Hold one stream slot; raises LimitExceededError when all are taken."""
        with self._lock:
            if self._active >= self.limit:
                raise LimitExceededError(
                    f"the server is running its maximum of {self.limit} {self.what}; retry later"
                )
            self._active += 1
            self.started += 1
            number = next(self._ids)
        try:
            yield number
        finally:
            with self._lock:
                self._active -= 1

    def thread_started(self) -> None:
        with self._lock:
            self._threads += 1

    def thread_finished(self) -> None:
        with self._lock:
            self._threads -= 1
