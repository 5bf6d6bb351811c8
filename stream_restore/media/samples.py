"""Synthetic sample clips for the demo and the benchmarks: a moving pattern with detail to restore.

One generator, so that ``stream-restore demo``, the soak and the latency benchmarks feed the same
kind of footage: drifting gradients, a checkerboard, a bouncing square and a thin moving line,
H.264 in MPEG-TS (one encoder thread: the same bytes on every machine), optionally with an AAC
tone. Generated in memory with PyAV; nothing is downloaded.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

__all__ = ["sample_frame", "write_sample_clip"]


def sample_frame(index: int, width: int, height: int) -> np.ndarray:
    """Frame ``index`` of the pattern as ``(height, width, 3)`` uint8 RGB."""
    y, x = np.mgrid[0:height, 0:width]
    r = (x * 255 // max(width - 1, 1) + 4 * index) % 256
    g = (y * 255 // max(height - 1, 1) + 2 * index) % 256
    b = (((x // 8 + y // 8) % 2) * 160 + 40 + index) % 256
    img = np.stack([r, g, b], axis=-1).astype(np.uint8)
    side = max(4, min(width, height) // 5)
    ox = int((width - side) * (0.5 + 0.5 * math.sin(index / 9)))
    oy = int((height - side) * (0.5 + 0.5 * math.cos(index / 13)))
    img[oy : oy + side, ox : ox + side] = (250, 250, 240)
    img[:, (index * 5) % width] = 0
    return img


def write_sample_clip(
    path: Path,
    *,
    width: int,
    height: int,
    frames: int,
    fps: int = 25,
    audio: bool = True,
    pattern: Callable[[int, int, int], np.ndarray] = sample_frame,
    crf: int = 23,
) -> Path:
    """Write ``frames`` frames of ``pattern`` (index, width, height -> RGB uint8; default the moving
    pattern) as H.264 (CRF ``crf``) in MPEG-TS, with a stereo AAC tone of the same duration (330 Hz,
    a step up each second) unless ``audio`` is False."""
    with av.open(str(path), "w", format="mpegts") as out:
        video = out.add_stream(
            "libx264", rate=fps, options={"preset": "veryfast", "crf": str(crf), "threads": "1"}
        )
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        tone_stream = out.add_stream("aac", rate=48000) if audio else None
        if tone_stream is not None:
            tone_stream.codec_context.layout = "stereo"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(pattern(i, width, height), format="rgb24").reformat(
                format="yuv420p"
            )
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if tone_stream is not None:
            _write_tone(out, tone_stream, frames / fps)
    return path


def _write_tone(
    out: av.container.OutputContainer, stream: av.audio.stream.AudioStream, seconds: float
) -> None:
    rate, total = 48000, round(seconds * 48000)
    step = stream.codec_context.frame_size or 1024
    for start in range(0, total, step):
        t = np.arange(start, min(start + step, total)) / rate
        tone = (0.2 * np.sin(2 * math.pi * (330 + 110 * (t // 1)) * t)).astype(np.float32)
        samples = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
        samples.sample_rate, samples.pts, samples.time_base = rate, start, Fraction(1, rate)
        out.mux(stream.encode(samples))
    out.mux(stream.encode(None))
