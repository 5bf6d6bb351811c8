"""What went wrong with one input or output, kept for the run's summary and logged as it happens.

Readers and writers both collect such warnings (a corrupt packet skipped, an audio stream
re-encoded, timestamps that jump). A damaged input can raise the same warning thousands of times,
so after the first few of a kind only a count is kept, and :meth:`WarningLog.cut_short` says how
many of each kind were not shown, for one closing line per kind.
"""

from __future__ import annotations

import logging
from collections import Counter

__all__ = ["SHOWN_PER_KIND", "WarningLog"]

SHOWN_PER_KIND = 10  # warnings of one kind logged one by one; later ones are only counted


class WarningLog:
    """Warnings in the order they happened (``messages``), each also logged on ``logger``."""

    def __init__(self, logger: logging.Logger, shown_per_kind: int = SHOWN_PER_KIND) -> None:
        self.messages: list[str] = []
        self._logger = logger
        self._shown = shown_per_kind
        self._counts: Counter[str] = Counter()

    def add(self, message: str, kind: str | None = None) -> None:
        """Keep and log ``message``; one with a ``kind`` is only counted past the first few of it."""
        if kind is not None:
            self._counts[kind] += 1
            if self._counts[kind] > self._shown:
                return
        self._logger.warning("%s", message)
        self.messages.append(message)

    def cut_short(self) -> dict[str, tuple[int, int]]:
        """For each kind with warnings not shown: (how many in all, how many not shown)."""
        return {kind: (n, n - self._shown) for kind, n in self._counts.items() if n > self._shown}
