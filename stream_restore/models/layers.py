"""Small building blocks shared by the restoration architectures (all export to plain ONNX ops)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["NAFBlock", "ResBlock", "conv3x3", "pad_to_multiple", "zero_init"]


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


class NAFBlock(nn.Module):
    """NAFNet's block without its channel attention: per-pixel layer norm, 1x1 expand, depthwise
    3x3, simple gate (one half of the channels times the other), 1x1; then a gated 1x1 feed-forward;
    both added through zero-initialised per-channel scales, so a new block is the identity.

    NAFNet's simplified channel attention pools the whole frame, which makes a tile's output
    depend on pixels outside it; without it every output pixel sees a 3x3 neighbourhood, as a
    ResBlock's 5x5, and tiling stays exact. About a third of a ResBlock's cost at equal width
    (6c^2 + 18c against 18c^2 multiply-adds per pixel).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        c = channels
        self.expand = nn.Conv2d(c, 2 * c, 1)
        self.depthwise = nn.Conv2d(2 * c, 2 * c, 3, padding=1, groups=2 * c)
        self.project = nn.Conv2d(c, c, 1)
        self.ffn_expand = nn.Conv2d(c, 2 * c, 1)
        self.ffn_project = nn.Conv2d(c, c, 1)
        self.beta = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, c, 1, 1))

    @staticmethod
    def _norm(x: torch.Tensor) -> torch.Tensor:
        """Layer norm over the channels of each pixel (no learned affine: the 1x1 after it has one)."""
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        return (x - mean) / torch.sqrt(var + 1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.depthwise(self.expand(self._norm(x))).chunk(2, dim=1)
        x = x + self.beta * self.project(a * b)
        a, b = self.ffn_expand(self._norm(x)).chunk(2, dim=1)
        out: torch.Tensor = x + self.gamma * self.ffn_project(a * b)
        return out


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
