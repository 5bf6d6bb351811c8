"""SRVGGNetCompact (Real-ESRGAN's compact models, e.g. realesr-general-x4v3, realesr-animevideov3).

A plain stack of 3x3 convolutions with PReLU at low resolution, a pixel shuffle, and a
nearest-neighbour upscale of the input added. Parameter names as published: ``body.0`` is the
first conv, ``body.1`` its activation, then (conv, activation) pairs, then the last conv.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .base import Detected, Family, StateDict, layer_indices

__all__ = ["FAMILY", "SRVGGNetCompact"]


def _activation(kind: str, channels: int) -> nn.Module:
    if kind == "prelu":
        return nn.PReLU(num_parameters=channels)
    if kind == "relu":
        return nn.ReLU()
    if kind == "leakyrelu":
        return nn.LeakyReLU(0.1)
    raise ValueError(f"unknown activation {kind!r}")


class SRVGGNetCompact(nn.Module):
    """``x[N,C,H,W] -> y[N,C,sH,sW]``: ``num_conv`` hidden convs of ``num_feat`` channels."""

    def __init__(
        self, *, in_channels: int = 3, num_feat: int = 64, num_conv: int = 16, scale: int = 4,
        activation: str = "prelu",
    ) -> None:
        super().__init__()
        self.scale = scale
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, num_feat, 3, 1, 1), _activation(activation, num_feat)
        ]
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), _activation(activation, num_feat)]
        layers.append(nn.Conv2d(num_feat, in_channels * scale * scale, 3, 1, 1))
        self.body = nn.ModuleList(layers)
        self.upsampler = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for layer in self.body:
            out = layer(out)
        shuffled: torch.Tensor = self.upsampler(out)
        return shuffled + F.interpolate(x, scale_factor=self.scale, mode="nearest")


def detect(state: StateDict) -> Detected | None:
    first, indices = state.get("body.0.weight"), layer_indices(state, "body.")
    if first is None or first.dim() != 4 or len(indices) < 3 or any(k.split(".")[0] != "body" for k in state):
        return None
    last = state.get(f"body.{indices[-1]}.weight")
    if last is None or last.dim() != 4:
        return None
    num_feat, in_channels = int(first.shape[0]), int(first.shape[1])
    scale = math.isqrt(int(last.shape[0]) // in_channels)
    if scale * scale * in_channels != last.shape[0] or in_channels not in (1, 3):
        return None
    num_conv = (indices[-1] - 2) // 2
    activation = "prelu" if "body.1.weight" in state else "leakyrelu"
    params: dict[str, int | str] = {"in_channels": in_channels, "num_feat": num_feat, "num_conv": num_conv,
                                    "scale": scale, "activation": activation}
    return Detected("srvgg", params, scale, "sr", receptive_field=num_conv + 2)


FAMILY = Family("srvgg", detect, lambda **params: SRVGGNetCompact(**params))
