"""NAFNet (Chen et al. 2022): the nonlinear-activation-free U-Net for deblurring and denoising.

Blocks of LayerNorm, 1x1 and depthwise convs, a simple gate (channel halves multiplied) and
simplified channel attention (a global average pool and a 1x1 conv). Inputs are padded to a
multiple of ``2 ** len(enc_blk_nums)``. The global pool makes tiles differ slightly from a whole
frame. Parameter names as published (``intro``, ``encoders.I.J``, ``downs.I``, ``middle_blks.J``,
``ups.I.0``, ``decoders.I.J``, ``ending``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import Detected, Family, StateDict, layer_indices

__all__ = ["FAMILY", "NAFNet"]


class LayerNorm2d(nn.Module):
    """LayerNorm over the channels of ``x[N,C,H,W]`` at each pixel."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu = x.mean(1, keepdim=True)
        var = (x - mu).pow(2).mean(1, keepdim=True)
        y = (x - mu) / (var + self.eps).sqrt()
        return self.weight.view(1, -1, 1, 1) * y + self.bias.view(1, -1, 1, 1)


def _gate(x: torch.Tensor) -> torch.Tensor:
    a, b = x.chunk(2, dim=1)
    return a * b


class NAFBlock(nn.Module):
    def __init__(self, c: int, dw_expand: int = 2, ffn_expand: int = 2) -> None:
        super().__init__()
        dw = c * dw_expand
        self.conv1 = nn.Conv2d(c, dw, 1)
        self.conv2 = nn.Conv2d(dw, dw, 3, padding=1, groups=dw)
        self.conv3 = nn.Conv2d(dw // 2, c, 1)
        self.sca = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(dw // 2, dw // 2, 1))
        self.conv4 = nn.Conv2d(c, ffn_expand * c, 1)
        self.conv5 = nn.Conv2d(ffn_expand * c // 2, c, 1)
        self.norm1 = LayerNorm2d(c)
        self.norm2 = LayerNorm2d(c)
        self.beta = nn.Parameter(torch.zeros((1, c, 1, 1)))
        self.gamma = nn.Parameter(torch.zeros((1, c, 1, 1)))

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        x = _gate(self.conv2(self.conv1(self.norm1(inp))))
        x = self.conv3(x * self.sca(x))
        y = inp + x * self.beta
        x = self.conv5(_gate(self.conv4(self.norm2(y))))
        out: torch.Tensor = y + x * self.gamma
        return out


class NAFNet(nn.Module):
    """``x[N,C,H,W] -> y[N,C,H,W]``; ``enc_blk_nums``/``dec_blk_nums`` blocks per level."""

    def __init__(
        self, *, img_channel: int = 3, width: int = 32, middle_blk_num: int = 1,
        enc_blk_nums: tuple[int, ...] = (1, 1, 1, 28), dec_blk_nums: tuple[int, ...] = (1, 1, 1, 1),
    ) -> None:
        super().__init__()
        self.intro = nn.Conv2d(img_channel, width, 3, padding=1)
        self.ending = nn.Conv2d(width, img_channel, 3, padding=1)
        self.encoders, self.decoders = nn.ModuleList(), nn.ModuleList()
        self.ups, self.downs = nn.ModuleList(), nn.ModuleList()
        chan = width
        for num in enc_blk_nums:
            self.encoders.append(nn.Sequential(*[NAFBlock(chan) for _ in range(num)]))
            self.downs.append(nn.Conv2d(chan, 2 * chan, 2, 2))
            chan *= 2
        self.middle_blks = nn.Sequential(*[NAFBlock(chan) for _ in range(middle_blk_num)])
        for num in dec_blk_nums:
            self.ups.append(nn.Sequential(nn.Conv2d(chan, chan * 2, 1, bias=False), nn.PixelShuffle(2)))
            chan //= 2
            self.decoders.append(nn.Sequential(*[NAFBlock(chan) for _ in range(num)]))
        self.multiple = 2 ** len(self.encoders)

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        h, w = inp.shape[-2:]
        m = self.multiple
        x0 = F.pad(inp, (0, (m - w % m) % m, 0, (m - h % m) % m))
        x = self.intro(x0)
        skips = []
        for encoder, down in zip(self.encoders, self.downs, strict=True):
            x = encoder(x)
            skips.append(x)
            x = down(x)
        x = self.middle_blks(x)
        for decoder, up, skip in zip(self.decoders, self.ups, skips[::-1], strict=True):
            x = decoder(up(x) + skip)
        out: torch.Tensor = self.ending(x) + x0
        return out[..., :h, :w]


def _blocks(state: StateDict, prefix: str) -> int:
    return len(layer_indices(state, prefix))


def detect(state: StateDict) -> Detected | None:
    if "intro.weight" not in state or "ending.weight" not in state or "downs.0.weight" not in state:
        return None
    levels = layer_indices(state, "encoders.")
    width = int(state["intro.weight"].shape[0])
    params: dict[str, int | str] = {
        "img_channel": int(state["intro.weight"].shape[1]),
        "width": width,
        "middle_blk_num": _blocks(state, "middle_blks."),
        "enc_blk_nums": ",".join(str(_blocks(state, f"encoders.{i}.")) for i in levels),
        "dec_blk_nums": ",".join(
            str(_blocks(state, f"decoders.{i}.")) for i in layer_indices(state, "decoders.")
        ),
    }
    first = state.get("encoders.0.0.conv1.weight")
    if first is not None and int(first.shape[0]) != 2 * width:
        return None  # an expansion other than NAFNet's 2
    return Detected("nafnet", params, 1, "deblur", size_multiple=2 ** len(levels), receptive_field=64,
                    exact_tiles=False)


def _build(*, enc_blk_nums: str | tuple[int, ...] = "", dec_blk_nums: str | tuple[int, ...] = "",
           **params: int) -> NAFNet:
    def counts(v: str | tuple[int, ...]) -> tuple[int, ...]:
        return tuple(int(n) for n in v.split(",") if n) if isinstance(v, str) else v

    return NAFNet(enc_blk_nums=counts(enc_blk_nums), dec_blk_nums=counts(dec_blk_nums), **params)


FAMILY = Family("nafnet", detect, _build, pads_input=True)
