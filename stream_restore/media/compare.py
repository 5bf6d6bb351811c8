"""Before / after: one frame of the input beside the same frame restored, as a labelled PNG.

The input is upscaled to the output's size with bicubic interpolation, the baseline a viewer
compares against; a PSNR against a reference is printed in the label when one is given. Frames
are read back from the files (the output as encoded, what a viewer will see).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError, InputError
from ..files import atomic_path
from .codecs import IMAGE_EXTENSIONS
from .seek import seek_keyframe_before

__all__ = ["Comparison", "frame_at", "psnr", "side_by_side", "write_comparison"]

_GAP = 8  # pixels between the two halves


@dataclass(frozen=True)
class Comparison:
    """A written before/after image and, where a reference was given, the PSNR (dB, RGB) of each
    half against it: (input upscaled by bicubic, restored)."""

    path: Path
    psnr: tuple[float, float] | None = None


def frame_at(path: Path, seconds: float) -> np.ndarray:
    """The RGB frame (H, W, 3 uint8) shown at ``seconds`` in a video, or the image itself."""
    try:
        with av.open(str(path)) as container:
            if path.suffix.lower() in IMAGE_EXTENSIONS or not container.streams.video:
                frame = next(container.decode(video=0))
                return frame.to_ndarray(format="rgb24")
            stream = container.streams.video[0]
            if seconds > 0:
                seek_keyframe_before(container, stream, seconds, str(path))
            chosen = None
            for frame in container.decode(stream):
                if chosen is None or frame.time is None or frame.time <= seconds + 1e-6:
                    chosen = frame
                if frame.time is not None and frame.time >= seconds - 1e-6:
                    break
    except (av.FFmpegError, StopIteration, OSError) as exc:
        raise InputError(f"{path}: cannot read a frame to compare ({exc})") from None
    if chosen is None:
        raise InputError(f"{path}: no frame to compare")
    return chosen.to_ndarray(format="rgb24")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 RGB images of one size (inf when identical)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def side_by_side(
    before: np.ndarray, after: np.ndarray, labels: tuple[str, str], reference: np.ndarray | None = None
) -> np.ndarray:
    """``before`` bicubic-upscaled to ``after``'s size | ``after``, labelled (with PSNR if a reference)."""
    from PIL import Image, ImageDraw

    height, width = after.shape[:2]
    baseline = _bicubic(before, height, width)
    texts = list(labels)
    scores = _scores(baseline, after, reference)
    if scores is not None:
        texts = [f"{t}  {score:.2f} dB" for t, score in zip(texts, scores, strict=True)]
    canvas = np.full((height, 2 * width + _GAP, 3), 255, np.uint8)
    canvas[:, :width] = baseline
    canvas[:, width + _GAP :] = after
    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    for left, text in zip((0, width + _GAP), texts, strict=True):
        box = draw.textbbox((left + 6, 6), text)
        draw.rectangle((box[0] - 4, box[1] - 3, box[2] + 4, box[3] + 3), fill=(0, 0, 0))
        draw.text((left + 6, 6), text, fill=(255, 255, 255))
    return np.asarray(image)


def _bicubic(image: np.ndarray, height: int, width: int) -> np.ndarray:
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255.0
    up = F.interpolate(x, size=(height, width), mode="bicubic", align_corners=False).clamp(0, 1)
    return (up[0].permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)


def _scores(
    baseline: np.ndarray, after: np.ndarray, reference: np.ndarray | None
) -> tuple[float, float] | None:
    if reference is None or reference.shape != after.shape:
        return None
    return psnr(baseline, reference), psnr(after, reference)


def write_comparison(
    source: Path,
    restored: Path,
    target: Path,
    *,
    seconds: float,
    labels: tuple[str, str],
    restored_seconds: float | None = None,
    reference: np.ndarray | None = None,
) -> Comparison:
    """Write the before/after PNG of the frame at ``seconds`` (``restored_seconds`` in the output,
    when it starts elsewhere) to ``target``, atomically; with a ``reference`` of the restored size,
    both halves are scored against it."""
    if target.suffix.lower() != ".png":
        raise ConfigError(f"--compare writes a PNG: {target} should end in .png")
    try:
        from PIL import Image
    except ImportError:
        raise ConfigError("--compare needs Pillow (pip install pillow)") from None
    before = frame_at(source, seconds)
    after = frame_at(restored, seconds if restored_seconds is None else restored_seconds)
    picture = side_by_side(before, after, labels, reference)
    with atomic_path(target) as partial:
        Image.fromarray(picture).save(partial, format="PNG")
    height, width = after.shape[:2]
    return Comparison(target, _scores(_bicubic(before, height, width), after, reference))
