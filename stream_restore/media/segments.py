"""Random access into a video for archive jobs: a keyframe index read from packets, and a reader
that starts at a keyframe.

:func:`index_video` demuxes only the video stream and reads each packet's flags and timestamps;
nothing is decoded, so a 3-hour file is indexed at demux speed. :class:`SeekingReader` is a
:class:`~.decode.VideoReader` whose container is positioned at (or before) a given keyframe
before the first packet is read, so a segment decodes from its own keyframe on, not from the
start of the file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.container
from av.stream import Disposition

from ..config import Limits
from ..errors import InputError
from .decode import VideoReader
from .errors import input_error

__all__ = ["MAX_INDEX_FRAMES", "SeekingReader", "VideoIndex", "index_video"]

MAX_INDEX_FRAMES = 20_000_000  # frames one index holds (about 90 hours at 60 fps; 8 bytes each)


@dataclass(frozen=True)
class VideoIndex:
    """Every frame's presentation timestamp (sorted, ``time_base`` units) and which are keyframes."""

    time_base: Fraction
    pts: tuple[int, ...]
    keyframes: tuple[int, ...]  # pts of the keyframes, sorted; a subset of ``pts``

    @property
    def frames(self) -> int:
        return len(self.pts)

    def seconds(self, pts: int) -> float:
        return float(pts * self.time_base)

    def digest(self) -> str:
        """A short hash of the index: the same input gives the same digest (plans are re-derived)."""
        h = hashlib.sha256(f"{self.time_base}".encode())
        h.update(",".join(map(str, self.pts)).encode())
        h.update(b"|" + ",".join(map(str, self.keyframes)).encode())
        return h.hexdigest()[:16]


def _video_stream(container: av.container.InputContainer, name: str) -> av.video.stream.VideoStream:
    """The stream :class:`VideoReader` decodes: the first video stream that is not a cover picture."""
    for stream in container.streams.video:
        if not stream.disposition & Disposition.attached_pic:
            return stream
    raise InputError(f"{name}: no video stream")


def index_video(path: Path, *, limit: int = MAX_INDEX_FRAMES) -> VideoIndex:
    """Index the frames and keyframes of a local video file from its packets (no decoding)."""
    name = str(path)
    if not path.is_file():
        raise InputError(f"{name}: no such file")
    try:
        with av.open(str(path), metadata_errors="replace") as container:
            stream = _video_stream(container, name)
            time_base = stream.time_base or Fraction(1, 90000)
            pts: list[int] = []
            keys: list[int] = []
            for packet in container.demux(stream):
                stamp = packet.pts if packet.pts is not None else packet.dts
                if not packet.size or stamp is None:
                    continue
                pts.append(stamp)
                if packet.is_keyframe:
                    keys.append(stamp)
                if len(pts) > limit:
                    raise InputError(f"{name}: more than {limit} video frames; too long for one job")
    except av.FFmpegError as exc:
        raise input_error(name, exc) from None
    except OSError as exc:
        raise InputError(f"{name}: cannot open: {exc.strerror or exc}") from None
    ordered = sorted(set(pts))
    if not ordered:
        raise InputError(f"{name}: no video frame")
    keyframes = sorted(set(keys)) or [ordered[0]]
    if keyframes[0] != ordered[0]:
        keyframes.insert(0, ordered[0])  # decoding starts at the first packet whatever its flag
    return VideoIndex(time_base, tuple(ordered), tuple(keyframes))


class SeekingReader(VideoReader):
    """A video-only :class:`VideoReader` positioned at or before the keyframe at ``seek_pts``.

    ``seek_pts`` is in the video stream's time base (None: from the start). Demuxers place a
    backward seek at a keyframe at or before the target; the caller drops frames before the ones it
    wants and checks that the first one it wants is there.
    """

    def __init__(
        self, source: Path, *, seek_pts: int | None, limits: Limits | None = None, threads: int = 0
    ) -> None:
        self._seek_pts = seek_pts
        super().__init__(source, limits=limits, threads=threads, copy_streams=False)

    def _open(
        self, source: str | Path | object, format: str | None, options: dict[str, str]
    ) -> av.container.InputContainer:
        container = super()._open(source, format, options)  # type: ignore[arg-type]
        if self._seek_pts is not None:
            try:
                container.seek(
                    self._seek_pts, stream=_video_stream(container, self.name), backward=True, any_frame=False
                )
            except av.FFmpegError as exc:
                container.close()
                raise input_error(self.name, exc) from None
        return container
