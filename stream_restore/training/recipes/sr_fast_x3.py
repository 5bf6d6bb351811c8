"""sr-fast-x3: bicubic-degraded T91+BSDS200 crops, Charbonnier loss, Adam with cosine decay."""

from __future__ import annotations

from ..recipe import Recipe

RECIPE = Recipe(model="sr-fast-x3", kind="sr", steps=1500, batch=16, patch=32, lr=1e-3)
