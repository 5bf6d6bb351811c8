"""In which space were Levin09's blurred images made? A command that prints numbers (issue 12).

    .venv/bin/python bench/levin_blur_space.py [--data ../shared/data]

Each of the 32 blurred images is compared with its sharp image convolved by its ground-truth
kernel three ways: on the sRGB codes, in linear light (IEC 61966-2-1, decoded, convolved,
re-coded) and with a 2.2 gamma, each at the best whole-pixel shift within 3 px (15 px border
dropped). The space whose PSNR is highest is the one the benchmark was made in; the training
recipes (``BlurModel.linear_light``) blur that share of their patches in linear light.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F

from stream_restore.evaluation.metrics import align_upto_shift, psnr
from stream_restore.training.degradations import linear_to_srgb, srgb_to_linear
from stream_restore.training.stills import load_image

SPACES = {
    "sRGB codes": (lambda x: x, lambda x: x),
    "linear light": (srgb_to_linear, linear_to_srgb),
    "gamma 2.2": (lambda x: x.clamp(0, 1) ** 2.2, lambda x: x.clamp(0, 1) ** (1 / 2.2)),
}


def convolve(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """``image[C,H,W]`` convolved (true convolution, replicate borders) with ``kernel[k,k]``."""
    weight = kernel.flip(0, 1)[None, None].expand(image.shape[0], 1, -1, -1)
    pad = kernel.shape[-1] // 2
    padded = F.pad(image[None], (pad, pad, pad, pad), mode="replicate")
    return F.conv2d(padded, weight, groups=image.shape[0])[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    args = parser.parse_args(argv)
    folder = args.data / "deblur" / "Levin09" / "levin"
    scores: dict[str, list[float]] = {name: [] for name in SPACES}
    for i in range(1, 5):
        sharp = load_image(folder / "gt" / f"im{i}.png")[:1].double()
        for k in range(1, 9):
            kernel = load_image(folder / "gt" / f"kernel{k}.png")[0].double()
            blurred = load_image(folder / f"im{i}_kernel{k}_img.png")[:1].double()
            for name, (decode, encode) in SPACES.items():
                made = encode(convolve(decode(sharp), kernel / kernel.sum()))
                a, b = align_upto_shift(made, blurred, max_shift=3, border=15, step=1.0)
                scores[name].append(psnr(a, b, peak=1.0))
    for name, values in scores.items():
        print(f"{name:13s} PSNR against the published blurred images: {sum(values) / len(values):6.2f} dB "
              f"(min {min(values):.2f}, {len(values)} images)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
