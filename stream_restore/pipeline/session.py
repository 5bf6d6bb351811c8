"""A per-stream restoration session: windows, recurrent state and resets.

One session per stream; the backend it uses is shared and stateless. A session is split into
segments: a scene cut or a change of frame size ends the current segment (its last windows are
padded and flushed) and starts a new one with a fresh recurrent state, so a model never mixes
content across a cut and a size change never crashes anything.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import torch

from ..backends.base import Backend
from ..frames import Frame
from .scene import SceneCutDetector
from .windows import WindowBuffer

__all__ = ["StreamSession"]

log = logging.getLogger(__name__)


class StreamSession:
    """Turns input frames into restored frames, in order, one stream at a time."""

    def __init__(self, backend: Backend, *, detect_cuts: bool = True, cut_threshold: float = 0.25) -> None:
        self.backend = backend
        spec = backend.spec
        self.scale = spec.scale
        self._windows: WindowBuffer[Frame] = WindowBuffer(spec.past_frames, spec.future_frames)
        self._detector = SceneCutDetector(cut_threshold) if detect_cuts else None
        self._state: torch.Tensor | None = None
        self._size: tuple[int, int] | None = None
        self.frames_in = 0
        self.frames_out = 0
        self.segments = 0
        self.scene_cuts = 0
        self.size_changes = 0

    def push(self, frame: Frame) -> list[Frame]:
        """Feed one frame; returns the restored frames that became ready (possibly none)."""
        out: list[Frame] = []
        size = (frame.width, frame.height)
        if self._size is not None and size != self._size:
            log.info("frame size changed from %dx%d to %dx%d at frame %d: new "
                     "segment", *self._size, *size, frame.index)
            self.size_changes += 1
            out.extend(self._end_segment())
            if self._detector is not None:
                self._detector.reset()
        elif self._detector is not None and self._detector.is_cut(frame.data) and self._size is not None:
            log.debug("scene cut at frame %d (distance %.2f)", frame.index, self._detector.last_distance)
            self.scene_cuts += 1
            out.extend(self._end_segment())
        if self._size is None:
            self._start_segment(size)
        self.frames_in += 1
        for window, centre in self._windows.push(frame):
            out.append(self._restore(window, centre))
        return out

    def flush(self) -> list[Frame]:
        """Restore every frame still waiting for look-ahead (end of stream)."""
        return self._end_segment()

    def reset(self) -> list[Frame]:
        """End the current segment explicitly (e.g. the client signalled a discontinuity)."""
        out = self._end_segment()
        if self._detector is not None:
            self._detector.reset()
        return out

    def _start_segment(self, size: tuple[int, int]) -> None:
        self._size = size
        self.segments += 1
        self._state = self.backend.initial_state(1, size[1], size[0])

    def _end_segment(self) -> list[Frame]:
        out = [self._restore(window, centre) for window, centre in self._windows.flush()]
        self._size = None
        self._state = None
        return out

    def _restore(self, window: list[Frame], centre: Frame) -> Frame:
        frames = torch.stack([f.data for f in window])[None]  # [1, T, 3, H, W]
        restored, self._state = self.backend.infer(frames, self._state)
        self.frames_out += 1
        return centre.with_data(restored[0])

    def run(self, frames: Iterator[Frame]) -> Iterator[Frame]:
        """Restore a whole iterable of frames (a convenience for clips held by the caller)."""
        for frame in frames:
            yield from self.push(frame)
        yield from self.flush()
