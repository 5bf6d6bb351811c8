"""End-to-end ``restore`` throughput on a generated clip, with the share of decode, model, encode.

The clip is generated with PyAV (moving gradients and noise, H.264). Before the clock starts, the
backend is loaded and a 3-frame clip is restored, so export and compile times (model and colour
kernels) are not counted; then :func:`stream_restore.pipeline.restore` runs decode -> infer ->
encode into an MP4. The rows measure the steady state of a long video, so colour conversion is
compiled as ``--compile-colour auto`` does for inputs of 500+ frames.
"""

from __future__ import annotations

import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from ..backends import BackendOptions, create_backend
from ..models.registry import get_spec
from .models import BenchRow, variant_options

__all__ = ["e2e_row", "make_clip"]


def make_clip(path: Path, width: int, height: int, frames: int, fps: int = 25) -> Path:
    """Write a synthetic H.264 clip (moving colour gradients plus noise) of the given size."""
    import av

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "18", "preset": "ultrafast"}
        stream.time_base = Fraction(1, fps)
        for i in range(frames):
            r = 127 + 100 * np.sin((xx + 4 * i) / 37.0)
            g = 127 + 100 * np.cos((yy - 3 * i) / 23.0)
            b = 127 + 60 * np.sin((xx + yy + 5 * i) / 51.0)
            image = np.stack([r, g, b], axis=-1) + rng.normal(0, 6, (height, width, 3))
            frame = av.VideoFrame.from_ndarray(np.clip(image, 0, 255).astype(np.uint8), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():  # flush the encoder
            container.mux(packet)
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
) -> BenchRow:
    """Frames per second of the whole restore pipeline for ``model`` on a bench backend variant."""
    from ..config import EncodeOptions, PipelineOptions
    from ..pipeline import RestoreJob, restore

    spec = get_spec(model)
    name, options = variant_options(variant, base)
    with tempfile.TemporaryDirectory(prefix="stream-restore-bench-") as tmp:
        clip = make_clip(Path(tmp) / "clip.mp4", width, height, frames)
        warm_clip = make_clip(Path(tmp) / "warm.mp4", width, height, 3)
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
            stats = restore(clip, Path(tmp) / "out.mp4", job, backend=backend)
        finally:
            backend.close()
    row = BenchRow(
        "e2e",
        model,
        variant,
        f"{width}x{height}",
        threads=torch.get_num_threads(),
        note=f"restore: decode H.264 -> {model} -> libx264 {preset} crf 18, {stats.frames_out} frames",
    )
    row.fps = stats.fps
    row.ms_per_frame = 1000.0 / stats.fps if stats.fps else None
    row.repeats = 1
    row.peak_gflops = peak
    shares = stats.shares()
    row.extra = {f"{k}_share": round(v, 3) for k, v in shares.items()} | {
        "wall_s": round(stats.wall_seconds, 2)
    }
    if row.ms_per_frame:
        row.gflop_per_frame = spec.gflop_per_megapixel() * width * height / 1e6
        row.achieved_gflops = row.gflop_per_frame / (row.ms_per_frame / 1000.0)
        if peak:
            row.fraction_of_peak = row.achieved_gflops / peak
    return row
