"""The temporal-path check of recurrent video models: the same weights with no temporal input.

:func:`without_temporal` gives a spec whose module is the model wrapped so that every step sees the
window (t, t, t) -- the neighbours replaced by the current frame, as at the first frame of a
stream -- and the zero state, every frame. Scored beside the model (``stream-restore eval
--no-temporal``), the PSNR it loses is what the neighbours and the carried state contribute; if it
loses nothing the temporal path is not doing the work (issue 12 asks for at least 0.3 dB). The
current frame stands in for the neighbours rather than literal zeros, which no trained model sees.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from ..errors import ConfigError
from ..models.recurrent import RecurrentModel
from ..models.registry import ModelSpec

__all__ = ["NO_TEMPORAL", "WithoutTemporal", "without_temporal"]

NO_TEMPORAL = "/no-temporal"  # suffix of the ablated model's name in tables


class WithoutTemporal(RecurrentModel):
    """``inner`` with its neighbours replaced by the current frame and its state reset every step."""

    def __init__(self, inner: RecurrentModel) -> None:
        super().__init__()
        self.inner = inner

    def initial_state(self, n: int, h: int, w: int) -> torch.Tensor:
        return self.inner.initial_state(n, h, w)

    def step(self, window: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        alone = window[:, 1:2].expand(-1, 3, -1, -1, -1).contiguous()
        n, _, _, h, w = window.shape
        return self.inner.step(alone, self.inner.initial_state(n, h, w).to(state))


def without_temporal(spec: ModelSpec) -> ModelSpec:
    """``spec`` (a recurrent model) with :class:`WithoutTemporal` around its trained module."""
    if not spec.recurrent:
        raise ConfigError(f"{spec.name} is not recurrent: it has no temporal path to remove")

    def build() -> WithoutTemporal:
        inner = spec.build(pretrained=True)
        if not isinstance(inner, RecurrentModel):
            raise ConfigError(f"{spec.name} does not build a RecurrentModel")
        return WithoutTemporal(inner)

    return replace(spec, name=spec.name + NO_TEMPORAL, builder=build, weights=None, card=None)
