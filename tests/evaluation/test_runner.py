"""The evaluation loop: window padding, recurrent state and scores, with tiny hand-made models."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from stream_restore.backends import BackendOptions, create_backend
from stream_restore.evaluation.datasets import Sample
from stream_restore.evaluation.runner import evaluate, restore_clip
from stream_restore.models.registry import ModelSpec, Task


class WindowMean(nn.Module):
    """3-frame window model: the mean of the window."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=1)


class FrameCounter(nn.Module):
    """Recurrent model whose output is the number of frames seen so far (in code values / 255)."""

    def initial_state(self, n: int, h: int, w: int) -> torch.Tensor:
        return torch.zeros(n, 1, h, w)

    def forward(self, x: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        new_state = state + 1.0 / 255.0
        return (x[:, -1] * 0 + new_state).expand(-1, 3, -1, -1), new_state


class Brighten(nn.Module):
    """Single-frame model adding exactly two code values."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 2.0 / 255.0


def _spec(name: str, builder: type[nn.Module], **kw: object) -> ModelSpec:
    return ModelSpec(name=name, task=Task.VIDEO_DEBLUR, scale=1, builder=builder, **kw)  # type: ignore[arg-type]


def _ramp_clip(frames: int) -> torch.Tensor:
    """Frame t is flat at code value 10 t."""
    return (torch.arange(frames, dtype=torch.float32) * 10 / 255)[:, None, None, None].expand(
        frames, 3, 12, 12
    )


def test_window_model_sees_replicated_edge_frames() -> None:
    spec = _spec("t-window", WindowMean, past_frames=1, future_frames=1)
    with create_backend(spec, "torch", BackendOptions()) as backend:
        out = restore_clip(backend, _ramp_clip(4))
    codes = (out[:, 0, 0, 0] * 255).round().tolist()
    # t=0: (0, 0, 10) / 3; t=1: (0, 10, 20) / 3; t=2: 20; t=3: (20, 30, 30) / 3
    assert codes == [round(10 / 3), 10.0, 20.0, round(80 / 3)]


def test_recurrent_state_is_carried_frame_to_frame() -> None:
    spec = _spec("t-counter", FrameCounter, recurrent=True)
    with create_backend(spec, "torch", BackendOptions()) as backend:
        out = restore_clip(backend, _ramp_clip(5))
    assert (out[:, 0, 0, 0] * 255).round().tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_scores_of_a_known_error() -> None:
    """+2 code values everywhere: RGB PSNR 42.11 dB, Y PSNR with a Y step of 2 * 219 / 255."""
    g = torch.Generator().manual_seed(0)
    target = torch.randint(20, 200, (3, 3, 24, 24), generator=g).to(torch.uint8)
    sample = Sample("noise", target.float() / 255.0, target, border=2)
    with create_backend(_spec("t-bright", Brighten), "torch", BackendOptions()) as backend:
        result = evaluate(backend, "synthetic", [sample])
    assert result.items == 3
    assert result.psnr_rgb == pytest.approx(20 * math.log10(255 / 2), abs=1e-9)
    assert result.psnr_y == pytest.approx(20 * math.log10(255 / (2 * 219 / 255)), abs=1e-6)
    assert result.temporal == pytest.approx(0.0, abs=1e-12)  # a constant offset does not flicker
    assert result.to_json()["model"] == "t-bright"


def test_identical_output_is_reported_as_infinite_psnr() -> None:
    target = torch.full((1, 1, 16, 16), 77, dtype=torch.uint8)  # one gray frame
    sample = Sample("flat", target.expand(1, 3, 16, 16).float() / 255.0, target, border=0)
    spec = ModelSpec(name="t-id", task=Task.IDENTITY, scale=1, builder=nn.Identity)
    with create_backend(spec, "torch", BackendOptions()) as backend:
        result = evaluate(backend, "flat", [sample])
    assert math.isinf(result.psnr_y) and result.temporal is None
    assert result.to_json()["psnr_y"] == "inf"
