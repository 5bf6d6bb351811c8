"""Archive-job figures (docs/benchmarks.md, "Archive jobs"): a command that prints numbers, not a test.

    .venv/bin/python bench/jobs_overhead.py overhead [--seconds 180 --segment-seconds 60 --model bicubic-x2]
    .venv/bin/python bench/jobs_overhead.py warmup vsr-x2 [--frames 120 --warmups 0,1,2,4,8,16]
    .venv/bin/python bench/jobs_overhead.py workers [--seconds 40 --segment-seconds 5]

``overhead``: wall time of the local ``restore`` against a job (plan + segments + assembly) in one
worker on the same clip. ``warmup``: for each W, the PSNR of each warmed-up segment's first frames
against the sequential run (lossless FFV1, so only the model's state differs), and the flicker
(mean absolute frame-to-frame change) at the boundary against the sequential run's. ``workers``:
the same job with 1 and 2 local worker processes.
"""

from __future__ import annotations

import argparse
import math
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from stream_restore.backends import create_backend
from stream_restore.config import EncodeOptions, PipelineOptions
from stream_restore.jobs import Store, Worker, expand_inputs, submit
from stream_restore.jobs.executors import ExecutorOptions, LocalExecutor
from stream_restore.jobs.plan import plan_segments
from stream_restore.jobs.segment import run_segment
from stream_restore.media.samples import sample_frame
from stream_restore.media.segments import index_video
from stream_restore.models.registry import get_spec
from stream_restore.pipeline import RestoreJob, restore

REAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "video" / "butterfly.mp4"


def write_clip(
    path: Path, *, width: int, height: int, frames: int, fps: int, gop: int, source: Path | None = None
) -> Path:
    """The sample pattern (or ``source`` scaled down) as H.264 with a keyframe every ``gop`` frames."""
    with av.open(str(path), "w") as out:
        video = out.add_stream(
            "libx264",
            rate=fps,
            options={
                "preset": "veryfast",
                "crf": "18",
                "threads": "1",
                "g": str(gop),
                "keyint_min": str(gop),
                "sc_threshold": "0",
            },
        )
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        images = _frames(source, width, height, frames)
        for i, image in enumerate(images):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
    return path


def _frames(source: Path | None, width: int, height: int, frames: int) -> list[np.ndarray]:
    if source is None or not source.is_file():
        return [sample_frame(i, width, height) for i in range(frames)]
    with av.open(str(source)) as container:
        out = []
        for frame in container.decode(video=0):
            out.append(frame.reformat(width=width, height=height, format="rgb24").to_ndarray())
            if len(out) == frames:
                break
    return out


def _job(model: str, codec: str | None = None, preset: str | None = "ultrafast") -> RestoreJob:
    return RestoreJob(
        model=model,
        backend="torch",
        encode=EncodeOptions(codec=codec, preset=preset),
        pipeline=PipelineOptions(compile_colour="off"),
    )


def overhead(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="jobs-bench-"))
    try:
        frames = int(args.seconds * args.fps)
        clip = write_clip(
            work / "clip.mp4",
            width=args.width,
            height=args.height,
            frames=frames,
            fps=args.fps,
            gop=args.fps * 2,
        )
        job = _job(args.model)
        t0 = time.perf_counter()
        restore(clip, work / "sequential.mp4", job)
        sequential = time.perf_counter() - t0
        store = Store(work / "state")
        t0 = time.perf_counter()
        (job_id,) = submit(
            store, expand_inputs([str(clip)], work / "out"), job, segment_seconds=args.segment_seconds
        )
        planned = time.perf_counter() - t0
        Worker(store).run()
        segmented = time.perf_counter() - t0
        segments = len(store.segments(job_id))
        print(
            f"clip {args.width}x{args.height} {frames} frames ({args.seconds:g} s), model {args.model}, "
            f"{segments} segments of {args.segment_seconds:g} s"
        )
        print(f"sequential restore: {sequential:.2f} s ({frames / sequential:.1f} fps)")
        print(
            f"segmented job:      {segmented:.2f} s ({frames / segmented:.1f} fps; planning {planned:.2f} s)"
        )
        print(f"overhead: {100 * (segmented / sequential - 1):+.1f}%")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * math.log10(255**2 / mse)


def _flicker(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(b.astype(np.int16) - a.astype(np.int16)).mean())


