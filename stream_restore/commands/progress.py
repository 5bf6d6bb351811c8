"""A one-line terminal progress display: frames, percentage, frames/s and ETA.

Torch-free: it takes anything shaped like the pipeline's ``Progress`` (or the four numbers), so
``stream-restore client`` shows progress without importing the pipeline.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import Protocol, TextIO

__all__ = ["ProgressLine", "ProgressReport"]


class ProgressReport(Protocol):
    """What a progress update carries (``pipeline.Progress`` is one)."""

    @property
    def frames_done(self) -> int: ...
    @property
    def frames_total(self) -> int | None: ...
    @property
    def elapsed(self) -> float: ...  # seconds since start
    @property
    def fps(self) -> float: ...


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class ProgressLine:
    """Redraws one line on a terminal at most ``hz`` times a second; silent when disabled."""

    def __init__(self, label: str, *, enabled: bool, stream: TextIO | None = None, hz: float = 4.0) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.label = label
        self._interval = 1.0 / hz
        self._last = 0.0
        self._drawn = False

    def __call__(self, progress: ProgressReport) -> None:
        self.show(progress.frames_done, progress.frames_total, progress.elapsed, progress.fps)

    def show(self, done: int, total: int | None, elapsed: float, fps: float) -> None:
        """Redraw with ``done`` of ``total`` frames (None: unknown) after ``elapsed`` seconds."""
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < self._interval:
            return
        self._last = now
        if total:
            left = max(total - done, 0) / fps if fps > 0 else 0.0
            text = (f"{self.label} {done}/{total} frames {100 * done / total:5.1f}% | {fps:6.2f} fps"
                    f" | ETA {_clock(left)}")
        else:
            text = f"{self.label} {done} frames | {fps:6.2f} fps | {_clock(elapsed)}"
        self.draw(text)

    def draw(self, text: str) -> None:
        """Replace the line with ``text`` (no rate limit: the caller's)."""
        if not self.enabled:
            return
        # Cut to the terminal's width (a wrapped line would start a new one per update) and clear
        # what a longer previous line left, instead of padding to a fixed width.
        width = shutil.get_terminal_size((80, 24)).columns
        self.stream.write("\r" + text[: max(width - 1, 10)] + "\x1b[K")
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
