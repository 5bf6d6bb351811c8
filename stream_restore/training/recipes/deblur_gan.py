"""deblur-gan: the deblur U-Net fine-tuned with Charbonnier + 0.02 x non-saturating GAN loss from
a spectral-norm U-Net discriminator (per-pixel logits), on the deblur recipe's synthetic blur
(11-31 px camera shake on sRGB codes, read noise) in 96 px crops."""

from __future__ import annotations

from ..recipe import Recipe
from .deblur import RECIPE as DEBLUR

RECIPE = Recipe(
    model="deblur-gan",
    kind="deblur",
    steps=400,
    batch=4,
    patch=96,
    lr=1e-4,
    min_lr=1e-5,
    warmup=20,
    gan_weight=0.02,
    d_lr=2e-4,
    init_from="deblur",
    blur=DEBLUR.blur,
)
