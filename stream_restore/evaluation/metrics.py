"""Image and video quality metrics with the conventions the published SR/deblur figures use.

All functions take 8-bit code values as float tensors (C, H, W) or (T, C, H, W) in 0..255, C = 3
(RGB) or 1 (gray), and compute in float64:

* :func:`rgb_to_y` is BT.601 studio-range luma, ``Y = 16 + (65.481 R + 128.553 G + 24.966 B)``
  with RGB in [0, 1], giving 16..235 (not rounded, as in the common Python ports).
* :func:`psnr` is ``10 log10(255^2 / MSE)`` in dB, ``inf`` for identical images.
* :func:`ssim` is Wang et al.'s reference ``ssim_index.m``: 11x11 Gaussian window (sigma 1.5),
  ``K1 = 0.01, K2 = 0.03, L = 255``, 'valid' filtering (no padding), mean of the SSIM map; for
  several channels the mean over channels.
* :func:`temporal_difference` is the flicker figure for video (0..255 units, lower is better).
* :func:`sharpness` is a no-reference figure: the variance of the Laplacian of luma (Pech-Pacheco
  et al., 2000), in squared code values. Blur lowers it; GAN texture raises it. The tables show
  it relative to the ground truth's, so 100% means as much fine detail as the original.

Scoring a benchmark crops ``scale`` pixels from every border first (:func:`shave`). Levin09 is
scored up to a shift (:func:`align_upto_shift`): its kernels are not centred, so the blurred
images sit up to 5 px away from the sharp ones, and the published protocol (Levin et al.'s
``comp_upto_shift``) compares every result, the blurred input included, at its best shift.
"""

from __future__ import annotations

import functools
import math

import torch

from ..errors import InputError

__all__ = [
    "align_upto_shift",
    "image_scores",
    "psnr",
    "rgb_to_y",
    "sharpness",
    "shave",
    "ssim",
    "temporal_difference",
    "temporal_differences",
]

_SSIM_SIZE = 11
_SSIM_SIGMA = 1.5


def _check_pair(a: torch.Tensor, b: torch.Tensor) -> None:
    if a.shape != b.shape:
        raise InputError(f"images to compare differ in shape: {list(a.shape)} vs {list(b.shape)}")
    if a.numel() == 0:
        raise InputError("cannot score empty images")


def shave(x: torch.Tensor, border: int) -> torch.Tensor:
    """Crop ``border`` pixels from each side of the last two dims (the benchmark's boundary crop)."""
    if border < 0:
        raise InputError(f"border must be >= 0, got {border}")
    if border == 0:
        return x
    if x.shape[-2] <= 2 * border or x.shape[-1] <= 2 * border:
        raise InputError(f"image {list(x.shape[-2:])} is too small to crop {border} px from each side")
    return x[..., border:-border, border:-border]


def rgb_to_y(codes: torch.Tensor) -> torch.Tensor:
    """RGB code values (..., 3, H, W) in 0..255 -> BT.601 luma (..., 1, H, W) in 16..235."""
    if codes.shape[-3] != 3:
        raise InputError(f"rgb_to_y expects 3 channels, got shape {list(codes.shape)}")
    codes = codes.to(torch.float64)
    r, g, b = codes[..., 0:1, :, :], codes[..., 1:2, :, :], codes[..., 2:3, :, :]
    return 16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0


