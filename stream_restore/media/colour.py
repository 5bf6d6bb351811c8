"""Exact Y'CbCr <-> RGB conversion in float, with the stream's own matrix, range and bit depth.

swscale rounds through 8- or 16-bit intermediates and guesses when metadata is missing; doing the
conversion here in torch keeps full precision (10-bit stays 10-bit), is identical on CPU and GPU,
and round-trips a flat colour exactly. Chroma is resampled with the standard siting: 4:2:0 and
4:2:2 video is co-sited horizontally with even luma samples ("left", MPEG-2 and later) and centred
vertically; JPEG-style full-range sources are centred in both directions.

The chroma filters are perfect-reconstruction pairs: downsampling what upsampling produced
returns the original chroma exactly, so an identity restoration through a lossless codec gives
back the input samples bit for bit.

All functions are pure: planes in, planes out.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..frames import ColorInfo, ColorRange, Matrix

__all__ = [
    "ConversionParams",
    "conversion_params",
    "luma_coefficients",
    "rgb_to_codes",
    "rgb_to_yuv",
    "rgb_to_yuv_planes",
    "yuv_to_rgb",
    "yuv_to_rgb_planes",
]

# (Kr, Kb) per matrix. BT.2020 constant-luminance is approximated by its non-constant matrix.
_KR_KB: dict[Matrix, tuple[float, float]] = {
    Matrix.BT709: (0.2126, 0.0722),
    Matrix.BT470BG: (0.299, 0.114),
    Matrix.SMPTE170M: (0.299, 0.114),
    Matrix.FCC: (0.30, 0.11),
    Matrix.SMPTE240M: (0.212, 0.087),
    Matrix.BT2020_NCL: (0.2627, 0.0593),
    Matrix.BT2020_CL: (0.2627, 0.0593),
}


def luma_coefficients(matrix: Matrix) -> tuple[float, float, float]:
    """(Kr, Kg, Kb) of a matrix; unspecified falls back to BT.709."""
    kr, kb = _KR_KB.get(matrix, _KR_KB[Matrix.BT709])
    return kr, 1.0 - kr - kb, kb


def _scales(color: ColorInfo) -> tuple[float, float, float, float]:
    """(luma offset, luma span, chroma offset, chroma span) in code values."""
    bits = color.bit_depth
    if color.range == ColorRange.FULL:
        top = float((1 << bits) - 1)
        return 0.0, top, float(1 << (bits - 1)), top
    unit = float(1 << (bits - 8))
    return 16.0 * unit, 219.0 * unit, 128.0 * unit, 224.0 * unit


# -- chroma resampling -----------------------------------------------------------------------------


def _upsample_cosited(c: torch.Tensor, dim: int, size: int) -> torch.Tensor:
    """2x along ``dim``: even outputs copy a sample, odd outputs average it with the next."""
    dim %= c.dim()
    nxt = torch.cat([c.narrow(dim, 1, c.shape[dim] - 1), c.narrow(dim, c.shape[dim] - 1, 1)], dim)
    out = torch.stack([c, (c + nxt) * 0.5], dim=dim + 1).flatten(dim, dim + 1)
    return out.narrow(dim, 0, size)


def _upsample_centred(c: torch.Tensor, dim: int, size: int) -> torch.Tensor:
    """2x along ``dim`` with samples centred between two outputs (3/4, 1/4 weights)."""
    dim %= c.dim()
    n = c.shape[dim]
    prev = torch.cat([c.narrow(dim, 0, 1), c.narrow(dim, 0, n - 1)], dim)
    nxt = torch.cat([c.narrow(dim, 1, n - 1), c.narrow(dim, n - 1, 1)], dim)
    out = torch.stack([0.75 * c + 0.25 * prev, 0.75 * c + 0.25 * nxt], dim=dim + 1).flatten(dim, dim + 1)
    return out.narrow(dim, 0, size)


def _pad(x: torch.Tensor, dim: int, before: int, after: int, mode: str) -> torch.Tensor:
    """Pad ``x`` (any rank >= 2) along ``dim`` (one of the last two) with F.pad's ``mode``."""
    last = dim == x.dim() - 1
    flat = x.reshape(-1, x.shape[-2], x.shape[-1])[None]
    pads = (before, after, 0, 0) if last else (0, 0, before, after)
    out = F.pad(flat, pads, mode=mode)[0]
    return out.reshape(*x.shape[:-2], out.shape[-2], out.shape[-1])


