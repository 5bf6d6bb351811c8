"""Small building blocks shared by the restoration architectures (all export to plain ONNX ops)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ResBlock", "conv3x3", "pad_to_multiple", "zero_init"]


def conv3x3(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution with 'same' zero padding."""
    return nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1)


def zero_init(conv: nn.Conv2d) -> nn.Conv2d:
    """Zero a conv's weight and bias, so a residual head starts as the identity/bicubic path."""
    nn.init.zeros_(conv.weight)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)
    return conv


class ResBlock(nn.Module):
    """conv-ReLU-conv with an identity skip (EDSR style, no normalisation layers)."""

    def __init__(self, channels: int, res_scale: float = 1.0) -> None:
        super().__init__()
        self.conv1 = conv3x3(channels, channels)
        self.conv2 = conv3x3(channels, channels)
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual: torch.Tensor = self.conv2(F.relu(self.conv1(x)))
        return x + self.res_scale * residual


def _tracing() -> bool:
    """Whether an ONNX/TorchScript trace is running (torch exports ``is_tracing`` unannotated)."""
    return bool(torch.jit.is_tracing())  # type: ignore[attr-defined, no-untyped-call]


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int, int]:
    """Replicate-pad the bottom/right edges of ``x[..., H, W]`` to multiples of ``multiple`` pixels.

    Returns the padded tensor and the original height and width (to crop the output back).
    """
    h, w = x.shape[-2], x.shape[-1]
    ph = (multiple - h % multiple) % multiple
    pw = (multiple - w % multiple) % multiple
    if ph or pw or _tracing():  # traced graphs keep the pad, sized symbolically
        shape = x.shape
        flat = x.reshape(-1, shape[-3], h, w) if x.dim() > 4 else x
        flat = F.pad(flat, (0, pw, 0, ph), mode="replicate")
        x = flat.reshape(*shape[:-2], h + ph, w + pw) if x.dim() > 4 else flat
    return x, h, w
