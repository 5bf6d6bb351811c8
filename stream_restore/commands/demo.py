"""``stream-restore demo [OUTPUT]``: the whole service in one command, for a first look.

Generates a short sample clip with audio (a moving colour pattern and a tone, made with PyAV),
starts the gRPC server in-process on 127.0.0.1 with a free port, streams the clip through the
client, writes the restored MP4 (fragmented, plays in any player) and stops the server.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..option_values import DEFAULT_MODEL, parse_size

__all__ = ["add_arguments", "make_sample", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("output", nargs="?", default="restored-sample.mp4",
                        help="restored video (.mp4, .mkv or .ts; default ./restored-sample.mp4)")
    parser.add_argument("-m", "--model", default=DEFAULT_MODEL, help=f"model (default {DEFAULT_MODEL})")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of the sample clip (default 3)")
    parser.add_argument("--size", default="640x360", help="sample size WxH (default 640x360)")
    parser.add_argument("--keep-sample", help="also save the generated input clip here (.ts)")


def _frame(index: int, width: int, height: int) -> np.ndarray:
    """A moving pattern: drifting gradients, a bouncing square and thin lines (detail to restore)."""
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


def make_sample(path: Path, *, seconds: float = 3.0, width: int = 640, height: int = 360, fps: int = 25) -> Path:
    """Write an MPEG-TS sample clip: H.264 video with a moving pattern and an AAC tone."""
    with av.open(str(path), "w", format="mpegts") as out:
        video = out.add_stream("libx264", rate=fps, options={"preset": "veryfast", "crf": "23"})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = out.add_stream("aac", rate=48000)
        audio.codec_context.layout = "stereo"
        frames = max(1, round(seconds * fps))
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(_frame(i, width, height), format="rgb24").reformat(format="yuv420p")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        rate, step, total = 48000, audio.codec_context.frame_size or 1024, int(seconds * 48000)
        for start in range(0, total, step):
            n = min(step, total - start)
            t = np.arange(start, start + n) / rate
            tone = (0.2 * np.sin(2 * math.pi * (330 + 110 * (t // 1)) * t)).astype(np.float32)
            af = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
            af.sample_rate, af.pts, af.time_base = rate, start, Fraction(1, rate)
            out.mux(audio.encode(af))
        out.mux(audio.encode(None))
    return path


def run(args: argparse.Namespace) -> int:
    from ..client import RestoreClient
    from ..pipeline.runner import Progress
    from ..server import ServerConfig
    from ..server.background import server_in_thread
    from ..v1 import restore_pb2 as pb
    from .progress import ProgressLine

    width, height = parse_size(args.size)
    output = Path(args.output)
    say = sys.stderr.write
    with tempfile.TemporaryDirectory(prefix="stream-restore-demo-") as tmp:
        sample = Path(args.keep_sample) if args.keep_sample else Path(tmp) / "sample.ts"
        t0 = time.perf_counter()
        make_sample(sample, seconds=args.seconds, width=width, height=height)
        say(f"generated a {args.seconds:g} s {width}x{height} sample clip with audio ({sample.stat().st_size // 1024} KiB)"
            f" in {time.perf_counter() - t0:.1f} s\n")
        config = ServerConfig(host="127.0.0.1", port=0, backend="torch", preload=(args.model,), max_streams=1)
        with server_in_thread(config) as server:
            address = f"127.0.0.1:{server.port}"
            say(f"server listening on {address} (model {args.model} loaded)\n")
            request = pb.RestoreConfig(model=pb.ModelOptions(model=args.model),
                                       output=pb.OutputOptions(preset="veryfast"))
            bar = ProgressLine("restoring", enabled=sys.stderr.isatty())
            with RestoreClient(address) as client:
                try:
                    result = client.restore(
                        sample, output, request,
                        progress=lambda p: bar(Progress(p.frames_done, p.frames_total or None, p.elapsed_seconds, p.fps)),
                    )
                finally:
                    bar.finish()
        say("server stopped\n")
    s, h = result.summary, result.header
    if s is None or h is None:
        say("the server sent no summary\n")
        return 1
    say(f"restored {s.frames_out} frames {h.input.width}x{h.input.height} -> {h.output.width}x{h.output.height} "
        f"with {args.model} in {s.wall_seconds:.1f} s ({s.fps:.1f} fps), audio carried "
        f"({s.packets_copied} packets)\nwrote {output} ({output.stat().st_size // 1024} KiB); play it with any player\n")
    return 0
