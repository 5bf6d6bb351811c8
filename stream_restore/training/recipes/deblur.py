"""deblur: sharp T91+BSDS200 crops blurred by random camera-shake trajectories, kernels_12.mat
kernels (minus any matching Levin09's ground-truth kernels) and anisotropic Gaussians, plus
Gaussian noise up to 1%; Charbonnier + a small frequency term."""

from __future__ import annotations

from ..recipe import Recipe

RECIPE = Recipe(
    model="deblur", kind="deblur", steps=6300, batch=8, patch=64, lr=1e-3, warmup=50, freq_weight=0.05
)
