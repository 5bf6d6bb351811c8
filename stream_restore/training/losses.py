"""Losses for restoration training; none needs downloaded weights.

All take predictions and targets of equal shape ``[..., 3, H, W]`` in [0, 1] and return a scalar.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["charbonnier", "frequency_l1", "gan_d_loss", "gan_g_loss", "pixel_loss"]


def charbonnier(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Smooth L1: ``mean(sqrt((pred - target)^2 + eps^2))`` (robust, L1-like, differentiable at 0)."""
    return torch.sqrt((pred - target) ** 2 + eps * eps).mean()


def frequency_l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 distance of the 2-D FFTs (real and imaginary parts); penalises lost high frequencies."""
    fp = torch.view_as_real(torch.fft.rfft2(pred.float(), norm="ortho"))
    ft = torch.view_as_real(torch.fft.rfft2(target.float(), norm="ortho"))
    return (fp - ft).abs().mean()


def pixel_loss(pred: torch.Tensor, target: torch.Tensor, freq_weight: float = 0.0) -> torch.Tensor:
    """Charbonnier plus an optional frequency term weighted by ``freq_weight``."""
    loss = charbonnier(pred, target)
    if freq_weight > 0:
        loss = loss + freq_weight * frequency_l1(pred, target)
    return loss


def gan_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Per-pixel non-saturating discriminator loss (real -> 1, fake -> 0)."""
    return F.binary_cross_entropy_with_logits(
        real_logits, torch.ones_like(real_logits)
    ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


def gan_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss: make the discriminator call fakes real."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
