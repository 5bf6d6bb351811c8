"""Demux and decode a video (file path, URL or readable byte stream) into timestamped frames.

:class:`VideoReader` yields, in demux order, :class:`~stream_restore.frames.Frame` objects for the
chosen video stream and the untouched packets of every audio and subtitle stream (to be copied by
the writer). The first frame is decoded when the reader opens, so :attr:`VideoReader.info`
describes what the decoder really produces (size, colour, rotation), not only what the container
declares.
"""

from __future__ import annotations

import logging
import statistics
from collections import deque
from collections.abc import Iterator, Mapping
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, TypeAlias

import av
import av.container
from av.stream import Stream
from av.video.frame import VideoFrame

from ..config import Limits
from ..errors import InputError, LimitExceededError, UnsupportedError
from ..frames import Frame, StreamInfo
from .convert import DecodePlan
from .demuxers import DemuxPolicy, policy_for, refused_demuxer
from .errors import LibavLine, input_error, libav_capture
from .seek import seek_keyframe_before
from .warnings import WarningLog

__all__ = ["MediaItem", "Source", "TimestampGaps", "VideoReader", "check_frame_size"]

log = logging.getLogger(__name__)

MediaItem: TypeAlias = "Frame | av.Packet[Stream]"
Source = str | Path | BinaryIO

_COPY_TYPES = ("audio", "subtitle")
_DISCONTINUITY = Fraction(1)  # seconds a timestamp may go back before it counts as a new timeline
_TOTALS = {  # the end-of-input line of each kind of warning
    "corrupt": "corrupt video packets skipped",
    "order": "frames dropped for out-of-order timestamps",
    "gap": "timestamp gaps",
    "timeline": "timestamp jumps back",
}


def check_frame_size(width: int, height: int, limits: Limits, where: str) -> None:
    """Raise if a frame size is outside the limits (checked before any pixel is decoded)."""
    if width < limits.min_side or height < limits.min_side:
        raise InputError(f"{where}: resolution {width}x{height} is below the minimum of {limits.min_side} "
                         "pixels per side")
    if width > limits.max_width or height > limits.max_height or width * height > limits.max_pixels:
        raise LimitExceededError(
            f"{where}: resolution {width}x{height} exceeds the limit of "
            f"{limits.max_width}x{limits.max_height} ({limits.max_pixels} pixels)"
        )


class TimestampGaps:
    """Finds frames missing from a steady video by the gaps they leave between timestamps.

    A demuxer that meets a damaged packet header (a transport stream with lost or garbled TS
    packets, a dropped network chunk) discards the whole packet without a word, and a decoder that
    loses only non-reference frames has nothing to complain about either: the frames are simply not
    there. What remains is one step between consecutive presentation timestamps much longer than
    the usual one.

    Only a steady stream is judged: most recent steps within 20% of their median. Variable-frame-
    rate video (phones, screen recordings) has irregular steps by design and says nothing about
    loss, so it is left alone; a steady stream that changes its rate for good is followed after a
    few frames, once the new step is the median.
    """

    factor = 1.5  # a step over this many times the usual one skips frames (one lost frame makes it 2)
    history = 16  # recent steps the usual step is the median of
    min_history = 8  # steps seen before gaps are judged
    steady_share = 0.75  # share of recent steps within 20% of the median for a stream to count as steady

    def __init__(self) -> None:
        self._steps: deque[int] = deque(maxlen=self.history)
        self.judged_against: float | None = None  # the usual step the latest one was compared with
        self.gaps = 0
        self.missing = 0

    def usual(self) -> float | None:
        """The usual step between frames, or None before enough steps or when the stream is not steady."""
        if len(self._steps) < self.min_history:
            return None
        median = statistics.median(self._steps)
        near = sum(1 for d in self._steps if abs(d - median) <= 0.2 * median)
        return median if median > 0 and near >= self.steady_share * len(self._steps) else None

    def step(self, delta: int) -> int:
        """Record the step between two consecutive frames; return how many frames it skips (often 0)."""
        usual = self.judged_against = self.usual()
        self._steps.append(delta)
        if usual is None or delta <= self.factor * usual:
            return 0
        skipped = max(1, round(delta / usual) - 1)
        self.gaps += 1
        self.missing += skipped
        return skipped


