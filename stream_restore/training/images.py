"""Loading still images and video frames for training and validation, as float tensors in [0, 1].

Data lives outside the repository (``../shared/data`` by default, see /work/shared/data/README.md);
everything here reads it, nothing writes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError, InputError

__all__ = ["IMAGE_SUFFIXES", "load_folder", "load_image", "load_video_frames", "training_images"]

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


def load_video_frames(path: Path, count: int, start: int = 0) -> torch.Tensor:
    """Decode ``count`` frames from ``start`` of a video with PyAV: float32 ``[T, 3, H, W]`` in [0, 1]."""
    import av

    frames: list[torch.Tensor] = []
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for index, frame in enumerate(container.decode(stream)):
                if index < start:
                    continue
                arr = frame.to_ndarray(format="rgb24")
                frames.append(torch.from_numpy(arr).permute(2, 0, 1).float().div_(255.0))
                if len(frames) == count:
                    break
    except av.error.FFmpegError as exc:  # type: ignore[attr-defined]
        raise InputError(f"cannot decode {path}: {exc}") from exc
    if len(frames) < count:
        raise InputError(f"{path} has fewer than {start + count} frames")
    return torch.stack(frames)
