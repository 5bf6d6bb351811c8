"""``sr-fast-x{2,3,4}``: a real-time-class plain convolution stack at low resolution.

ESPCN/ECBSR-like: every layer runs on the input grid, the last one predicts ``3*s*s`` sub-pixel
residuals that a pixel shuffle arranges on the output grid, added to an exact MATLAB-bicubic
upscale of the input (global skip, so the network only learns the missing detail). Only Conv,
PReLU, DepthToSpace and Add: exports to ONNX and runs at ONNX Runtime's efficient conv path.
Budget: at most 80 GFLOP per input megapixel (counted by the registry).
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from .bicubic import BicubicUpsample
from .checksums import weights_for
from .layers import conv3x3, zero_init
from .registry import ModelSpec, Task, register

__all__ = ["SRFast", "sr_fast"]


class SRFast(nn.Module):
    """``body`` 3x3 convs of ``channels`` features with PReLU, pixel-shuffle head, bicubic skip."""

    def __init__(self, scale: int, channels: int = 28, body: int = 5) -> None:
        super().__init__()
        self.scale = scale
        layers: list[nn.Module] = [conv3x3(3, channels), nn.PReLU(channels)]
        for _ in range(body):
            layers += [conv3x3(channels, channels), nn.PReLU(channels)]
        self.body = nn.Sequential(*layers)
        self.head = conv3x3(channels, 3 * scale * scale)
        self.upsample = BicubicUpsample(scale)
        zero_init(self.head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x[N,3,H,W] in [0,1] -> y[N,3,sH,sW] (not clamped; callers clamp when quantising)."""
        base: torch.Tensor = self.upsample(x)
        return base + F.pixel_shuffle(self.head(self.body(x)), self.scale)


# (channels, body convs) per scale, chosen so the counted cost stays under 80 GFLOP/MP.
_CONFIGS = {2: (32, 3), 3: (28, 4), 4: (28, 3)}


def sr_fast(*, scale: int) -> SRFast:
    channels, body = _CONFIGS[scale]
    return SRFast(scale, channels, body)


for _s in (2, 3, 4):
    _name = f"sr-fast-x{_s}"
    register(
        ModelSpec(
            name=_name,
            task=Task.SUPER_RESOLUTION,
            scale=_s,
            builder=functools.partial(sr_fast, scale=_s),
            weights=weights_for(_name),
            description=f"real-time x{_s} SR: {_CONFIGS[_s][1] + 2}-conv PReLU stack at LR + bicubic skip",
            card=f"{_name}.md",
            receptive_field=_CONFIGS[_s][1] + 4,
        )
    )
