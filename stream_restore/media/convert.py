"""PyAV ``VideoFrame`` <-> float RGB tensors, through :mod:`.colour`, with zero-copy plane access.

Common planar formats (yuv420p/422p/444p at 8-16 bits, their yuvj variants, gbrp, gray) are read
straight from the frame's planes. Anything else (nv12, p010, packed RGB, palettes, alpha) is first
repacked by swscale into the nearest planar layout, which changes no colour.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from av.video.format import VideoFormat
from av.video.frame import VideoFrame

from ..errors import UnsupportedError
from ..frames import ColorInfo, ColorRange, Matrix
from . import colour, kernels
from .colour import rgb_to_codes

__all__ = [
    "DecodePlan",
    "EncodePlan",
    "color_info_for",
    "frame_to_tensor",
    "planar_layout",
    "plane_array",
    "tensor_to_frame",
]

log = logging.getLogger(__name__)

_SUFFIX_BITS = {"": 8, "10le": 10, "12le": 12, "14le": 14, "16le": 16}
_BITS_SUFFIX = {8: "", 9: "10le", 10: "10le", 12: "12le", 14: "14le", 16: "16le"}
_SUBSAMPLING_NAME = {(2, 2): "420", (2, 1): "422", (1, 1): "444"}


def planar_layout(fmt: VideoFormat) -> tuple[str, str, int, tuple[int, int]]:
    """(kind, planar format name to read, bit depth, chroma subsampling) for any pixel format.

    ``kind`` is "yuv", "rgb" or "gray". The planar name equals ``fmt.name`` when no repacking is
    needed (yuvj formats are read as their yuv twins: same layout, full range).
    """
    name = fmt.name
    bits = max((c.bits for c in fmt.components if not c.is_alpha), default=8)
    if fmt.is_bayer or fmt.is_bit_stream:
        raise UnsupportedError(f"pixel format {name} (bayer or bitstream) is not supported")
    if fmt.has_palette:
        return "rgb", "gbrp", 8, (1, 1)
    colour_components = [c for c in fmt.components if not c.is_alpha]
    if len(colour_components) == 1:
        return ("gray", "gray", 8, (1, 1)) if bits <= 8 else ("gray", "gray16le", 16, (1, 1))
    if fmt.is_rgb:
        return ("rgb", "gbrp", 8, (1, 1)) if bits <= 8 else ("rgb", "gbrp16le", 16, (1, 1))
    luma_width, luma_height = 64, 64
    sub = (
        luma_width // max(fmt.chroma_width(luma_width), 1),
        luma_height // max(fmt.chroma_height(luma_height), 1),
    )
    if sub not in _SUBSAMPLING_NAME:  # 4:1:1, 4:4:0, 4:1:0: convert to 4:4:4 without loss
        sub = (1, 1)
    depth = bits if bits in _BITS_SUFFIX else 16
    suffix = _BITS_SUFFIX[depth]
    depth = _SUFFIX_BITS[suffix]
    planar = f"yuv{_SUBSAMPLING_NAME[sub]}p{suffix}"
    if name == planar or name == planar.replace("yuv", "yuvj", 1):
        return "yuv", name, depth, sub
    return "yuv", planar, depth, sub


def _guess_matrix(height: int) -> Matrix:
    """What players assume when a stream does not say: BT.601 below 720 lines, else BT.709."""
    return Matrix.SMPTE170M if height < 720 else Matrix.BT709


def color_info_for(frame: VideoFrame) -> ColorInfo:
    """The colour description of a decoded frame, with unspecified fields resolved as players do."""
    kind, _, bits, sub = planar_layout(frame.format)
    if kind != "yuv":
        return ColorInfo(
            matrix=Matrix.RGB,
            range=ColorRange.FULL,
            primaries=int(frame.color_primaries),
            transfer=int(frame.color_trc),
            bit_depth=bits,
            chroma_subsampling=(1, 1),
            is_rgb=True,
        )
    try:
        matrix = Matrix(int(frame.colorspace))
    except ValueError:
        matrix = Matrix.UNSPECIFIED
    if matrix in (Matrix.UNSPECIFIED, Matrix.RGB):
        matrix = _guess_matrix(frame.height)
    full = frame.format.name.startswith("yuvj") or int(frame.color_range) == ColorRange.FULL
    return ColorInfo(
        matrix=matrix,
        range=ColorRange.FULL if full else ColorRange.LIMITED,
        primaries=int(frame.color_primaries),
        transfer=int(frame.color_trc),
        bit_depth=bits,
        chroma_subsampling=sub,
    )


def plane_array(plane: object, dtype: np.dtype, height: int, width: int) -> np.ndarray:
    """A (height, width) numpy view of a frame plane, skipping its line padding (no copy)."""
    itemsize = np.dtype(dtype).itemsize
    line = plane.line_size // itemsize  # type: ignore[attr-defined]
    flat = np.frombuffer(plane, dtype=dtype)  # type: ignore[call-overload]
    view: np.ndarray = flat[: line * height].reshape(height, line)[:, :width]
    return view


def _plane_dtype(bits: int) -> np.dtype:
    return np.dtype(np.uint8) if bits <= 8 else np.dtype("<u2")


@dataclass(frozen=True)
class DecodePlan:
    """How the frames of one stream become RGB tensors, worked out once (layout, depth, matrix).

    A reader keeps one per stream and rebuilds it only when :meth:`fits` says a frame differs in
    pixel format, colour description or size (a mid-stream format change).
    """

    key: tuple[str, int, int, int]  # pixel format, colorspace, range, height: what the plan depends on
    kind: str  # "yuv", "rgb" or "gray"
    planar: str  # the planar format read (frames in another layout are repacked first)
    bits: int
    color: ColorInfo
    params: colour.ConversionParams | None  # YUV only

    @classmethod
    def for_frame(cls, frame: VideoFrame, color: ColorInfo | None = None) -> DecodePlan:
        color = color or color_info_for(frame)
        kind, planar, bits, _ = planar_layout(frame.format)
        params = colour.conversion_params(color) if kind == "yuv" else None
        return cls(_decode_key(frame), kind, planar, bits, color, params)

    def fits(self, frame: VideoFrame) -> bool:
        return _decode_key(frame) == self.key

    def to_tensor(self, frame: VideoFrame, *, compiled: bool = False) -> torch.Tensor:
        """The frame as float32 RGB (3, H, W) in [0, 1]; ``compiled`` uses :mod:`.kernels`."""
        if frame.format.name != self.planar:
            if frame.format.has_palette or any(c.is_alpha for c in frame.format.components):
                log.debug("dropping alpha / palette of %s frame", frame.format.name)
            frame = frame.reformat(format=self.planar)
        dtype = _plane_dtype(self.bits)
        count = 1 if self.kind == "gray" else 3
        planes = [torch.from_numpy(plane_array(p, dtype, p.height, p.width)) for p in frame.planes[:count]]
        if self.params is not None:
            convert = kernels.yuv_to_rgb_planes if compiled else colour.yuv_to_rgb_planes
            return convert(planes[0], planes[1], planes[2], self.params)
        scale = float((1 << self.bits) - 1)
        if self.kind == "gray":
            return (planes[0].float() / scale).expand(3, frame.height, frame.width).contiguous()
        g, b, r = planes  # gbrp plane order
        return torch.stack([r, g, b]).float() / scale


def _decode_key(frame: VideoFrame) -> tuple[str, int, int, int]:
    return frame.format.name, int(frame.colorspace), int(frame.color_range), frame.height


def frame_to_tensor(
    frame: VideoFrame, color: ColorInfo | None = None, *, compiled: bool = False
) -> torch.Tensor:
    """Decoded frame -> float32 RGB (3, H, W) in [0, 1], using the frame's own colour description.

    For one frame; a stream keeps a :class:`DecodePlan`. ``compiled`` uses :mod:`.kernels`.
    """
    return DecodePlan.for_frame(frame, color).to_tensor(frame, compiled=compiled)


@dataclass(frozen=True)
class EncodePlan:
    """How RGB tensors become frames of one output stream (``pix_fmt``, matrix, range), worked out once."""

    pix_fmt: str
    kind: str
    planar: str
    bits: int
    matrix: Matrix
    value_range: ColorRange
    params: colour.ConversionParams | None  # YUV only

    @classmethod
    def for_output(cls, color: ColorInfo, pix_fmt: str, height: int) -> EncodePlan:
        """``height`` (pixels) picks the matrix when ``color`` has none, as players do."""
        kind, planar, bits, sub = planar_layout(VideoFormat(pix_fmt))
        matrix = (
            color.matrix if color.matrix not in (Matrix.RGB, Matrix.UNSPECIFIED) else _guess_matrix(height)
        )
        value_range = ColorRange.FULL if planar.startswith("yuvj") else color.range
        params = None
        if kind == "yuv":
            target = ColorInfo(matrix=matrix, range=value_range, bit_depth=bits, chroma_subsampling=sub)
            params = colour.conversion_params(target)
        return cls(pix_fmt, kind, planar, bits, matrix, value_range, params)

    def to_frame(self, rgb: torch.Tensor, *, compiled: bool = False) -> VideoFrame:
        """Float RGB (3, H, W) -> a new frame in the plan's pixel format."""
        rgb = rgb.detach().to("cpu", torch.float32)
        height, width = int(rgb.shape[-2]), int(rgb.shape[-1])
        out = VideoFrame(width, height, self.planar)
        planes: tuple[torch.Tensor, ...]
        if self.params is not None:
            planes = (kernels.rgb_to_yuv_planes if compiled else colour.rgb_to_yuv_planes)(rgb, self.params)
        elif self.kind == "rgb":
            codes = rgb_to_codes(rgb, self.bits)
            planes = (codes[1], codes[2], codes[0])  # gbrp order
        else:
            kr_g = rgb_to_codes(rgb, self.bits)
            planes = ((0.299 * kr_g[0] + 0.587 * kr_g[1] + 0.114 * kr_g[2]).round_(),)
        dtype = _plane_dtype(self.bits)
        for plane, values in zip(out.planes, planes, strict=False):
            # torch's copy_ casts float -> integer in one vectorised pass, straight into the plane.
            torch.from_numpy(plane_array(plane, dtype, plane.height, plane.width)).copy_(values)
        if self.planar != self.pix_fmt:
            out = out.reformat(format=self.pix_fmt)
        if self.kind == "yuv":
            out.colorspace = int(self.matrix)
            out.color_range = int(self.value_range)
        return out


def tensor_to_frame(
    rgb: torch.Tensor, color: ColorInfo, pix_fmt: str, *, compiled: bool = False
) -> VideoFrame:
    """Float RGB (3, H, W) -> a new frame in ``pix_fmt`` (planar YUV, gbrp or rgb formats).

    For YUV formats ``color`` gives the matrix, range and siting; bit depth and subsampling are
    taken from ``pix_fmt``. Formats we do not write directly (nv12, p010, packed) are produced
    from their planar twin by swscale, which only repacks. For one frame; a stream keeps an
    :class:`EncodePlan`. ``compiled`` uses :mod:`.kernels`.
    """
    return EncodePlan.for_output(color, pix_fmt, int(rgb.shape[-2])).to_frame(rgb, compiled=compiled)
