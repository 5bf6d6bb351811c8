"""``sr-compact-x{2,4}`` and ``sr-gan-x4``: a stronger compact residual network at low resolution.

EDSR-baseline-like without normalisation: a head conv, residual blocks of two 3x3 convs, a long
skip, and a pixel-shuffle tail added to an exact MATLAB-bicubic upscale of the input. Budget: at
most 400 GFLOP per input megapixel. ``sr-gan-x4`` is the same generator fine-tuned with an
adversarial loss (training/recipes/sr_gan_x4.py) for sharper textures on still images.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from .bicubic import BicubicUpsample
from .checksums import weights_for
from .layers import ResBlock, conv3x3, zero_init
from .registry import ModelSpec, Task, register

__all__ = ["SRCompact", "sr_compact"]


class SRCompact(nn.Module):
    """Residual-block SR network: ``blocks`` ResBlocks of ``channels`` features at LR resolution."""

    def __init__(self, scale: int, channels: int = 48, blocks: int = 4) -> None:
        super().__init__()
        self.scale = scale
        self.entry = conv3x3(3, channels)
        self.blocks = nn.Sequential(*[ResBlock(channels) for _ in range(blocks)])
        self.head = conv3x3(channels, 3 * scale * scale)
        self.upsample = BicubicUpsample(scale)
        zero_init(self.head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x[N,3,H,W] in [0,1] -> y[N,3,sH,sW]."""
        feat = self.entry(x)
        feat = feat + self.blocks(feat)
        base: torch.Tensor = self.upsample(x)
        return base + F.pixel_shuffle(self.head(F.relu(feat)), self.scale)


# (channels, residual blocks) per scale, under 400 GFLOP/MP.
_CONFIGS = {2: (48, 4), 4: (48, 4)}


def sr_compact(*, scale: int) -> SRCompact:
    channels, blocks = _CONFIGS[scale]
    return SRCompact(scale, channels, blocks)


for _s in (2, 4):
    _name = f"sr-compact-x{_s}"
    register(
        ModelSpec(
            name=_name,
            task=Task.SUPER_RESOLUTION,
            scale=_s,
            builder=functools.partial(sr_compact, scale=_s),
            weights=weights_for(_name),
            description=f"compact x{_s} SR: {_CONFIGS[_s][1]} residual blocks, "
            f"{_CONFIGS[_s][0]} ch + bicubic skip",
            card=f"{_name}.md",
            receptive_field=2 * _CONFIGS[_s][1] + 4,
        )
    )

register(
    ModelSpec(
        name="sr-gan-x4",
        task=Task.SUPER_RESOLUTION,
        scale=4,
        builder=functools.partial(sr_compact, scale=4),
        weights=weights_for("sr-gan-x4"),
        description="still-image x4 SR, sr-compact-x4 generator fine-tuned with a U-Net GAN loss",
        card="sr-gan-x4.md",
        receptive_field=2 * _CONFIGS[4][1] + 4,
    )
)
