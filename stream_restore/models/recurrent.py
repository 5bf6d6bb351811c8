"""Shared machinery of the causal recurrent models (``vsr-x*``, ``vdeblur``).

A recurrent module implements ``step(window[N,3,3,H,W], state) -> (y, new_state)`` for the window
(previous, current, next frame) and gets ``forward`` (the registry's calling convention) and
``forward_clip`` (a whole clip in one call, what training uses) from :class:`RecurrentModel`.
Both run exactly the same per-frame computation, so streaming frame by frame with the carried
state equals processing the clip at once. At clip edges the missing neighbour is the edge frame
repeated, which is also what the streaming pipeline feeds at the start and end of a video.
"""

from __future__ import annotations

import abc

import torch
from torch import nn

__all__ = ["RecurrentModel"]


class RecurrentModel(nn.Module, metaclass=abc.ABCMeta):
    """Base class: one past and one future frame of look-ahead plus a hidden state tensor."""

    past_frames = 1
    future_frames = 1

    @abc.abstractmethod
    def step(self, window: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Restore the centre of ``window[N, 3, 3, H, W]`` and return the next state."""

    @abc.abstractmethod
    def initial_state(self, n: int, h: int, w: int) -> torch.Tensor:
        """The zero state for ``n`` streams of ``h x w`` input frames."""

    def forward(self, x: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x[N,3,3,H,W] (t-1, t, t+1) and the state after frame t-1 -> (y_t, state after t)."""
        return self.step(x, state)

    @staticmethod
    def clip_windows(clip: torch.Tensor) -> torch.Tensor:
        """The windows ``[N, T, 3, 3, H, W]`` of every frame of ``clip[N, T, 3, H, W]`` (edges repeated)."""
        t = clip.shape[1]
        prev = [max(i - 1, 0) for i in range(t)]
        nxt = [min(i + 1, t - 1) for i in range(t)]
        return torch.stack([clip[:, prev], clip, clip[:, nxt]], dim=2)

    def forward_clip(self, clip: torch.Tensor) -> torch.Tensor:
        """Restore every frame of ``clip[N,T,3,H,W]`` from the zero state: ``[N,T,3,sH,sW]``."""
        n, t, _, h, w = clip.shape
        state = self.initial_state(n, h, w).to(clip)
        windows = self.clip_windows(clip)
        outputs = []
        for i in range(t):
            y, state = self.step(windows[:, i], state)
            outputs.append(y)
        return torch.stack(outputs, dim=1)