def warmup(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="jobs-warmup-"))
    try:
        clip = write_clip(
            work / "clip.mp4",
            width=args.width,
            height=args.height,
            frames=args.frames,
            fps=30,
            gop=args.gop,
            source=None if args.synthetic else REAL,
        )
        spec = get_spec(args.model)
        job = replace(
            _job(args.model, "ffv1", None),
            pipeline=PipelineOptions(compile_colour="off", scene_detection=False),
        )
        restore(clip, work / "sequential.mkv", job)
        reference = _decode(work / "sequential.mkv")
        index = index_video(clip)
        engine = create_backend(spec, job.backend, job.backend_options)
        engine.load()
        print(
            f"{args.model}: {args.width}x{args.height}, {args.frames} frames of "
            f"{'the sample pattern' if args.synthetic else REAL.name}, "
            f"segments of {args.segment_seconds:g} s; "
            f"PSNR (dB) of each segment's first {args.span} frames against the sequential run"
        )
        print("W   min PSNR  mean PSNR  boundary flicker / sequential")
        for w in [int(x) for x in args.warmups.split(",")]:
            plan = plan_segments(index, spec, segment_seconds=args.segment_seconds, warmup=w)
            scores, ratios = [], []
            for row in plan.segments[1:]:
                start = index.pts.index(row.first_pts)
                span = min(args.span, row.frames)
                short = replace(row, last_pts=index.pts[start + span - 1], frames=span)
                path = work / f"seg-{w}-{row.index}.mkv"
                run_segment(clip, path, job, short, engine, container="matroska", keyframes=index.keyframes)
                ours = _decode(path)
                scores += [_psnr(x, y) for x, y in zip(ours, reference[start : start + span], strict=True)]
                before = reference[start - 1]
                ratios.append(_flicker(before, ours[0]) / max(_flicker(before, reference[start]), 1e-9))
            print(f"{w:<3} {min(scores):8.2f}  {statistics.mean(scores):9.2f}  {max(ratios):.3f}")
        engine.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def workers(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="jobs-workers-"))
    try:
        frames = int(args.seconds * args.fps)
        clip = write_clip(
            work / "clip.mp4", width=args.width, height=args.height, frames=frames, fps=args.fps, gop=args.fps
        )
        for count in (1, 2):
            store = Store(work / f"state{count}")
            ids = submit(
                store,
                expand_inputs([str(clip)], work / f"out{count}"),
                _job(args.model),
                segment_seconds=args.segment_seconds,
            )
            options = ExecutorOptions(work / f"state{count}", devices=("cpu",) * count, threads=args.threads)
            t0 = time.perf_counter()
            LocalExecutor(options).run(store, ids)
            took = time.perf_counter() - t0
            print(
                f"{count} worker(s): {took:.2f} s ({frames / took:.1f} fps), "
                f"{len(store.segments(ids[0]))} segments, {store.job(ids[0]).state}"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    o = sub.add_parser("overhead")
    o.add_argument("--seconds", type=float, default=180.0)
    o.add_argument("--segment-seconds", type=float, default=60.0)
    w = sub.add_parser("warmup")
    w.add_argument("model")
    w.add_argument("--frames", type=int, default=150)
    w.add_argument("--gop", type=int, default=10)
    w.add_argument("--segment-seconds", type=float, default=1.0)
    w.add_argument("--span", type=int, default=8, help="frames compared after each boundary")
    w.add_argument("--warmups", default="0,1,2,4,8,16,32")
    w.add_argument("--synthetic", action="store_true", help="the sample pattern instead of real footage")
    k = sub.add_parser("workers")
    k.add_argument("--seconds", type=float, default=40.0)
    k.add_argument("--segment-seconds", type=float, default=5.0)
    k.add_argument("--threads", type=int, help="torch threads per worker")
    for p, model, size in (
        (o, "bicubic-x2", (320, 180)),
        (w, None, (192, 108)),
        (k, "sr-fast-x2", (320, 180)),
    ):
        if model:
            p.add_argument("--model", default=model)
        p.add_argument("--width", type=int, default=size[0])
        p.add_argument("--height", type=int, default=size[1])
        p.add_argument("--fps", type=int, default=25)
    args = parser.parse_args(argv)
    {"overhead": overhead, "warmup": warmup, "workers": workers}[args.what](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
