"""``vdeblur``: causal recurrent video deblurring, the deblur U-Net over (t-1, t, t+1) plus a state.

The three frames are stacked on the channel axis (9 inputs); the state is the 1/8-resolution
bottleneck of the previous step (``4*channels`` maps), concatenated at this step's bottleneck, so
sharp detail seen in earlier frames can be reused when the current one is blurred. Output is a
residual over frame t. Frames are replicate-padded to multiples of 8 pixels inside the step.
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
    """Recurrent residual U-Net; state ``[N, 4*channels, ceil(H/8), ceil(W/8)]``."""

    def __init__(self, channels: int = 16, blocks: int = 2) -> None:
        super().__init__()
        self.state_channels = 4 * channels
        self.core = UNetCore(9, channels, extra=self.state_channels, blocks=blocks)
        self.head = conv3x3(channels, 3)
        with torch.no_grad():  # small, not zero: a zero head starves the U-Net of gradient
            self.head.weight.mul_(0.1)

    def initial_state(self, n: int, h: int, w: int) -> torch.Tensor:
        """Zero state for frames of ``h`` x ``w`` input pixels."""
        ref = self.head.weight
        return torch.zeros(n, self.state_channels, -(-h // 8), -(-w // 8), device=ref.device, dtype=ref.dtype)

    def step(self, window: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        padded, h, w = pad_to_multiple(window, 8)
        n, _, _, hp, wp = padded.shape
        feat, bottleneck = self.core(padded.reshape(n, 9, hp, wp), state)
        y = padded[:, 1] + self.head(feat)
        return y[..., :h, :w], bottleneck


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
        description="causal recurrent video deblurring: 3-frame U-Net with a carried 1/8-res bottleneck state",
        card="vdeblur.md",
        receptive_field=96,
        size_multiple=8,
    )
)
