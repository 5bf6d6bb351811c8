"""vdeblur: GoPro-style blurred synthetic clips (each frame averages up to 7 sub-frames of a
faster camera path over T91+BSDS200 stills), 4-frame recurrent training from the zero state.
Starts from the shipped deblur weights (the U-Net is shared; the neighbour and state convs start
at zero), so it begins as that single-frame model."""

from __future__ import annotations

from ..recipe import Recipe

RECIPE = Recipe(
    model="vdeblur",
    kind="vdeblur",
    steps=2000,
    batch=3,
    patch=64,
    frames=4,
    lr=2e-4,
    min_lr=1e-6,
    warmup=50,
    freq_weight=0.05,
    init_from="deblur",
)
