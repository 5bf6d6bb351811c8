"""Quick validation used by training and model cards: Y-channel PSNR on the shared benchmarks.

Not the project's evaluation command (``stream-restore eval``, in ``evaluation/``); a small,
dependency-free check so recipes can report progress and cards can quote measured numbers.
Protocol: BT.601 Y (16..235) from 8-bit-quantised RGB, ``crop`` pixels removed from each border.
Held-out video: the first ``frames`` frames of ``video/bee.mp4`` and ``video/butterfly.mp4``,
downscaled to 640x360 (MATLAB bicubic) as ground truth; never used in training.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from ..errors import ConfigError
from ..models.registry import ModelSpec
from .degradations import bicubic_downscale, quantize
from .images import load_image, load_video_frames
from .resize import imresize

__all__ = [
    "deblur_psnr",
    "levin_kernels",
    "psnr_y",
    "run_clip",
    "sisr_psnr",
    "video_blur_psnr",
    "video_clips",
    "video_psnr",
]

VIDEO_FILES = ("bee.mp4", "butterfly.mp4")


def rgb_to_y(x: torch.Tensor) -> torch.Tensor:
    """BT.601 luma in [16, 235] / 255 units from RGB in [0, 1], ``[..., 3, H, W] -> [..., H, W]``."""
    return (16.0 + 65.481 * x[..., 0, :, :] + 128.553 * x[..., 1, :, :] + 24.966 * x[..., 2, :, :]) / 255.0


def psnr_y(pred: torch.Tensor, target: torch.Tensor, crop: int) -> float:
    """PSNR (dB) of the Y channel after 8-bit quantisation and a ``crop``-pixel border crop.

    Grayscale images are scored through Y like colour ones, which reads higher than the published
    protocol on them (Set14 mean +0.09 dB, see ``stream_restore.evaluation``); model cards quote
    ``stream-restore eval`` for the benchmarks, this helper is a training-time progress check.
    """
    yp, yt = rgb_to_y(quantize(pred)), rgb_to_y(target)
    if crop:
        yp, yt = yp[..., crop:-crop, crop:-crop], yt[..., crop:-crop, crop:-crop]
    mse = float(((yp - yt) ** 2).mean())
    return 10 * math.log10(1.0 / max(mse, 1e-12))


@torch.no_grad()
def sisr_psnr(model: nn.Module, data_root: Path, dataset: str, scale: int) -> float:
    """Mean Y PSNR of ``model`` on a benchmark's shipped LR/HR pairs (crop = scale)."""
    folder = data_root / "sisr" / dataset / f"image_SRF_{scale}"
    names = sorted(p for p in folder.glob("*_HR.png"))
    scores = []
    for hr_path in names:
        hr = load_image(hr_path)
        lr = load_image(hr_path.with_name(hr_path.name.replace("_HR", "_LR")))
        scores.append(psnr_y(model(lr[None])[0], hr, scale))
    return sum(scores) / len(scores)


def video_clips(data_root: Path, frames: int = 20, size: tuple[int, int] = (360, 640)) -> list[torch.Tensor]:
    """Held-out ground-truth clips ``[T,3,360,640]`` from the shared real videos."""
    clips = []
    for name in VIDEO_FILES:
        raw = load_video_frames(data_root / "video" / name, frames)
        clips.append(quantize(imresize(raw, size=size)))
    return clips


def run_clip(spec: ModelSpec, model: nn.Module, clip: torch.Tensor) -> torch.Tensor:
    """Restore every frame of ``clip[T,3,H,W]`` the way a stream would, edge frames repeated."""
    if spec.recurrent:
        return model.forward_clip(clip[None])[0]  # type: ignore[operator,no-any-return]
    if spec.window == 1:
        return torch.cat([model(clip[t : t + 1]) for t in range(clip.shape[0])])
    raise ConfigError(f"{spec.name}: window models without recurrence have no training recipe")


@torch.no_grad()
def video_psnr(spec: ModelSpec, model: nn.Module, clips: list[torch.Tensor], scale: int) -> float:
    """Mean per-frame Y PSNR on bicubic-downscaled held-out clips (crop = scale)."""
    scores = []
    for clip in clips:
        hr = clip[..., : clip.shape[-2] // scale * scale, : clip.shape[-1] // scale * scale]
        lr = bicubic_downscale(hr, scale)
        out = run_clip(spec, model, lr)
        scores += [psnr_y(out[t], hr[t], scale) for t in range(hr.shape[0])]
    return sum(scores) / len(scores)


@torch.no_grad()
def video_blur_psnr(
    spec: ModelSpec, model: nn.Module | None, clips: list[torch.Tensor], span: int = 3
) -> float:
    """Held-out blurred video: frame t is the mean of ``span`` real consecutive frames; target frame t.

    With ``model=None`` scores the blurred input itself (the no-restoration baseline).
    """
    scores = []
    for sharp in clips:
        pad = span // 2
        blurred = quantize(
            torch.stack([sharp[t : t + span].mean(0) for t in range(sharp.shape[0] - span + 1)])
        )
        target = sharp[pad : pad + blurred.shape[0]]
        out = blurred if model is None else run_clip(spec, model, blurred)
        scores += [psnr_y(out[t], target[t], 0) for t in range(target.shape[0])]
    return sum(scores) / len(scores)


def levin_kernels(data_root: Path) -> torch.Tensor | None:
    """Levin09's 8 ground-truth kernels (normalised), to keep them out of training; None if absent."""
    folder = data_root / "deblur" / "Levin09" / "levin" / "gt"
    if not folder.is_dir():
        return None
    kernels = [load_image(p)[0] for p in sorted(folder.glob("kernel*.png"))]
    side = max(k.shape[-1] for k in kernels)
    padded = []
    for k in kernels:
        p0, p1 = (side - k.shape[-2]) // 2, (side - k.shape[-1]) // 2
        k = torch.nn.functional.pad(k, (p1, side - k.shape[-1] - p1, p0, side - k.shape[-2] - p0))
        padded.append(k / k.sum())
    return torch.stack(padded)


@torch.no_grad()
def deblur_psnr(model: nn.Module | None, data_root: Path, dataset: str) -> float:
    """Mean Y PSNR on Levin09 (32 blurred, grayscale as RGB) or the GoPro pairs; ``None`` = input."""
    if dataset == "Levin09":
        folder = data_root / "deblur" / "Levin09" / "levin"
        pairs = [
            (p, folder / "gt" / f"{p.name.split('_')[0]}.png")
            for p in sorted(folder.glob("im*_kernel*_img.png"))
        ]
    else:
        folder = data_root / "deblur" / "GoPro" / "pairs"
        pairs = [
            (p, p.with_name(p.name.replace("_blur", "_sharp"))) for p in sorted(folder.glob("*_blur*.png"))
        ]
    scores = []
    for blurred_path, sharp_path in pairs:
        blurred, sharp = load_image(blurred_path), load_image(sharp_path)
        out = blurred if model is None else model(blurred[None])[0]
        scores.append(psnr_y(out, sharp, 0))
    return sum(scores) / len(scores)
