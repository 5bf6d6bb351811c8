"""Shared by the added-model tests: a private model directory, random weights and one inference call."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from torch import nn

from stream_restore.backends import BackendOptions, create_backend
from stream_restore.models.registry import get_spec, list_specs, unregister


@pytest.fixture
def models_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "models"
    yield folder
    for spec in list_specs():
        if spec.external is not None:
            unregister(spec.name)


def randomise(module: nn.Module, seed: int) -> nn.Module:
    """``module`` in eval mode with seeded random weights (small, so deep stacks stay finite)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.05)
    return module.eval()


def infer(name: str, frames: torch.Tensor, backend: str = "torch") -> torch.Tensor:
    """One inference call of the registered model ``name`` on ``frames[N,T,C,H,W]``."""
    engine = create_backend(get_spec(name), backend, BackendOptions(threads=1))
    with engine:
        out, _ = engine.infer(frames)
    return out


def assert_restored_video(path: Path, size: tuple[int, int], frames: int) -> None:
    """``path`` holds ``frames`` video frames of ``size`` (width, height) and kept its audio stream."""
    import av

    with av.open(str(path)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == size
        assert len(container.streams.audio) == 1
        assert sum(1 for _ in container.decode(video=0)) == frames
