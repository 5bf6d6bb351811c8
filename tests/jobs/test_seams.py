"""No seams with a recurrent model: segmented against sequential, through a lossless codec.

A segment that starts at a scene cut equals the sequential run exactly (the state is reset there in
both); one that starts elsewhere warms its state up on W frames and stays above the PSNR floor at
its first frames, and the frame-to-frame change (flicker) at the boundary is no larger than the
sequential run's largest change inside the segments.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from stream_restore.jobs import Store

from .clips import cut_clip, frame_arrays, psnr
from .conftest import FAST, cli, only_job

BOUNDARY_PSNR_FLOOR = 40.0  # dB over the first frames of a warmed-up segment (docs/benchmarks.md)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["vsr-x2"])
def test_segmented_recurrent_output_has_no_seam(tmp_path: Path, model: str) -> None:
    clip = cut_clip(tmp_path / "cut.mkv", frames=80, cut=43)
    options = ["-m", model, "--codec", "ffv1", *[o for o in FAST if o not in ("--preset", "ultrafast")]]
    cli("restore", clip, tmp_path / "sequential.mkv", *options)
    state = tmp_path / "state"
    cli("jobs", "submit", clip, tmp_path / "out", "--state-dir", state, "--segment-seconds", "1", *options)
    store = Store(state)
    segments = store.segments(only_job(state))
    store.close()
    starts = [s.plan for s in segments]
    # frames 0-19, 20-42 (warm-up from 4), 43-62 (the cut: no warm-up), 63-79 (warm-up from 47)
    assert [(p.frames, p.warmup, p.scene_cut) for p in starts] == [
        (20, 0, False),
        (23, 16, False),
        (20, 0, True),
        (17, 16, False),
    ]
    ours, theirs = frame_arrays(tmp_path / "out" / "cut.mkv"), frame_arrays(tmp_path / "sequential.mkv")
    scores = psnr(ours, theirs)
    assert min(scores[43:63]) == 99.0  # the segment at the cut equals the sequential run exactly
    assert min(scores[:20]) == 99.0  # so does the first one
    for first in (20, 63):
        assert min(scores[first : first + 5]) >= BOUNDARY_PSNR_FLOOR, scores[first : first + 5]

    def flicker(frames: list[np.ndarray]) -> list[float]:
        return [
            float(np.abs(b.astype(np.int16) - a.astype(np.int16)).mean())
            for a, b in itertools.pairwise(frames)
        ]

    seq, seg = flicker(theirs), flicker(ours)
    inside = max(v for i, v in enumerate(seq) if i + 1 not in (20, 43, 63))
    for first in (20, 63):
        assert seg[first - 1] <= inside
