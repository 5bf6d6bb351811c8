"""Sliding frame windows for multi-frame models, with replicate padding at segment edges.

Pure bookkeeping over any item type: frames go in one at a time, windows come out as soon as the
look-ahead a model declares is available. The first frames of a segment see copies of the first
frame as their past; the last frames see copies of the last frame as their future.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Generic, TypeVar

__all__ = ["WindowBuffer"]

T = TypeVar("T")


class WindowBuffer(Generic[T]):
    """Yields ``(window, centre)`` pairs; ``window`` has ``past + 1 + future`` items."""

    def __init__(self, past: int, future: int) -> None:
        if past < 0 or future < 0:
            raise ValueError("past and future must be non-negative")
        self.past = past
        self.future = future
        self._history: deque[T] = deque(maxlen=past if past else 1)
        self._ahead: deque[T] = deque()

    def __len__(self) -> int:
        """Items pushed whose window has not been emitted yet."""
        return len(self._ahead)

    def push(self, item: T) -> Iterator[tuple[list[T], T]]:
        self._ahead.append(item)
        if len(self._ahead) > self.future:
            yield self._emit()

    def flush(self) -> Iterator[tuple[list[T], T]]:
        """Emit the remaining windows (future padded), then start a fresh segment."""
        while self._ahead:
            yield self._emit()
        self._history.clear()

    def _emit(self) -> tuple[list[T], T]:
        centre = self._ahead[0]
        history = list(self._history) if self.past else []
        past = [history[0] if history else centre] * (self.past - len(history)) + history
        ahead = list(self._ahead)[1 : 1 + self.future]
        future = ahead + [ahead[-1] if ahead else centre] * (self.future - len(ahead))
        self._ahead.popleft()
        if self.past:
            self._history.append(centre)
        return [*past, centre, *future], centre
