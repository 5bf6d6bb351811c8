"""End-to-end ``restore`` throughput on a clip, with the share of decode, model, encode.

The clip is either real footage (``source``: the first frames of a video, scaled to the bench
size with FFmpeg's bicubic scaler and written as H.264) or generated with PyAV (moving gradients
plus Gaussian noise). The choice matters for the encoder: libx264 ``veryfast`` CRF 18 spends
62-66 ms of CPU per 1280x720 output frame on the noisy synthetic clip and 23-28 ms on real
footage upscaled, and on 2 cores that CPU is taken from the model.

Before the clock starts, the backend is loaded and 3 frames of the same footage are restored, so
export and compile times (model and colour kernels) are not counted; then
:func:`stream_restore.pipeline.restore` runs decode -> infer -> encode into an MP4, with the model
timed alone on the same backend right before and after. The rows measure the steady state of a
long video, so colour conversion is compiled as ``--compile-colour auto`` does for inputs of 500+
frames.
"""

from __future__ import annotations

import itertools
import statistics
import tempfile
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

from ..backends import BackendOptions, create_backend
from ..errors import InputError
from ..models.registry import get_spec
from .models import BenchRow, time_backend, variant_options

__all__ = ["e2e_row", "make_clip", "scaled_clip"]


def _write_h264(path: Path, frames: Iterable[av.VideoFrame], width: int, height: int, fps: int) -> int:
    """Encode ``frames`` (renumbered 0, 1, ... at ``1/fps``) as H.264 CRF 18 into ``path``; the count."""
    written = 0
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "18", "preset": "ultrafast"}
        stream.time_base = Fraction(1, fps)
        for frame in frames:
            frame.pts, frame.time_base = written, Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
            written += 1
        for packet in stream.encode():  # flush the encoder
            container.mux(packet)
    return written


def make_clip(path: Path, width: int, height: int, frames: int, fps: int = 25) -> Path:
    """Write a synthetic H.264 clip (moving colour gradients plus noise) of the given size."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)

    def generate() -> Iterator[av.VideoFrame]:
        for i in range(frames):
            r = 127 + 100 * np.sin((xx + 4 * i) / 37.0)
            g = 127 + 100 * np.cos((yy - 3 * i) / 23.0)
            b = 127 + 60 * np.sin((xx + yy + 5 * i) / 51.0)
            image = np.stack([r, g, b], axis=-1) + rng.normal(0, 6, (height, width, 3))
            yield av.VideoFrame.from_ndarray(np.clip(image, 0, 255).astype(np.uint8), format="rgb24")

    _write_h264(path, generate(), width, height, fps)
    return path


def scaled_clip(source: Path, path: Path, width: int, height: int, frames: int, fps: int = 25) -> Path:
    """Write the first ``frames`` frames of ``source`` scaled to ``width x height`` as H.264 (CRF 18)."""
    with av.open(str(source)) as src:
        scaled = (
            frame.reformat(width=width, height=height, format="yuv420p", interpolation="BICUBIC")
            for frame in itertools.islice(src.decode(video=0), frames)
        )
        written = _write_h264(path, scaled, width, height, fps)
    if written < frames:
        raise InputError(f"{source} has {written} frames, fewer than the {frames} asked for")
    return path


def e2e_row(
    model: str,
    variant: str,
    base: BackendOptions,
    width: int,
    height: int,
    *,
    frames: int = 30,
    preset: str = "veryfast",
    peak: float | None = None,
    model_repeat: int = 5,
    source: Path | None = None,
) -> BenchRow:
    """Frames per second of the whole restore pipeline for ``model`` on a bench backend variant.

    The same loaded backend is also timed alone (``model_repeat`` calls right before and right
    after the restore); ``extra`` carries that median and the restore's fps as a fraction of it,
    the figure that says what decode, colour conversion and encode cost. On a shared machine a
    model-only row measured minutes earlier can be 1.5x off; this one cannot drift as far.
    """
    from ..config import EncodeOptions, PipelineOptions
    from ..pipeline import RestoreJob, restore

    spec = get_spec(model)
    name, options = variant_options(variant, base)
    with tempfile.TemporaryDirectory(prefix="stream-restore-bench-") as tmp:
        def clip_of(name: str, count: int) -> Path:
            if source is not None:
                return scaled_clip(source, Path(tmp) / name, width, height, count)
            return make_clip(Path(tmp) / name, width, height, count)

        clip = clip_of("clip.mp4", frames)
        # the same footage, so the timed restore meets no colour description or size not yet compiled
        warm_clip = clip_of("warm.mp4", 3)
        backend = create_backend(spec, name, options).load()
        try:
            job = RestoreJob(
                model=model,
                backend=name,
                backend_options=options,
                encode=EncodeOptions(codec="h264", crf=18, preset=preset),
                pipeline=PipelineOptions(compile_colour="on"),
            )
            restore(warm_clip, Path(tmp) / "warm-out.mp4", job, backend=backend)  # compile before timing
            # the model alone right before and after the restore, so the ratio sees one machine state
            model_ms = time_backend(backend, width, height, 1, model_repeat)
            stats = restore(clip, Path(tmp) / "out.mp4", job, backend=backend)
            model_ms += time_backend(backend, width, height, 0, model_repeat)
        finally:
            backend.close()
    row = BenchRow(
        "e2e",
        model,
        variant,
        f"{width}x{height}",
        threads=torch.get_num_threads(),
        note=(
            f"restore: decode H.264 ({source.name if source else 'synthetic'}) -> {model} -> libx264 "
            f"{preset} "
            f"crf 18, {stats.frames_out} frames"
        ),
    )
    row.fps = stats.fps
    row.ms_per_frame = 1000.0 / stats.fps if stats.fps else None
    row.repeats = 1
    row.peak_gflops = peak
    shares = stats.shares()
    model_only_fps = 1000.0 / statistics.median(model_ms)
    row.extra = {f"{k}_share": round(v, 3) for k, v in shares.items()} | {
        "wall_s": round(stats.wall_seconds, 2),
        "model_only_fps": round(model_only_fps, 3),
        "of_model_only": round(stats.fps / model_only_fps, 3),
    }
    if row.ms_per_frame:
        row.gflop_per_frame = spec.gflop_per_megapixel() * width * height / 1e6
        row.achieved_gflops = row.gflop_per_frame / (row.ms_per_frame / 1000.0)
        if peak:
            row.fraction_of_peak = row.achieved_gflops / peak
    return row
