"""Doc crops: the window chosen is the most detailed one, the grid has one cell per model plus truth."""

from __future__ import annotations

import torch

from stream_restore.backends import BackendOptions
from stream_restore.evaluation.crops import _CROP, _GUTTER, _ZOOM, best_window, crop_grid
from stream_restore.evaluation.datasets import Sample


def _textured(h: int, w: int, y: int, x: int, size: int) -> torch.Tensor:
    """Flat grey codes (3, h, w) with a noisy ``size`` square at (y, x)."""
    image = torch.full((3, h, w), 128.0)
    noise = torch.randint(0, 256, (3, size, size), generator=torch.Generator().manual_seed(0))
    image[:, y : y + size, x : x + size] = noise.float()
    return image


def test_best_window_finds_the_texture() -> None:
    image = _textured(200, 240, 96, 128, 96)
    assert best_window(image, 96) == (96, 128)
    gray = image[:1]
    assert best_window(gray, 96) == (96, 128)


def test_crop_grid_has_a_cell_per_model_and_the_truth() -> None:
    target = _textured(128, 160, 16, 32, _CROP).round().to(torch.uint8)[None]
    sample = Sample("flat", target.float() / 255.0, target, border=0)
    image, report = crop_grid([sample, sample], ["identity", "identity"], BackendOptions(device="cpu"))
    cell = _CROP * _ZOOM
    assert image.shape == (3, 2 * cell + _GUTTER, 3 * cell + 2 * _GUTTER)
    assert len(report) == 4 and all("sharpness 100%" in line for line in report)
    # identity's cell is the ground truth's, pixel for pixel
    assert torch.equal(image[:, :cell, :cell], image[:, :cell, 2 * (cell + _GUTTER) :])


def test_crop_grid_shows_the_frame_asked_for() -> None:
    """Video rows show a later frame (the recurrence's state built up): its window and its truth."""
    first = _textured(128, 160, 0, 0, _CROP)
    last = _textured(128, 160, 32, 64, _CROP)
    target = torch.stack([first, last]).round().to(torch.uint8)
    sample = Sample("clip", target.float() / 255.0, target, border=0)
    image, report = crop_grid([sample], ["identity"], BackendOptions(device="cpu"), frame=-1)
    cell = _CROP * _ZOOM
    truth = last[:, 32 : 32 + _CROP, 64 : 64 + _CROP].round() / 255.0
    expected = torch.nn.functional.interpolate(truth[None], scale_factor=_ZOOM, mode="nearest")[0]
    torch.testing.assert_close(image[:, :, cell + _GUTTER :], expected, rtol=0, atol=1e-6)
    assert report == ["clip identity: crop Y PSNR inf dB, sharpness 100%"]
