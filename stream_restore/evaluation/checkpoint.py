"""Score a training checkpoint on the video sets before its weights are exported.

``python -m stream_restore.evaluation.checkpoint runs/vsr-x4/ckpt.pt`` prints, per
video dataset, the PSNR-Y and flicker (tDiff) of the checkpoint's model, of the same weights with
the temporal path removed (neighbours replaced by the current frame, fresh state every frame:
:mod:`stream_restore.evaluation.ablation`), and of a baseline (default: the single-frame model of
the same scale), so a long schedule can be judged mid-way against the issue's targets.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch

from ..backends import BackendOptions, create_backend
from ..models.recurrent import RecurrentModel
from ..models.registry import get_spec
from .ablation import WithoutTemporal
from .datasets import default_data_dir
from .runner import evaluate
from .video import video_samples

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stream_restore.evaluation.checkpoint",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path, help="a ckpt.pt written by stream-restore train")
    parser.add_argument("--baseline", help="model to compare with (default sr-compact-x<scale>)")
    parser.add_argument("--datasets", nargs="+", default=["video", "video-crf23"])
    parser.add_argument("--data-dir", type=Path, default=None, help="shared data folder")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--frames", type=int, help="frames per clip (default the published length)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    state = torch.load(args.checkpoint, map_location="cpu", weights_only=False)  # our own training file
    spec = dataclasses.replace(get_spec(state["recipe"]), weights=None)
    options = BackendOptions(device="cpu", threads=args.threads)

    def trained() -> RecurrentModel:
        module = spec.builder()
        module.load_state_dict(state["model"])
        assert isinstance(module, RecurrentModel)
        return module

    engines = {
        "baseline": create_backend(get_spec(args.baseline or f"sr-compact-x{spec.scale}"), "torch", options),
        "checkpoint": create_backend(dataclasses.replace(spec, builder=trained), "torch", options),
        "no temporal": create_backend(
            dataclasses.replace(
                spec, name=spec.name + "/no-temporal", builder=lambda: WithoutTemporal(trained())
            ),
            "torch",
            options,
        ),
    }
    print(f"{args.checkpoint}: {spec.name}, step {state['step']}")
    data = args.data_dir or default_data_dir()
    for dataset in args.datasets:
        samples = video_samples(dataset, spec.scale, data, frames=args.frames)
        for label, engine in engines.items():
            with engine:
                result = evaluate(engine, dataset, samples)
            print(
                f"{dataset:12s} {label:12s} {result.model:28s} PSNR-Y {result.psnr_y:7.3f} dB  "
                f"tDiff {result.temporal or 0:.3f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
