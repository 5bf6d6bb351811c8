"""The numbers quoted in model cards: ``python -m stream_restore.training.scorecard NAME [--ckpt PATH]``.

Picks the metrics that fit the model's task (SR benchmarks, held-out video, deblur sets), prints
them next to the no-learning baseline (bicubic, or the blurred input), as Y PSNR in dB.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from torch import nn

from ..models import get_spec
from ..models.bicubic import BicubicUpsample
from ..models.registry import ModelSpec
from .validate import deblur_psnr, sisr_psnr, video_blur_psnr, video_clips, video_psnr

__all__ = ["scorecard"]


def scorecard(
    spec: ModelSpec, model: nn.Module, data_root: Path, *, benchmarks: bool = True
) -> dict[str, tuple[float, float]]:
    """{metric: (model PSNR, baseline PSNR)} for ``model`` (in eval mode).

    ``benchmarks=False`` leaves out the image benchmarks (SR sets, Levin09, GoPro): model cards
    take those from the evaluation package instead.
    """
    out: dict[str, tuple[float, float]] = {}
    if spec.task.value == "sr" and benchmarks:
        base = BicubicUpsample(spec.scale)
        for dataset in ("Set5", "Set14", "BSD100"):
            out[dataset] = (
                sisr_psnr(model, data_root, dataset, spec.scale),
                sisr_psnr(base, data_root, dataset, spec.scale),
            )
    if spec.task.value in ("sr", "vsr"):
        clips = video_clips(data_root)
        base_spec = get_spec(f"bicubic-x{spec.scale}")
        out["video"] = (
            video_psnr(spec, model, clips, spec.scale),
            video_psnr(base_spec, base_spec.builder(), clips, spec.scale),
        )
    if spec.task.value == "deblur" and benchmarks:
        for dataset in ("Levin09", "GoPro"):
            out[dataset] = (deblur_psnr(model, data_root, dataset), deblur_psnr(None, data_root, dataset))
    if spec.task.value in ("deblur", "vdeblur"):
        clips = video_clips(data_root)
        out["video-blur"] = (video_blur_psnr(spec, model, clips), video_blur_psnr(spec, None, clips))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name")
    parser.add_argument(
        "--ckpt", type=Path, default=None, help="training checkpoint instead of shipped weights"
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    spec = get_spec(args.name)
    if args.ckpt is not None:
        model = spec.builder()
        model.load_state_dict(torch.load(args.ckpt, map_location="cpu", weights_only=False)["model"])
        model.eval()
    else:
        model = spec.build(pretrained=True)
    with torch.no_grad():
        scores = scorecard(spec, model, args.data)
    for metric, (value, base) in scores.items():
        print(f"{args.name} {metric:10s} {value:6.2f} dB (baseline {base:6.2f}, {value - base:+.2f})")
    print(json.dumps({k: [round(v, 3), round(b, 3)] for k, (v, b) in scores.items()}))


if __name__ == "__main__":
    main()
