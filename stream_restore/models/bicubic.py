"""MATLAB-compatible bicubic upscaling by an integer factor, as one exportable convolution.

MATLAB's ``imresize(x, s, 'bicubic')`` (the resampler every published SR baseline uses) maps output
pixel ``o`` to input coordinate ``(o + 0.5) / s - 0.5``, weighs the four nearest samples with Keys'
cubic (a = -0.5) and clamps out-of-range indices to the edge sample (replicate padding; mirroring
is a convention of Python ports, not MATLAB's, and differs in the outer ``s`` pixels). For an
integer factor there are only ``s`` phases per axis, so the whole resize is a fixed 5x5 depthwise
convolution with ``s*s`` outputs per channel followed by a pixel shuffle. That is exact, runs on any
backend, and exports to ONNX as plain Conv + DepthToSpace.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from .registry import ModelSpec, Task, register

__all__ = ["BicubicUpsample", "Identity", "cubic", "phase_weights"]

_TAPS = 5  # offsets -2..2: covers the 4 non-zero taps of every phase


def cubic(t: torch.Tensor, a: float = -0.5) -> torch.Tensor:
    """Keys' cubic convolution kernel (a = -0.5 is MATLAB's)."""
    t = t.abs()
    t2, t3 = t * t, t * t * t
    near = (a + 2) * t3 - (a + 3) * t2 + 1
    far = a * t3 - 5 * a * t2 + 8 * a * t - 4 * a
    return torch.where(t <= 1, near, torch.where(t < 2, far, torch.zeros_like(t)))


def phase_weights(scale: int) -> torch.Tensor:
    """(scale, 5) float64 weights: row p holds the taps at offsets -2..2 for output phase p."""
    phases = (torch.arange(scale, dtype=torch.float64) + 0.5) / scale - 0.5
    offsets = torch.arange(-2, 3, dtype=torch.float64)
    weights = cubic(phases[:, None] - offsets[None, :])
    return weights / weights.sum(dim=1, keepdim=True)


class BicubicUpsample(nn.Module):
    """Upscale (N, C, H, W) by an integer ``scale`` exactly as MATLAB's imresize bicubic does."""

    kernel: torch.Tensor

    def __init__(self, scale: int, channels: int = 3) -> None:
        super().__init__()
        if scale < 1:
            raise ValueError("scale must be a positive integer")
        self.scale = scale
        self.channels = channels
        w1 = phase_weights(scale)  # (s, 5)
        kernel = w1[:, None, :, None] * w1[None, :, None, :]  # (s, s, 5, 5): [py, px, ky, kx]
        kernel = kernel.reshape(scale * scale, 1, _TAPS, _TAPS).repeat(channels, 1, 1, 1)
        self.register_buffer("kernel", kernel.float(), persistent=False)

    def phases(self, x: torch.Tensor) -> torch.Tensor:
        """The upscale folded to input resolution, ``[N, C*s*s, H, W]``.

        ``pixel_shuffle`` of it is ``forward``.
        """
        pad = _TAPS // 2
        return F.conv2d(F.pad(x, (pad, pad, pad, pad), mode="replicate"), self.kernel, groups=self.channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale == 1:
            return x
        return F.pixel_shuffle(self.phases(x), self.scale)


class Identity(nn.Module):
    """Returns its input unchanged; a reference model for testing the media path."""

    scale = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


for _s in (2, 3, 4):
    register(
        ModelSpec(
            name=f"bicubic-x{_s}",
            task=Task.SUPER_RESOLUTION,
            scale=_s,
            builder=functools.partial(BicubicUpsample, _s),
            description=f"MATLAB imresize bicubic x{_s} (Keys a=-0.5, edge clamp): the published baseline",
            receptive_field=2,
        )
    )

register(
    ModelSpec(
        name="identity",
        task=Task.IDENTITY,
        scale=1,
        builder=Identity,
        description="passes frames through unchanged; tests the decode/encode path",
        receptive_field=0,
    )
)
