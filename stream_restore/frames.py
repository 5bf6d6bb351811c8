"""Frame, colour and stream descriptions shared by every layer; free of PyAV and protobuf.

Pixel data in the pipeline is always a float32 RGB tensor of shape (3, H, W) with values nominally
in [0, 1]. Timestamps are never re-derived: ``pts`` is in units of ``time_base`` seconds exactly as
the demuxer delivered them, so variable-frame-rate input stays variable.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from fractions import Fraction

import torch

__all__ = [
    "ColorInfo",
    "ColorRange",
    "Frame",
    "Matrix",
    "StreamInfo",
]


class Matrix(enum.IntEnum):
    """YCbCr matrix coefficients; values are the ITU-T H.273 / FFmpeg ``AVColorSpace`` codes."""

    RGB = 0
    BT709 = 1
    UNSPECIFIED = 2
    FCC = 4
    BT470BG = 5  # BT.601 625-line: same coefficients as SMPTE170M
    SMPTE170M = 6  # BT.601 525-line
    SMPTE240M = 7
    BT2020_NCL = 9
    BT2020_CL = 10


class ColorRange(enum.IntEnum):
    """Quantisation range; values are FFmpeg's ``AVColorRange`` codes."""

    UNSPECIFIED = 0
    LIMITED = 1  # "tv"/"mpeg": Y 16..235, C 16..240 (scaled by 2^(bits-8))
    FULL = 2  # "pc"/"jpeg": 0..2^bits-1


@dataclass(frozen=True)
class ColorInfo:
    """How a stream's samples map to colour; carried unchanged from input to output.

    ``primaries`` and ``transfer`` are H.273 codes passed through as metadata (we restore in the
    coded, non-linear domain and never tone-map), ``matrix`` and ``range`` drive the conversion.
    """

    matrix: Matrix = Matrix.BT709
    range: ColorRange = ColorRange.LIMITED
    primaries: int = 2  # unspecified
    transfer: int = 2  # unspecified
    bit_depth: int = 8
    chroma_subsampling: tuple[int, int] = (2, 2)  # horizontal, vertical factors; (1, 1) = 4:4:4
    is_rgb: bool = False  # samples are RGB (PNG, gbrp): no matrix applies

    @property
    def max_code(self) -> int:
        return (1 << self.bit_depth) - 1


@dataclass(frozen=True)
class StreamInfo:
    """What the pipeline needs to know about a video stream before the first frame."""

    width: int
    height: int
    time_base: Fraction
    frame_rate: Fraction | None  # nominal (average) rate; None when unknown (still images)
    color: ColorInfo = field(default_factory=ColorInfo)
    rotation: int = 0  # degrees counter-clockwise to apply for display
    duration: float | None = None  # seconds, when the container states it
    frame_count: int | None = None  # when the container states it (used for progress only)
    codec: str = ""
    pix_fmt: str = ""

    @property
    def expected_frames(self) -> int | None:
        """Frame count if stated, else estimated from duration and nominal rate (for progress)."""
        if self.frame_count:
            return self.frame_count
        if self.duration and self.frame_rate:
            return max(1, round(self.duration * float(self.frame_rate)))
        return None

    def with_size(self, width: int, height: int) -> StreamInfo:
        return replace(self, width=width, height=height)


@dataclass
class Frame:
    """One decoded (or restored) video frame with its exact presentation timestamp.

    ``index`` counts frames in decode output order from 0. ``name`` is the source file name when
    the frame came from a folder of images (used to name outputs). ``segment`` increases each time
    the pipeline starts a new session (scene cut, size change).
    """

    data: torch.Tensor  # (3, H, W) float32 RGB in [0, 1]
    pts: int | None
    time_base: Fraction
    index: int
    name: str | None = None
    duration: int | None = None  # in time_base units, when known

    @property
    def height(self) -> int:
        return int(self.data.shape[-2])

    @property
    def width(self) -> int:
        return int(self.data.shape[-1])

    @property
    def time(self) -> float | None:
        """Presentation time in seconds, or None when the frame has no timestamp."""
        return None if self.pts is None else float(self.pts * self.time_base)

    def with_data(self, data: torch.Tensor) -> Frame:
        """The same frame (timestamps, name) carrying new pixels."""
        return Frame(data, self.pts, self.time_base, self.index, self.name, self.duration)
