"""deblur-gan: the deblur U-Net fine-tuned with Charbonnier + 0.005 x non-saturating GAN loss
from a spectral-norm U-Net discriminator, on the deblur recipe's synthetic blur."""

from __future__ import annotations

from ..recipe import Recipe

RECIPE = Recipe(
    model="deblur-gan",
    kind="deblur",
    steps=60,
    batch=8,
    patch=64,
    lr=1e-4,
    min_lr=1e-5,
    warmup=50,
    gan_weight=0.005,
    d_lr=1e-4,
    init_from="deblur",
)
