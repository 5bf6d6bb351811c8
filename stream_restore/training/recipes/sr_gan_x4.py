"""sr-gan-x4: sr-compact-x4 fine-tuned with Charbonnier + 0.05 x non-saturating GAN loss from a
spectral-norm U-Net discriminator (per-pixel logits), bicubic-degraded crops."""

from __future__ import annotations

from ..recipe import Recipe

RECIPE = Recipe(
    model="sr-gan-x4",
    kind="sr",
    steps=800,
    batch=8,
    patch=32,
    lr=1e-4,
    min_lr=1e-5,
    warmup=20,
    gan_weight=0.05,
    d_lr=2e-4,
    init_from="sr-compact-x4",
)
