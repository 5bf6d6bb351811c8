"""``vsr-x2`` and ``vsr-x4``: flow-aligned causal recurrent video SR.

Per step, for the window (t-1, t, t+1) and the state carried from t-1:

1. a tiny coarse-to-fine :class:`~.flow.FlowEstimator` gives flow t -> t-1 and t -> t+1 at input
   resolution (quarter and half resolution inside, 13.7 GFLOP/MP for both pairs);
2. the neighbours are warped onto frame t with ``grid_sample`` (ONNX GridSample, opset >= 16), and
   their absolute warp errors (mean over RGB) are the occlusion / confidence signal;
3. the state -- ``hidden`` tanh-bounded feature maps, the previous restored output folded to input
   resolution by space-to-depth (FRVSR-style feedback) and a validity map -- is warped by the
   t -> t-1 flow with zero padding (the fed-back output at output resolution, with the flow
   scaled up, so sub-pixel motion keeps its detail), so what comes from outside the frame is
   marked invalid; where the state is invalid (first frame, after a reset, uncovered borders) the
   fed-back output is replaced by the bicubic upscale of frame t;
4. sr-compact's body reconstructs: frame t enters through sr-compact's 3x3 entry conv, everything
   temporal through one zero-initialised 1x1 conv added to it, and the head predicts a residual
   over the exact bicubic upscale;
5. a keep gate (sigmoid of a 1x1 conv on the body's features, one value per input pixel) blends
   the result towards the warped previous output where the state is valid: where alignment
   holds, the detail recovered from earlier frames is carried forward instead of being
   re-estimated from frame t alone (FRVSR's feedback, made explicit as a convex blend). It starts
   nearly shut (1.8%); a gate clamped at exactly zero died in training (its first steps pushed it
   below zero, where a clamp passes no gradient), and an additive gate stacked the previous detail
   on top of the new estimate. With the state removed (``stream-restore eval --no-temporal``)
   nothing is valid, so the ablation removes the gate's contribution with the rest.

Started from sr-compact weights (temporal conv zero, gate nearly shut) the model is that
single-frame model (exactly so on every frame without a valid state), so training can only add
what the aligned neighbours and state bring.

Frames are replicate-padded to multiples of 4 px (the flow's pooling grid) and the output cropped
back, so tiles that start on that grid restore exactly what the whole frame does (the flow is
clamped, which bounds the receptive field); the state is kept at the padded size. State
``[N, hidden + 3*s*s + 1, H, W]`` lies in [-1, 1] (tanh features, clamped output, validity in
{0..1}); stepping frame by frame equals :meth:`forward_clip`. Budget: at most 400 GFLOP per input
megapixel per frame, counted by the registry (398.9 at x4, 362.6 at x2); cards
``cards/vsr-x4.md`` and ``cards/vsr-x2.md``.

Until 2026-12-06 both names were an unaligned cell (sr-compact's body with the neighbours and a
hidden state through a 1x1 conv, no flow): its temporal weights ended near zero and it stayed below
the single-frame sr-compact models on held-out video (-0.25 dB at x4, -0.46 at x2).
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from .bicubic import BicubicUpsample
from .checksums import weights_for
from .flow import FlowEstimator, warp
from .layers import ResBlock, conv3x3, pad_to_multiple, zero_init
from .recurrent import RecurrentModel
from .registry import ModelSpec, Task, register

__all__ = ["MULTIPLE", "AlignedRecurrentSR", "vsr_aligned"]

MULTIPLE = 4  # frames are padded to multiples of this: the flow estimator's pooling grid
_GATE_START = -4.0  # the keep gate's initial logit


class AlignedRecurrentSR(RecurrentModel):
    """Flow-aligned neighbours + warped state and fed-back output over sr-compact's body."""

    #: the zero-initialised layers through which the neighbours and the state reach the output;
    #: staged training gives them a step size of their own (``Stage.fusion_lr``)
    fusion_layers = ("temporal", "gate")

    def __init__(self, scale: int, channels: int = 48, blocks: int = 4, hidden: int = 16) -> None:
        super().__init__()
        self.scale = scale
        self.hidden = hidden
        self.folded = 3 * scale * scale  # the previous output, space-to-depth to input resolution
        self.flow = FlowEstimator()
        self.entry = conv3x3(3, channels)
        # warped t-1 and t+1 (6), their warp errors (2), warped hidden state, fed-back output
        self.temporal = zero_init(nn.Conv2d(8 + hidden + self.folded, channels, 1))
        self.blocks = nn.Sequential(*[ResBlock(channels) for _ in range(blocks)])
        self.head = zero_init(conv3x3(channels, 3 * scale * scale))
        # per input pixel, how much of the warped previous output to keep over this frame's estimate:
        # sigmoid(-4) = 1.8% at the start (a zero gate would never learn to open: see keep())
        self.gate = zero_init(nn.Conv2d(channels, 1, 1))
        nn.init.constant_(self.gate.bias, _GATE_START)  # type: ignore[arg-type]
        self.upsample = BicubicUpsample(scale)

    @property
    def state_channels(self) -> int:
        return self.hidden + self.folded + 1

    def initial_state(self, n: int, h: int, w: int) -> torch.Tensor:
        """Zero (all invalid) state ``[n, hidden + 3*s*s + 1, H, W]``: h x w input pixels rounded
        up to multiples of :data:`MULTIPLE`, as the frames are padded."""
        ref = self.head.weight
        h, w = -(-h // MULTIPLE) * MULTIPLE, -(-w // MULTIPLE) * MULTIPLE
        return torch.zeros(n, self.state_channels, h, w, device=ref.device, dtype=ref.dtype)

    def align(self, window: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Flows t -> t-1 and t -> t+1 and the two warped neighbours ``[N, 6, H, W]``."""
        prev, current, nxt = window[:, 0], window[:, 1], window[:, 2]
        flows = self.flow(torch.cat([current, current]), torch.cat([prev, nxt]))
        n = current.shape[0]
        back, fwd = flows[:n], flows[n:]
        warped = warp(torch.cat([prev, nxt]), flows)
        return back, fwd, torch.cat([warped[:n], warped[n:]], dim=1)

    def warp_output(self, folded: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        """The previous output ``[N, 3*s*s, H, W]`` (folded) moved onto frame t at *output* resolution.

        Warping the folded tensor directly with the input-resolution flow would interpolate between
        output pixels ``s`` apart (a sub-pixel move becomes a blur of the very detail the feedback is
        there to carry); so the output is unfolded, warped by the flow scaled to its resolution,
        and folded again (FRVSR's order).
        """
        s = self.scale
        full = F.pixel_shuffle(folded, s)
        flow_full = F.interpolate(flow, scale_factor=s, mode="bilinear", align_corners=False) * s
        return F.pixel_unshuffle(warp(full, flow_full, padding_mode="zeros"), s)

    def step(self, window: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # the whole frame is padded to the flow's pooling grid (not only the flow's input), so a
        # tile starting on that grid sees what the whole frame does (exact tiling)
        window, h, w = pad_to_multiple(window, MULTIPLE)
        current = window[:, 1]
        back, _, neighbours = self.align(window)
        errors = torch.cat(
            [(neighbours[:, :3] - current).abs().mean(1, keepdim=True),
             (neighbours[:, 3:] - current).abs().mean(1, keepdim=True)],
            dim=1,
        )
        low = torch.cat([state[:, : self.hidden], state[:, -1:]], dim=1)
        carried = warp(low, back, padding_mode="zeros")
        hidden, valid = carried[:, : self.hidden], carried[:, -1:]
        previous = self.warp_output(state[:, self.hidden : -1], back)
        # the rest at the output resolution stays folded (space-to-depth): no shuffles but the last
        base = self.upsample.phases(current)
        fed_back = base + valid * (previous - base)
        temporal = torch.cat([neighbours, errors, hidden, fed_back], dim=1)
        feat = self.entry(current) + self.temporal(temporal)
        feat = feat + self.blocks(feat)
        act = F.relu(feat)
        estimate = base + self.head(act)
        # blend towards the warped previous output where the state is valid and the gate trusts it
        folded = estimate + torch.sigmoid(self.gate(act)) * valid * (previous - estimate)
        new_state = torch.cat(
            [torch.tanh(feat[:, : self.hidden]), folded.clamp(0.0, 1.0), torch.ones_like(valid)], dim=1
        )
        s = self.scale
        return F.pixel_shuffle(folded, s)[..., : h * s, : w * s], new_state


# sr-compact's body (48 channels, 4 residual blocks) so training starts from its weights.
_CHANNELS, _BLOCKS, _HIDDEN = 48, 4, 16


def vsr_aligned(*, scale: int) -> AlignedRecurrentSR:
    return AlignedRecurrentSR(scale, _CHANNELS, _BLOCKS, hidden=_HIDDEN)


def _register(name: str, scale: int, description: str, *, card: str, warmup_frames: int) -> None:
    register(
        ModelSpec(
            name=name,
            task=Task.VIDEO_SUPER_RESOLUTION,
            scale=scale,
            builder=functools.partial(vsr_aligned, scale=scale),
            past_frames=1,
            future_frames=1,
            recurrent=True,
            weights=weights_for(name),
            description=description,
            card=card,
            # per step: the body, the flow's reach (warped inputs lie within it) and the bicubic
            receptive_field=2 * _BLOCKS + 2 + FlowEstimator.REACH + 2,
            size_multiple=MULTIPLE,  # tiles start on the flow's pooling grid
            warmup_frames=warmup_frames,
        )
    )


_register(
    "vsr-x4",
    4,
    "causal recurrent x4 video SR (flow-aligned neighbours, warped state and fed-back output, "
    "sr-compact body)",
    card="vsr-x4.md",
    # measured: 70.6 dB min against the sequential run at W = 16, 75.1 at 32 (docs/benchmarks.md);
    # the flow-warped state keeps a longer memory than the unaligned cells' (plateau at 4)
    warmup_frames=16,
)
_register(
    "vsr-x2",
    2,
    "causal recurrent x2 video SR (flow-aligned neighbours, warped state and fed-back output, "
    "sr-compact body)",
    card="vsr-x2.md",
    # measured: plateau at W = 8 (89.1 dB min against the sequential run), doubled (docs/benchmarks.md)
    warmup_frames=16,
)
