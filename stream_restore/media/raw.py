"""Tightly packed raw frames (no row padding): their plane layout, and conversion to and from tensors.

Clients that decode video themselves send frames this way (the ``RestoreFrames`` call). Sizes
are in pixels and bytes; chroma planes of 4:2:0 formats are ``ceil(width / 2) x ceil(height / 2)``.
"""

from __future__ import annotations

from dataclasses import replace

import av
import numpy as np
import torch

from ..errors import InputError
from ..frames import ColorInfo
from .convert import frame_to_tensor, tensor_to_frame

__all__ = ["RAW_FORMATS", "pack_raw", "raw_planes", "raw_size", "unpack_raw"]

RAW_FORMATS = ("rgb24", "rgb48le", "yuv420p", "nv12")  # FFmpeg pixel format names
_YUV = ("yuv420p", "nv12")


def raw_planes(fmt: str, width: int, height: int) -> list[tuple[int, int]]:
    """(rows, bytes per row) of each plane of a tightly packed frame of ``fmt``."""
    cw, ch = (width + 1) // 2, (height + 1) // 2
    if fmt == "rgb24":
        return [(height, 3 * width)]
    if fmt == "rgb48le":
        return [(height, 6 * width)]
    if fmt == "yuv420p":
        return [(height, width), (ch, cw), (ch, cw)]
    if fmt == "nv12":
        return [(height, width), (ch, 2 * cw)]
    raise InputError(f"unsupported raw pixel format {fmt!r}; use one of {', '.join(RAW_FORMATS)}")


def raw_size(fmt: str, width: int, height: int) -> int:
    """Bytes of one tightly packed frame."""
    return sum(rows * row for rows, row in raw_planes(fmt, width, height))


def _plane_view(plane: av.video.plane.VideoPlane, rows: int, row: int) -> np.ndarray:
    flat = np.frombuffer(plane, dtype=np.uint8)  # type: ignore[call-overload]
    view: np.ndarray = flat[: plane.line_size * rows].reshape(rows, plane.line_size)[:, :row]
    return view


def unpack_raw(
    data: bytes, fmt: str, width: int, height: int, color: ColorInfo | None = None
) -> torch.Tensor:
    """A float (3, H, W) RGB tensor from a packed frame; ``color`` describes YUV samples."""
    expected = raw_size(fmt, width, height)
    if len(data) != expected:
        raise InputError(f"a {width}x{height} {fmt} frame needs {expected} bytes, got {len(data)}")
    frame = av.VideoFrame(width, height, fmt)
    offset = 0
    for plane, (rows, row) in zip(frame.planes, raw_planes(fmt, width, height), strict=True):
        _plane_view(plane, rows, row)[:] = np.frombuffer(data, np.uint8, rows * row, offset).reshape(
            rows, row
        )
        offset += rows * row
    described = replace(color or ColorInfo(), chroma_subsampling=(2, 2)) if fmt in _YUV else None
    return frame_to_tensor(frame, described)


def pack_raw(data: torch.Tensor, fmt: str, color: ColorInfo) -> bytes:
    """A float (3, H, W) RGB tensor as a packed frame of ``fmt`` (YUV with ``color``'s matrix and range)."""
    height, width = int(data.shape[-2]), int(data.shape[-1])
    frame = tensor_to_frame(data, color, fmt)
    return b"".join(
        _plane_view(plane, rows, row).tobytes()
        for plane, (rows, row) in zip(frame.planes, raw_planes(fmt, width, height), strict=True)
    )
