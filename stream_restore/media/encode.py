"""Encode restored frames and mux them with every audio and subtitle stream of the input.

Audio and subtitle packets are copied untouched when the output container can hold their codec,
and re-encoded to the container's format otherwise (AAC into WebM becomes Opus, mov_text into
Matroska becomes SubRip). A stream that cannot be carried at all is reported with a warning, never
dropped silently. The video encoder is opened on the first restored frame, when the output size is
known; packets that arrive before are held until then.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, cast

import av
import av.container
from av.audio.codeccontext import AudioCodecContext
from av.audio.resampler import AudioResampler
from av.audio.stream import AudioStream
from av.bitstream import BitStreamFilterContext
from av.stream import Stream
from av.video.stream import VideoStream

from ..config import EncodeOptions
from ..errors import InputError, StreamRestoreError
from ..frames import Frame, StreamInfo
from .codecs import EncoderSettings, check_encodable_size, resolve_encoder
from .convert import EncodePlan
from .errors import input_error, output_error
from .warnings import WarningLog

__all__ = ["VideoWriter"]

log = logging.getLogger(__name__)

# Codecs muxers accept that avformat_query_codec does not report (MPEG-TS has no tag table).
_EXTRA_SUPPORT: dict[str, set[str]] = {
    "mpegts": {"aac", "mp2", "mp3", "ac3", "eac3", "opus", "dts", "truehd", "dvb_subtitle", "dvb_teletext"},
    "matroska": {"dvd_subtitle", "hdmv_pgs_subtitle", "dvb_subtitle", "eac3", "dts", "truehd", "alac"},
    "mp4": {"eac3", "alac", "dvd_subtitle"},
    "mov": {"eac3", "alac"},
}
_AUDIO_FALLBACK = {"webm": "libopus", "mpegts": "aac", "mp4": "aac", "mov": "aac", "matroska": "libopus"}
_TEXT_SUBTITLES = {"subrip", "srt", "ass", "ssa", "mov_text", "webvtt", "text"}
_SUBTITLE_FALLBACK = {"mp4": "mov_text", "mov": "mov_text", "webm": "webvtt", "matroska": "subrip"}


# What the muxer raises for the input's faults once our own options were checked: bad timestamps
# (EINVAL) and invalid copied packets (INVALIDDATA: our encoder's own packets are always valid).
_REFUSED = (av.ArgumentError, av.InvalidDataError)

_AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)


def _shifted(pts: int | None, time_base: Fraction, shift: Fraction) -> int | None:
    """``pts`` (in ``time_base``) moved later by ``shift`` seconds, rounded to the time base."""
    return pts if pts is None or not shift else pts + round(shift / Fraction(time_base))


def _aac_config(ctx: av.codec.context.CodecContext) -> bytes | None:
    """The 2-byte AudioSpecificConfig of an AAC stream (ISO 14496-3), from its decoder parameters."""
    rate = getattr(ctx, "sample_rate", 0)
    layout = getattr(ctx, "layout", None)
    channels = layout.nb_channels if layout is not None else 0
    if rate not in _AAC_RATES or not 1 <= channels <= 7:
        return None
    profile = {"Main": 1, "LC": 2, "SSR": 3, "LTP": 4}.get(str(ctx.profile or "LC"), 2)
    index = _AAC_RATES.index(rate)
    return bytes([(profile << 3) | (index >> 1), ((index & 1) << 7) | (channels << 3)])


@dataclass
class _CopiedStream:
    source: av.stream.Stream
    target: av.stream.Stream
    transcode: bool
    resampler: AudioResampler | None = None
    bsf: BitStreamFilterContext | None = None
    last_dts: int | None = None  # of the last packet muxed, in the source stream's time base
    dropped: int = 0


class VideoWriter:
    """Writes one output container: the restored video stream plus the input's other streams."""

    def __init__(
        self,
        target: Path | BinaryIO,
        info: StreamInfo,
        *,
        container: str,
        encode: EncodeOptions,
        copy_from: Sequence[av.stream.Stream] = (),
        streaming: bool = False,
        name: str | None = None,
        compiled_colour: bool = False,
        settings: EncoderSettings | None = None,
    ) -> None:
        """``info`` describes the output video stream (size, colour, timing), once for the stream;
        ``settings``: the encoder already resolved by the caller (resolved here otherwise, before the
        output is opened). The writer is a pipeline frame sink: ``write``, ``write_packet``,
        ``close``, ``abort``."""
        self.info = info
        self.name = name or (str(target) if isinstance(target, Path) else "output stream")
        self.settings = settings or resolve_encoder(encode, container, info.color)
        self.compiled_colour = compiled_colour  # media.kernels for RGB -> YUV
        self.compile_colour_after: int | None = None  # or from this many written frames on
        self.streaming = streaming
        self.container_format = container
        self.encode_options = encode
        options: dict[str, str] = {}
        if container in ("mp4", "mov"):
            options["movflags"] = "frag_keyframe+empty_moov+default_base_moof" if streaming else "+faststart"
        if streaming:  # hand each muxed packet to the byte stream at once (live latency)
            options["flush_packets"] = "1"
            # explicit PES lengths: demuxers emit a frame without waiting for the next
            if container == "mpegts":
                options["omit_video_pes_length"] = "0"
        try:
            self._out = av.open(
                str(target) if isinstance(target, Path) else target,
                mode="w",
                format=container,
                options=options,
            )
        except (av.FFmpegError, OSError) as exc:
            raise output_error(self.name, exc) from None
        self._copy_sources = list(copy_from)
        self._copied: dict[int, _CopiedStream] = {}
        self._held: list[av.Packet[Stream]] = []
        self._video: VideoStream | None = None
        self._size: tuple[int, int] | None = None
        self._plan: EncodePlan | None = None  # RGB -> the encoder's pixel format, made once per stream
        # MP4/MOV keep a negative first timestamp with an edit list that starts presentation at 0,
        # hiding every frame before it (a one-frame output decoded to nothing: fuzz F13). There,
        # all streams are shifted by the same amount so the first video frame is at 0 seconds.
        self._shift = Fraction(0)  # seconds added to every timestamp written
        self.start_at_zero = False  # shift every stream so the first video frame is at 0 s
        self.frames_written = 0
        self._warnings = WarningLog(log)
        self.warnings = self._warnings.messages  # what was changed or left out, for the summary

    # -- setup -------------------------------------------------------------------------------
    def _supported(self) -> set[str]:
        return set(self._out.supported_codecs) | _EXTRA_SUPPORT.get(self.container_format, set())

    def _open(self, info: StreamInfo) -> None:
        settings = self.settings
        check_encodable_size(settings, info.width, info.height)
        rate = info.frame_rate or self.encode_options.frame_rate or 25
        try:
            stream = cast(
                VideoStream, self._out.add_stream(settings.codec, rate=rate, options=settings.options)
            )
        except (av.FFmpegError, ValueError) as exc:
            raise output_error(self.name, exc) from None
        ctx = stream.codec_context
        ctx.width, ctx.height = info.width, info.height
        ctx.pix_fmt = settings.pix_fmt
        ctx.time_base = info.time_base
        stream.time_base = info.time_base
        if settings.bit_rate:
            ctx.bit_rate = settings.bit_rate
        if settings.gop:
            ctx.gop_size = settings.gop
        if not info.color.is_rgb or not settings.pix_fmt.startswith("gbr"):
            ctx.colorspace = int(info.color.matrix) if not info.color.is_rgb else 1
            ctx.color_range = int(info.color.range) if not info.color.is_rgb else 1
        ctx.color_primaries = info.color.primaries
        ctx.color_trc = info.color.transfer
        ctx.thread_count = 0
        if info.rotation:
            stream.set_display_rotation(info.rotation)
        self._video, self._size = stream, (info.width, info.height)
        self._plan = EncodePlan.for_output(info.color, settings.pix_fmt, info.height)
        for source in self._copy_sources:
            self._add_copy(source)

    def _add_copy(self, source: av.stream.Stream) -> None:
        codec = source.codec_context.name
        if source.type == "audio" and not getattr(source.codec_context, "sample_rate", 0):
            # Muxers refuse the header ("sample rate not set"): the input's fault, not the output's.
            self._warn(f"audio stream #{source.index} ({codec}) declares no sample rate; it is left out "
                       "(damaged input)")
            return
        supported = self._supported()
        if codec in supported:
            target = self._out.add_stream_from_template(source)
            self._copied[source.index] = _CopiedStream(source, target, transcode=False)
            if self.streaming and codec == "aac" and not source.codec_context.extradata:
                # ADTS (MPEG-TS) AAC into a non-seekable MKV/MP4: the header needs the config up
                # front, and the fragmented MP4 muxer takes raw AAC only (no automatic filter there).
                config = _aac_config(source.codec_context)
                if config is not None and self.container_format != "mpegts":
                    target.codec_context.extradata = config
                    self._copied[source.index].bsf = BitStreamFilterContext("aac_adtstoasc", source)
            return
        fallback: str | None
        if source.type == "audio":
            fallback = _AUDIO_FALLBACK.get(self.container_format)
        elif codec in _TEXT_SUBTITLES:
            fallback = _SUBTITLE_FALLBACK.get(self.container_format)
        else:
            fallback = None
        if fallback is None or source.type == "subtitle":
            # Subtitle re-encoding needs decoded events PyAV cannot re-time reliably: say so.
            self._warn(f"{source.type} stream #{source.index} ({codec}) cannot be stored in "
                       f"{self.container_format}; "
                       f"it is left out (write .mkv to keep it)")
            return
        decoder = cast(AudioCodecContext, source.codec_context)
        target = cast(AudioStream, self._out.add_stream(fallback, rate=decoder.sample_rate or 48000))
        if decoder.layout is not None:
            target.codec_context.layout = decoder.layout
        encoder = target.codec_context
        resampler = AudioResampler(format=encoder.format, layout=encoder.layout, rate=encoder.sample_rate)
        self._copied[source.index] = _CopiedStream(source, target, transcode=True, resampler=resampler)
        self._warn(f"audio stream #{source.index} ({codec}) re-encoded to {fallback} for "
                   f"{self.container_format}")

    def _warn(self, message: str) -> None:
        self._warnings.add(message)

    # -- writing -----------------------------------------------------------------------------
    def write(self, frame: Frame) -> None:
        """Encode one restored frame (the stream opens at the first, as ``info`` describes it)."""
        if self._video is None:
            self._open(self.info)
            negative = self.container_format in ("mp4", "mov") and frame.pts is not None and frame.pts < 0
            if frame.pts is not None and (negative or self.start_at_zero):
                self._shift = -frame.pts * Fraction(frame.time_base)
            held, self._held = self._held, []
            for packet in held:
                self._mux_copy(packet)
        assert self._video is not None and self._plan is not None
        if (frame.width, frame.height) != self._size:
            raise InputError(
                f"frame size changed from {self._size[0]}x{self._size[1]} to {frame.width}x{frame.height} "  # type: ignore[index]
                f"at frame {frame.index}; a video stream cannot change size (write to a folder of images "
                "instead)"
            )
        after = self.compile_colour_after
        compiled = self.compiled_colour or (after is not None and self.frames_written >= after)
        av_frame = self._plan.to_frame(frame.data, compiled=compiled)
        av_frame.pts = _shifted(frame.pts, frame.time_base, self._shift)
        av_frame.time_base = frame.time_base
        try:
            self._out.mux(self._video.encode(av_frame))
        except _REFUSED as exc:
            raise self._refused(exc) from None
        except av.FFmpegError as exc:
            raise output_error(self.name, exc) from None
        self.frames_written += 1

    def write_packet(self, packet: object) -> None:
        """Copy (or re-encode) one packet of an audio or subtitle stream (a reader's ``av.Packet``)."""
        if not isinstance(packet, av.Packet):
            raise TypeError(f"write_packet takes the reader's av.Packet, not {type(packet).__name__}")
        if self._video is None:
            self._held.append(packet)
            return
        self._mux_copy(packet)

    def _mux_copy(self, packet: av.Packet[Stream]) -> None:
        copied = self._copied.get(packet.stream.index)
        if copied is None or self._goes_backwards(copied, packet):
            return
        if self._shift and packet.time_base is not None:
            packet.pts = _shifted(packet.pts, packet.time_base, self._shift)
            packet.dts = _shifted(packet.dts, packet.time_base, self._shift)
            stamp = packet.dts if packet.dts is not None else packet.pts
            if stamp is not None and stamp < 0:  # before the first video frame, which is now 0 s
                self._drop(
                    copied,
                    f"{copied.source.type} stream #{copied.source.index}: packets before the "
                    "first video frame were left out",
                )
                return
        try:
            if not copied.transcode:
                if self._is_regenerated_gap(copied, packet):
                    return
                for out in copied.bsf.filter(packet) if copied.bsf is not None else (packet,):
                    out.stream = copied.target
                    self._out.mux(out)
                return
            assert copied.resampler is not None
            decoder = cast(AudioCodecContext, copied.source.codec_context)
            target = cast(AudioStream, copied.target)
            try:
                frames = decoder.decode(packet)
            except av.FFmpegError:  # a damaged audio packet: skipped, as the reader skips video ones
                self._drop(
                    copied,
                    f"damaged packets of {copied.source.type} stream #{copied.source.index} were skipped",
                )
                return
            for frame in frames:
                for resampled in copied.resampler.resample(frame):
                    self._out.mux(target.encode(resampled))
        except av.ArgumentError:  # the muxer refused the packet (its timestamps): dropped like those above
            self._drop(
                copied,
                f"{copied.source.type} stream #{copied.source.index}: dropped packets the "
                f"{self.container_format} muxer refuses (damaged timestamps)",
            )
        except av.FFmpegError as exc:  # copied data is the input's: a fault in it is an input error
            raise input_error(
                f"{self.name}: {copied.source.type} stream #{copied.source.index} of the input", exc
            ) from None

    def _drop(self, copied: _CopiedStream, warning: str) -> None:
        if not copied.dropped:
            self._warn(warning)
        copied.dropped += 1

    def _goes_backwards(self, copied: _CopiedStream, packet: av.Packet[Stream]) -> bool:
        """A packet whose dts is not after the previous one (damaged or concatenated input): muxers
        refuse it, so it is dropped with one warning per stream, as the reader drops such frames."""
        dts = packet.dts if packet.dts is not None else packet.pts
        last = copied.last_dts
        if dts is None:
            return False
        if last is not None and (dts < last or (dts == last and copied.source.type == "audio")):
            if not copied.dropped:
                self._warn(
                    f"{copied.source.type} stream #{copied.source.index}: dropped packets whose "
                    "timestamps "
                    f"go backwards ({dts} after {last}; damaged or concatenated input)"
                )
            copied.dropped += 1
            return True
        copied.last_dts = dts
        return False

    def _is_regenerated_gap(self, copied: _CopiedStream, packet: av.Packet[Stream]) -> bool:
        """An empty mov_text sample: MP4/MOV muxers write their own between cues, so skip it."""
        return (
            self.container_format in ("mp4", "mov")
            and copied.source.codec_context.name == "mov_text"
            and packet.size == 2
            and bytes(packet) == b"\x00\x00"
        )

    def close(self) -> None:
        """Flush encoders and write the trailer. The output is complete only after this."""
        try:
            if self._video is None:
                raise StreamRestoreError("no frame was restored; nothing to write")
            self._out.mux(self._video.encode(None))
            for copied in self._copied.values():
                if copied.transcode and copied.resampler is not None:
                    target = cast(AudioStream, copied.target)
                    for resampled in copied.resampler.resample(None):
                        self._out.mux(target.encode(resampled))
                    self._out.mux(target.encode(None))
            self._out.close()
        except av.FFmpegError as exc:
            self.abort()
            raise (
                self._refused(exc) if isinstance(exc, _REFUSED) else output_error(self.name, exc)
            ) from None

    def _refused(self, exc: av.FFmpegError) -> StreamRestoreError:
        """The muxer refusing a packet (EINVAL, or INVALIDDATA from a copied stream's packet the
        interleaver flushes) once the options were checked up front: the input's timestamps, stream
        parameters or packets (a timeline jumping 1,000 hours ahead, an empty AAC frame) cannot be
        written."""
        return input_error(
            f"{self.name}: the muxer refuses the input's timestamps, stream parameters or "
            "packets (damaged input)",
            exc,
        )

    def abort(self) -> None:
        """Release the container without finishing it (the caller discards the output)."""
        try:
            self._out.close()
        except (av.FFmpegError, OSError):
            log.debug("error while aborting %s", self.name, exc_info=True)
