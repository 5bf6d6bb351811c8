"""Side-by-side crops for the docs: what a GAN model changes against its pixel-loss twin.

``python -m stream_restore.evaluation.crops --out docs/images`` writes two PNGs:

* ``sr-gan-x4.png``: rows are crops of Set14 and BSD100 images (x4); columns are bicubic,
  sr-compact-x4, sr-gan-x4 and the ground truth.
* ``deblur-gan.png``: rows are crops of the real GoPro pairs; columns are the blurred input,
  deblur, deblur-gan and the sharp frame.
* ``vsr-x4.png``: what the recurrence adds: rows are crops of the last (30th) frame of the two
  held-out clips, clean and H.264-coded at CRF 23; columns are bicubic, sr-compact-x4, vsr-x4 and
  the ground truth.

Each crop is the most detailed window of its image (highest ground-truth Laplacian variance on
a coarse grid), shown at twice its size with nearest-neighbour pixels, so the choice is
deterministic and favours texture, where GAN models differ most. The per-crop Y PSNR and
sharpness (Laplacian variance relative to the ground truth's) are printed, one line per cell.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import torch
import torch.nn.functional as F

from ..backends import BackendOptions, create_backend
from ..frames import ColorInfo, Frame
from ..media.images import write_image
from ..models.registry import get_spec
from .benchmark_images import gray_from_rgb
from .datasets import Sample, default_data_dir, gopro_samples, load_dataset, sisr_samples
from .metrics import psnr, rgb_to_y, sharpness
from .runner import restore_clip

__all__ = ["best_window", "crop_grid"]

_CROP = 96  # ground-truth pixels per crop side
_ZOOM = 2
_GUTTER = 4  # white pixels between cells


def best_window(target: torch.Tensor, size: int, step: int = 16) -> tuple[int, int]:
    """Top-left (y, x) of the ``size`` window of ``target`` (C, H, W codes) with the most detail."""
    luma = rgb_to_y(target) if target.shape[0] == 3 else target.to(torch.float64)
    best, where = -1.0, (0, 0)
    for y in range(0, target.shape[-2] - size + 1, step):
        for x in range(0, target.shape[-1] - size + 1, step):
            value = sharpness(luma[:, y : y + size, x : x + size])
            if value > best:
                best, where = value, (y, x)
    return where


def _cell(codes: torch.Tensor) -> torch.Tensor:
    """A crop of uint8-range codes as float [0, 1] RGB, zoomed with nearest-neighbour pixels."""
    rgb = codes.expand(3, -1, -1) if codes.shape[0] == 1 else codes
    return F.interpolate(rgb[None].float() / 255.0, scale_factor=_ZOOM, mode="nearest")[0]


def crop_grid(
    samples: list[Sample], models: list[str], options: BackendOptions, frame: int = 0
) -> tuple[torch.Tensor, list[str]]:
    """Rows of crops (one per sample, of its frame ``frame``): each model's output, then the ground
    truth. Clips are restored from their first frame, so recurrent models carry their state there.

    Returns the image (3, H, W) in [0, 1] and a line of scores per model cell.
    """
    backends = [create_backend(get_spec(name), "torch", options).load() for name in models]
    rows: list[torch.Tensor] = []
    report: list[str] = []
    try:
        for sample in samples:
            target = sample.target[frame]
            y, x = best_window(target, _CROP)
            window = (slice(None), slice(y, y + _CROP), slice(x, x + _CROP))
            truth = target[window]
            cells = []
            for name, backend in zip(models, backends, strict=True):
                with torch.inference_mode():
                    out = restore_clip(backend, sample.inputs)[frame]
                codes = (out.clamp(0, 1) * 255.0).round()[window]
                if truth.shape[0] == 1:
                    codes = gray_from_rgb(codes)
                cells.append(_cell(codes))
                ref_y = rgb_to_y(truth) if truth.shape[0] == 3 else truth.double()
                out_y = rgb_to_y(codes) if codes.shape[0] == 3 else codes.double()
                ratio = 100.0 * sharpness(out_y) / max(sharpness(ref_y), 1e-9)
                report.append(f"{sample.name} {name}: crop Y PSNR {psnr(out_y, ref_y):.2f} dB, sharpness "
                              f"{ratio:.0f}%")
            cells.append(_cell(truth))
            rows.append(_join(cells, dim=-1))
    finally:
        for backend in backends:
            backend.close()
    return _join(rows, dim=-2), report


def _join(parts: list[torch.Tensor], dim: int) -> torch.Tensor:
    """Concatenate images along ``dim`` with white gutters between them."""
    shape = list(parts[0].shape)
    shape[dim] = _GUTTER
    gutter = torch.ones(shape)
    joined: list[torch.Tensor] = []
    for i, part in enumerate(parts):
        joined += [gutter, part] if i else [part]
    return torch.cat(joined, dim=dim)


def _save(path: Path, image: torch.Tensor) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(path, Frame(image, pts=0, time_base=Fraction(1, 25), index=0), ColorInfo())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images"), help="folder for the PNGs")
    parser.add_argument("--data-dir", type=Path, default=None, help="shared data (default ../shared/data)")
    parser.add_argument("--only", nargs="+", metavar="PNG", help="write only these (e.g. deblur-gan.png)")
    args = parser.parse_args(argv)
    data = args.data_dir or default_data_dir()
    options = BackendOptions(device="cpu")
    set14 = {s.name: s for s in sisr_samples(data, "Set14", 4)}
    bsd = {s.name: s for s in sisr_samples(data, "BSD100", 4)}
    sr_samples = [set14["img_001"], set14["img_014"], bsd["img_012"], bsd["img_053"]]
    video = [
        replace(sample, name=f"{sample.name} ({coding})")
        for dataset, coding in (("video", "clean"), ("video-crf23", "CRF 23"))
        for sample in load_dataset(dataset, 4, data)
    ]
    jobs = [
        ("sr-gan-x4.png", sr_samples, ["bicubic-x4", "sr-compact-x4", "sr-gan-x4"], 0),
        ("deblur-gan.png", gopro_samples(data), ["identity", "deblur", "deblur-gan"], 0),
        ("vsr-x4.png", video, ["bicubic-x4", "sr-compact-x4", "vsr-x4"], -1),
    ]
    unknown = set(args.only or ()) - {job[0] for job in jobs}
    if unknown:
        parser.error(f"no crops job writes {', '.join(sorted(unknown))}")
    for filename, samples, models, frame in jobs:
        if args.only and filename not in args.only:
            continue
        image, report = crop_grid(samples, models, options, frame)
        _save(args.out / filename, image)
        print(f"{args.out / filename}: columns {' | '.join(models)} | ground truth")
        for line in report:
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
