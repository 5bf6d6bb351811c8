"""Optical flow for the aligned video models: backward warping and a tiny coarse-to-fine estimator.

Flow convention (everywhere in the project): ``flow[N, 2, H, W]`` in input pixels, channel 0 = x
(right), 1 = y (down); ``flow[:, :, i, j]`` says where pixel (i, j) of the *target* frame is found in
the *source* frame, so ``warp(source, flow)`` aligns the source to the target. Both functions export
to ONNX (GridSample needs opset >= 16; Resize, Conv, AveragePool otherwise) with dynamic sizes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import conv3x3, pad_to_multiple, zero_init

__all__ = ["FlowEstimator", "warp"]


def warp(source: torch.Tensor, flow: torch.Tensor, padding_mode: str = "border") -> torch.Tensor:
    """Bilinearly sample ``source[N, C, H, W]`` at ``pixel + flow`` (backward warping).

    ``padding_mode="zeros"`` makes samples from outside the frame zero (used for the state, whose
    validity channel then marks them), ``"border"`` repeats the edge (used for frames).
    """
    n, _, h, w = flow.shape
    # Pixel-centre coordinates built from the tensor's own sizes, so traced graphs stay dynamic.
    xs = torch.arange(w, dtype=flow.dtype, device=flow.device).view(1, 1, w).expand(n, h, w)
    ys = torch.arange(h, dtype=flow.dtype, device=flow.device).view(1, h, 1).expand(n, h, w)
    # align_corners=False: pixel i covers [i, i + 1) of a frame of size w, normalised to [-1, 1].
    gx = (xs + flow[:, 0] + 0.5) * (2.0 / w) - 1.0
    gy = (ys + flow[:, 1] + 0.5) * (2.0 / h) - 1.0
    grid = torch.stack([gx, gy], dim=-1)
    return F.grid_sample(source, grid, mode="bilinear", padding_mode=padding_mode, align_corners=False)


def _luma(x: torch.Tensor) -> torch.Tensor:
    """Mean of RGB, centred and scaled to roughly unit spread (the flow levels train much faster)."""
    return (x.mean(dim=1, keepdim=True) - 0.5) * 4.0


class _Level(nn.Module):
    """3x3 conv-ReLU stack ending in a zero-initialised 2-map flow (or flow residual) head."""

    def __init__(self, in_ch: int, channels: int, depth: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [conv3x3(in_ch, channels), nn.ReLU()]
        for _ in range(depth - 1):
            layers += [conv3x3(channels, channels), nn.ReLU()]
        for layer in layers:  # He init keeps the features' scale through the ReLU stack
            if isinstance(layer, nn.Conv2d):
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                nn.init.zeros_(layer.bias)  # type: ignore[arg-type]
        layers.append(zero_init(conv3x3(channels, 2)))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # type: ignore[no-any-return]


class FlowEstimator(nn.Module):
    """Flow from ``target`` to ``source`` (both ``[N, 3, H, W]``), SpyNet-style in two levels.

    Luma at quarter resolution gives a coarse flow; at half resolution the source is warped by the
    upsampled coarse flow and a residual is added; the result is upsampled to full resolution.
    Each level sees about 7 px of its own grid per side, so motions up to ~12 input px per frame
    are in reach. Cost is 6.8 GFLOP per input megapixel per frame pair (counted; 1.7% of vsr's budget).
    Frames are replicate-padded to multiples of 4 px; the flow is cropped back.

    Flow is clamped to ``max_flow`` input px per axis (the coarse level's to its half), beyond any
    motion in reach: so what an output pixel depends on is bounded (:data:`REACH` px per side), and
    a frame cut into tiles overlapping by that much is restored exactly as a whole.
    """

    #: input px per side that the flow at a pixel can depend on (``max_flow`` at its default): final
    #: upsample 3 + fine level 3 convs of 2 px + coarse upsample 4-6 + coarse level 5 convs of 4 px
    #: + pooling 3 = 38, the coarse-warped source (within max_flow + 3) inside it; rounded up
    REACH = 40

    def __init__(self, coarse_channels: int = 32, coarse_depth: int = 4, fine_channels: int = 24,
                 fine_depth: int = 2, max_flow: float = 24.0) -> None:
        super().__init__()
        self.coarse = _Level(2, coarse_channels, coarse_depth)
        self.fine = _Level(4, fine_channels, fine_depth)
        self.max_flow = max_flow

    def forward(self, target: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        pair, h, w = pad_to_multiple(torch.cat([_luma(target), _luma(source)], dim=1), 4)
        half = F.avg_pool2d(pair, 2)
        quarter = F.avg_pool2d(half, 2)
        flow = self.coarse(quarter)  # quarter-resolution pixels
        flow = 2.0 * F.interpolate(flow, scale_factor=2.0, mode="bilinear", align_corners=False)
        flow = flow.clamp(-self.max_flow / 2, self.max_flow / 2)  # half-resolution pixels
        aligned = warp(half[:, 1:], flow)
        flow = flow + self.fine(torch.cat([half[:, :1], aligned, flow], dim=1))
        flow = 2.0 * F.interpolate(flow, scale_factor=2.0, mode="bilinear", align_corners=False)
        return flow[..., :h, :w].clamp(-self.max_flow, self.max_flow)
