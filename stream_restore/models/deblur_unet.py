"""``deblur`` and ``deblur-gan``: a small residual U-Net for camera-shake and motion blur.

Three levels (1, 1/2, 1/4 resolution, then a 1/8 bottleneck) so the receptive field covers blur
trails of a few tens of pixels. Downsampling is a pixel unshuffle followed by a conv, upsampling a
conv followed by a pixel shuffle (no transposed convs, no checkerboard), skips are additions, and
the network predicts a residual added to its input. Inputs of any size are replicate-padded to a
multiple of 8 pixels and the output cropped back. ``deblur-gan`` is the same network fine-tuned
with an adversarial loss (training/recipes/deblur_gan.py).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .checksums import weights_for
from .layers import NAFBlock, ResBlock, conv3x3, pad_to_multiple, zero_init
from .registry import ModelSpec, Task, register

__all__ = ["BLOCKS", "DeblurUNet", "UNetCore"]


def _nafs(count: int) -> Callable[[int], nn.Module]:
    return lambda c: nn.Sequential(*[NAFBlock(c) for _ in range(count)])


# What fills each block slot of the U-Net: "res" (the shipped models) or NAFNet-style blocks, as
# many per slot as keep the cost at the ResBlock U-Net's (bench/deblur_blocks.py compares them).
BLOCKS: dict[str, Callable[[int], nn.Module]] = {"res": ResBlock, "naf": _nafs(3)}


class _Down(nn.Module):
    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = conv3x3(4 * in_ch, out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv(F.pixel_unshuffle(x, 2)))


class _Up(nn.Module):
    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = conv3x3(in_ch, 4 * out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(self.conv(x), 2)


class UNetCore(nn.Module):
    """Feature U-Net: ``x[N,in_ch,H,W]`` (H, W multiples of 8) -> features ``[N,c,H,W]`` and the
    1/8 bottleneck.

    ``side`` channels at full resolution (the neighbouring frames of ``vdeblur``) and ``extra``
    channels at the bottleneck (its recurrent state) enter through zero-initialised 1x1 convs added
    to the entry and bottleneck features: with both at zero init the core computes exactly the
    single-frame network, so a recurrent model can start from shipped ``deblur`` weights.
    """

    def __init__(
        self, in_ch: int, c: int = 16, extra: int = 0, blocks: int = 2, side: int = 0, block: str = "res"
    ) -> None:
        super().__init__()
        make = BLOCKS[block]
        self.entry = conv3x3(in_ch, c)
        self.side = zero_init(nn.Conv2d(side, c, 1)) if side else None
        self.enc1 = make(c)
        self.down1 = _Down(c, 2 * c)
        self.enc2 = make(2 * c)
        self.down2 = _Down(2 * c, 4 * c)
        self.enc3 = make(4 * c)
        self.down3 = _Down(4 * c, 4 * c)
        self.state_in = zero_init(nn.Conv2d(extra, 4 * c, 1)) if extra else None
        self.merge = conv3x3(4 * c, 4 * c)
        self.mid = nn.Sequential(*[make(4 * c) for _ in range(blocks)])
        self.up3 = _Up(4 * c, 4 * c)
        self.dec3 = make(4 * c)
        self.up2 = _Up(4 * c, 2 * c)
        self.dec2 = make(2 * c)
        self.up1 = _Up(2 * c, c)
        self.dec1 = make(c)

    def forward(
        self, x: torch.Tensor, extra: torch.Tensor | None = None, side: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        entry = self.entry(x)
        if self.side is not None and side is not None:
            entry = entry + self.side(side)
        e1 = self.enc1(F.relu(entry))
        e2 = self.enc2(self.down1(e1))
        e3 = self.enc3(self.down2(e2))
        b = self.down3(e3)
        if self.state_in is not None and extra is not None:
            b = b + self.state_in(extra)
        b = self.mid(F.relu(self.merge(b)))
        d3 = self.dec3(self.up3(b) + e3)
        d2 = self.dec2(self.up2(d3) + e2)
        d1 = self.dec1(self.up1(d2) + e1)
        return d1, b


class DeblurUNet(nn.Module):
    """Single-image deblurring: ``x[N,3,H,W] -> x + residual`` (same size, any H and W)."""

    def __init__(self, channels: int = 16, blocks: int = 2, block: str = "res") -> None:
        super().__init__()
        self.core = UNetCore(3, channels, blocks=blocks, block=block)
        self.head = conv3x3(channels, 3)
        with torch.no_grad():  # small, not zero: a zero head starves the U-Net of gradient
            self.head.weight.mul_(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded, h, w = pad_to_multiple(x, 8)
        feat, _ = self.core(padded)
        residual: torch.Tensor = self.head(feat)
        return (padded + residual)[..., :h, :w]


def deblur_unet() -> DeblurUNet:
    return DeblurUNet(channels=16, blocks=2)


for _name, _desc in (
    ("deblur", "single-image motion/shake deblurring: residual U-Net (3 levels + 1/8 bottleneck)"),
    ("deblur-gan", "still-image deblurring, the deblur U-Net fine-tuned with a U-Net GAN loss"),
):
    register(
        ModelSpec(
            name=_name,
            task=Task.DEBLUR,
            scale=1,
            builder=deblur_unet,
            weights=weights_for(_name),
            description=_desc,
            card=f"{_name}.md",
            receptive_field=96,
            size_multiple=8,
        )
    )
