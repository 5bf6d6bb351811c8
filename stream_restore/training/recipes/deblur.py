"""deblur: sharp T91+BSDS200 crops blurred by random camera-shake trajectories of 11-31 px,
kernels_12.mat kernels (minus any matching Levin09's ground-truth kernels) and anisotropic
Gaussians on sRGB codes, then read noise up to 1%; 192 px patches; Charbonnier + a small
frequency term. (Blurring in linear light, all patches or half, with shot noise, lost on Levin09
and GoPro; see the card.)

The schedule continues an earlier one (sessions 1-2: 6,300 steps at 64 px, blur on sRGB codes,
25 px kernels, read noise only), whose weights are kept as ``checkpoints/deblur-srgb.safetensors``;
that phase is reproduced by ``BlurModel()`` defaults, ``patch=64``, ``steps=6300``, ``lr=1e-3``,
``warmup=50`` and no ``init_weights``.
"""

from __future__ import annotations

from ..recipe import BlurModel, Recipe

RECIPE = Recipe(
    model="deblur",
    kind="deblur",
    steps=3500,
    batch=4,
    patch=192,
    lr=3e-4,
    min_lr=1e-6,
    warmup=100,
    freq_weight=0.05,
    init_weights="deblur-srgb.safetensors",
    blur=BlurModel(kernel_size=31, shake_sizes=(11, 31), max_noise=0.01),
)
