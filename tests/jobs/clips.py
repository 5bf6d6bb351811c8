"""Small clips for the archive-job tests: short GOPs (several segments in a few seconds) through the
suite's own clip writer, and a clip with a hard cut on a forced keyframe."""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from stream_restore.media.samples import sample_frame

from ..conftest import ClipSpec, make_clip

# x264 with one thread and a fixed GOP (no scene-cut keyframes): the same bytes on every machine.
GOP_OPTIONS = {
    "preset": "veryfast",
    "crf": "20",
    "threads": "1",
    "g": "10",
    "keyint_min": "10",
    "sc_threshold": "0",
}


def gop_clip(path: Path, **overrides: object) -> Path:
    """160x96, 20 fps, a keyframe every 10 frames (0.5 s), 60 frames unless overridden."""
    spec = ClipSpec(frames=60, width=160, height=96, fps=20, options=dict(GOP_OPTIONS))
    return make_clip(path, spec, **overrides)


def cut_clip(path: Path, *, frames: int = 80, cut: int = 43, fps: int = 20) -> Path:
    """The sample pattern, then another scene from frame ``cut`` on (a forced keyframe there)."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps, options=dict(GOP_OPTIONS))
        video.width, video.height, video.pix_fmt = 160, 96, "yuv420p"
        for i in range(frames):
            image = sample_frame(i, 160, 96)
            if i >= cut:
                image = (255 - sample_frame(i + 500, 160, 96)) // 3
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            if i == cut:
                frame.pict_type = av.video.frame.PictureType.I
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
    return path


def video_packets(path: Path) -> list[tuple[int | None, int | None, bytes]]:
    """(pts, dts, bytes) of every video packet, in file order."""
    with av.open(str(path)) as container:
        return [(p.pts, p.dts, bytes(p)) for p in container.demux(container.streams.video[0]) if p.size]


def stream_packets(path: Path) -> list[tuple[str, list[tuple[int | None, int]]]]:
    """Per stream: its type and the (pts, size) of each packet, for comparing two files."""
    with av.open(str(path)) as container:
        result: dict[int, list[tuple[int | None, int]]] = {s.index: [] for s in container.streams}
        kinds = {s.index: s.type for s in container.streams}
        for packet in container.demux():
            if packet.size:
                result[packet.stream.index].append((packet.pts, packet.size))
    return [(kinds[i], result[i]) for i in sorted(result)]


def frame_arrays(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def psnr(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> list[float]:
    """Per-frame PSNR in dB (99 for identical frames)."""
    out = []
    for x, y in zip(a, b, strict=True):
        mse = float(np.mean((x.astype(np.float64) - y.astype(np.float64)) ** 2))
        out.append(99.0 if mse == 0 else 10 * math.log10(255**2 / mse))
    return out
