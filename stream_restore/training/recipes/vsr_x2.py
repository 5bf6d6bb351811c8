"""vsr-x2: synthetic camera-path clips, MATLAB bicubic x2, 5-frame recurrent training."""

from __future__ import annotations

from ..recipe import Recipe

RECIPE = Recipe(model="vsr-x2", kind="vsr", steps=250, batch=4, patch=32, frames=5, lr=1e-3)
