"""The temporal-path ablation: neighbours replaced by the current frame, state reset every step."""

from __future__ import annotations

import pytest
import torch

from stream_restore.errors import ConfigError
from stream_restore.evaluation.ablation import WithoutTemporal, without_temporal
from stream_restore.models import get_spec


def test_ablation_sees_only_the_current_frame() -> None:
    spec = get_spec("vsr-x2")
    torch.manual_seed(0)
    model = spec.build(pretrained=False)
    for p in model.parameters():  # a non-zero temporal path, so neighbours and state matter
        p.data.add_(0.05 * torch.randn_like(p))
    ablated = WithoutTemporal(model).eval()
    clip = torch.rand(1, 4, 3, 10, 12, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        full = model.forward_clip(clip)
        alone = ablated.forward_clip(clip)
        for t in range(4):
            y, _ = model(clip[:, [t, t, t]], model.initial_state(1, 10, 12))
            torch.testing.assert_close(alone[:, t], y, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(full[:, 1:], alone[:, 1:], atol=1e-4)


def test_ablated_spec_is_named_and_needs_a_recurrent_model() -> None:
    spec = without_temporal(get_spec("vsr-x4"))
    assert spec.name == "vsr-x4/no-temporal" and spec.recurrent and spec.weights is None
    assert isinstance(spec.build(), WithoutTemporal)
    with pytest.raises(ConfigError):
        without_temporal(get_spec("sr-compact-x4"))
