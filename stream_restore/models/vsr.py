"""``vsr-x2``: causal recurrent video SR, one past and one future frame plus a carried state.

:class:`RecurrentCompactSR` has no alignment or deformable ops (the network is left to learn
small motions implicitly, and on held-out video it does not: its temporal weights end near zero);
it exports to ONNX as Conv, Relu, Tanh, Concat, DepthToSpace and Add. The current frame runs
through sr-compact's body; the two neighbours and a 16-map hidden state enter through a
zero-initialised 1x1 conv, so the model is trained starting from the shipped sr-compact weights
of its scale and starts as exactly that single-frame model.
It predicts a sub-pixel residual over an exact bicubic upscale of frame t. Budget: at most 400
GFLOP per input megapixel per frame.

``vsr-x4`` used this cell until 2026-12-06 and is now the flow-aligned cell of
:mod:`.vsr_aligned`; ``vsr-x2`` moves there too once ``vsr-x2-aligned`` is trained and beats it.

``vsr-x2`` used an RLSP-style cell (all three frames, the hidden features and the fed-back output
through one 3x3 conv) until 2026-12: trained from scratch it stayed below the single-frame
sr-compact-x2 on held-out video and ran at 72% of the machine's peak, against 79-83% for this cell.
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

__all__ = ["RecurrentCompactSR", "vsr"]


class RecurrentCompactSR(RecurrentModel):
    """sr-compact's body plus a cheap temporal path.

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


# sr-compact's shape (48 channels, 4 residual blocks) at both scales; counted cost stays under
# 400 GFLOP/MP per frame.
_CHANNELS, _BLOCKS, _HIDDEN = 48, 4, 16


def vsr(*, scale: int) -> RecurrentModel:
    return RecurrentCompactSR(scale, _CHANNELS, _BLOCKS, hidden=_HIDDEN)


register(
    ModelSpec(
        name="vsr-x2",
        task=Task.VIDEO_SUPER_RESOLUTION,
        scale=2,
        builder=functools.partial(vsr, scale=2),
        past_frames=1,
        future_frames=1,
        recurrent=True,
        weights=weights_for("vsr-x2"),
        description="causal recurrent x2 video SR (sr-compact body + 1x1 temporal fusion of "
        "neighbours and state)",
        card="vsr-x2.md",
        receptive_field=2 * _BLOCKS + 2,  # per step
        warmup_frames=8,  # measured plateau 4 (vdeblur 2), doubled: docs/benchmarks.md
    )
)
