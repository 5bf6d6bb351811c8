"""Shared fixtures: every test medium is generated here with PyAV; nothing is downloaded."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def pytest_configure(config: pytest.Config) -> None:
    """The user's own model directory and caches stay out of the tests: commands see empty ones."""
    import os
    import tempfile

    os.environ["STREAM_RESTORE_MODELS_DIR"] = tempfile.mkdtemp(prefix="stream-restore-test-models-")
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="stream-restore-test-cache-")  # engines, timings


def pattern(index: int, width: int, height: int) -> np.ndarray:
    """A moving colour pattern (H, W, 3) uint8: gradients plus a bright square, distinct per frame."""
    y, x = np.mgrid[0:height, 0:width]
    r = (x * 255 // max(width - 1, 1) + 3 * index) % 256
    g = (y * 255 // max(height - 1, 1) + 5 * index) % 256
    b = ((x + y) * 2 + 7 * index) % 256
    img = np.stack([r, g, b], axis=-1).astype(np.uint8)
    s = max(2, min(width, height) // 4)
    ox = (index * 3) % max(width - s, 1)
    img[height // 3 : height // 3 + s, ox : ox + s] = 235
    return img


@dataclass
class ClipSpec:
    frames: int = 12
    width: int = 64
    height: int = 48
    fps: int = 25
    codec: str = "libx264"
    pix_fmt: str = "yuv420p"
    audio: tuple[str, ...] = ()  # encoder names: "aac", "libopus"
    subtitles: bool = False
    vfr: bool = False  # irregular frame intervals
    flat: tuple[int, int, int] | None = None  # fill Y, Cb, Cr code values instead of a pattern
    options: dict[str, str] = field(default_factory=dict)
    container_options: dict[str, str] = field(default_factory=dict)  # muxer options (movflags, ...)


def frame_pts(spec: ClipSpec) -> list[int]:
    """Presentation timestamps in 1/1000 s for the clip's frames."""
    if not spec.vfr:
        return [round(i * 1000 / spec.fps) for i in range(spec.frames)]
    steps = [33, 17, 50, 33, 100, 17]  # a camera-phone-like irregular cadence
    pts, t = [], 0
    for i in range(spec.frames):
        pts.append(t)
        t += steps[i % len(steps)]
    return pts


_SUBTITLE_CODECS = {".mp4": "mov_text", ".mov": "mov_text", ".webm": "webvtt"}  # else subrip


def make_clip(path: Path, spec: ClipSpec | None = None, **overrides: object) -> Path:
    """Write a clip with PyAV: video (+ audio streams, + a subtitle stream) in path's container."""
    spec = spec or ClipSpec()
    for key, value in overrides.items():
        setattr(spec, key, value)
    out = av.open(str(path), "w", options=dict(spec.container_options))
    v = out.add_stream(spec.codec, rate=spec.fps, options=dict(spec.options))
    v.width, v.height, v.pix_fmt = spec.width, spec.height, spec.pix_fmt
    v.codec_context.time_base = Fraction(1, 1000)
    v.time_base = Fraction(1, 1000)
    v.codec_context.colorspace = 1
    v.codec_context.color_range = 1
    audio_streams = []
    for name in spec.audio:
        a = out.add_stream(name, rate=48000)
        a.codec_context.layout = "stereo"
        audio_streams.append(a)
    sub = None
    if spec.subtitles:
        sub = out.add_mux_stream(_SUBTITLE_CODECS.get(path.suffix, "subrip"))
        sub.time_base = Fraction(1, 1000)
    pts_list = frame_pts(spec)
    for i, pts in enumerate(pts_list):
        if spec.flat is not None:
            frame = av.VideoFrame(spec.width, spec.height, spec.pix_fmt)
            dtype = np.uint16 if "10" in spec.pix_fmt else np.uint8
            for plane, value in zip(frame.planes, spec.flat, strict=False):
                arr = np.frombuffer(plane, dtype=dtype)
                arr[:] = value
        else:
            frame = av.VideoFrame.from_ndarray(pattern(i, spec.width, spec.height), format="rgb24")
            frame = frame.reformat(format=spec.pix_fmt, dst_colorspace=av.video.reformatter.Colorspace.ITU709)
        frame.pts = pts
        frame.time_base = Fraction(1, 1000)
        frame.colorspace = 1
        frame.color_range = 1
        out.mux(v.encode(frame))
    out.mux(v.encode(None))
    duration = (pts_list[-1] + (1000 // spec.fps)) / 1000
    for a in audio_streams:
        rate = 48000
        samples_per_frame = a.codec_context.frame_size or 960
        total = int(duration * rate)
        t0 = 0
        while t0 < total:
            n = min(samples_per_frame, total - t0)
            tone = np.sin(2 * math.pi * 440 * (np.arange(t0, t0 + n) / rate)).astype(np.float32) * 0.2
            fmt = a.codec_context.format.name
            if fmt.endswith("p"):
                data = np.stack([tone, tone])
            else:
                data = np.stack([tone, tone], axis=-1).reshape(1, -1)
            if fmt.startswith("s16"):
                data = (data * 32767).astype(np.int16)
            af = av.AudioFrame.from_ndarray(data, format=fmt, layout="stereo")
            af.sample_rate = rate
            af.pts = t0
            af.time_base = Fraction(1, rate)
            out.mux(a.encode(af))
            t0 += n
        out.mux(a.encode(None))
    if sub is not None:
        for k, start in enumerate(range(0, int(duration * 1000) - 100, 200)):
            text = f"line {k}".encode()
            payload = struct.pack(">H", len(text)) + text if path.suffix in (".mp4", ".mov") else text
            packet = av.Packet(payload)
            packet.pts = packet.dts = start
            packet.duration = 150
            packet.time_base = Fraction(1, 1000)
            packet.stream = sub
            out.mux(packet)
    out.close()
    return path


_IMAGE_ENCODERS = {".png": ("png", "rgb24"), ".jpg": ("mjpeg", "yuvj420p"), ".jpeg": ("mjpeg", "yuvj420p"),
                   ".webp": ("libwebp", "yuv420p"), ".bmp": ("bmp", "bgr24")}


def make_image(
    path: Path, width: int = 64, height: int = 48, *, index: int = 0, pix_fmt: str | None = None
) -> Path:
    """Write one still image (PNG, JPEG, WebP or BMP, by path's suffix) of the test pattern with PyAV."""
    codec_name, default_fmt = _IMAGE_ENCODERS[path.suffix.lower()]
    codec = av.CodecContext.create(codec_name, "w")
    codec.width, codec.height = width, height
    codec.pix_fmt = pix_fmt or default_fmt
    codec.time_base = Fraction(1, 25)
    frame = av.VideoFrame.from_ndarray(pattern(index, width, height), format="rgb24").reformat(
        format=codec.pix_fmt
    )
    frame.pts = 0
    packets = [*codec.encode(frame), *codec.encode(None)]
    path.write_bytes(b"".join(bytes(p) for p in packets))
    return path


def decode_video(path: Path) -> tuple[list[np.ndarray], list[int], Fraction, av.VideoFormat]:
    """All frames of a file as RGB24 arrays (via our colour conversion), their pts and time base."""
    from stream_restore.media.convert import frame_to_tensor

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        frames, pts = [], []
        fmt = None
        for f in c.decode(s):
            fmt = f.format
            frames.append(
                (frame_to_tensor(f).permute(1, 2, 0).numpy() * 255).round().clip(0, 255).astype(np.uint8)
            )
            pts.append(f.pts)
        return frames, pts, s.time_base, fmt  # type: ignore[return-value]


def stream_summary(path: Path) -> list[tuple[str, str, int, float]]:
    """(type, codec, packet count, duration in s) per stream, from demuxing the file."""
    with av.open(str(path)) as c:
        counts = {s.index: 0 for s in c.streams}
        first: dict[int, float] = {}
        last: dict[int, float] = {}
        for p in c.demux():
            if p.size == 0 or p.pts is None:
                continue
            counts[p.stream.index] += 1
            t = float(p.pts * p.time_base)
            end = t + float((p.duration or 0) * p.time_base)
            first[p.stream.index] = min(first.get(p.stream.index, t), t)
            last[p.stream.index] = max(last.get(p.stream.index, end), end)
        return [
            (s.type, s.codec_context.name, counts[s.index], last.get(s.index, 0) - first.get(s.index, 0))
            for s in c.streams
        ]


def remux_without(src: Path, dst: Path, drop: range) -> None:
    """Copy the video packets of src into dst except those at the given demux positions."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = inp.streams.video[0]
        target = out.add_stream_from_template(stream)
        for index, packet in enumerate(p for p in inp.demux(stream) if p.size):
            if index not in drop:
                packet.stream = target
                out.mux(packet)


@pytest.fixture
def clip(tmp_path: Path):
    """Factory: ``clip("name.mkv", **ClipSpec fields)`` writes a generated clip and returns its path."""

    def factory(name: str = "in.mkv", **kwargs: object) -> Path:
        return make_clip(tmp_path / name, ClipSpec(**kwargs))  # type: ignore[arg-type]

    return factory


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is missing")
    return SHARED_DATA


@pytest.fixture(autouse=True, scope="session")
def _hermetic_working_directory(tmp_path_factory: pytest.TempPathFactory):
    """Run the suite from a scratch folder: caches the backends write under the working directory
    (``engines/cache``: ONNX exports, the auto backend's timings) stay out of the checkout."""
    import os

    previous = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    try:
        yield
    finally:
        os.chdir(previous)


@pytest.fixture(autouse=True)
def _seeded_torch():
    """Every test starts from the same torch seed: a test that draws unseeded random tensors gets the
    same ones on every run, so a failure on CI is a failure here too."""
    import torch

    torch.manual_seed(0)
