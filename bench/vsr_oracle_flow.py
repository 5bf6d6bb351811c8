"""Would vsr-x4's fed-back output help with exact flow? A command that prints numbers (issue 12).

    .venv/bin/python bench/vsr_oracle_flow.py [--clips 24 --seed 7]

Draws synthetic clips from vsr-x4's own training sampler (layered motion with the exact LR flow;
clips of real footage, whose flow is unknown, are skipped) and runs the shipped vsr-x4 over each
from a fresh state, once with its estimated flow and once with the flow t -> t-1 replaced by the
exact one (t -> t+1 stays estimated). At every frame, from the state of that run, it also scores
the frame with the keep gate forced shut (the frame's own estimate) and forced open (the warped
previous output wherever the state is valid), and a perfect gate: per 8x8 output block the better
of the two. Prints mean PSNR (RGB, HR, frames 2..7): the perfect gate's margin over the shut one is
what the feedback could add with that flow.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from vsr_feedback import three_ways  # bench/ is on sys.path when this script runs

from stream_restore.evaluation.datasets import default_data_dir
from stream_restore.models import get_spec
from stream_restore.models.vsr_aligned import AlignedRecurrentSR
from stream_restore.training.recipe import load_recipe, make_sampler


class _ExactBackward(nn.Module):
    """The flow estimator, with its t -> t-1 half (the first N of the batch) set to ``exact``."""

    def __init__(self, estimator: nn.Module) -> None:
        super().__init__()
        self.estimator = estimator
        self.exact: torch.Tensor | None = None

    def forward(self, target: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        flow: torch.Tensor = self.estimator(target, source)
        if self.exact is not None:
            flow = torch.cat([self.exact, flow[self.exact.shape[0] :]])
        return flow


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float((a.clamp(0, 1) - b).pow(2).mean())
    return 10 * math.log10(1.0 / mse) if mse > 0 else math.inf


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = get_spec("vsr-x4").build(pretrained=True)
    assert isinstance(model, AlignedRecurrentSR)
    oracle = _ExactBackward(model.flow)
    model.flow = oracle  # type: ignore[assignment]
    sampler = make_sampler(load_recipe("vsr-x4"), 4, args.data_dir or default_data_dir())
    gen = torch.Generator().manual_seed(args.seed)
    scores: dict[str, list[float]] = {}
    done = 0
    while done < args.clips:
        lr, hr, flow = sampler(gen)
        for i in range(lr.shape[0]):
            if done >= args.clips or not torch.isfinite(flow[i]).all():
                continue
            done += 1
            clip, truth, exact = lr[i : i + 1], hr[i : i + 1], flow[i : i + 1]
            windows = model.clip_windows(clip)
            for flow_kind in ("estimated", "exact"):
                state = model.initial_state(1, clip.shape[-2], clip.shape[-1])
                with torch.inference_mode():
                    for t in range(clip.shape[1]):
                        oracle.exact = exact[:, t] if flow_kind == "exact" else None
                        y, state, shut, opened = three_ways(model, windows[:, t], state)
                        if t < 2:
                            continue
                        target = truth[:, t]
                        # a perfect gate: per 8x8 output block, whichever of shut and open is closer
                        err_shut = F.avg_pool2d((shut.clamp(0, 1) - target).pow(2).mean(1, keepdim=True), 8)
                        err_open = F.avg_pool2d((opened.clamp(0, 1) - target).pow(2).mean(1, keepdim=True), 8)
                        best = float(torch.minimum(err_shut, err_open).mean())
                        for gate, value in (("as shipped", _psnr(y, target)), ("shut", _psnr(shut, target)),
                                            ("open", _psnr(opened, target)),
                                            ("perfect (8x8 blocks)", 10 * math.log10(1.0 / best))):
                            scores.setdefault(f"{flow_kind} flow, gate {gate}", []).append(value)
            oracle.exact = None
    size = f"{clip.shape[1]} frames, {clip.shape[-1]} px LR, x4"
    print(f"{done} synthetic clips of {size}; PSNR (RGB) of frames 2..")
    for key, values in scores.items():
        print(f"  {key:28s} {sum(values) / len(values):.2f} dB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
