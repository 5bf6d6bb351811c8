"""Restore one planned segment into its own video-only file, through the one pipeline driver.

The source starts at the segment's keyframe (:class:`~stream_restore.media.segments.SeekingReader`)
and yields frames from the first warm-up frame to the model's last look-ahead frame past the end;
the sink encodes only the frames the segment owns, with their source timestamps, into a temporary
file renamed into place when complete. A seek that lands after the wanted keyframe (a demuxer
with an inexact index) is retried from the keyframe before, then from the start of the file.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..backends import Backend
from ..errors import InputError
from ..files import discard, temporary_sibling
from ..frames import Frame
from ..media.codecs import resolve_encoder
from ..media.encode import VideoWriter
from ..media.segments import SeekingReader
from ..pipeline import RestoreJob
from ..pipeline.driver import drive
from ..pipeline.job import compile_colour, compile_colour_after
from ..pipeline.stages import Progress
from .store import SegmentPlanRow

__all__ = ["SegmentResult", "run_segment", "sha256_file"]

log = logging.getLogger(__name__)

_CHUNK = 1 << 20  # bytes read at a time when hashing


class _SeekMissed(Exception):
    """The demuxer's seek landed after the first frame the segment needs."""


@dataclass(frozen=True)
class SegmentResult:
    frames: int
    seconds: float  # wall time of the pipeline run
    checksum: str  # SHA-256 of the segment file
    warnings: tuple[str, ...]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class _SegmentSource:
    """Frames ``feed_pts`` .. the ``future`` frames after ``last_pts`` of a seeking reader."""

    def __init__(self, reader: SeekingReader, plan: SegmentPlanRow, future: int) -> None:
        self.reader, self.plan, self.future = reader, plan, future
        self.info = reader.info
        self.warnings = reader.warnings
        self.corrupt_packets = 0

    def __iter__(self) -> Iterator[object]:
        plan, started, after = self.plan, False, 0
        for item in self.reader:
            if not isinstance(item, Frame) or item.pts is None or item.pts < plan.feed_pts:
                continue
            if not started and item.pts != plan.feed_pts:
                raise _SeekMissed
            started = True
            if item.pts > plan.last_pts:
                if after >= self.future:
                    return
                after += 1
            self.corrupt_packets = self.reader.corrupt_packets
            yield item

    def close(self) -> None:
        self.reader.close()


class _SegmentSink:
    """Encodes the frames the segment owns; the rest (warm-up, look-ahead) are dropped."""

    def __init__(self, writer: VideoWriter, plan: SegmentPlanRow) -> None:
        self.writer, self.plan = writer, plan
        self.written = 0

    def write(self, frame: Frame) -> None:
        if frame.pts is not None and self.plan.first_pts <= frame.pts <= self.plan.last_pts:
            self.writer.write(frame)
            self.written += 1

    def write_packet(self, packet: object) -> None:
        """Segments hold video only; the source's other streams are copied once, at assembly."""

    def close(self) -> None:
        if self.written != self.plan.frames:
            self.writer.abort()
            raise InputError(
                f"segment {self.plan.index}: decoded {self.written} of the {self.plan.frames} "
                "frames the packet index lists (damaged input)"
            )
        self.writer.close()

    def abort(self) -> None:
        self.writer.abort()


def _seek_targets(plan: SegmentPlanRow, keyframes: tuple[int, ...]) -> list[int | None]:
    """The planned keyframe, the one before it, then the start of the file."""
    targets: list[int | None] = [plan.seek_pts]
    if plan.seek_pts is not None:
        position = bisect.bisect_left(keyframes, plan.seek_pts)
        if position > 1:
            targets.append(keyframes[position - 1])
        targets.append(None)
    return targets


def run_segment(
    input: Path,
    output: Path,
    job: RestoreJob,
    plan: SegmentPlanRow,
    engine: Backend,
    *,
    container: str,
    keyframes: tuple[int, ...] = (),
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
) -> SegmentResult:
    """Restore ``plan``'s frames of ``input`` into ``output`` (video only, format ``container``).

    ``engine`` is loaded and may be shared by the segments of one worker. Raises the project's
    errors; ``output`` exists only when this returns.
    """
    for seek in _seek_targets(plan, keyframes):
        try:
            return _run_once(input, output, job, plan, engine, container, seek, progress, cancel)
        except _SeekMissed:
            log.info("%s: the seek to %s landed late; seeking earlier", input, seek)
    raise InputError(f"{input}: segment {plan.index}: the frame at pts {plan.feed_pts} cannot be reached")


def _run_once(
    input: Path,
    output: Path,
    job: RestoreJob,
    plan: SegmentPlanRow,
    engine: Backend,
    container: str,
    seek: int | None,
    progress: Callable[[Progress], None] | None,
    cancel: threading.Event | None,
) -> SegmentResult:
    spec = engine.spec
    reader = SeekingReader(input, seek_pts=seek, limits=job.limits, threads=job.pipeline.decode_threads)
    temporary: Path | None = None
    try:
        info = reader.info
        compiled = compile_colour(job.pipeline, engine, info)
        reader.compiled_colour = compiled
        reader.compile_colour_after = compile_colour_after(job.pipeline, compiled)
        settings = resolve_encoder(job.encode, container, info.color)
        output.parent.mkdir(parents=True, exist_ok=True)
        temporary = temporary_sibling(output)
        writer = VideoWriter(
            temporary,
            info.with_size(info.width * spec.scale, info.height * spec.scale),
            container=container,
            encode=job.encode,
            name=str(output),
            compiled_colour=compiled,
            settings=settings,
        )
        writer.compile_colour_after = compile_colour_after(job.pipeline, compiled)
        sink = _SegmentSink(writer, plan)
        source = _SegmentSource(reader, plan, spec.future_frames)
        stats = drive(
            source, sink, engine, job, name=f"{input} segment {plan.index}", progress=progress, cancel=cancel
        )
        checksum = sha256_file(temporary)
        os.replace(temporary, output)
        temporary = None
        return SegmentResult(
            sink.written, stats.wall_seconds, checksum, tuple(stats.warnings + writer.warnings)
        )
    finally:
        reader.close()
        if temporary is not None:
            discard(temporary)
