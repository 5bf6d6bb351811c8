"""Published reference tools timed on the same input as our models (reference rows of the bench).

* FFmpeg's own scaler (``scale`` filter, lanczos) through PyAV's filter graph: no learning, the
  speed ceiling for an upscaler in this process.
* SRVGGNetCompact, the compact network of Real-ESRGAN (``realesr-animevideov3``; BSD-3-Clause,
  github.com/xinntao/Real-ESRGAN, ``realesrgan/archs/srvgg_arch.py``): 64 channels, 16 body
  convolutions, PReLU, pixel-shuffle upsampling plus a nearest-neighbour skip. The ``realesrgan``
  package cannot be installed beside this torch build (it pulls basicsr and torchvision), so the
  architecture is rebuilt here from its published definition, layer for layer, with random
  weights: it measures speed only, never quality. It runs through our own backends (an
  unregistered :class:`ModelSpec`), i.e. on the same engines as our models.
"""

from __future__ import annotations

import statistics
import time
from fractions import Fraction

import torch
import torch.nn.functional as F
from torch import nn

from ..models.registry import ModelSpec, Task
from .models import BenchRow

__all__ = ["SRVGGNetCompact", "ffmpeg_scale_row", "srvgg_spec"]


class SRVGGNetCompact(nn.Module):
    """Real-ESRGAN's compact SR network: conv+PReLU stack at low resolution, one pixel shuffle."""

    def __init__(self, scale: int = 4, features: int = 64, convs: int = 16) -> None:
        super().__init__()
        self.scale = scale
        layers: list[nn.Module] = [nn.Conv2d(3, features, 3, 1, 1), nn.PReLU(features)]
        for _ in range(convs):
            layers += [nn.Conv2d(features, features, 3, 1, 1), nn.PReLU(features)]
        layers.append(nn.Conv2d(features, 3 * scale * scale, 3, 1, 1))
        self.body = nn.Sequential(*layers)
        self.upsampler = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        detail: torch.Tensor = self.upsampler(self.body(x))
        return detail + F.interpolate(x, scale_factor=self.scale, mode="nearest")


def _seeded_srvgg(scale: int) -> nn.Module:
    torch.manual_seed(0)  # random weights, but the same ones in every process (export caching)
    return SRVGGNetCompact(scale)


def srvgg_spec(scale: int = 4) -> ModelSpec:
    """An unregistered spec for the peer network, runnable on any of our backends."""
    return ModelSpec(
        name=f"peer-srvggnet-compact-x{scale}",
        task=Task.SUPER_RESOLUTION,
        scale=scale,
        builder=lambda: _seeded_srvgg(scale),
        description="Real-ESRGAN SRVGGNetCompact (64 ch, 16 conv, PReLU), random weights: speed only",
        receptive_field=18,
    )


def ffmpeg_scale_row(
    width: int, height: int, scale: int, *, frames: int = 30, repeat: int = 5, threads: int = 0
) -> BenchRow:
    """Milliseconds per frame of FFmpeg's lanczos scaler (yuv420p in and out) via PyAV's graph.

    Each repetition pushes ``frames`` frames through one graph; the median per-frame time of the
    repetitions is reported (the first repetition is a warm-up and not counted).
    """
    import av
    import av.filter
    import numpy as np

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    source = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
    times: list[float] = []
    for rep in range(repeat + 1):
        graph = av.filter.Graph()
        buffer = graph.add_buffer(width=width, height=height, format="yuv420p", time_base=Fraction(1, 25))  # type: ignore[arg-type]
        scaler = graph.add(
            "scale",
            f"w={width * scale}:h={height * scale}:flags=lanczos"
            + (f":threads={threads}" if threads else ""),
        )
        sink = graph.add("buffersink")
        buffer.link_to(scaler)
        scaler.link_to(sink)
        graph.configure()
        started = time.perf_counter()
        for i in range(frames):
            source.pts = i
            graph.push(source)
            out = graph.pull()
            if not isinstance(out, av.VideoFrame) or out.width != width * scale:
                raise RuntimeError("the FFmpeg scale graph returned an unexpected frame")
        if rep:
            times.append((time.perf_counter() - started) * 1e3 / frames)
    row = BenchRow(
        "peer",
        f"ffmpeg-lanczos-x{scale}",
        "pyav-filtergraph",
        f"{width}x{height}",
        note=f"FFmpeg {av.library_versions.get('libswscale', ('?',))} swscale lanczos, yuv420p, {frames} "
             "frames/rep",
    )
    row.ms_per_frame = statistics.median(times)
    row.ms_min, row.ms_max = min(times), max(times)
    row.repeats = len(times)
    row.fps = 1000.0 / row.ms_per_frame
    return row
