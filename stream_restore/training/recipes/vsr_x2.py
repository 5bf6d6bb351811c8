"""vsr-x2 (issue 12): vsr-x4's flow-aligned cell and layered clips at x2, on a schedule
that fits one session on two CPU cores.

48 px LR patches (96 px HR), 8-frame clips, MATLAB bicubic x2, half of the LR clips H.264-coded,
a quarter real footage (see recipes/vsr_x4.py for the data); starts from the shipped
sr-compact-x2 weights. The flow works on LR frames whatever the scale, so it starts from vsr-x4's
pre-trained flow estimator (training/checkpoints/vsr-x4-flow.safetensors) and the flow stage is
skipped. What vsr-x4's run taught is applied from the start: the fusion layers (temporal 1x1 conv,
keep gate) get 20x the body's step size in the recurrent stage, and the body's step size stays
low (5e-5) so that it keeps sr-compact-x2's detail while the temporal path grows.
"""

from __future__ import annotations

from dataclasses import replace

from ..recipe import Stage
from .vsr_x4 import RECIPE as _X4

_STAGES = (
    Stage("window", "window", steps=400, lr=1e-4, flow_lr=2e-5, flow_weight=0.1),
    Stage("recurrent", "recurrent", steps=4200, lr=5e-5, flow_lr=5e-6, flow_weight=0.05, warmup=100,
          fusion_lr=1e-3),
)

RECIPE = replace(
    _X4,
    model="vsr-x2",
    init_from="sr-compact-x2",
    flow_weights="vsr-x4-flow.safetensors",
    stages=_STAGES,
    steps=sum(s.steps for s in _STAGES),
)
