"""vsr-x2-aligned (experimental, issue 12): vsr-x4's layered clips and schedule at x2.

64 px LR patches (128 px HR), MATLAB bicubic x2, starting from the shipped sr-compact-x2 weights.
The flow works on LR frames whatever the scale, so it starts from vsr-x4's pre-trained
flow estimator (training/checkpoints/vsr-x4-flow.safetensors) and the flow stage is
skipped: aligned window, then the recurrence. See recipes/vsr_x4.py for the data.
"""

from __future__ import annotations

from dataclasses import replace

from .vsr_x4 import RECIPE as _X4

_STAGES = tuple(s for s in _X4.stages if s.objective != "flow")

RECIPE = replace(
    _X4,
    model="vsr-x2-aligned",
    patch=64,
    init_from="sr-compact-x2",
    flow_weights="vsr-x4-flow.safetensors",
    stages=_STAGES,
    steps=sum(s.steps for s in _STAGES),
)
