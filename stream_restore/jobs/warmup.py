"""Warm-up frames ``W`` per recurrent model: frames fed before a segment starts (their output
dropped) so the recurrent state at the segment's first frame is close to a sequential run's.

Measured with ``python bench/jobs_overhead.py warmup MODEL`` (PSNR of each warmed-up segment's
first frames against a sequential run, lossless, as a function of ``W``); figures in
docs/benchmarks.md ("Archive jobs"): the shipped recurrent models reach their plateau (single-LSB
differences, 89-99 dB) at W = 4 (vdeblur: 2); the table keeps twice that for other content. The
experimental aligned models are untrained and not measured: the default. This belongs on the model
spec (``ModelSpec.warmup_frames``); it is kept here, keyed by model name, until the registry has it.
"""

from __future__ import annotations

from ..models.registry import ModelSpec

__all__ = ["DEFAULT_RECURRENT_WARMUP", "WARMUP_FRAMES", "warmup_frames"]

DEFAULT_RECURRENT_WARMUP = 32  # frames, for a recurrent model not measured yet

WARMUP_FRAMES: dict[str, int] = {
    "vsr-x2": 8,
    "vsr-x4": 8,
    "vdeblur": 8,
    "vsr-x2-aligned": 32,
    "vsr-x4-aligned": 32,
}


def warmup_frames(spec: ModelSpec) -> int:
    """Frames a segment of ``spec`` starts early: 0 for models without recurrent state."""
    if not spec.recurrent:
        return 0
    return WARMUP_FRAMES.get(spec.name, DEFAULT_RECURRENT_WARMUP)
