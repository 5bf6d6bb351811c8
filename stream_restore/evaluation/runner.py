"""Run one model over a dataset the way a stream would, and score it.

Frames go through :class:`~stream_restore.pipeline.session.StreamSession` (windows with replicate
padding at clip edges, recurrent state carried frame to frame; scene-cut detection off because a
held-out clip is one shot), so single-frame, window and recurrent models are evaluated exactly as
they are served. Outputs are rounded to 8 bits before scoring, as MATLAB's evaluation does.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction

import torch

from ..backends import Backend
from ..errors import ConfigError
from ..frames import Frame
from ..pipeline.session import StreamSession
from .benchmark_images import gray_from_rgb, im2uint8
from .datasets import Sample
from .metrics import align_upto_shift, image_scores, shave, temporal_difference, temporal_differences

__all__ = ["EvalResult", "evaluate", "restore_clip"]


@dataclass(frozen=True)
class EvalResult:
    """Mean scores of one model on one dataset.

    PSNR in dB (mean of per-image / per-frame values), SSIM unitless, ``temporal`` in 0..255 code
    values (video only, mean over clips; lower is steadier), ``sharpness`` the mean Laplacian
    variance of the outputs' luma and ``sharpness_gt`` the ground truth's (no-reference detail
    figure, squared code values), ``seconds`` of wall time for inference (excluding data
    preparation). Video also keeps the series behind the means (for ``eval --plot``): PSNR-Y of
    every frame and the flicker of every frame step, clips one after the other, and the frames of
    each clip; they are left out of :meth:`to_json`.
    """

    model: str
    dataset: str
    scale: int
    items: int  # images, or frames summed over clips
    psnr_y: float
    ssim_y: float
    psnr_rgb: float
    temporal: float | None
    sharpness: float
    sharpness_gt: float
    seconds: float
    psnr_y_frames: tuple[float, ...] = field(default=(), repr=False)
    temporal_steps: tuple[float, ...] = field(default=(), repr=False)
    clip_frames: tuple[int, ...] = field(default=(), repr=False)

    def to_json(self) -> dict[str, object]:
        """A JSON-safe dict of the means (infinite PSNR becomes the string "inf")."""
        series = {"psnr_y_frames", "temporal_steps", "clip_frames"}
        return {k: ("inf" if isinstance(v, float) and math.isinf(v) else v) for k, v in asdict(self).items()
                if k not in series}


def restore_clip(backend: Backend, clip: torch.Tensor) -> torch.Tensor:
    """Restore every frame of ``clip`` (T, 3, h, w), float [0, 1], through a fresh stream session."""
    session = StreamSession(backend, detect_cuts=False)
    frames = (Frame(clip[t], pts=t, time_base=Fraction(1, 30), index=t) for t in range(clip.shape[0]))
    restored = [frame.data for frame in session.run(frames)]
    if len(restored) != clip.shape[0]:
        raise ConfigError(f"{backend.spec.name} returned {len(restored)} frames for {clip.shape[0]}")
    return torch.stack(restored).cpu()


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def evaluate(backend: Backend, dataset: str, samples: Sequence[Sample]) -> EvalResult:
    """Score a loaded backend on ``samples`` (all of one dataset)."""
    spec = backend.spec
    psnr_y: list[float] = []
    ssim_y: list[float] = []
    psnr_rgb: list[float] = []
    temporal: list[float] = []  # per clip
    steps: list[float] = []  # per frame step, all clips
    sharp: list[float] = []
    sharp_gt: list[float] = []
    seconds = 0.0
    for sample in samples:
        start = time.perf_counter()
        with torch.inference_mode():
            restored = restore_clip(backend, sample.inputs)
        seconds += time.perf_counter() - start
        out = im2uint8(restored)
        if sample.target.shape[1] == 1:
            out = torch.stack([gray_from_rgb(frame) for frame in out])
        if out.shape != sample.target.shape:
            raise ConfigError(
                f"{spec.name} produced {list(out.shape[-2:])} for {sample.name}, "
                f"expected {list(sample.target.shape[-2:])} (x{spec.scale} of the input)"
            )
        for t in range(out.shape[0]):
            if sample.shift_tolerant:
                scores = image_scores(*align_upto_shift(out[t], sample.target[t]), border=0)
            else:
                scores = image_scores(out[t], sample.target[t], sample.border)
            psnr_y.append(scores["psnr_y"])
            ssim_y.append(scores["ssim_y"])
            psnr_rgb.append(scores["psnr_rgb"])
            sharp.append(scores["sharpness"])
            sharp_gt.append(scores["sharpness_gt"])
        if out.shape[0] > 1:
            pair = (shave(out, sample.border), shave(sample.target, sample.border))
            temporal.append(temporal_difference(*pair))  # the published figure, computed as always
            steps.extend(temporal_differences(*pair))
    return EvalResult(
        model=spec.name,
        dataset=dataset,
        scale=spec.scale,
        items=len(psnr_y),
        psnr_y=_mean(psnr_y),
        ssim_y=_mean(ssim_y),
        psnr_rgb=_mean(psnr_rgb),
        temporal=_mean(temporal) if temporal else None,
        sharpness=_mean(sharp),
        sharpness_gt=_mean(sharp_gt),
        seconds=seconds,
        psnr_y_frames=tuple(psnr_y) if steps else (),
        temporal_steps=tuple(steps),
        clip_frames=tuple(s.frames for s in samples) if steps else (),
    )
