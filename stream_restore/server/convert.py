"""Messages <-> core types. The only module (with the servicer) that touches protobuf classes.

Request configuration becomes a frozen :class:`RestoreJob` here, once, with the server's limits
applied; core results (stream descriptions, run statistics, frames) become response messages.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

import av
import numpy as np
import torch

from ..backends import BackendOptions
from ..config import EncodeOptions, PipelineOptions
from ..errors import ConfigError, InputError
from ..frames import ColorInfo, ColorRange, Frame, Matrix, StreamInfo
from ..media.convert import frame_to_tensor, tensor_to_frame
from ..media.decode import check_frame_size
from ..pipeline import RestoreJob
from ..pipeline.runner import RunStats
from ..v1 import restore_pb2 as pb
from .config import ServerConfig

__all__ = [
    "MIME_TYPES",
    "STREAM_CONTAINERS",
    "StreamRequest",
    "frame_from_raw",
    "raw_from_frame",
    "raw_size",
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


def _model(options: pb.ModelOptions) -> str:
    if not options.model:
        raise ConfigError("the configuration names no model (set model.model; see ListModels)")
    if options.tile_max_pixels < 0 or options.tile_overlap < 0:
        raise ConfigError("tile_max_pixels and tile_overlap must not be negative")
    return options.model


def stream_request(config: pb.RestoreConfig, server: ServerConfig) -> StreamRequest:
    """The job a Restore configuration asks for, within the server's limits."""
    model = _model(config.model)
    out = config.output
    container = _CONTAINER_ALIASES.get(out.container.lower(), out.container.lower())
    if container not in STREAM_CONTAINERS:
        raise ConfigError(f"output container {out.container!r} cannot be streamed; use mpegts, matroska or mp4")
    if config.input_format and config.input_format not in av.formats_available:
        raise ConfigError(f"unknown input format {config.input_format!r}")
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
        backend=config.model.backend or "auto",
        backend_options=BackendOptions(device=server.device, precision=server.precision),
        encode=encode,
        pipeline=pipeline,
        limits=server.limits,
    )
    return StreamRequest(job, container, config.input_format or None, config.progress_interval)


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

_AV_FORMATS: dict[int, str] = {
    pb.PIXEL_FORMAT_RGB24: "rgb24",
    pb.PIXEL_FORMAT_RGB48: "rgb48le",
    pb.PIXEL_FORMAT_YUV420P: "yuv420p",
    pb.PIXEL_FORMAT_NV12: "nv12",
}


def _planes(fmt: int, width: int, height: int) -> list[tuple[int, int]]:
    """(rows, bytes per row) of each plane of a tightly packed raw frame."""
    cw, ch = (width + 1) // 2, (height + 1) // 2
    if fmt == pb.PIXEL_FORMAT_RGB24:
        return [(height, 3 * width)]
    if fmt == pb.PIXEL_FORMAT_RGB48:
        return [(height, 6 * width)]
    if fmt == pb.PIXEL_FORMAT_YUV420P:
        return [(height, width), (ch, cw), (ch, cw)]
    if fmt == pb.PIXEL_FORMAT_NV12:
        return [(height, width), (ch, 2 * cw)]
    raise InputError(f"unsupported raw pixel format {pb.PixelFormat.Name(fmt) if fmt in _AV_FORMATS or fmt == 0 else fmt}")


def raw_size(fmt: int, width: int, height: int) -> int:
    """Bytes of one tightly packed frame."""
    return sum(rows * row for rows, row in _planes(fmt, width, height))


def _raw_color(raw: pb.RawFrame) -> ColorInfo:
    try:
        matrix = Matrix(raw.color_matrix) if raw.color_matrix else Matrix.BT709
    except ValueError:
        raise InputError(f"unknown colour matrix code {raw.color_matrix}") from None
    return ColorInfo(matrix=matrix, range=ColorRange.FULL if raw.full_range else ColorRange.LIMITED)


def frame_from_raw(raw: pb.RawFrame, data: bytes, index: int, server: ServerConfig) -> Frame:
    """A pipeline frame from a (reassembled) raw frame; validates size, format and timing."""
    check_frame_size(raw.width, raw.height, server.limits, "raw frame")
    expected = raw_size(raw.format, raw.width, raw.height)
    if len(data) != expected:
        raise InputError(
            f"raw frame {index}: {raw.width}x{raw.height} {_AV_FORMATS[raw.format]} needs {expected} bytes, got {len(data)}"
        )
    time_base = fraction(raw.time_base, "time_base")
    av_frame = av.VideoFrame(raw.width, raw.height, _AV_FORMATS[raw.format])
    offset = 0
    for plane, (rows, row) in zip(av_frame.planes, _planes(raw.format, raw.width, raw.height), strict=True):
        flat = np.frombuffer(plane, dtype=np.uint8)  # type: ignore[call-overload]
        view = flat[: plane.line_size * rows].reshape(rows, plane.line_size)[:, :row]
        view[:] = np.frombuffer(data, dtype=np.uint8, count=rows * row, offset=offset).reshape(rows, row)
        offset += rows * row
    color = None
    if raw.format in (pb.PIXEL_FORMAT_YUV420P, pb.PIXEL_FORMAT_NV12):
        color = replace(_raw_color(raw), chroma_subsampling=(2, 2))
    tensor = frame_to_tensor(av_frame, color)
    return Frame(data=tensor, pts=raw.pts, time_base=time_base, index=index)


def raw_from_frame(frame: Frame, fmt: int, color: ColorInfo, part_bytes: int) -> list[pb.RawFrame]:
    """A restored frame as RawFrame messages of at most ``part_bytes`` of pixel data each."""
    av_frame = tensor_to_frame(frame.data, color, _AV_FORMATS[fmt])
    width, height = frame.width, frame.height
    pieces = []
    for plane, (rows, row) in zip(av_frame.planes, _planes(fmt, width, height), strict=True):
        flat = np.frombuffer(plane, dtype=np.uint8)  # type: ignore[call-overload]
        pieces.append(flat[: plane.line_size * rows].reshape(rows, plane.line_size)[:, :row].tobytes())
    data = b"".join(pieces)
    head = pb.RawFrame(
        format=fmt, width=width, height=height, pts=frame.pts or 0,  # type: ignore[arg-type]
        time_base=_rational(frame.time_base), color_matrix=int(color.matrix), full_range=color.range == ColorRange.FULL,
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


def frame_tensor_rgb24(data: bytes, width: int, height: int) -> torch.Tensor:
    """RGB24 bytes -> float (3, H, W) tensor (for clients and tests)."""
    array = np.frombuffer(data, dtype=np.uint8).reshape(height, width, 3)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float() / 255.0
