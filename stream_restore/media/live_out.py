"""Encode a live stream once, mux the packets into any number of outputs (the PyAV half of publishing).

:class:`LiveEncoder` holds the one video encoder (libx264 by default, with live settings: ``tune
zerolatency`` (no look-ahead, no frame threads), no B-frames, a one-second GOP unless the user set
one, headers both global and repeated before every keyframe so MPEG-TS and HLS players can join
at any keyframe while RTSP, RTMP and MP4 get them in the stream header) and one AAC encoder. They
live in a ``null`` muxer so that their streams can be the templates of every output's streams.

:class:`OutputMux` is one output container: streams copied from those templates, packets (plain
bytes with timestamps, so one encode feeds every output) muxed as they come.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import cast
from urllib.parse import urlsplit

import av
import av.container
from av.codec.context import Flags
from av.stream import Stream
from av.video.stream import VideoStream

from ..errors import OutputError, StreamRestoreError
from ..frames import Frame, StreamInfo
from .codecs import EncoderSettings, check_encodable_size
from .convert import EncodePlan
from .errors import output_error
from .live_in import AUDIO_LAYOUT, AUDIO_RATE

__all__ = ["Encoded", "LiveEncoder", "OutputMux", "check_reachable", "live_encoder_options"]

log = logging.getLogger(__name__)

VIDEO_TIME_BASE = Fraction(1, 90000)
AUDIO_TIME_BASE = Fraction(1, AUDIO_RATE)


@dataclass(frozen=True)
class Encoded:
    """One encoded packet, independent of any container (so it can be muxed into several)."""

    kind: str  # "video" or "audio"
    data: bytes
    pts: int | None
    dts: int | None
    key: bool
    time_base: Fraction
    duration: int | None = None


def live_encoder_options(settings: EncoderSettings) -> dict[str, str]:
    """The encoder's private options with the live defaults added where the user chose none."""
    options = dict(settings.options)
    if settings.codec == "libx264":
        options.setdefault("tune", "zerolatency")
        options["x264-params"] = "repeat-headers=1"  # SPS/PPS before every keyframe, besides extradata
    elif settings.codec == "libx265":
        options["x265-params"] = "log-level=error:repeat-headers=1"
        options.setdefault("tune", "zerolatency")
    return options


class LiveEncoder:
    """The session's one video encode and one audio encode (see the module docstring)."""

    def __init__(self, settings: EncoderSettings, info: StreamInfo, *, audio: bool) -> None:
        """``info``: the restored stream (size, colour, nominal rate)."""
        check_encodable_size(settings, info.width, info.height)
        self.settings, self.info = settings, info
        rate = info.frame_rate or Fraction(30)
        self._holder = av.open("live-encoder", mode="w", format="null")
        try:
            video = cast(VideoStream, self._holder.add_stream(settings.codec, rate=rate))
            ctx = video.codec_context
            ctx.width, ctx.height, ctx.pix_fmt = info.width, info.height, settings.pix_fmt
            ctx.time_base = VIDEO_TIME_BASE
            video.time_base = VIDEO_TIME_BASE
            ctx.framerate = rate
            ctx.gop_size = settings.gop or max(1, round(float(rate)))
            ctx.max_b_frames = 0
            if settings.bit_rate:
                ctx.bit_rate = settings.bit_rate
            ctx.colorspace, ctx.color_range = int(info.color.matrix), int(info.color.range)
            ctx.flags |= Flags.global_header
            ctx.options = live_encoder_options(settings)
            self.video: Stream = video
            self.audio: Stream | None = None
            if audio:
                sound = self._holder.add_stream("aac", rate=AUDIO_RATE)
                sound.codec_context.layout = AUDIO_LAYOUT
                sound.codec_context.time_base = AUDIO_TIME_BASE
                sound.time_base = AUDIO_TIME_BASE
                sound.codec_context.flags |= Flags.global_header
                self.audio = sound
            self._holder.start_encoding()  # opens the encoders: extradata is known from here on
        except av.FFmpegError as exc:
            self._holder.close()
            raise output_error("the live encoder", exc) from None
        self._plan = EncodePlan.for_output(info.color, settings.pix_fmt, info.height)

    def encode_video(self, frame: Frame | None) -> list[Encoded]:
        """Encode one restored frame (None flushes); its ``pts`` is in 1/90000 s."""
        picture = None
        if frame is not None:
            picture = self._plan.to_frame(frame.data)
            picture.pts, picture.time_base = frame.pts, VIDEO_TIME_BASE
        try:
            return [_encoded("video", p) for p in self.video.encode(picture)]  # type: ignore[attr-defined]
        except av.FFmpegError as exc:
            raise output_error("the live encoder", exc) from None

    def encode_audio(self, samples: object | None, pts: int = 0) -> list[Encoded]:
        """Encode decoded 48 kHz stereo audio at ``pts`` samples (None flushes)."""
        if self.audio is None:
            return []
        if samples is not None:
            assert isinstance(samples, av.AudioFrame)
            samples.pts, samples.time_base = pts, AUDIO_TIME_BASE
        try:
            return [_encoded("audio", p) for p in self.audio.encode(samples)]  # type: ignore[attr-defined]
        except av.FFmpegError as exc:
            raise output_error("the live audio encoder", exc) from None

    def close(self) -> None:
        try:
            self._holder.close()
        except av.FFmpegError:
            log.debug("closing the live encoder failed", exc_info=True)


