"""sr-fast-x2: bicubic-degraded T91+BSDS200 crops, Charbonnier loss, Adam with cosine decay."""

from __future__ import annotations

from ..recipe import Recipe

RECIPE = Recipe(model="sr-fast-x2", kind="sr", steps=20000, batch=16, patch=40, lr=1e-3)
