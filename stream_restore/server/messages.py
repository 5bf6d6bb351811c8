"""Messages <-> core types: with the servicer and the call handlers, the only users of protobuf.

Request configuration becomes a frozen :class:`RestoreJob` here, once, with the server's limits
applied; core results (stream descriptions, run statistics, frames) become response messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..backends import BackendOptions
from ..config import EncodeOptions, PipelineOptions
from ..errors import ConfigError, InputError, LimitExceededError
from ..frames import ColorInfo, ColorRange, Frame, Matrix, StreamInfo
from ..media.decode import check_frame_size
from ..media.demuxers import CLIENT_STREAM
from ..media.raw import pack_raw, raw_size, unpack_raw
from ..pipeline import RestoreJob
from ..pipeline.stages import RunStats
from ..v1 import restore_pb2 as pb
from .config import ServerConfig

__all__ = [
    "MIME_TYPES",
    "STREAM_CONTAINERS",
    "StreamRequest",
    "frame_from_raw",
    "model_name",
    "raw_color",
    "raw_format",
    "raw_frame_size",
    "raw_from_frame",
    "stream_info",
    "stream_request",
    "summary",
]

STREAM_CONTAINERS = ("mpegts", "matroska", "mp4")
MIME_TYPES = {"mpegts": "video/mp2t", "matroska": "video/x-matroska", "mp4": "video/mp4"}
_CONTAINER_ALIASES = {"ts": "mpegts", "mkv": "matroska", "fmp4": "mp4", "": "mpegts"}


@dataclass(frozen=True)
class StreamRequest:
    """A validated Restore configuration."""

    job: RestoreJob
    container: str
    input_format: str | None
    progress_interval: int


def model_name(options: pb.ModelOptions) -> str:
    if not options.model:
        raise ConfigError("the configuration names no model (set model.model; see ListModels)")
    if options.tile_max_pixels < 0 or options.tile_overlap < 0:
        raise ConfigError("tile_max_pixels and tile_overlap must not be negative")
    return options.model


def stream_request(config: pb.RestoreConfig, server: ServerConfig) -> StreamRequest:
    """The job a Restore configuration asks for, within the server's limits."""
    model = model_name(config.model)
    out = config.output
    container = _CONTAINER_ALIASES.get(out.container.lower(), out.container.lower())
    if container not in STREAM_CONTAINERS:
        raise ConfigError(f"output container {out.container!r} cannot be streamed; use mpegts, matroska or "
                          "mp4")
    input_format = CLIENT_STREAM.check_format(config.input_format)  # only self-contained demuxers
    if out.gop < 0 or out.bitrate < 0 or config.progress_interval < 0:
        raise ConfigError("gop, bitrate and progress_interval must not be negative")
    encode = EncodeOptions(
        codec=out.codec or None,
        crf=out.crf if out.HasField("crf") else None,
        bitrate=out.bitrate or None,
        preset=out.preset or None,
        tune=out.tune or None,
        pix_fmt=out.pix_fmt or None,
        gop=out.gop or None,
        container=container,
    )
    pipeline = PipelineOptions(
        scene_detection=not config.model.disable_scene_detection,
        queue_frames=1 if config.low_latency else PipelineOptions().queue_frames,
        decode_threads=1 if config.low_latency else 0,
    )
    job = RestoreJob(
        model=model,
        backend=config.model.backend,  # "" = the server's default
        backend_options=BackendOptions(device=server.device, precision=server.precision),
        encode=encode,
        pipeline=pipeline,
        limits=server.limits,
    )
    return StreamRequest(job, container, input_format, config.progress_interval)


def _rational(value: Fraction | None) -> pb.Rational:
    return pb.Rational(num=value.numerator, den=value.denominator) if value else pb.Rational()


def fraction(value: pb.Rational, what: str) -> Fraction:
    if value.den <= 0 or value.num <= 0:
        raise InputError(f"{what} must be a positive fraction, got {value.num}/{value.den}")
    return Fraction(value.num, value.den)


def stream_info(info: StreamInfo, codec: str = "") -> pb.VideoStreamInfo:
    return pb.VideoStreamInfo(
        width=info.width,
        height=info.height,
        time_base=_rational(info.time_base),
        frame_rate=_rational(info.frame_rate),
        codec=codec or info.codec,
        pix_fmt=info.pix_fmt,
        duration=info.duration or 0.0,
        frame_count=info.frame_count or 0,
        bit_depth=info.color.bit_depth,
    )


