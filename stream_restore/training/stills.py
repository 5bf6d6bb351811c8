"""Loading the still images training uses, as float tensors in [0, 1].

Data lives outside the repository (``../shared/data`` by default, see /work/shared/data/README.md);
everything here reads it, nothing writes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError, InputError

__all__ = ["IMAGE_SUFFIXES", "levin_kernels", "load_folder", "load_image", "training_images"]

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg")


def load_image(path: Path) -> torch.Tensor:
    """Read an image file as float32 RGB ``[3, H, W]`` in [0, 1] (grayscale is replicated)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except OSError as exc:
        raise InputError(f"cannot read image {path}: {exc}") from exc
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float().div_(255.0)


def load_folder(folder: Path, suffixes: Iterable[str] = IMAGE_SUFFIXES) -> list[torch.Tensor]:
    """All images of ``folder`` in sorted file-name order (the order is part of determinism)."""
    if not folder.is_dir():
        raise ConfigError(f"data folder {folder} does not exist (pass --data to point at shared data)")
    names = sorted(p for p in folder.iterdir() if p.suffix.lower() in tuple(suffixes))
    if not names:
        raise ConfigError(f"no images in {folder}")
    return [load_image(p) for p in names]


def training_images(data_root: Path, min_side: int = 0) -> list[torch.Tensor]:
    """T91 + BSDS200 training images (``uint8``-exact floats), those with both sides >= ``min_side``."""
    images = load_folder(data_root / "train" / "T91") + load_folder(data_root / "train" / "BSDS200")
    kept = [im for im in images if min(im.shape[-2:]) >= min_side]
    if not kept:
        raise ConfigError(f"no training image has both sides >= {min_side} px; use smaller patches")
    return kept


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
