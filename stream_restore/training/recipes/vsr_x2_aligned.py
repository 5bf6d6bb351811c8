"""vsr-x2-aligned (experimental, issue 12): vsr-x4-aligned's staged schedule and layered clips at x2.

64 px LR patches (128 px HR), MATLAB bicubic x2, starting from the shipped sr-compact-x2 weights;
see recipes/vsr_x4_aligned.py for the data and the three stages.
"""

from __future__ import annotations

from dataclasses import replace

from .vsr_x4_aligned import RECIPE as _X4

RECIPE = replace(_X4, model="vsr-x2-aligned", patch=64, init_from="sr-compact-x2")
