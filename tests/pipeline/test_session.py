"""Sessions: recurrent state carried frame to frame, reset on cuts and size changes; isolation."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
from torch import nn

from stream_restore.backends import BackendOptions, create_backend
from stream_restore.frames import Frame
from stream_restore.models import registry
from stream_restore.models.registry import ModelSpec, Task
from stream_restore.pipeline.session import StreamSession


class Counter(nn.Module):
    """Recurrent test model: outputs how many frames its state has seen (as value / 100)."""

    def initial_state(self, n: int, h: int, w: int) -> torch.Tensor:
        return torch.zeros(n, 1, h, w)

    def forward(self, x: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        state = state + 1
        return x[:, 1] * 0 + state / 100, state


@pytest.fixture
def counter_backend():
    spec = ModelSpec(
        "test-counter",
        Task.VIDEO_SUPER_RESOLUTION,
        1,
        Counter,
        past_frames=1,
        future_frames=1,
        recurrent=True,
    )
    registry.register(spec)
    try:
        yield create_backend(spec, "torch", BackendOptions()).load()
    finally:
        del registry._REGISTRY[spec.name]


def frame(i: int, value: float, size=(16, 12)) -> Frame:
    return Frame(torch.full((3, size[1], size[0]), value), pts=i * 10, time_base=Fraction(1, 250), index=i)


def counts(frames: list[Frame]) -> list[int]:
    return [round(float(f.data[0, 0, 0]) * 100) for f in frames]


def test_state_carries_over_frames_and_order_is_kept(counter_backend):
    session = StreamSession(counter_backend)
    out = list(session.run(iter([frame(i, 0.5) for i in range(5)])))
    assert counts(out) == [1, 2, 3, 4, 5]
    assert [f.pts for f in out] == [0, 10, 20, 30, 40]


def test_scene_cut_resets_state(counter_backend):
    session = StreamSession(counter_backend)
    clip = [frame(i, 0.1) for i in range(3)] + [frame(i, 0.9) for i in range(3, 6)]
    out = list(session.run(iter(clip)))
    assert counts(out) == [1, 2, 3, 1, 2, 3]
    assert session.scene_cuts == 1 and session.segments == 2


def test_size_change_starts_new_segment(counter_backend):
    session = StreamSession(counter_backend, detect_cuts=False)
    clip = [frame(0, 0.5), frame(1, 0.5), frame(2, 0.5, size=(20, 10)), frame(3, 0.5, size=(20, 10))]
    out = list(session.run(iter(clip)))
    assert counts(out) == [1, 2, 1, 2]
    assert [tuple(f.data.shape[1:]) for f in out] == [(12, 16), (12, 16), (10, 20), (10, 20)]
    assert session.size_changes == 1


def test_sessions_sharing_a_backend_are_isolated(counter_backend):
    a, b = StreamSession(counter_backend), StreamSession(counter_backend)
    out_a, out_b = [], []
    for i in range(4):  # interleave the two streams frame by frame
        out_a += a.push(frame(i, 0.5))
        out_b += b.push(frame(i, 0.5))
        if i == 1:
            out_b += b.push(frame(99, 0.5))
    out_a += a.flush()
    out_b += b.flush()
    assert counts(out_a) == [1, 2, 3, 4]
    assert counts(out_b) == [1, 2, 3, 4, 5]


def test_bicubic_session_upscales():
    spec = registry.get_spec("bicubic-x2")
    session = StreamSession(create_backend(spec, "torch", BackendOptions()).load())
    out = session.push(frame(0, 0.25))
    assert out[0].data.shape == (3, 24, 32)
    assert torch.allclose(out[0].data, torch.full_like(out[0].data, 0.25), atol=1e-6)
