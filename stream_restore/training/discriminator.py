"""U-Net discriminator with spectral normalisation (Real-ESRGAN style), for GAN fine-tuning only.

Gives a real/fake logit per pixel (global and local realism at once). Not registered: it is a
training tool, never shipped.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm as _spectral_norm

__all__ = ["UNetDiscriminator"]


def spectral_norm(conv: nn.Conv2d) -> nn.Conv2d:
    """``conv`` with its weight spectrally normalised (torch's helper is unannotated)."""
    normed: nn.Conv2d = _spectral_norm(conv)
    return normed


def _act(t: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(t, 0.2)


def _up(t: torch.Tensor) -> torch.Tensor:
    return F.interpolate(t, scale_factor=2, mode="bilinear", align_corners=False)


class UNetDiscriminator(nn.Module):
    """Three stride-2 levels down, three up with skips: ``x[N,3,H,W] -> logits[N,1,H,W]``.

    H and W must be multiples of 8.
    """

    def __init__(self, channels: int = 32) -> None:
        super().__init__()
        c = channels
        self.conv0 = nn.Conv2d(3, c, 3, padding=1)
        self.down1 = spectral_norm(nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False))
        self.down2 = spectral_norm(nn.Conv2d(2 * c, 4 * c, 4, 2, 1, bias=False))
        self.down3 = spectral_norm(nn.Conv2d(4 * c, 8 * c, 4, 2, 1, bias=False))
        self.up1 = spectral_norm(nn.Conv2d(8 * c, 4 * c, 3, padding=1, bias=False))
        self.up2 = spectral_norm(nn.Conv2d(4 * c, 2 * c, 3, padding=1, bias=False))
        self.up3 = spectral_norm(nn.Conv2d(2 * c, c, 3, padding=1, bias=False))
        self.refine = spectral_norm(nn.Conv2d(c, c, 3, padding=1, bias=False))
        self.out = nn.Conv2d(c, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act, up = _act, _up
        x0 = act(self.conv0(x))
        x1 = act(self.down1(x0))
        x2 = act(self.down2(x1))
        x3 = act(self.down3(x2))
        y = act(self.up1(up(x3))) + x2
        y = act(self.up2(up(y))) + x1
        y = act(self.up3(up(y))) + x0
        logits: torch.Tensor = self.out(act(self.refine(y)))
        return logits
