"""Evaluation: benchmark datasets, metrics with the published conventions, and ``stream-restore eval``.

The protocol, so that figures are comparable with the literature:

* SR benchmarks (Set5, Set14, BSD100) use the published LR files; model output is rounded to 8
  bits, then PSNR/SSIM are computed on BT.601 Y (16..235, unrounded float) after cropping
  ``scale`` pixels from every border. Grayscale images (Set14's img_003, Levin09) are scored on
  their single channel: converting them to RGB and then to Y shrinks their range to 219 levels
  and inflates that image's PSNR by 1.32 dB (Set14 would read 0.09 dB above the published mean).
* SSIM follows the reference ``ssim_index.m`` (11x11 Gaussian, sigma 1.5, K1 0.01, K2 0.03,
  'valid' filtering, no downsampling).
* Video clips are built deterministically from the shared footage (:mod:`.video`); their table
  adds ``tDiff``, the mean |(out_t - out_{t-1}) - (gt_t - gt_{t-1})| in 0..255 units (flicker).

Modules: :mod:`.metrics` (pure functions), :mod:`.benchmark_images` (8-bit I/O), :mod:`.datasets` and
:mod:`.video` (samples), :mod:`.runner` (model over a dataset), :mod:`.command` (the CLI),
:mod:`.card` (model cards from these figures).
"""

from __future__ import annotations

from .datasets import DATASETS, Sample, default_data_dir, load_dataset
from .metrics import image_scores, psnr, rgb_to_y, sharpness, shave, ssim, temporal_difference
from .runner import EvalResult, evaluate, restore_clip

__all__ = [
    "DATASETS",
    "EvalResult",
    "Sample",
    "default_data_dir",
    "evaluate",
    "image_scores",
    "load_dataset",
    "psnr",
    "restore_clip",
    "rgb_to_y",
    "sharpness",
    "shave",
    "ssim",
    "temporal_difference",
]
