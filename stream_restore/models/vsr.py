"""``vsr-x{2,4}``: causal recurrent video SR, one past and one future frame plus a carried state.

Two cells, both without alignment or deformable ops (the network learns small motions implicitly),
exporting to ONNX as Conv, Relu, Concat, DepthToSpace, SpaceToDepth and Add:

* :class:`RecurrentCompactSR` (``vsr-x4``): sr-compact's body with a cheap temporal path; the
  neighbours and a 16-map hidden state enter through a zero-initialised 1x1 conv, so it is trained
  starting from the shipped sr-compact-x4 weights and starts as exactly that model.
* :class:`RecurrentSR` (``vsr-x2``, RLSP-style): frames t-1, t, t+1, the hidden features and the
  previous output folded back to low resolution (pixel unshuffle) all enter one 3x3 conv.

Both predict a sub-pixel residual over an exact bicubic upscale of frame t. Budget: at most 400
GFLOP per input megapixel per frame.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from .bicubic import BicubicUpsample
from .checksums import weights_for
from .layers import ResBlock, conv3x3, zero_init
from .recurrent import RecurrentModel
from .registry import ModelSpec, Task, register

__all__ = ["RecurrentCompactSR", "RecurrentSR", "vsr"]


class RecurrentSR(RecurrentModel):
    """RLSP-like cell: state = [hidden features (``channels``), unshuffled previous output (3s^2)]."""

    def __init__(self, scale: int, channels: int = 48, blocks: int = 3) -> None:
        super().__init__()
        self.scale = scale
        self.channels = channels
        self.state_channels = channels + 3 * scale * scale
        self.entry = conv3x3(9 + self.state_channels, channels)
        self.blocks = nn.Sequential(*[ResBlock(channels) for _ in range(blocks)])
        self.head = conv3x3(channels, 3 * scale * scale)
        self.upsample = BicubicUpsample(scale)
        zero_init(self.head)

    def initial_state(self, n: int, h: int, w: int) -> torch.Tensor:
        """Zero state ``[n, channels + 3*s*s, h, w]`` at input resolution (h, w in input pixels)."""
        ref = self.head.weight
        return torch.zeros(n, self.state_channels, h, w, device=ref.device, dtype=ref.dtype)

    def step(self, window: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, _, _, h, w = window.shape
        current = window[:, 1]
        feat = F.relu(self.entry(torch.cat([window.reshape(n, 9, h, w), state], dim=1)))
        feat = self.blocks(feat)
        y = self.upsample(current) + F.pixel_shuffle(self.head(feat), self.scale)
        new_state = torch.cat([feat, F.pixel_unshuffle(y, self.scale)], dim=1)
        return y, new_state


class RecurrentCompactSR(RecurrentModel):
    """sr-compact's body plus a cheap temporal path (used for ``vsr-x4``).

    The current frame enters through the same 3x3 conv as :class:`~.sr_compact.SRCompact`; the two
    neighbours and the ``hidden``-map state enter through a zero-initialised 1x1 conv added to it,
    and the first ``hidden`` maps of the body's output become the next state. Initialised from
    sr-compact weights it starts as exactly that single-frame model, so recurrent training can only
    add temporal detail on top. About +2 GFLOP/MP over sr-compact.
    """

    def __init__(
        self, scale: int, channels: int = 48, blocks: int = 4, hidden: int = 16, bounded_state: bool = True
    ) -> None:
        super().__init__()
        self.scale = scale
        self.hidden = hidden
        # tanh keeps the carried state in [-1, 1] whatever the stream (no blow-up over long videos)
        self.bounded_state = bounded_state
        self.entry = conv3x3(3, channels)
        self.temporal = zero_init(nn.Conv2d(6 + hidden, channels, 1))
        self.blocks = nn.Sequential(*[ResBlock(channels) for _ in range(blocks)])
        self.head = zero_init(conv3x3(channels, 3 * scale * scale))
        self.upsample = BicubicUpsample(scale)

    def initial_state(self, n: int, h: int, w: int) -> torch.Tensor:
        """Zero state ``[n, hidden, h, w]`` at input resolution (h, w in input pixels)."""
        ref = self.head.weight
        return torch.zeros(n, self.hidden, h, w, device=ref.device, dtype=ref.dtype)

    def step(self, window: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        current = window[:, 1]
        others = torch.cat([window[:, 0], window[:, 2], state], dim=1)
        feat = self.entry(current) + self.temporal(others)
        feat = feat + self.blocks(feat)
        y = self.upsample(current) + F.pixel_shuffle(self.head(F.relu(feat)), self.scale)
        state = feat[:, : self.hidden]
        return y, torch.tanh(state) if self.bounded_state else state


# (channels, residual blocks) per scale; counted cost stays under 400 GFLOP/MP per frame.
_CONFIGS = {2: (48, 3), 4: (48, 3)}


def vsr(*, scale: int) -> RecurrentModel:
    if scale == 4:
        return RecurrentCompactSR(scale, 48, 4, hidden=16)
    channels, blocks = _CONFIGS[scale]
    return RecurrentSR(scale, channels, blocks)


_DESCRIPTIONS = {
    2: "causal recurrent x2 video SR (RLSP-style hidden state + fed-back output, 1 frame look-ahead)",
    4: "causal recurrent x4 video SR (sr-compact body + 1x1 temporal fusion of neighbours and state)",
}

for _s in (2, 4):
    _name = f"vsr-x{_s}"
    register(
        ModelSpec(
            name=_name,
            task=Task.VIDEO_SUPER_RESOLUTION,
            scale=_s,
            builder=functools.partial(vsr, scale=_s),
            past_frames=1,
            future_frames=1,
            recurrent=True,
            weights=weights_for(_name),
            description=_DESCRIPTIONS[_s],
            card=f"{_name}.md",
            receptive_field=2 * (4 if _s == 4 else _CONFIGS[_s][1]) + 2,  # per step
        )
    )
