"""RRDBNet (ESRGAN, Real-ESRGAN x4plus/x2plus, BSRGAN and most "ESRGAN" community models).

Residual-in-residual dense blocks at low resolution, two nearest x2 upsampling convs. The x2
and x1 variants fold the input with pixel-unshuffle first (so inputs must be multiples of 2 or 4).
Parameter names are BasicSR's (``conv_first``, ``body.N.rdbK.convJ``, ``conv_body``,
``conv_up1``, ``conv_up2``, ``conv_hr``, ``conv_last``); checkpoints in the original ESRGAN layout
(``model.0``, ``model.1.sub.N.RDBK.convJ.0``, ...) are renamed to them.
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torch import nn

from .base import Detected, Family, StateDict, layer_indices

__all__ = ["FAMILY", "RRDBNet"]


class ResidualDenseBlock(nn.Module):
    def __init__(self, num_feat: int, num_grow_ch: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_grow_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat + num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv3 = nn.Conv2d(num_feat + 2 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv4 = nn.Conv2d(num_feat + 3 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = F.leaky_relu(self.conv1(x), 0.2)
        x2 = F.leaky_relu(self.conv2(torch.cat((x, x1), 1)), 0.2)
        x3 = F.leaky_relu(self.conv3(torch.cat((x, x1, x2), 1)), 0.2)
        x4 = F.leaky_relu(self.conv4(torch.cat((x, x1, x2, x3), 1)), 0.2)
        x5: torch.Tensor = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5 * 0.2 + x


class RRDB(nn.Module):
    def __init__(self, num_feat: int, num_grow_ch: int) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.rdb3(self.rdb2(self.rdb1(x)))
        return out * 0.2 + x


_UNSHUFFLE = {4: 1, 2: 2, 1: 4}  # scale -> pixel-unshuffle factor of the input


class RRDBNet(nn.Module):
    """``x[N,C,H,W] -> y[N,C,sH,sW]`` for ``scale`` 1, 2 or 4."""

    def __init__(
        self, *, in_channels: int = 3, scale: int = 4, num_feat: int = 64, num_block: int = 23,
        num_grow_ch: int = 32,
    ) -> None:
        super().__init__()
        if scale not in _UNSHUFFLE:
            raise ValueError(f"RRDBNet scale must be 1, 2 or 4, not {scale}")
        self.scale = scale
        fold = _UNSHUFFLE[scale]
        self.conv_first = nn.Conv2d(in_channels * fold * fold, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(num_feat, num_grow_ch) for _ in range(num_block)])
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, in_channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fold = _UNSHUFFLE[self.scale]
        feat = F.pixel_unshuffle(x, fold) if fold > 1 else x
        feat = self.conv_first(feat)
        feat = feat + self.conv_body(self.body(feat))
        feat = F.leaky_relu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
        feat = F.leaky_relu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
        out: torch.Tensor = self.conv_last(F.leaky_relu(self.conv_hr(feat), 0.2))
        return out


_OLD_BLOCK = re.compile(r"^model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.(weight|bias)$")
_OLD_TAIL = {"model.0": "conv_first", "model.3": "conv_up1", "model.6": "conv_up2", "model.8": "conv_hr",
             "model.10": "conv_last"}


def convert(state: StateDict) -> dict[str, torch.Tensor]:
    """Rename the original ESRGAN layout to BasicSR's; other layouts pass through unchanged."""
    if "model.0.weight" not in state or "conv_first.weight" in state:
        return dict(state)
    blocks = [int(m.group(1)) for k in state if (m := _OLD_BLOCK.match(k))]
    trunk = f"model.1.sub.{max(blocks) + 1}" if blocks else None
    renamed: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        module, _, leaf = key.rpartition(".")
        if m := _OLD_BLOCK.match(key):
            renamed[f"body.{m.group(1)}.rdb{m.group(2)}.conv{m.group(3)}.{m.group(4)}"] = value
        elif module == trunk:
            renamed[f"conv_body.{leaf}"] = value
        elif module in _OLD_TAIL:
            renamed[f"{_OLD_TAIL[module]}.{leaf}"] = value
        else:
            renamed[key] = value  # unknown: detection will refuse the layout
    return renamed


def detect(state: StateDict) -> Detected | None:
    needed = ("conv_first.weight", "conv_body.weight", "conv_up1.weight", "conv_up2.weight", "conv_hr.weight",
              "conv_last.weight", "body.0.rdb1.conv1.weight")
    if any(k not in state for k in needed) or "conv_up3.weight" in state:
        return None
    first, last = state["conv_first.weight"], state["conv_last.weight"]
    in_channels = int(last.shape[0])
    fold_sq = int(first.shape[1]) // in_channels
    scale = {1: 4, 4: 2, 16: 1}.get(fold_sq)
    if scale is None or fold_sq * in_channels != first.shape[1]:
        return None
    params: dict[str, int | str] = {
        "in_channels": in_channels,
        "scale": scale,
        "num_feat": int(first.shape[0]),
        "num_block": len(layer_indices(state, "body.")),
        "num_grow_ch": int(state["body.0.rdb1.conv1.weight"].shape[0]),
    }
    return Detected("rrdb", params, scale, "sr", size_multiple=_UNSHUFFLE[scale], receptive_field=32)


FAMILY = Family("rrdb", detect, lambda **params: RRDBNet(**params), convert)
