"""The quick validation helpers reproduce the published bicubic baselines (needs ../shared/data)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from stream_restore.models.bicubic import BicubicUpsample
from stream_restore.training.validate import psnr_y, sisr_psnr

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def test_psnr_y_of_known_error() -> None:
    target = torch.full((3, 8, 8), 128 / 255)
    pred = target + 10 / 255  # +10 levels in every channel -> Y moves by 10 * 219/255 levels
    expected = 10 * torch.log10(torch.tensor(255.0**2 / (10 * 219 / 255) ** 2)).item()
    assert psnr_y(pred, target, crop=0) == pytest.approx(expected, abs=0.05)


@pytest.mark.data
@pytest.mark.skipif(not (DATA / "sisr" / "Set5").is_dir(), reason="../shared/data/sisr/Set5 not present")
def test_bicubic_set5_x4_matches_published_baseline() -> None:
    assert sisr_psnr(BicubicUpsample(4), DATA, "Set5", 4) == pytest.approx(28.42, abs=0.02)
