"""Open a live URL with live options, demux it in a reader thread, decode what the pipeline takes.

The PyAV half of live ingest (:mod:`stream_restore.live.source` decides what to keep): one
:class:`LiveInput` per connection. Options per protocol (FFmpeg's names; times in microseconds):

* RTSP: ``rtsp_transport`` tcp (interleaved in the RTSP connection; ``udp`` on request),
  ``timeout`` (socket I/O), ``reorder_queue_size`` 0 over TCP (no reordering wait);
* HTTP/HLS: ``reconnect`` and ``reconnect_delay_max`` (FFmpeg's own retries of one request), for
  HLS also ``reconnect_streamed``, ``reconnect_on_http_error`` 5xx and ``live_start_index`` -2
  (start near the live edge); never ``reconnect_on_network_error``, which retries a refused
  connection in a busy loop: losing the server is the source's reconnect, with backoff;
* UDP/RTP: ``timeout``, ``overrun_nonfatal`` with a ``fifo_size`` so a slow reader loses datagrams
  rather than failing, ``buffer_size``;
* all: ``flags low_delay``, a small ``probesize`` and ``analyzeduration`` (a live source sends a
  keyframe with its parameters every GOP), ``fpsprobesize`` 0 (the rate comes from the stream's
  timing info instead of 20 frames of probing), ``rw_timeout``. Not ``fflags
  nobuffer``: it discards the packets read while probing, so every (re)connect lost its first
  keyframe and waited a GOP more (measured: the first frame 0.7 s in; a slow reader lost half a
  clip); the packets probing reads are at most ``analyzeduration`` old and the drop policy skips
  them when they are too late.

On top, PyAV's own timeout (an interrupt callback): ``open_timeout`` for connecting, and the
stall timeout for every read, so a source that goes quiet ends the read with an error however the
protocol behaves. Only network protocols are allowed for nested opens (:data:`LIVE_URL`), and a
plain local path (the CLI's own file) gets the local-file policy.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from urllib.parse import urlsplit

import av
import av.container
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from av.audio.stream import AudioStream
from av.packet import Packet
from av.stream import Stream
from av.video.stream import VideoStream

from ..config import Limits
from ..errors import InputError
from ..frames import Frame, StreamInfo
from .convert import DecodePlan
from .decode import check_frame_size
from .demuxers import LOCAL_FILE, URL, DemuxPolicy
from .errors import input_error, libav_capture

__all__ = ["AUDIO_LAYOUT", "AUDIO_RATE", "LIVE_URL", "LiveInput", "Received", "live_options"]

log = logging.getLogger(__name__)

AUDIO_RATE = 48000  # Hz: audio is decoded and resampled to this for the one AAC encode
AUDIO_LAYOUT = "stereo"
_RECEIPTS = 64  # receipts of packets whose frames the decoder still holds (reordering depth)

# A live URL's policy: the URL origin's demuxers, nested opens on network protocols only (no data:).
_LIVE_PROTOCOLS = ",".join(p for p in (URL.protocols or "").split(",") if p and p != "data")
LIVE_URL: DemuxPolicy = dataclasses.replace(URL, origin="a live URL", protocols=_LIVE_PROTOCOLS)


def live_options(url: str, *, transport: str = "tcp", stall_timeout: float = 5.0) -> dict[str, str]:
    """FFmpeg options for opening ``url`` live (see the module docstring); times in microseconds."""
    scheme = urlsplit(url).scheme.lower()
    micro = str(int(stall_timeout * 1_000_000))
    options = {"flags": "low_delay", "probesize": "500000", "fpsprobesize": "0",
               "analyzeduration": "1000000", "rw_timeout": micro}
    if scheme in ("rtsp", "rtsps"):
        options.update({"rtsp_transport": transport, "timeout": micro})
        if transport == "tcp":
            options["reorder_queue_size"] = "0"
        options.pop("rw_timeout")  # the RTSP demuxer reads through its own sockets: "timeout" applies
    elif scheme in ("http", "https"):
        # Retries of one request (a playlist, a segment) inside FFmpeg; a continuous stream that ends
        # is not spliced behind our back (its timestamps would restart): the source reconnects.
        options.update({"reconnect": "1", "reconnect_delay_max": "2"})
        if urlsplit(url).path.lower().endswith(".m3u8"):
            options.update({"reconnect_streamed": "1", "reconnect_on_http_error": "5xx",
                            "http_persistent": "1", "live_start_index": "-2"})
    elif scheme in ("udp", "rtp"):
        options.update({"timeout": micro, "overrun_nonfatal": "1", "fifo_size": "50000",
                        "buffer_size": str(4 * 1024 * 1024)})
    return options


@dataclass
class Received:
    """One demuxed packet and when it arrived (``time.monotonic()`` seconds)."""

    packet: Packet[Stream]
    kind: str  # "video" or "audio"
    receipt: float
    key: bool


class LiveInput:
    """One connection to a live source: the container, its video stream and first audio stream."""

    def __init__(self, url: str, *, transport: str = "tcp", stall_timeout: float = 5.0,
                 open_timeout: float = 10.0, limits: Limits | None = None, local: bool = False) -> None:
        """``local``: ``url`` is a plain path the CLI's user typed (read with the local-file policy)."""
        self.url = url
        self.limits = limits or Limits()
        policy = LOCAL_FILE if local else LIVE_URL
        options = {} if local else live_options(url, transport=transport, stall_timeout=stall_timeout)
        try:
            with libav_capture() as logs:
                self.container: av.container.InputContainer = av.open(
                    url, mode="r", options=options, container_options=policy.open_options(None),
                    metadata_errors="replace", timeout=(open_timeout, stall_timeout))
        except av.FFmpegError as exc:
            raise input_error(url, exc, logs) from None
        except OSError as exc:
            raise InputError(f"{url}: cannot open: {exc.strerror or exc}") from None
        try:
            videos = [s for s in self.container.streams.video
                      if not (s.disposition & av.stream.Disposition.attached_pic)]
            if not videos or videos[0].codec_context is None:
                raise InputError(f"{url}: no decodable video stream")
            self.video: VideoStream = videos[0]
            # Slice threads only: frame threads hold frames back (one per thread), which is latency.
            self.video.thread_type = "SLICE"
            audios = [s for s in self.container.streams.audio if s.codec_context is not None]
            self.audio: AudioStream | None = audios[0] if audios else None
            ctx = self.video.codec_context
            if ctx.width and ctx.height:
                check_frame_size(ctx.width, ctx.height, self.limits, url)
        except BaseException:
            self.container.close()
            raise
        self._plan: DecodePlan | None = None
        self._resampler: AudioResampler | None = None
        # Not probed (fpsprobesize 0: probing 20 frames for it held back 0.7 s of packets at every
        # connect): the rate the stream states (H.264/HEVC timing info) comes before a guess.
        stated = self.video.codec_context.framerate
        self.frame_rate: Fraction | None = (self.video.average_rate or (stated if stated else None)
                                            or self.video.guessed_rate)
        self.corrupt_packets = 0
        self._receipts: dict[int, float] = {}  # packet pts -> receipt, until its frame is decoded

    def packets(self) -> Iterator[Received]:
        """Demuxed packets as they arrive; ends at the end of the input; raises InputError on loss
        (a read error, or a read that waited longer than the stall timeout)."""
        streams = [self.video, *([self.audio] if self.audio is not None else [])]
        try:
            for packet in self.container.demux(streams):
                if not packet.size:
                    continue
                kind = "video" if packet.stream is self.video else "audio"
                yield Received(packet, kind, time.monotonic(), bool(packet.is_keyframe))
        except av.FFmpegError as exc:
            raise input_error(self.url, exc) from None
        except OSError as exc:
            raise InputError(f"{self.url}: {exc.strerror or exc}") from None

    def decode_video(self, packet: Packet[Stream], receipt: float) -> list[tuple[float, Frame, float]]:
        """(presentation time in seconds, frame, receipt of the frame's own packet) for each frame
        ``packet`` (received at ``receipt``) completes; ``Frame.pts`` and ``index`` are left for the
        caller to set (0 here)."""
        if packet.pts is not None:
            self._receipts[packet.pts] = receipt
            while len(self._receipts) > _RECEIPTS:
                del self._receipts[next(iter(self._receipts))]
        try:
            decoded = self.video.decode(packet)
        except av.InvalidDataError:
            self.corrupt_packets += 1
            return []
        except av.FFmpegError as exc:
            raise input_error(self.url, exc) from None
        out = []
        for frame in decoded:
            if frame.pts is None or frame.time_base is None:
                continue
            check_frame_size(frame.width, frame.height, self.limits, self.url)
            if self._plan is None or not self._plan.fits(frame):
                self._plan = DecodePlan.for_frame(frame)
            data = self._plan.to_tensor(frame)
            arrived = self._receipts.pop(frame.pts, receipt)
            out.append((float(frame.pts * frame.time_base), Frame(data, 0, Fraction(1, 90000), 0), arrived))
        return out

    def decode_audio(self, packet: Packet[Stream]) -> list[tuple[float, AudioFrame]]:
        """(time in seconds, 48 kHz stereo float frame) for each audio frame ``packet`` holds."""
        assert self.audio is not None
        try:
            decoded = self.audio.decode(packet)
        except av.FFmpegError:
            self.corrupt_packets += 1
            return []
        if self._resampler is None:
            self._resampler = AudioResampler(format="fltp", layout=AUDIO_LAYOUT, rate=AUDIO_RATE)
        out = []
        for frame in decoded:
            if frame.pts is None or frame.time_base is None:
                continue
            start = float(frame.pts * frame.time_base)
            for resampled in self._resampler.resample(frame):
                out.append((start, resampled))
                start += resampled.samples / AUDIO_RATE
        return out

    def describe(self, first: Frame) -> StreamInfo:
        """The stream as its first decoded frame shows it (colour from the decoder's plan)."""
        assert self._plan is not None
        return StreamInfo(width=first.width, height=first.height, time_base=Fraction(1, 90000),
                          frame_rate=self.frame_rate, color=self._plan.color,
                          codec=self.video.codec_context.name)

    def close(self) -> None:
        try:
            self.video.codec_context.flush_buffers()
        except (av.FFmpegError, ValueError):
            pass
        self.container.close()
