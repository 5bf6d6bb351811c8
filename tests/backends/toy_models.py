"""Tiny test-only models covering every calling convention (registered by a fixture in conftest).

They exist so recurrent and window support can be tested before learned models land, and stay
tiny so exports and parity checks take milliseconds.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from stream_restore.models.registry import ModelSpec, Task

__all__ = ["TOY_NAMES", "TOY_SPECS", "ToyRecurrent", "ToyWindow"]


class ToyRecurrent(nn.Module):
    """x2 recurrent SR: state update is pointwise, so the receptive field stays 2 px at every frame.

    feat = conv3x3(x); state' = tanh(conv1x1([feat, state])); y = shuffle(conv3x3([state', feat])) + up(x)
    """

    def __init__(self, channels: int = 6) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(1)
        self.channels = channels
        self.feat = nn.Conv2d(3, channels, 3, padding=1)
        self.update = nn.Conv2d(2 * channels, channels, 1)
        self.out = nn.Conv2d(2 * channels, 12, 3, padding=1)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.2)

    def initial_state(self, n: int, h: int, w: int) -> torch.Tensor:
        return torch.zeros(
            n, self.channels, h, w, device=self.feat.weight.device, dtype=self.feat.weight.dtype
        )

    def forward(self, x: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        frame = x[:, -1]
        feat = F.relu(self.feat(frame))
        new_state = torch.tanh(self.update(torch.cat([feat, state], dim=1)))
        y = F.pixel_shuffle(self.out(torch.cat([new_state, feat], dim=1)), 2)
        return y + F.interpolate(frame, scale_factor=2, mode="nearest"), new_state


class ToyWindow(nn.Module):
    """x1 three-frame window model: forward(x[N, 3, 3, H, W]) -> the restored middle frame."""

    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(2)
        self.conv = nn.Conv2d(9, 3, 3, padding=1)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, c, h, w = x.shape
        return x[:, t // 2] + self.conv(x.reshape(n, t * c, h, w))


TOY_SPECS = [
    ModelSpec(
        name="test-toy-recurrent-x2",
        task=Task.VIDEO_SUPER_RESOLUTION,
        scale=2,
        builder=ToyRecurrent,
        recurrent=True,
        description="test-only recurrent model",
        receptive_field=2,
    ),
    ModelSpec(
        name="test-toy-window",
        task=Task.VIDEO_DEBLUR,
        scale=1,
        builder=ToyWindow,
        past_frames=1,
        future_frames=1,
        description="test-only 3-frame window model",
        receptive_field=1,
    ),
]
TOY_NAMES = [s.name for s in TOY_SPECS]
