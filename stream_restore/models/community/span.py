"""SPAN (Wan et al. 2024, "Swift Parameter-free Attention Network", NTIRE 2024 efficient SR winner).

Six blocks of three re-parameterisable 3x3 convolutions (``Conv3XC``) whose attention is
parameter-free (``sigmoid(x) - 0.5`` of the block's own output), a 1x1 ``conv_cat`` over four
feature maps, and a pixel-shuffle upsampler. Parameter names as published (``conv_1``,
``block_1`` .. ``block_6`` with ``c1_r``/``c2_r``/``c3_r``, ``conv_cat``, ``conv_2``,
``upsampler.0``; the ``no_norm`` buffer marks models trained without mean/range normalisation).

A published ``Conv3XC`` carries its train-time branches (``sk``: a 1x1 conv; ``conv.0``-``conv.2``:
1x1, 3x3, 1x1) and the inference conv ``eval_conv`` they collapse to. Inference only ever uses the
collapsed 3x3 conv (the reference implementation recomputes it from the branches on every call,
so a stale ``eval_conv`` in a file is ignored), so :func:`convert` folds the branches once when
the weights are read and the module holds ``eval_conv`` alone: plain convolutions that export to
ONNX/TensorRT as they are. Files with only the branches, or only ``eval_conv``, load too.
"""

from __future__ import annotations

import math
import re

import torch
import torch.nn.functional as F
from torch import nn

from .base import Detected, Family, StateDict

__all__ = ["FAMILY", "SPAN", "convert", "fold_branches"]

BLOCKS = 6
_RGB_MEAN = (0.4488, 0.4371, 0.4040)  # DIV2K mean subtracted before the x255 range (norm models)
_IMG_RANGE = 255.0
_BRANCH = re.compile(r"^(.*)\.sk\.weight$")
_PREFIXES = ("conv_1.", "conv_cat.", "conv_2.", "upsampler.0.",
             *(f"block_{i}." for i in range(1, BLOCKS + 1)))
_BRANCH_KEYS = ("sk.weight", "sk.bias", *(f"conv.{i}.{p}" for i in range(3) for p in ("weight", "bias")))