def summary(stats: RunStats, bytes_in: int = 0, bytes_out: int = 0) -> pb.Summary:
    return pb.Summary(
        frames_in=stats.frames_in,
        frames_out=stats.frames_out,
        packets_copied=stats.packets_copied,
        wall_seconds=stats.wall_seconds,
        fps=stats.fps,
        decode_seconds=stats.decode_seconds,
        infer_seconds=stats.infer_seconds,
        encode_seconds=stats.encode_seconds,
        bytes_in=bytes_in,
        bytes_out=bytes_out,
        warnings=list(stats.warnings),
        scene_cuts=stats.scene_cuts,
    )


# -- raw frames -----------------------------------------------------------------------------------------

_RAW_FORMATS: dict[int, str] = {
    pb.PIXEL_FORMAT_RGB24: "rgb24",
    pb.PIXEL_FORMAT_RGB48: "rgb48le",
    pb.PIXEL_FORMAT_YUV420P: "yuv420p",
    pb.PIXEL_FORMAT_NV12: "nv12",
}
_YUV_FORMATS = (pb.PIXEL_FORMAT_YUV420P, pb.PIXEL_FORMAT_NV12)


def raw_format(fmt: int) -> str:
    """The FFmpeg pixel format of a RawFrame format code."""
    name = _RAW_FORMATS.get(fmt)
    if name is None:
        label = pb.PixelFormat.Name(fmt) if fmt in pb.PixelFormat.values() else str(fmt)
        raise InputError(f"unsupported raw pixel format {label}")
    return name


def raw_frame_size(raw: pb.RawFrame, server: ServerConfig, index: int) -> int:
    """Bytes a frame's header announces, checked against the limits before any part is buffered."""
    fmt = raw_format(raw.format)
    check_frame_size(raw.width, raw.height, server.limits, f"raw frame {index}")
    size = raw_size(fmt, raw.width, raw.height)
    if size > server.max_raw_frame_bytes:
        raise LimitExceededError(
            f"raw frame {index}: {raw.width}x{raw.height} {fmt} is {size} bytes, over the server's limit of "
            f"{server.max_raw_frame_bytes} bytes per frame"
        )
    return size


def raw_color(raw: pb.RawFrame) -> ColorInfo:
    """The colour description of a raw frame's header (YUV frames; RGB ones are full-range RGB)."""
    if raw.format not in _YUV_FORMATS:
        return ColorInfo()
    try:
        matrix = Matrix(raw.color_matrix) if raw.color_matrix else Matrix.BT709
    except ValueError:
        raise InputError(f"unknown colour matrix code {raw.color_matrix}") from None
    return ColorInfo(matrix=matrix, range=ColorRange.FULL if raw.full_range else ColorRange.LIMITED)


def frame_from_raw(raw: pb.RawFrame, data: bytes, index: int) -> Frame:
    """A pipeline frame from a (reassembled) raw frame whose size :func:`raw_frame_size` checked."""
    time_base = fraction(raw.time_base, "time_base")
    tensor = unpack_raw(data, raw_format(raw.format), raw.width, raw.height, raw_color(raw))
    return Frame(data=tensor, pts=raw.pts, time_base=time_base, index=index)


def raw_from_frame(frame: Frame, fmt: int, color: ColorInfo, part_bytes: int) -> list[pb.RawFrame]:
    """A restored frame as RawFrame messages of at most ``part_bytes`` of pixel data each."""
    data = pack_raw(frame.data, raw_format(fmt), color)
    head = pb.RawFrame(
        format=fmt,  # type: ignore[arg-type]
        width=frame.width,
        height=frame.height,
        pts=frame.pts or 0,
        time_base=_rational(frame.time_base),
        color_matrix=int(color.matrix),
        full_range=color.range == ColorRange.FULL,
    )
    parts = [data[i : i + part_bytes] for i in range(0, len(data), part_bytes)] or [b""]
    messages = []
    for i, part in enumerate(parts):
        message = pb.RawFrame()
        if i == 0:
            message.CopyFrom(head)
        message.data = part
        message.more_parts = i < len(parts) - 1
        messages.append(message)
    return messages