def _encoded(kind: str, packet: av.Packet[Stream]) -> Encoded:
    return Encoded(kind, bytes(packet), packet.pts, packet.dts, bool(packet.is_keyframe),
                   packet.time_base or (VIDEO_TIME_BASE if kind == "video" else AUDIO_TIME_BASE),
                   packet.duration or None)


_TCP_DEFAULT_PORTS = {"rtmp": 1935, "rtmps": 443, "rtsp": 554, "rtsps": 322}
CONNECT_SECONDS = 5.0  # how long the reachability check of a TCP output may take


def check_reachable(url: str, timeout: float = CONNECT_SECONDS) -> None:
    """Connect to a TCP output's host and port from Python (the GIL released), then hang up.

    PyAV 18 opens an output (``avio_open``, and RTSP's ANNOUNCE/RECORD in ``avformat_write_header``)
    holding the GIL: while FFmpeg connects, every Python thread of the process waits, the server's
    event loop among them, for as long as the system's TCP connect timeout (minutes) when the host
    does not answer. This check makes an unreachable or refusing host an error within ``timeout``;
    what stays under the GIL is the protocol handshake with a server that accepted the connection.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _TCP_DEFAULT_PORTS or not parts.hostname:
        return
    try:
        port = parts.port or _TCP_DEFAULT_PORTS[scheme]
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except (OSError, ValueError) as exc:
        raise OutputError(f"{url}: cannot connect: {getattr(exc, 'strerror', None) or exc}") from None


class OutputMux:
    """One output container fed with :class:`Encoded` packets; opened (and its header written) here."""

    def __init__(self, url: str, format: str, options: Sequence[tuple[str, str]],
                 encoder: LiveEncoder) -> None:
        self.url = url
        check_reachable(url)
        try:
            self._out = av.open(url, mode="w", format=format, options=dict(options))
        except (av.FFmpegError, OSError) as exc:
            raise output_error(url, exc) from None
        try:
            self._video = self._out.add_stream_from_template(encoder.video)
            self._audio = (self._out.add_stream_from_template(encoder.audio)
                           if encoder.audio is not None else None)
            self._out.start_encoding()  # connects (RTSP ANNOUNCE/RECORD, RTMP publish) and writes the header
        except (av.FFmpegError, OSError, ValueError) as exc:
            self.abort()
            raise output_error(url, exc) from None

    def write(self, item: Encoded) -> None:
        stream = self._video if item.kind == "video" else self._audio
        if stream is None:
            return
        packet = av.Packet(item.data)
        packet.pts, packet.dts, packet.time_base = item.pts, item.dts, item.time_base
        if item.duration:
            packet.duration = item.duration
        packet.is_keyframe = item.key
        packet.stream = stream
        try:
            self._out.mux(packet)
        except (av.FFmpegError, OSError) as exc:
            raise output_error(self.url, exc) from None

    def close(self) -> None:
        """Write the trailer (HLS end, recording index) and close."""
        try:
            self._out.close()
        except (av.FFmpegError, OSError) as exc:
            raise output_error(self.url, exc) from None

    def abort(self) -> None:
        try:
            self._out.close()
        except (av.FFmpegError, OSError, StreamRestoreError):
            log.debug("%s: closing after a failure failed too", self.url, exc_info=True)
