"""``vdeblur``: causal recurrent video deblurring, the deblur U-Net over frame t plus a temporal path.

Frame t runs through exactly the ``deblur`` U-Net. Frames t-1 and t+1 enter through a
zero-initialised 1x1 conv added to the entry features, and the state, the 1/8-resolution
bottleneck of the previous step (``4*channels`` maps), through a zero-initialised 1x1 conv added at
this step's bottleneck, so sharp detail seen in earlier frames can be reused when the current one
is blurred. Initialised from the shipped deblur weights it starts as exactly that model (the same
pattern as vsr over sr-compact). Output is a residual over frame t; frames are replicate-padded to
multiples of 8 pixels inside the step.

The first version (until 2026-12) stacked the three frames into a 9-channel entry conv and
concatenated the state at the bottleneck; trained from scratch, it learned to return its input.
"""

from __future__ import annotations

import torch

from .checksums import weights_for
from .deblur_unet import UNetCore
from .layers import conv3x3, pad_to_multiple
from .recurrent import RecurrentModel
from .registry import ModelSpec, Task, register

__all__ = ["RecurrentDeblur", "vdeblur"]


class RecurrentDeblur(RecurrentModel):
    """Recurrent residual U-Net; state ``[N, 4*channels, ceil(H/8), ceil(W/8)]`` in [-1, 1]."""

    def __init__(self, channels: int = 16, blocks: int = 2) -> None:
        super().__init__()
        self.state_channels = 4 * channels
        self.core = UNetCore(3, channels, extra=self.state_channels, blocks=blocks, side=6)
        self.head = conv3x3(channels, 3)
        with torch.no_grad():  # small, not zero: a zero head starves the U-Net of gradient
            self.head.weight.mul_(0.1)

    def initial_state(self, n: int, h: int, w: int) -> torch.Tensor:
        """Zero state for frames of ``h`` x ``w`` input pixels."""
        ref = self.head.weight
        return torch.zeros(n, self.state_channels, -(-h // 8), -(-w // 8), device=ref.device, dtype=ref.dtype)

    def step(self, window: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        padded, h, w = pad_to_multiple(window, 8)
        neighbours = torch.cat([padded[:, 0], padded[:, 2]], dim=1)
        feat, bottleneck = self.core(padded[:, 1], state, neighbours)
        y = padded[:, 1] + self.head(feat)
        # tanh keeps the carried state bounded over any stream, as vsr's
        return y[..., :h, :w], torch.tanh(bottleneck)


def vdeblur() -> RecurrentDeblur:
    return RecurrentDeblur(channels=16, blocks=2)


register(
    ModelSpec(
        name="vdeblur",
        task=Task.VIDEO_DEBLUR,
        scale=1,
        builder=vdeblur,
        past_frames=1,
        future_frames=1,
        recurrent=True,
        weights=weights_for("vdeblur"),
        description="causal recurrent video deblurring: deblur's U-Net + 1x1 fusion of neighbours "
        "and a 1/8-res state",
        card="vdeblur.md",
        receptive_field=96,
        size_multiple=8,
        warmup_frames=8,  # measured plateau 4 (vdeblur 2), doubled: docs/benchmarks.md
    )
)
