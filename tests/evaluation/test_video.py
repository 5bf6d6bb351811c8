"""Held-out video clips built from the shared footage: shapes, degradations, and the flicker figure."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from stream_restore.backends import BackendOptions, create_backend
from stream_restore.evaluation.runner import evaluate
from stream_restore.evaluation.video import BLUR_FRAMES, CLIP_FRAMES, blurred_clips, video_samples
from stream_restore.models.registry import get_spec
from stream_restore.training.resize import imresize

pytestmark = pytest.mark.data


def test_sr_clips_and_their_compressed_twins(data_dir: Path) -> None:
    clean = video_samples("video", 4, data_dir, limit=1, frames=8)[0]
    coded = video_samples("video-crf30", 4, data_dir, limit=1, frames=8)[0]
    assert clean.target.shape == (8, 3, 360, 640) and clean.target.dtype == torch.uint8
    assert clean.inputs.shape == (8, 3, 90, 160) and clean.border == 4 and CLIP_FRAMES > 8
    expected = imresize(clean.target.float() / 255, scale=0.25, emulate_uint8=True)
    assert torch.equal(clean.inputs, expected)
    assert torch.equal(coded.target, clean.target) and not torch.equal(coded.inputs, clean.inputs)
    with create_backend(get_spec("bicubic-x4"), "torch", BackendOptions()) as backend:
        clean_scores = evaluate(backend, "video", [clean])
        coded_scores = evaluate(backend, "video-crf30", [coded])
    assert 24.0 < coded_scores.psnr_y < clean_scores.psnr_y < 40.0
    assert clean_scores.temporal is not None and coded_scores.temporal is not None
    assert 0.0 < clean_scores.temporal < coded_scores.temporal  # coding noise flickers


def test_x3_clips_have_even_lr_sizes(data_dir: Path) -> None:
    sample = video_samples("video", 3, data_dir, limit=1, frames=2)[0]
    assert sample.target.shape[-2:] == (360, 636) and sample.inputs.shape[-2:] == (120, 212)


def test_blurred_clips_are_deterministic_and_blurred() -> None:
    g = torch.Generator().manual_seed(0)
    image = torch.nn.functional.interpolate(torch.rand(1, 3, 90, 160, generator=g), size=(720, 1280))[0]
    blurred, sharp = blurred_clips(image, seed=3, frames=4)
    again, _ = blurred_clips(image, seed=3, frames=4)
    assert blurred.shape == sharp.shape == (4, 3, 256, 256) and BLUR_FRAMES > 4
    assert torch.equal(blurred, again)

    # Averaging sub-frames smooths: less high-frequency energy than the sharp middle sub-frame.
    def roughness(x: torch.Tensor) -> float:
        return float((x[..., 1:] - x[..., :-1]).abs().mean())

    assert roughness(blurred) < roughness(sharp)
