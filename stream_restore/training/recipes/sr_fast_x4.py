"""sr-fast-x4: bicubic-degraded T91+BSDS200 crops, Charbonnier loss, Adam with cosine decay."""

from __future__ import annotations

from ..recipe import Recipe

RECIPE = Recipe(model="sr-fast-x4", kind="sr", steps=22000, batch=24, patch=28, lr=1e-3)
