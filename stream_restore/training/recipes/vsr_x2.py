"""vsr-x2 (issue 12): vsr-x4's flow-aligned cell and layered clips at x2, on a schedule
that fits one session on two CPU cores.

48 px LR patches (96 px HR), 8-frame clips, MATLAB bicubic x2, half of the LR clips H.264-coded,
a quarter real footage (see recipes/vsr_x4.py for the data); starts from the shipped
sr-compact-x2 weights. The flow works on LR frames whatever the scale, so it starts from vsr-x4's
pre-trained flow estimator (training/checkpoints/vsr-x4-flow.safetensors) and the flow stage is
skipped; the window and recurrent stages are vsr-x4's (``ALIGNED``).
"""

from __future__ import annotations

from dataclasses import replace

from .vsr_x4 import ALIGNED
from .vsr_x4 import RECIPE as _X4

RECIPE = replace(
    _X4,
    model="vsr-x2",
    init_from="sr-compact-x2",
    flow_weights="vsr-x4-flow.safetensors",
    stages=ALIGNED,
    steps=sum(s.steps for s in ALIGNED),
)
