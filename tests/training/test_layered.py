"""Layered synthetic clips: the ground-truth flow is consistent with the rendered frames."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from stream_restore.models.flow import warp
from stream_restore.training.camera import CameraPath
from stream_restore.training.layered import Layer, augment_flow, render_layers
from stream_restore.training.samplers import LayeredVideoSRSampler, augment


def _images(n: int = 3, side: int = 120) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    coarse = torch.rand(n, 3, side // 4, side // 4, generator=g)
    return list(F.interpolate(coarse, scale_factor=4, mode="bicubic", align_corners=False).clamp(0, 1))


def test_translating_camera_has_constant_exact_flow() -> None:
    image = _images(1)[0]
    layers = [Layer(image, CameraPath(60.0, 60.0, 2.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0))]
    clip, flow = render_layers(layers, frames=3, window=32)
    assert torch.all(flow[0] == 0)
    # the window moves by (+2, -1) per frame: pixel x of frame t was at x + (2, -1) in frame t-1
    torch.testing.assert_close(flow[1:, 0], torch.full_like(flow[1:, 0], 2.0))
    torch.testing.assert_close(flow[1:, 1], torch.full_like(flow[1:, 1], -1.0))
    torch.testing.assert_close(clip[1, :, 2:, :-2], clip[0, :, 1:-1, 2:], rtol=0, atol=1e-5)


def test_object_over_background_flow_warps_frames() -> None:
    """Foreground object moving against the camera: warping frame t-1 by the flow recovers frame t."""
    images = _images(2)
    background = Layer(images[0], CameraPath(60.0, 60.0, 1.5, 0.5, 0.0, 0.0, 0.005, 0.002, 0.0))
    obj = Layer(images[1], CameraPath(60.0, 60.0, 0.0, 0.0, 0.0, 0.0, 0.01, 0.01, 0.0), -2.0, 1.0,
                radii=(10.0, 7.0))
    clip, flow = render_layers([background, obj], frames=4, window=48)
    for code in (0, 5):  # the flow follows the frames through flips and transposition
        c, f = augment(clip, code), augment_flow(flow, code)
        for t in range(1, 4):
            err = (warp(c[t - 1 : t], f[t : t + 1]) - c[t : t + 1]).abs()[..., 4:-4, 4:-4]
            still = (c[t - 1] - c[t]).abs()[..., 4:-4, 4:-4]
            assert err.median() < 0.2 * still.median()
            assert err.mean() < 0.35 * still.mean()


def test_sampler_flow_is_consistent_with_its_lr_frames() -> None:
    sampler = LayeredVideoSRSampler(_images(), scale=2, patch=20, batch=3, frames=4, max_speed=3.0)
    lr, hr, flow = sampler(torch.Generator().manual_seed(3))
    assert lr.shape == (3, 4, 3, 20, 20) and hr.shape == (3, 4, 3, 40, 40) and flow.shape == (3, 4, 2, 20, 20)
    assert torch.all(flow[:, 0] == 0) and flow.abs().max() > 0.5
    warped = warp(lr[:, :-1].flatten(0, 1), flow[:, 1:].flatten(0, 1))
    err = (warped - lr[:, 1:].flatten(0, 1)).abs()[..., 3:-3, 3:-3].mean()
    still = (lr[:, :-1] - lr[:, 1:]).abs()[..., 3:-3, 3:-3].mean()
    assert err < 0.5 * still


def test_real_footage_clips_have_unknown_flow() -> None:
    real = [
        torch.randint(0, 256, (12, 3, 50, 60), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    ]
    sampler = LayeredVideoSRSampler(
        _images(), scale=2, patch=12, batch=6, frames=4, real=real, real_fraction=0.5
    )
    lr, hr, flow = sampler(torch.Generator().manual_seed(0))
    unknown = torch.isnan(flow).flatten(1).all(dim=1)
    assert unknown.any() and not unknown.all()
    assert torch.isfinite(lr).all() and torch.isfinite(hr).all()
    assert not torch.isnan(flow[~unknown]).any()
