"""vdeblur: GoPro-style blurred synthetic clips (each frame averages up to 7 sub-frames of a
faster camera path over T91+BSDS200 stills), 4-frame recurrent training."""

from __future__ import annotations

from ..recipe import Recipe

RECIPE = Recipe(
    model="vdeblur",
    kind="vdeblur",
    steps=400,
    batch=3,
    patch=48,
    frames=4,
    lr=1e-3,
    warmup=50,
    freq_weight=0.05,
)
