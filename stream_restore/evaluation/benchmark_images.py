"""Reading benchmark images with PyAV, as 8-bit code values, and quantising model output like MATLAB.

Benchmarks are scored on 8-bit data: ground truth straight from the PNG, model output rounded to
uint8 first (``im2uint8``: clamp to [0, 1], times 255, round half up). Grayscale images (Set14's
img_003, Levin09) stay single-channel so that they can be scored on their own channel; models get
them replicated to RGB.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import torch

from ..errors import InputError

__all__ = ["gray_from_rgb", "im2uint8", "read_image", "to_model_input"]


def read_image(path: Path) -> torch.Tensor:
    """An image file as uint8 code values (C, H, W), C = 1 for gray, else 3 (RGB)."""
    try:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0))
    except (av.FFmpegError, StopIteration, OSError) as exc:
        raise InputError(f"cannot read image {path}: {exc}") from exc
    if frame.format.name in ("gray", "gray8", "monob", "monow") or frame.format.name.startswith("gray"):
        array = frame.to_ndarray(format="gray")[None]
    else:
        array = frame.to_ndarray(format="rgb24").transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(array))


def to_model_input(codes: torch.Tensor) -> torch.Tensor:
    """Code values (C, H, W) -> float32 RGB (3, H, W) in [0, 1], gray replicated to 3 channels."""
    rgb = codes.expand(3, -1, -1) if codes.shape[0] == 1 else codes
    return (rgb.to(torch.float32) / 255.0).contiguous()


def im2uint8(rgb: torch.Tensor) -> torch.Tensor:
    """Float RGB in [0, 1] -> float64 code values rounded as MATLAB ``im2uint8`` does (0..255, half up;
    training's ``degradations.quantize`` instead stays in [0, 1] and rounds half to even)."""
    return torch.floor(rgb.detach().to(torch.float64).clamp(0.0, 1.0) * 255.0 + 0.5)


def gray_from_rgb(codes: torch.Tensor) -> torch.Tensor:
    """(3, H, W) codes -> (1, H, W) codes with BT.601 luma weights (exact for equal channels)."""
    weights = torch.tensor([0.299, 0.587, 0.114], dtype=codes.dtype, device=codes.device)
    return torch.floor((codes * weights[:, None, None]).sum(dim=0, keepdim=True) + 0.5)
