"""Real footage as tensors: decode a run of frames to float RGB, MATLAB-bicubic resized as decoded.

Shared by training (real clips, :mod:`.real_clips`) and evaluation (held-out clips,
``evaluation/video.py``); it lives here so that training never imports evaluation.
"""

from __future__ import annotations

from pathlib import Path

import av
import torch

from ..errors import InputError
from ..media.convert import frame_to_tensor
from .resize import imresize

__all__ = ["decode_frames"]


def decode_frames(
    path: Path, count: int, start: int = 0, size: tuple[int, int] | None = None
) -> torch.Tensor:
    """``count`` frames from ``start`` as float32 RGB (T, 3, H, W) in [0, 1], stream colour honoured.

    With ``size`` (height, width) each frame is MATLAB-bicubic resized as it is decoded, so a
    long 720p clip never sits in memory at full size.
    """
    frames: list[torch.Tensor] = []
    try:
        with av.open(str(path)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index >= start:
                    rgb = frame_to_tensor(frame)
                    frames.append(rgb if size is None else imresize(rgb, size=size))
                if len(frames) == count:
                    break
    except av.FFmpegError as exc:
        raise InputError(f"cannot decode {path}: {exc}") from exc
    if len(frames) < count:
        raise InputError(f"{path} has {len(frames) + start} frames, fewer than {start + count}")
    return torch.stack(frames)
