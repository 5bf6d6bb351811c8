"""vsr-x2: synthetic camera-path clips from T91+BSDS200 (pan, zoom, slight rotation, sub-pixel
motion) rendered at 2x and downscaled (sharp ground truth), MATLAB bicubic x2; half of the LR clips
go through libx264 at CRF 18-35, as live and archive video does; recurrent training over whole
5-frame clips from the zero state. Starts from the shipped sr-compact-x2 weights (the body is
shared; the temporal 1x1 conv starts at zero), so it begins as that single-frame model.
"""

from __future__ import annotations

from ..recipe import Recipe

RECIPE = Recipe(
    model="vsr-x2",
    kind="vsr",
    steps=3000,
    batch=4,
    patch=32,
    frames=5,
    lr=2e-4,
    min_lr=1e-6,
    warmup=50,
    supersample=2,
    compress=0.5,
    init_from="sr-compact-x2",
)
