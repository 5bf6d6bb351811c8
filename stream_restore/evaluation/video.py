"""Held-out video clips with ground truth, built deterministically from the shared data.

There is no video-SR benchmark with ground truth in the shared data, so clips are made here:

* ``video``: the first :data:`CLIP_FRAMES` frames of each ``video/*.mp4`` (real 1280x720 footage),
  MATLAB-bicubic downscaled to 640x360 and rounded to 8 bits: that is the ground truth (halving
  also removes most of the source's own coding noise). Width and height are cropped to a multiple
  of ``2 * scale`` (x3: 636x360) so the LR frames have even sizes. LR = MATLAB bicubic ``1/scale``
  of the ground truth, rounded like a uint8 image.
* ``video-crf23`` / ``video-crf30``: the same LR clip H.264-coded (libx264, CRF 23 / 30, in
  memory through PyAV) and decoded: what a streamed low-resolution source looks like.
* ``video-blur``: synthetic fast camera pans over the two sharp 1280x720 GoPro frames (the
  training package's camera path renderer, fixed seeds): each frame averages 7 sub-frames, its
  target is the middle one. 256x256, :data:`BLUR_FRAMES` frames per clip.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch

from ..errors import ConfigError
from ..training.camera import random_path, render_clip
from ..training.degradations import h264_roundtrip
from ..training.footage import decode_frames
from ..training.resize import imresize
from .benchmark_images import im2uint8, read_image
from .datasets import Sample, _require_dir

__all__ = ["BLUR_FRAMES", "CLIP_FRAMES", "GT_SIZE", "blurred_clips", "video_samples"]

CLIP_FRAMES = 30  # frames per real clip (1 s at 29.97 fps)
GT_SIZE = (360, 640)  # ground-truth (height, width) in pixels before the crop to 2 * scale
BLUR_FRAMES = 24  # frames per synthetic blurred clip
_BLUR_WINDOW = 256  # pixels
_BLUR_SUBFRAMES = 7
_BLUR_MAX_SPEED = 12.0  # source pixels per frame
_CRF = {"video-crf23": 23, "video-crf30": 30}


@functools.lru_cache(maxsize=4)
def _decoded_ground_truth(path: Path, frames: int) -> torch.Tensor:
    """(T, 3, 360, 640) uint8: the source frames at :data:`GT_SIZE`, shared by every scale."""
    return im2uint8(decode_frames(path, frames, size=GT_SIZE)).to(torch.uint8)


def _ground_truth(path: Path, scale: int, frames: int) -> torch.Tensor:
    """(T, 3, H, W) uint8 ground truth for models of ``scale``: cropped to a multiple of 2 * scale."""
    codes = _decoded_ground_truth(path, frames)
    step = 2 * scale
    h, w = (GT_SIZE[0] // step) * step, (GT_SIZE[1] // step) * step
    return codes[..., :h, :w].contiguous()


def _sr_clip(path: Path, name: str, scale: int, frames: int) -> Sample:
    gt = _ground_truth(path, scale, frames)
    lr = imresize(gt.to(torch.float32) / 255.0, scale=1.0 / scale, emulate_uint8=True)
    if name in _CRF:
        lr = h264_roundtrip(lr.float(), _CRF[name])
    return Sample(path.stem, lr.to(torch.float32).contiguous(), gt, scale)


def blurred_clips(
    image: torch.Tensor, seed: int, frames: int = BLUR_FRAMES
) -> tuple[torch.Tensor, torch.Tensor]:
    """(blurred, sharp) float32 clips (T, 3, 256, 256) in [0, 1], 8-bit levels, from one image.

    ``image`` is float RGB (3, H, W) in [0, 1]; the camera path comes from ``seed``, so the same
    seed gives the same clip. Blur: the mean of 7 sub-frames spread over one frame interval.
    """
    gen = torch.Generator().manual_seed(seed)
    path = random_path(
        gen, (int(image.shape[-2]), int(image.shape[-1])), _BLUR_WINDOW, frames, _BLUR_MAX_SPEED
    )
    sub = _BLUR_SUBFRAMES
    times = [t + (j - sub // 2) / sub for t in range(frames) for j in range(sub)]
    rendered = render_clip(image.float(), path, times, _BLUR_WINDOW).reshape(
        frames, sub, 3, _BLUR_WINDOW, _BLUR_WINDOW
    )
    blurred = im2uint8(rendered.mean(dim=1)) / 255.0
    sharp = im2uint8(rendered[:, sub // 2]) / 255.0
    return blurred.float(), sharp.float()


def _blur_samples(data_dir: Path, limit: int | None, frames: int) -> list[Sample]:
    folder = _require_dir(data_dir / "deblur" / "GoPro" / "pairs", "GoPro sharp frames")
    sources = sorted(folder.glob("*_sharp*.png"))[:limit]
    if not sources:
        raise ConfigError(f"no *_sharp*.png frames in {folder}")
    samples = []
    for seed, path in enumerate(sources):
        blurred, sharp = blurred_clips(read_image(path).float() / 255.0, seed=1000 + seed, frames=frames)
        target = torch.floor(sharp.double() * 255.0 + 0.5).to(torch.uint8)
        samples.append(Sample(f"{path.stem}-pan", blurred, target, 0))
    return samples


def video_samples(
    name: str, scale: int, data_dir: Path, limit: int | None = None, frames: int | None = None
) -> list[Sample]:
    """The clips of video dataset ``name`` ("video", "video-crf23", "video-crf30", "video-blur").

    ``limit`` keeps the first N clips; ``frames`` shortens them (default :data:`CLIP_FRAMES`, or
    :data:`BLUR_FRAMES` for the blurred clips). Published figures use the defaults.
    """
    if frames is not None and frames < 2:
        raise ConfigError("video clips need at least 2 frames")
    if name == "video-blur":
        return _blur_samples(data_dir, limit, frames or BLUR_FRAMES)
    if name != "video" and name not in _CRF:
        raise ConfigError(f"unknown video dataset {name!r}")
    folder = _require_dir(data_dir / "video", "video folder")
    files = sorted(folder.glob("*.mp4"))[:limit]
    if not files:
        raise ConfigError(f"no .mp4 files in {folder}")
    return [_sr_clip(path, name, scale, frames or CLIP_FRAMES) for path in files]