class VideoReader:
    """Decodes the first video stream of a source; passes audio and subtitle packets through."""

    def __init__(
        self,
        source: Source,
        *,
        limits: Limits | None = None,
        format: str | None = None,
        options: Mapping[str, str] | None = None,
        threads: int = 0,
        copy_streams: bool = True,
        policy: DemuxPolicy | None = None,
        start: float = 0.0,
        end: float | None = None,
        max_frames: int | None = None,
    ) -> None:
        """``policy``: which demuxers and protocols may read ``source`` (media.demuxers); by default
        a byte stream is a client's (:data:`~.demuxers.CLIENT_STREAM`), a path a local file.

        ``start``/``end`` (seconds on the input's timeline) and ``max_frames`` read a part only:
        a seekable input is seeked to the keyframe before ``start``; frames and copied packets
        outside the part are decoded (as needed) but not yielded.
        """
        self.limits = limits or Limits()
        self.name = str(source) if isinstance(source, (str, Path)) else "input stream"
        self.policy = policy or policy_for(source)
        self._container = self._open(source, format, dict(options or {}))
        try:
            self._stream = self._select_video_stream()
            self._stream.thread_type = "AUTO"
            self._stream.thread_count = threads
            declared = self._stream.codec_context
            if declared.width and declared.height:
                check_frame_size(declared.width, declared.height, self.limits, self.name)
            self.copy_streams = [
                s
                for s in self._container.streams
                if copy_streams and s.type in _COPY_TYPES and self._copyable(s)
            ]
            self._start, self._end, self._max_frames = start, end, max_frames
            self._yielded = 0
            if start > 0:
                self._seek(start)
            self._packets = self._container.demux([self._stream, *self.copy_streams])
            self._pending: deque[MediaItem] = deque()
            self._first_av_frame: VideoFrame | None = None
            self._plan: DecodePlan | None = None  # YUV -> RGB for this stream, rebuilt on a format change
            self._next_index = 0
            self.compiled_colour = False  # media.kernels for YUV -> RGB; the pipeline decides
            self.compile_colour_after: int | None = None  # or from this many decoded frames on
            self._last_pts: int | None = None
            self._frame_step = self._nominal_step()
            self.corrupt_packets = 0
            self.gaps = TimestampGaps()
            self._warnings = WarningLog(log)
            self.warnings = self._warnings.messages  # what went wrong with the input, for the summary
            self._offset = Fraction(0)  # seconds added to every timestamp after discontinuities
            self._latest: Fraction | None = None  # latest (shifted) timestamp seen, seconds
            self._items = self._decode_items()
            first = self._prime()
            self.info = self._describe(first)
        except BaseException:
            self.close()
            raise

    # -- opening -----------------------------------------------------------------------------
    def _open(
        self, source: Source, format: str | None, options: dict[str, str]
    ) -> av.container.InputContainer:
        if isinstance(source, (str, Path)) and not str(source).strip():
            raise InputError("input path is empty")
        if isinstance(source, Path) or (isinstance(source, str) and "://" not in source):
            path = Path(source)
            if not path.exists():
                raise InputError(f"{path}: no such file")
            if path.is_dir():
                raise InputError(f"{path}: is a folder (folders are read as image sequences)")
            if path.stat().st_size == 0:
                raise InputError(f"{path}: file is empty")
        explicit = self.policy.check_format(format)
        container_options = self.policy.open_options(explicit)
        logs: list[LibavLine] = []
        try:
            with libav_capture() as logs:
                return av.open(source, mode="r", format=explicit, options=options,
                               container_options=container_options, metadata_errors="replace", timeout=30.0)
        except av.FFmpegError as exc:
            refused = refused_demuxer(logs)
            if refused is not None:
                raise UnsupportedError(
                    f"{self.name}: the data is {refused} (a demuxer that opens other files or URLs, or not "
                    f"a video container), which is not accepted from {self.policy.origin}"
                    + (f"; send one of: {', '.join(self.policy.demuxers())}" if self.policy.allowed else
                       f"; name the format to read it anyway (--input-format {refused.split(',')[0]})"
                       if self.policy.explicit_any else "")
                ) from None
            raise input_error(self.name, exc, logs) from None
        except OSError as exc:
            raise InputError(f"{self.name}: cannot open: {exc.strerror or exc}") from None

    def _select_video_stream(self) -> av.video.stream.VideoStream:
        candidates = [
            s
            for s in self._container.streams.video
            if not (s.disposition & av.stream.Disposition.attached_pic)
        ]
        if not candidates:
            kinds = ", ".join(sorted({str(s.type) for s in self._container.streams})) or "no"
            raise InputError(f"{self.name}: no video stream (found {kinds} streams)")
        stream = candidates[0]
        if stream.codec_context is None:
            raise UnsupportedError(f"{self.name}: the video codec is not supported (no decoder in this "
                                   "FFmpeg build)")
        return stream

    def _copyable(self, stream: av.stream.Stream) -> bool:
        if stream.codec_context is None:
            log.warning("%s: %s stream #%d has a codec FFmpeg does not know; it is left out",
                        self.name, stream.type, stream.index)
            return False
        return True

    def _seek(self, start: float) -> None:
        """Jump to the keyframe at or before ``start`` s; an input that cannot seek is read from
        its beginning (the frames before ``start`` are then decoded and dropped)."""
        seek_keyframe_before(self._container, self._stream, start, self.name)

    def _in_part(self, when: Fraction | float | None) -> int:
        """-1 before the part being read, 0 inside it, 1 after it (untimed items are inside)."""
        if when is None:
            return 0
        if self._start > 0 and when < self._start - 1e-6:  # no lower bound at 0 (AAC priming, B-frames)
            return -1
        return 1 if self._end is not None and when >= self._end - 1e-6 else 0

    def _nominal_step(self) -> int:
        """Time-base units per frame at the nominal rate; only used for frames without pts."""
        rate = self._stream.average_rate or self._stream.guessed_rate or Fraction(25)
        tb = self._stream.time_base or Fraction(1, 90000)
        return max(1, round(1 / (rate * tb)))

    def _prime(self) -> VideoFrame:
        for item in self._items:
            self._pending.append(item)
            if isinstance(item, Frame) and self._first_av_frame is not None:
                return self._first_av_frame
        if self._start > 0 and self._first_av_frame is not None:
            raise InputError(f"{self.name}: no video frame at or after the start, {self._start:g} s (it ends "
                             "before)")
        raise InputError(f"{self.name}: no decodable video frame (the file is truncated or corrupt)")

    def _describe(self, first: VideoFrame) -> StreamInfo:
        stream = self._stream
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif self._container.duration is not None:
            duration = self._container.duration / 1_000_000
        frame_count = stream.frames or None
        if self._start > 0 or self._end is not None or self._max_frames is not None:  # a part only
            if duration is not None:
                duration = max(0.0, min(duration, self._end or duration) - self._start)
            frame_count = self._max_frames
        return StreamInfo(
            width=first.width,
            height=first.height,
            time_base=stream.time_base or Fraction(1, 90000),
            frame_rate=stream.average_rate or stream.guessed_rate,
            color=self._plan_for(first).color,
            rotation=int(first.rotation or 0),
            duration=duration,
            frame_count=frame_count,
            codec=stream.codec_context.name,
            pix_fmt=first.format.name,
        )

    # -- reading -----------------------------------------------------------------------------
    def __iter__(self) -> Iterator[MediaItem]:
        while self._pending:
            yield self._pending.popleft()
        yield from self._items

    def _decode_items(self) -> Iterator[MediaItem]:
        stream = self._stream
        try:
            for packet in self._packets:
                if packet.size:
                    self._rebase(packet)
                if packet.stream is stream:
                    for frame in self._decode(packet):
                        place = self._in_part(frame.time)
                        if place < 0:
                            continue
                        if place > 0 or (self._max_frames is not None and self._yielded >= self._max_frames):
                            self._sum_up()
                            return
                        self._yielded += 1
                        yield frame
                    if packet.size == 0:  # the flush packet demux() adds at the end
                        self._sum_up()
                        return
                elif packet.dts is not None or packet.pts is not None:
                    stamp = packet.dts if packet.pts is None else packet.pts
                    when = stamp * packet.time_base if stamp is not None and packet.time_base else None
                    if self._in_part(when) == 0:
                        yield packet
        except av.FFmpegError as exc:
            raise input_error(self.name, exc) from None

    def _rebase(self, packet: av.Packet[Stream]) -> None:
        """Keep timestamps increasing across discontinuities (concatenated or restarted streams).

        A jump back of more than a second on any stream starts a new timeline; from then on every
        stream's timestamps are shifted by the same amount so they continue just after what came
        before, which keeps audio and video in step. Smaller disorder is left to the decoder.
        """
        stamp = packet.dts if packet.dts is not None else packet.pts
        if stamp is None or packet.time_base is None:
            return
        when = stamp * packet.time_base + self._offset
        if self._latest is not None and when < self._latest - _DISCONTINUITY:
            step = 1 / (self._stream.average_rate or Fraction(25))
            self._offset += self._latest - when + step
            self._warn("timeline", f"{self.name}: timestamps jump back at {float(self._latest):.3f} s; "
                                   "later timestamps are shifted to continue")
            when = stamp * packet.time_base + self._offset
        self._latest = when if self._latest is None else max(self._latest, when)
        if self._offset:
            shift = round(self._offset / packet.time_base)
            if packet.pts is not None:
                packet.pts += shift
            if packet.dts is not None:
                packet.dts += shift

    def _decode(self, packet: av.Packet[Stream]) -> Iterator[Frame]:
        try:
            frames = self._stream.decode(packet)
        except av.InvalidDataError as exc:
            self.corrupt_packets += 1
            self._warn("corrupt", f"{self.name}: skipped a corrupt video packet at pts {packet.pts} ({exc})")
            return
        for frame in frames:
            converted = self._to_frame(frame)
            if converted is not None:
                yield converted

    def _to_frame(self, frame: VideoFrame) -> Frame | None:
        if self._next_index == 0:
            self._first_av_frame = frame
        check_frame_size(frame.width, frame.height, self.limits, self.name)
        pts = frame.pts
        if pts is None:  # raw elementary streams carry no timestamps: use the nominal rate
            pts = 0 if self._last_pts is None else self._last_pts + self._frame_step
        elif self._last_pts is not None and pts <= self._last_pts:
            # Out-of-order or repeated timestamps come from damaged input; no encoder takes them.
            self._warn("order", f"{self.name}: dropped a frame with timestamp {pts}, not after the previous "
                                f"{self._last_pts} (damaged input)")
            return None
        if self._last_pts is not None:
            self._check_gap(pts - self._last_pts, pts)
        self._last_pts = pts
        time_base = frame.time_base or self._stream.time_base or Fraction(1, 90000)
        out = Frame(
            data=self._plan_for(frame).to_tensor(frame, compiled=self._compiled_now()),
            pts=pts,
            time_base=time_base,
            index=self._next_index,
            duration=frame.duration or None,
        )
        self._next_index += 1
        return out

    def _plan_for(self, frame: VideoFrame) -> DecodePlan:
        """The stream's conversion plan, made at its first frame and again only when the format changes."""
        if self._plan is None or not self._plan.fits(frame):
            self._plan = DecodePlan.for_frame(frame)
        return self._plan

    def _check_gap(self, delta: int, pts: int) -> None:
        skipped = self.gaps.step(delta)
        usual = self.gaps.judged_against
        if skipped and usual is not None:
            tb = self._stream.time_base or Fraction(1, 90000)
            self._warn("gap", f"{self.name}: about {skipped} frame(s) missing before {float(pts * tb):.3f} s "
                              f"({float(delta * tb) * 1000:.0f} ms without a frame where frames are "
                              f"{float(usual * tb) * 1000:.0f} ms apart): lost in damaged input or "
                              "dropped by the source")

    # -- reporting ---------------------------------------------------------------------------
    def _warn(self, kind: str, message: str) -> None:
        """Log and keep one warning; after the first few of a kind, only count them."""
        self._warnings.add(message, kind)

    def _sum_up(self) -> None:
        """At the end of the input, one line for each kind of warning that was cut short."""
        for kind, (count, hidden) in self._warnings.cut_short().items():
            what = _TOTALS[kind] + (f", about {self.gaps.missing} frames missing" if kind == "gap" else "")
            self._warnings.add(f"{self.name}: {count} {what} in all ({hidden} not shown above)")

    # -- lifecycle ---------------------------------------------------------------------------
    def _compiled_now(self) -> bool:
        after = self.compile_colour_after
        return self.compiled_colour or (after is not None and self._next_index >= after)

    def close(self) -> None:
        """Release the input; the decoder's threads are parked first, with the GIL released.

        PyAV frees a codec context holding the GIL, and waits there for decoder threads still at
        work; ``flush_buffers`` waits for them without it, so they are idle by then.
        """
        stream = getattr(self, "_stream", None)
        if stream is not None:
            try:
                stream.codec_context.flush_buffers()
            except (av.FFmpegError, ValueError):
                log.debug("%s: flushing the decoder failed", self.name, exc_info=True)
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
