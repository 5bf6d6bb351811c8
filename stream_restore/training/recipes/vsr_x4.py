"""vsr-x4: synthetic camera-path clips from T91+BSDS200 (pan, zoom, slight rotation, sub-pixel
motion) rendered at 2x and downscaled (sharp ground truth), MATLAB bicubic x4; recurrent training
over whole 5-frame clips from the zero state. Starts from the shipped sr-compact-x4 weights (the
body is shared; the temporal 1x1 conv starts at zero), so it begins as that single-frame model.
"""

from __future__ import annotations

from ..recipe import Recipe

RECIPE = Recipe(
    model="vsr-x4",
    kind="vsr",
    steps=1500,
    batch=4,
    patch=24,
    frames=5,
    lr=2e-4,
    min_lr=1e-6,
    warmup=50,
    supersample=2,
    compress=0.5,
    init_from="sr-compact-x4",
)
