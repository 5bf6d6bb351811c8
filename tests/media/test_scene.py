"""The demo's procedural scene: deterministic, panning a pixel a frame, detailed, with its original."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from stream_restore.media.scene import scene_frame, scene_original


def test_frames_are_deterministic_windows_of_one_panning_landscape() -> None:
    first, again = scene_frame(3, 80, 48), scene_frame(3, 80, 48)
    assert first.shape == (48, 80, 3) and first.dtype == np.uint8 and (first == again).all()
    following = scene_frame(4, 80, 48)
    assert (following[:, :-1] == first[:, 1:]).all() and not (following == first).all()
    original = scene_original(3, 160, 96, scale=2)
    assert (scene_original(4, 160, 96, scale=2)[:, :-2] == original[:, 2:]).all()  # scale pixels a frame


def test_the_low_resolution_frame_is_the_original_downscaled_and_has_detail_to_restore() -> None:
    small = scene_frame(0, 120, 72, scale=2).astype(np.float64)
    original = scene_original(0, 240, 144, scale=2)
    x = torch.from_numpy(original).permute(2, 0, 1)[None].float()
    down = F.interpolate(x, size=(72, 120), mode="bicubic", antialias=True, align_corners=False)
    expected = down[0].permute(1, 2, 0).clamp(0, 255).round().numpy()
    inner = (slice(4, -4), slice(4, -4))  # the landscape is downscaled whole: edges differ
    assert np.abs(small[inner] - expected[inner]).max() <= 1
    gray = original.astype(np.float64).mean(axis=2)
    laplacian = 4 * gray[1:-1, 1:-1] - gray[:-2, 1:-1] - gray[2:, 1:-1] - gray[1:-1, :-2] - gray[1:-1, 2:]
    assert laplacian.var() > 100  # texture, lettering and thin lines, not flat colour
