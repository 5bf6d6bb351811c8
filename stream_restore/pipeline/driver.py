"""The one way a restoration runs: a frame source, a session over a shared engine, a frame sink.

Every entry point drives its work through :func:`drive`: the CLI's ``restore`` and the server's
``Restore`` (files and byte streams, opened by :mod:`.job`), ``RestoreFrames`` (raw frames pushed
by a client), ``RestoreImage`` (one still) and, next, archive jobs and live sessions. What differs
between them is only the source and the sink. The job's :class:`~stream_restore.config.Limits` are
enforced here, once, on what the frames really are: their size, and the time their timestamps
cover (a container's declared duration is checked too, so an input that says it is too long is
refused before work starts, but a stream cannot get past the limit by declaring less).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from ..backends import Backend, BackendOptions
from ..config import EncodeOptions, Limits, PipelineOptions
from ..errors import ConfigError, LimitExceededError
from ..frames import Frame, StreamInfo
from ..media.decode import check_frame_size
from .session import StreamSession
from .stages import Discontinuity, FrameSink, FrameSource, Progress, RunStats, run_pipeline

__all__ = ["MAX_ENCODED_SIDE", "Discontinuity", "FrameGuard", "RestoreJob", "drive"]

MAX_ENCODED_SIDE = 65535  # pixels: the largest frame side FFmpeg's encoders and muxers take


@dataclass(frozen=True)
class RestoreJob:
    """Everything that decides how a restoration runs, validated before any work starts."""

    model: str = "identity"
    backend: str = "auto"
    backend_options: BackendOptions = field(default_factory=BackendOptions)
    encode: EncodeOptions = field(default_factory=EncodeOptions)
    pipeline: PipelineOptions = field(default_factory=PipelineOptions)
    limits: Limits = field(default_factory=Limits)


class FrameGuard:
    """Checks every frame against the limits: its size, and the time covered since the first frame.

    Time is measured on presentation timestamps in seconds; frames without a timestamp count at
    the stream's nominal rate (25 fps when it has none), so no input escapes the duration limit.
    """

    def __init__(self, limits: Limits, name: str, frame_rate: float | None = None) -> None:
        self.limits = limits
        self.name = name
        self._step = 1.0 / frame_rate if frame_rate and frame_rate > 0 else 1.0 / 25
        self._first: float | None = None
        self._untimed = 0

    def check_declared(self, info: StreamInfo) -> None:
        """Refuse a stream whose first frame or declared duration is already over a limit."""
        check_frame_size(info.width, info.height, self.limits, self.name)
        limit = self.limits.max_duration
        if limit is not None and info.duration is not None and info.duration > limit:
            raise LimitExceededError(f"{self.name}: duration {info.duration:.1f} s exceeds the limit of "
                                     f"{limit:.1f} s")

    def __call__(self, frame: Frame) -> None:
        check_frame_size(frame.width, frame.height, self.limits, self.name)
        limit = self.limits.max_duration
        if limit is None:
            return
        when = frame.time
        if when is None:
            when = self._untimed * self._step
            self._untimed += 1
        if self._first is None:
            self._first = when
        if when - self._first > limit:
            raise LimitExceededError(f"{self.name}: the input is longer than the limit of {limit:g} s")


def drive(
    source: FrameSource,
    sink: FrameSink,
    engine: Backend,
    job: RestoreJob,
    *,
    name: str = "input",
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
) -> RunStats:
    """Restore everything ``source`` yields into ``sink`` with the loaded ``engine``.

    The sink is finished (``close``) on success and aborted otherwise; the source is left to its
    owner to close. Raises the project's errors (and :class:`LimitExceededError` for limits).
    """
    info = source.info
    guard = FrameGuard(job.limits, name, float(info.frame_rate) if info.frame_rate else None)
    guard.check_declared(info)
    scale = engine.spec.scale
    if scale * max(info.width, info.height) > MAX_ENCODED_SIDE:
        raise ConfigError(f"{info.width}x{info.height} x{scale} exceeds the largest frame FFmpeg encodes")
    out_pixels = info.width * info.height * scale * scale
    if out_pixels > job.limits.max_output_pixels:
        raise LimitExceededError(
            f"{name}: restored frames of {info.width * scale}x{info.height * scale} exceed the output limit "
            "of "
            f"{job.limits.max_output_pixels} pixels"
        )
    session = StreamSession(
        engine, detect_cuts=job.pipeline.scene_detection, cut_threshold=job.pipeline.scene_threshold
    )
    return run_pipeline(source, session, sink, queue_frames=job.pipeline.queue_frames, progress=progress,
                        cancel=cancel, check=guard)
