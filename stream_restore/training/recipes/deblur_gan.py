"""deblur-gan: the deblur U-Net fine-tuned with Charbonnier + 0.02 x non-saturating GAN loss from
a spectral-norm U-Net discriminator (per-pixel logits). Starts from the deblur weights of sessions
1-2 (``checkpoints/deblur-srgb.safetensors``) and trains on that schedule's synthetic blur (25 px
kernels on sRGB codes, 64 px patches)."""

from __future__ import annotations

from ..recipe import Recipe

RECIPE = Recipe(
    model="deblur-gan",
    kind="deblur",
    steps=400,
    batch=8,
    patch=64,
    lr=1e-4,
    min_lr=1e-5,
    warmup=20,
    gan_weight=0.02,
    d_lr=2e-4,
    init_weights="deblur-srgb.safetensors",
)
