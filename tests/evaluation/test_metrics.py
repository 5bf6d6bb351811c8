"""Metric tests against values that follow from the definitions (no data needed)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from stream_restore.errors import InputError
from stream_restore.evaluation.benchmark_images import gray_from_rgb, im2uint8
from stream_restore.evaluation.metrics import (
    align_upto_shift,
    image_scores,
    psnr,
    rgb_to_y,
    sharpness,
    shave,
    ssim,
    temporal_difference,
)


def _image(seed: int, shape: tuple[int, ...] = (3, 48, 40)) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, shape, generator=g).to(torch.float64)


def _reference_ssim(a: torch.Tensor, b: torch.Tensor) -> float:
    """Straight transcription of ssim_index.m: 2-D 11x11 window, 'valid' filtering, C from L=255."""
    coords = torch.arange(11, dtype=torch.float64) - 5
    g = torch.exp(-(coords[:, None] ** 2 + coords[None, :] ** 2) / (2 * 1.5**2))
    w = (g / g.sum())[None, None]
    x, y = a[:, None], b[:, None]
    mx, my = F.conv2d(x, w), F.conv2d(y, w)
    sxx = F.conv2d(x * x, w) - mx**2
    syy = F.conv2d(y * y, w) - my**2
    sxy = F.conv2d(x * y, w) - mx * my
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    return float((((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))).mean())


def test_psnr_of_identical_images_is_infinite() -> None:
    a = _image(0)
    assert psnr(a, a.clone()) == math.inf


def test_psnr_of_known_mse() -> None:
    a = torch.full((1, 16, 16), 100.0, dtype=torch.float64)
    assert psnr(a, a + 5.0) == pytest.approx(10 * math.log10(255**2 / 25.0), abs=1e-12)  # 34.151 dB
    b = a.clone()
    b[0, 0, 0] += 16.0  # MSE = 256 / 256 = 1
    assert psnr(a, b) == pytest.approx(20 * math.log10(255.0), abs=1e-12)  # 48.131 dB


def test_psnr_rejects_mismatched_shapes() -> None:
    with pytest.raises(InputError):
        psnr(torch.zeros(3, 8, 8), torch.zeros(3, 8, 9))


def test_bt601_luma_range() -> None:
    white = torch.full((3, 2, 2), 255.0)
    black = torch.zeros(3, 2, 2)
    assert torch.allclose(rgb_to_y(white), torch.full((1, 2, 2), 235.0, dtype=torch.float64))
    assert torch.allclose(rgb_to_y(black), torch.full((1, 2, 2), 16.0, dtype=torch.float64))
    red = torch.zeros(3, 1, 1)
    red[0] = 255.0
    assert rgb_to_y(red).item() == pytest.approx(16 + 65.481)


def test_ssim_of_identical_images_is_one() -> None:
    a = _image(1)
    assert ssim(a, a.clone()) == pytest.approx(1.0, abs=1e-12)


def test_ssim_is_symmetric_and_drops_under_noise() -> None:
    a = _image(2, (1, 64, 64))
    g = torch.Generator().manual_seed(3)
    light = (a + 5 * torch.randn(a.shape, generator=g, dtype=torch.float64)).clamp(0, 255)
    heavy = (a + 40 * torch.randn(a.shape, generator=g, dtype=torch.float64)).clamp(0, 255)
    assert ssim(a, light) == pytest.approx(ssim(light, a), abs=1e-12)
    assert 0.0 < ssim(a, heavy) < ssim(a, light) < 1.0


def test_ssim_matches_the_2d_reference_window() -> None:
    a = _image(4, (3, 40, 37))
    b = (
        a + 12 * torch.randn(a.shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    ).clamp(0, 255)
    assert ssim(a, b) == pytest.approx(_reference_ssim(a, b), abs=1e-10)


def test_ssim_needs_a_full_window() -> None:
    with pytest.raises(InputError):
        ssim(torch.zeros(1, 10, 40), torch.zeros(1, 10, 40))


def test_shave_crops_each_border() -> None:
    x = torch.arange(100.0).reshape(1, 10, 10)
    assert shave(x, 2).shape == (1, 6, 6)
    assert shave(x, 2)[0, 0, 0].item() == 22.0
    with pytest.raises(InputError):
        shave(x, 5)


def test_gray_images_are_scored_on_their_own_channel() -> None:
    gray = _image(6, (1, 32, 32))
    noisy = (
        gray + 8 * torch.randn(gray.shape, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    ).round()
    noisy = noisy.clamp(0, 255)
    scores = image_scores(noisy, gray, border=2)
    assert scores["psnr_y"] == pytest.approx(psnr(shave(noisy, 2), shave(gray, 2)))
    # Routing the same image through RGB -> Y compresses it to 219 levels: +1.32 dB.
    via_y = psnr(rgb_to_y(shave(noisy, 2).expand(3, -1, -1)), rgb_to_y(shave(gray, 2).expand(3, -1, -1)))
    assert via_y - scores["psnr_y"] == pytest.approx(20 * math.log10(255 / 219), abs=1e-9)


def test_gray_from_rgb_is_exact_for_equal_channels() -> None:
    gray = _image(8, (1, 8, 8))
    assert torch.equal(gray_from_rgb(gray.expand(3, -1, -1)), gray)


def test_quantize_rounds_half_up_and_clamps() -> None:
    x = torch.tensor([-0.1, 0.5 / 255, 1.49 / 255, 1.0, 1.3])
    assert im2uint8(x).tolist() == [0.0, 1.0, 1.0, 255.0, 255.0]


def test_temporal_difference_sees_flicker_that_psnr_does_not() -> None:
    """A steady offset and an alternating (flickering) one of the same size have equal PSNR."""
    t = torch.arange(8, dtype=torch.float64)[:, None, None, None]
    x = torch.arange(32, dtype=torch.float64)[None, None, None, :]
    gt = (60 + 2 * t + 3 * x).expand(8, 3, 16, 32)  # a smooth pan
    steady = gt + 6.0
    sign = torch.tensor([1.0, -1.0] * 4, dtype=torch.float64)[:, None, None, None]
    flicker = gt + 6.0 * sign
    assert psnr(steady[3], gt[3]) == pytest.approx(psnr(flicker[3], gt[3]))
    assert temporal_difference(gt, gt) == 0.0
    assert temporal_difference(steady, gt) == pytest.approx(0.0, abs=1e-12)
    assert temporal_difference(flicker, gt) == pytest.approx(12.0)


def test_temporal_difference_needs_two_frames() -> None:
    with pytest.raises(InputError):
        temporal_difference(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))


def test_sharpness_falls_with_blur_and_ignores_flat_offsets() -> None:
    gen = torch.Generator().manual_seed(0)
    texture = torch.rand(1, 32, 32, generator=gen) * 200 + 20
    blurred = torch.nn.functional.avg_pool2d(texture[None], 3, 1, 1, count_include_pad=False)[0]
    assert sharpness(blurred) < 0.3 * sharpness(texture)
    assert sharpness(texture + 10.0) == pytest.approx(sharpness(texture))
    assert sharpness(torch.full((1, 8, 8), 77.0)) == 0.0
    with pytest.raises(InputError):
        sharpness(torch.zeros(3, 8, 8))


def test_align_upto_shift_finds_whole_and_quarter_pixel_shifts() -> None:
    gen = torch.Generator().manual_seed(1)
    base = torch.nn.functional.avg_pool2d(torch.rand(1, 1, 64, 64, generator=gen) * 255, 3, 1, 1)[0]
    moved = torch.roll(base, shifts=(3, -2), dims=(-2, -1))  # content 3 px down, 2 px left
    aligned, ref = align_upto_shift(moved, base, max_shift=5, border=8)
    assert ref.shape == (1, 48, 48) and aligned.shape == ref.shape
    assert psnr(aligned, ref) == math.inf
    # A half-pixel shift of a smooth image is found on the 0.25 px grid: far better than unaligned.
    half = 0.5 * (base + torch.roll(base, shifts=1, dims=-1))
    aligned, ref = align_upto_shift(half, base, max_shift=5, border=8)
    assert psnr(aligned, ref) > psnr(shave(half, 8), ref) + 3.0


def test_align_upto_shift_needs_a_border_beyond_the_shift() -> None:
    with pytest.raises(InputError, match="border"):
        align_upto_shift(torch.zeros(1, 32, 32), torch.zeros(1, 32, 32), max_shift=5, border=5)