def psnr(a: torch.Tensor, b: torch.Tensor, peak: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB between two images of code values; ``inf`` if identical."""
    _check_pair(a, b)
    mse = torch.mean((a.to(torch.float64) - b.to(torch.float64)) ** 2).item()
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(peak * peak / mse)


@functools.cache
def _gaussian_taps() -> torch.Tensor:
    """The normalised 1-D Gaussian; its outer product is the reference 11x11 window."""
    coords = torch.arange(_SSIM_SIZE, dtype=torch.float64) - (_SSIM_SIZE - 1) / 2.0
    g = torch.exp(-(coords**2) / (2.0 * _SSIM_SIGMA**2))
    return g / g.sum()


def _filter_valid(x: torch.Tensor) -> torch.Tensor:
    """'valid' filtering of (..., H, W) with the 11x11 Gaussian, done separably as shifted sums.

    Same result as the reference's ``filter2(window, x, 'valid')`` (the window is symmetric);
    shifted sums are much faster than float64 ``conv2d`` on CPU.
    """
    g: list[float] = _gaussian_taps().tolist()
    h, w = x.shape[-2] - _SSIM_SIZE + 1, x.shape[-1] - _SSIM_SIZE + 1
    rows = x[..., 0:h, :] * g[0]
    for k in range(1, _SSIM_SIZE):
        rows.add_(x[..., k : k + h, :], alpha=g[k])  # fused, no temporaries
    out = rows[..., :, 0:w] * g[0]
    for k in range(1, _SSIM_SIZE):
        out.add_(rows[..., :, k : k + w], alpha=g[k])
    return out


def ssim(a: torch.Tensor, b: torch.Tensor, peak: float = 255.0) -> float:
    """Mean SSIM (reference implementation conventions) of two (C, H, W) images of code values."""
    _check_pair(a, b)
    if a.dim() != 3:
        raise InputError(f"ssim expects (C, H, W) images, got shape {list(a.shape)}")
    if a.shape[-2] < _SSIM_SIZE or a.shape[-1] < _SSIM_SIZE:
        raise InputError(f"ssim needs images of at least {_SSIM_SIZE}x{_SSIM_SIZE} pixels")
    c1 = (0.01 * peak) ** 2
    c2 = (0.03 * peak) ** 2
    x = a.to(torch.float64)
    y = b.to(torch.float64)
    n = x.shape[0]
    # One filtering pass over the five maps the statistics need.
    filtered = _filter_valid(torch.cat([x, y, x * x, y * y, x * y]))
    mu_x, mu_y, exx, eyy, exy = torch.split(filtered, n)
    sxx = exx - mu_x * mu_x
    syy = eyy - mu_y * mu_y
    sxy = exy - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2))
    return float(ssim_map.mean().item())


def sharpness(luma: torch.Tensor) -> float:
    """Variance of the 4-neighbour Laplacian of a (1, H, W) luma image, over its interior.

    No reference needed: a measure of how much fine detail (or noise) an image holds.
    """
    if luma.dim() != 3 or luma.shape[0] != 1:
        raise InputError(f"sharpness expects a (1, H, W) luma image, got shape {list(luma.shape)}")
    if luma.shape[-2] < 3 or luma.shape[-1] < 3:
        raise InputError("sharpness needs images of at least 3x3 pixels")
    x = luma[0].to(torch.float64)
    lap = x[:-2, 1:-1] + x[2:, 1:-1] + x[1:-1, :-2] + x[1:-1, 2:] - 4.0 * x[1:-1, 1:-1]
    return float(lap.var(correction=0).item())


def _shifted(image: torch.Tensor, dy: float, dx: float, border: int, size: tuple[int, int]) -> torch.Tensor:
    """``image`` (C, H, W) sampled bilinearly at (y + dy, x + dx) over the ``size`` window at ``border``."""
    h, w = size
    ys = torch.arange(h, dtype=torch.float64) + border + dy
    xs = torch.arange(w, dtype=torch.float64) + border + dx
    y0, x0 = ys.floor().long(), xs.floor().long()
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    y1, x1 = (y0 + 1).clamp(max=image.shape[-2] - 1), (x0 + 1).clamp(max=image.shape[-1] - 1)
    top = image[:, y0][:, :, x0] * (1 - fx) + image[:, y0][:, :, x1] * fx
    bottom = image[:, y1][:, :, x0] * (1 - fx) + image[:, y1][:, :, x1] * fx
    return top * (1 - fy) + bottom * fy


def align_upto_shift(
    output: torch.Tensor, target: torch.Tensor, max_shift: int = 5, border: int = 15, step: float = 0.25
) -> tuple[torch.Tensor, torch.Tensor]:
    """``output`` moved by the (dy, dx) in [-max_shift, max_shift] on a ``step`` grid that best matches
    ``target`` (least squared error), both cropped by ``border`` pixels: Levin's ``comp_upto_shift``.

    Searched coarse to fine: whole pixels, then the ``step`` grid within one pixel of the best
    whole-pixel shift (the error surface of a shifted image is smooth near its minimum).
    Returns float64 (output, target) crops of equal shape, ready for :func:`image_scores` with
    border 0.
    """
    _check_pair(output, target)
    if border < max_shift + 1:
        raise InputError(f"border {border} must exceed the largest shift {max_shift}")
    size = (target.shape[-2] - 2 * border, target.shape[-1] - 2 * border)
    if min(size) < 1:
        raise InputError(f"image {list(target.shape[-2:])} is too small for a {border} px border")
    out = output.to(torch.float64)
    ref = target[..., border : border + size[0], border : border + size[1]].to(torch.float64)

    def error(dy: float, dx: float) -> float:
        return float(((_shifted(out, dy, dx, border, size) - ref) ** 2).sum().item())

    whole = [
        (float(dy), float(dx))
        for dy in range(-max_shift, max_shift + 1)
        for dx in range(-max_shift, max_shift + 1)
    ]
    by, bx = min(whole, key=lambda d: error(*d))
    ticks = [k * step for k in range(-round(1 / step), round(1 / step) + 1)]
    fine = [
        (by + a, bx + b)
        for a in ticks
        for b in ticks
        if abs(by + a) <= max_shift and abs(bx + b) <= max_shift
    ]
    dy, dx = min(fine, key=lambda d: error(*d))
    return _shifted(out, dy, dx, border, size), ref


def image_scores(output: torch.Tensor, target: torch.Tensor, border: int) -> dict[str, float]:
    """Benchmark scores of one output against its ground truth, both (C, H, W) code values.

    Returns ``psnr_y``, ``ssim_y``, ``psnr_rgb``, and the :func:`sharpness` of the output's and
    the target's luma (``sharpness``, ``sharpness_gt``). Gray images (C = 1) are scored on their one
    channel for all three: converting them to RGB and then to Y would compress the range to
    16..235 and inflate PSNR by 20 log10(255 / 219) = 1.32 dB, which is not how the published
    figures were computed (it puts Set14 0.09 dB above them).
    """
    _check_pair(output, target)
    out = shave(output, border)
    ref = shave(target, border)
    if out.shape[0] == 1:
        y_out, y_ref = out, ref
    else:
        y_out, y_ref = rgb_to_y(out), rgb_to_y(ref)
    return {
        "psnr_y": psnr(y_out, y_ref),
        "ssim_y": ssim(y_out, y_ref),
        "psnr_rgb": psnr(out, ref),
        "sharpness": sharpness(y_out),
        "sharpness_gt": sharpness(y_ref),
    }


def temporal_difference(output: torch.Tensor, target: torch.Tensor) -> float:
    """Flicker figure of a clip: mean |(out_t - out_{t-1}) - (gt_t - gt_{t-1})| in 0..255 units.

    ``output`` and ``target`` are (T, C, H, W) code values with T >= 2, averaged over all
    channels (RGB in the eval tables, after the benchmark crop). A restoration that follows
    the true motion scores near 0; frame-to-frame changes the ground truth does not have (flicker,
    crawling texture, unstable detail) raise it, even when each frame's PSNR is good.
    """
    return float(_step_differences(output, target).mean().item())


def temporal_differences(output: torch.Tensor, target: torch.Tensor) -> list[float]:
    """The flicker figure of each step t-1 -> t of a clip (T - 1 values; their mean is
    :func:`temporal_difference`): where in a clip the output flickers."""
    steps = _step_differences(output, target)
    return [float(v) for v in steps.flatten(1).mean(dim=1).tolist()]


def _step_differences(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """|(out_t - out_{t-1}) - (gt_t - gt_{t-1})| for t = 1..T-1, float64, (T - 1, C, H, W)."""
    _check_pair(output, target)
    if output.dim() != 4 or output.shape[0] < 2:
        raise InputError(f"temporal_difference needs (T >= 2, C, H, W) clips, got {list(output.shape)}")
    out = output.to(torch.float64)
    ref = target.to(torch.float64)
    return ((out[1:] - out[:-1]) - (ref[1:] - ref[:-1])).abs()