class Conv3XC(nn.Module):
    """The collapsed form of SPAN's re-parameterised conv: one 3x3 convolution, zero padding 1."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.eval_conv = nn.Conv2d(c_in, c_out, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.eval_conv(x)
        return out


class SPAB(nn.Module):
    """Swift parameter-free attention block: three convs, SiLU between, ``sigmoid - 0.5`` attention."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.c1_r = Conv3XC(channels, channels)
        self.c2_r = Conv3XC(channels, channels)
        self.c3_r = Conv3XC(channels, channels)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The block's output and its first conv's activated output, which SPAN concatenates.

        (The reference activates ``c1_r``'s output in place, so what it returns is after the SiLU.)
        """
        first = F.silu(self.c1_r(x))
        third = self.c3_r(F.silu(self.c2_r(first)))
        attention = torch.sigmoid(third) - 0.5
        return (third + x) * attention, first


class SPAN(nn.Module):
    """``x[N,C,H,W] -> y[N,C,sH,sW]`` for RGB (or one-channel) ``x`` in [0, 1]."""

    def __init__(
        self, *, in_channels: int = 3, feature_channels: int = 48, scale: int = 4, norm: bool = True
    ) -> None:
        super().__init__()
        if norm and in_channels != 3:
            raise ValueError(f"SPAN's normalisation subtracts an RGB mean: 3 channels, not {in_channels}")
        if scale < 1:
            raise ValueError(f"SPAN scale must be at least 1, not {scale}")
        self.scale = scale
        self.norm = norm
        self.mean: torch.Tensor
        if norm:
            self.register_buffer("mean", torch.tensor(_RGB_MEAN).view(1, 3, 1, 1), persistent=False)
        else:
            self.register_buffer("no_norm", torch.zeros(1))  # as published: marks a model without it
        f = feature_channels
        self.conv_1 = Conv3XC(in_channels, f)
        self.block_1, self.block_2, self.block_3 = SPAB(f), SPAB(f), SPAB(f)
        self.block_4, self.block_5, self.block_6 = SPAB(f), SPAB(f), SPAB(f)
        self.conv_cat = nn.Conv2d(4 * f, f, 1)
        self.conv_2 = Conv3XC(f, f)
        self.upsampler = nn.Sequential(nn.Conv2d(f, in_channels * scale * scale, 3, padding=1),
                                       nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.norm:
            x = (x - self.mean) * _IMG_RANGE  # the output is not de-normalised: as published
        feature = self.conv_1(x)
        out_1, _ = self.block_1(feature)
        out = out_1
        for block in (self.block_2, self.block_3, self.block_4, self.block_5):
            out, _ = block(out)
        out_6, first_6 = self.block_6(out)
        merged = self.conv_cat(torch.cat([feature, self.conv_2(out_6), out_1, first_6], 1))
        result: torch.Tensor = self.upsampler(merged)
        return result


# -- weights ------------------------------------------------------------------------------------------


def fold_branches(
    sk: tuple[torch.Tensor, torch.Tensor], convs: list[tuple[torch.Tensor, torch.Tensor]]
) -> tuple[torch.Tensor, torch.Tensor]:
    """The 3x3 kernel and bias equal to ``sk(x) + conv[2](conv[1](conv[0](x)))`` (1x1, 3x3, 1x1).

    Folded in float64: ``K[o,i] = W3[o,m] W2[m,n] W1[n,i]`` per tap, the biases pushed through the
    later layers, and the 1x1 skip added at the centre tap.
    """
    (w1, b1), (w2, b2), (w3, b3) = ((w.double(), b.double()) for w, b in convs)
    m1, m3 = w1[:, :, 0, 0], w3[:, :, 0, 0]
    kernel = torch.einsum("om,mnuv,ni->oiuv", m3, w2, m1)
    bias = m3 @ (w2.sum((2, 3)) @ b1 + b2) + b3
    kernel[:, :, 1, 1] += sk[0].double()[:, :, 0, 0]
    return kernel.float(), (bias + sk[1].double()).float()


def _branches(state: StateDict, prefix: str) -> tuple[tuple[torch.Tensor, torch.Tensor],
                                                        list[tuple[torch.Tensor, torch.Tensor]]] | None:
    """The skip and the three branch convs of the Conv3XC at ``prefix``, if complete and consistent."""
    try:
        sk = (state[f"{prefix}.sk.weight"], state[f"{prefix}.sk.bias"])
        convs = [(state[f"{prefix}.conv.{i}.weight"], state[f"{prefix}.conv.{i}.bias"]) for i in range(3)]
    except KeyError:
        return None
    (w1, _), (w2, _), (w3, _) = convs
    shapes_fit = (
        sk[0].dim() == w1.dim() == w2.dim() == w3.dim() == 4
        and sk[0].shape[2:] == w1.shape[2:] == w3.shape[2:] == (1, 1)
        and w2.shape[2:] == (3, 3)
        and w2.shape[1] == w1.shape[0]
        and w3.shape[1] == w2.shape[0]
        and sk[0].shape[:2] == (w3.shape[0], w1.shape[1])
    )
    return (sk, convs) if shapes_fit else None


def convert(state: StateDict) -> dict[str, torch.Tensor]:
    """Fold every complete Conv3XC's train-time branches into its ``eval_conv``; keep the rest.

    Branches that are incomplete or inconsistent are left as they are (detection then refuses).
    """
    out = dict(state)
    for key in state:
        match = _BRANCH.match(key)
        found = _branches(state, match.group(1)) if match else None
        if match is None or found is None:
            continue
        prefix = match.group(1)
        for name in _BRANCH_KEYS:
            del out[f"{prefix}.{name}"]
        out[f"{prefix}.eval_conv.weight"], out[f"{prefix}.eval_conv.bias"] = fold_branches(*found)
    return out


def _conv_names() -> list[str]:
    blocks = [f"block_{i}.c{j}_r" for i in range(1, BLOCKS + 1) for j in (1, 2, 3)]
    return ["conv_1", *blocks, "conv_2"]


def detect(state: StateDict) -> Detected | None:
    """SPAN's parameters from (converted) weights: channels from ``conv_1``, scale from the upsampler."""
    needed = [f"{name}.eval_conv.weight" for name in _conv_names()]
    needed += ["conv_cat.weight", "upsampler.0.weight"]
    if any(k not in state or state[k].dim() != 4 for k in needed):
        return None
    if any(k != "no_norm" and not k.startswith(_PREFIXES) for k in state):
        return None  # more than SPAN (another block, a variant): not ours to guess
    if any(".sk." in k or ".conv." in k for k in state):
        return None  # train-time branches that did not fold (incomplete, or shapes that do not chain)
    feature_channels, in_channels = (int(n) for n in state["conv_1.eval_conv.weight"].shape[:2])
    shuffled = int(state["upsampler.0.weight"].shape[0])
    scale = math.isqrt(shuffled // in_channels)
    if in_channels not in (1, 3) or scale < 1 or scale * scale * in_channels != shuffled:
        return None  # output channels other than the input's: not an image-to-image model we can run
    if int(state["conv_cat.weight"].shape[1]) != 4 * feature_channels:
        return None
    params: dict[str, int | str] = {"in_channels": in_channels, "feature_channels": feature_channels,
                                    "scale": scale, "norm": "no_norm" not in state}
    task = "sr" if scale > 1 else "deblur"
    return Detected("span", params, scale, task, receptive_field=3 * BLOCKS + 3)  # stacked 3x3 convs


def _build(
    *, in_channels: int = 3, feature_channels: int = 48, scale: int = 4, norm: int | bool = True
) -> SPAN:
    return SPAN(in_channels=in_channels, feature_channels=feature_channels, scale=scale, norm=bool(norm))


FAMILY = Family("span", detect, _build, convert)