def _even_length(x: torch.Tensor, dim: int) -> torch.Tensor:
    n = x.shape[dim]
    return torch.cat([x, x.narrow(dim, n - 1, 1)], dim) if n % 2 else x


def _decimate(xp: torch.Tensor, dim: int, taps: tuple[float, ...], count: int) -> torch.Tensor:
    """sum_k taps[k] * xp[2i + k] for i < count: a filter evaluated at every other sample."""
    out = None
    for k, weight in enumerate(taps):
        term = weight * xp.narrow(dim, k, 2 * count - 1)[(slice(None),) * dim + (slice(None, None, 2),)]
        out = term if out is None else out + term
    assert out is not None
    return out


def _downsample_cosited(x: torch.Tensor, dim: int) -> torch.Tensor:
    """LeGall 5/3 low-pass (-1, 2, 6, 2, -1) / 8 at even positions, mirrored edges.

    With :func:`_upsample_cosited` (linear interpolation) it forms a perfect-reconstruction pair:
    downsampling an upsampled signal returns it exactly, so identity restorations are lossless.
    """
    dim %= x.dim()
    x = _even_length(x, dim)
    n = x.shape[dim]
    # Whole-sample mirror (F.pad "reflect"), or repetition for signals too short to mirror.
    xp = _pad(x, dim, 2, 2, "reflect" if n > 2 else "replicate")
    return _decimate(xp, dim, (-0.125, 0.25, 0.75, 0.25, -0.125), n // 2)


def _downsample_centred(x: torch.Tensor, dim: int) -> torch.Tensor:
    """(-1, 3, 3, -1) / 4 over sample pairs and their neighbours (edges replicated).

    The exact inverse of :func:`_upsample_centred`'s (3/4, 1/4) interpolation, and a low-pass
    filter (zero gain at the Nyquist frequency).
    """
    dim %= x.dim()
    x = _even_length(x, dim)
    xp = _pad(x, dim, 1, 1, "replicate")
    return _decimate(xp, dim, (-0.25, 0.75, 0.75, -0.25), x.shape[dim] // 2)


def _cosited_horizontal(color: ColorInfo) -> bool:
    return color.range != ColorRange.FULL  # JPEG-style (yuvj) chroma is centred


def _upsample_chroma(
    c: torch.Tensor, sub_x: int, sub_y: int, cosited: bool, height: int, width: int
) -> torch.Tensor:
    if sub_x == 2:
        c = (_upsample_cosited if cosited else _upsample_centred)(c, -1, width)
    if sub_y == 2:
        c = _upsample_centred(c, -2, height)
    return c


def _downsample_chroma(c: torch.Tensor, sub_x: int, sub_y: int, cosited: bool) -> torch.Tensor:
    if sub_x == 2:
        c = (_downsample_cosited if cosited else _downsample_centred)(c, -1)
    if sub_y == 2:
        c = _downsample_centred(c, -2)
    return c


# -- conversion ------------------------------------------------------------------------------------

# What a conversion needs to know about a colour description, as plain numbers:
# (luma offset, luma span, chroma offset, chroma span, Kr, Kb, horizontal and vertical chroma
# subsampling, horizontally co-sited chroma, top code). The planes functions below take these, not
# a ColorInfo, so a compiled twin (media.kernels) specialises on values it can guard; given the
# dataclass, torch.compile reused a BT.601 kernel for BT.709 frames of the same size.
ConversionParams = tuple[float, float, float, float, float, float, int, int, bool, float]


def conversion_params(color: ColorInfo) -> ConversionParams:
    """The numbers :func:`yuv_to_rgb_planes` and :func:`rgb_to_yuv_planes` need for ``color``."""
    y_off, y_span, c_off, c_span = _scales(color)
    kr, _, kb = luma_coefficients(color.matrix)
    sub_x, sub_y = color.chroma_subsampling
    return (
        y_off,
        y_span,
        c_off,
        c_span,
        kr,
        kb,
        sub_x,
        sub_y,
        _cosited_horizontal(color),
        float(color.max_code),
    )


def yuv_to_rgb_planes(
    y: torch.Tensor, u: torch.Tensor, v: torch.Tensor, params: ConversionParams
) -> torch.Tensor:
    """:func:`yuv_to_rgb` with the colour description given as :func:`conversion_params`."""
    y_off, y_span, c_off, c_span, kr, kb, sub_x, sub_y, cosited, _ = params
    kg = 1.0 - kr - kb
    height, width = y.shape[-2], y.shape[-1]
    luma = (y.float() - y_off) / y_span
    chroma = (torch.stack([u, v]).float() - c_off) / c_span
    if (sub_x, sub_y) != (1, 1):
        chroma = _upsample_chroma(chroma, sub_x, sub_y, cosited, height, width)
    cb, cr = chroma[0], chroma[1]
    r = luma + (2 * (1 - kr)) * cr
    b = luma + (2 * (1 - kb)) * cb
    g = luma - (2 * kb * (1 - kb) / kg) * cb - (2 * kr * (1 - kr) / kg) * cr
    return torch.stack([r, g, b])


def rgb_to_yuv_planes(
    rgb: torch.Tensor, params: ConversionParams
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`rgb_to_yuv` with the colour description given as :func:`conversion_params`."""
    y_off, y_span, c_off, c_span, kr, kb, sub_x, sub_y, cosited, top = params
    kg = 1.0 - kr - kb
    r, g, b = rgb[0], rgb[1], rgb[2]  # not clamped: out-of-gamut RGB maps back to its Y'CbCr
    luma = kr * r + kg * g + kb * b
    chroma = torch.stack([(b - luma) / (2 * (1 - kb)), (r - luma) / (2 * (1 - kr))])
    if (sub_x, sub_y) != (1, 1):
        chroma = _downsample_chroma(chroma, sub_x, sub_y, cosited)
    y_codes = (luma * y_span + y_off).round_().clamp_(0.0, top)
    c_codes = (chroma * c_span + c_off).round_().clamp_(0.0, top)
    return y_codes, c_codes[0], c_codes[1]


def yuv_to_rgb(y: torch.Tensor, u: torch.Tensor, v: torch.Tensor, color: ColorInfo) -> torch.Tensor:
    """Integer planes (H, W), (h, w), (h, w) -> float32 RGB (3, H, W), nominally in [0, 1]."""
    return yuv_to_rgb_planes(y, u, v, conversion_params(color))


def rgb_to_yuv(rgb: torch.Tensor, color: ColorInfo) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Float RGB (3, H, W) -> integer-valued planes, rounded and clamped to the code range.

    Returned tensors are float32 holding whole numbers; the caller casts to the plane dtype. RGB
    is deliberately not clamped first, so Y'CbCr -> RGB -> Y'CbCr is lossless even for samples
    outside the RGB gamut (common in real video); only the final codes are clamped.
    """
    return rgb_to_yuv_planes(rgb, conversion_params(color))


def rgb_to_codes(rgb: torch.Tensor, bit_depth: int) -> torch.Tensor:
    """Float RGB in [0, 1] -> rounded full-range code values (float), for RGB outputs (PNG)."""
    top = float((1 << bit_depth) - 1)
    return (rgb.clamp(0.0, 1.0) * top).round_()

