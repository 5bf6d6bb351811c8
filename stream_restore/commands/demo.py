"""``stream-restore demo [OUTPUT]``: the whole service in one command, for a first look.

Generates a short sample clip with audio (a procedural landscape with lettering, bricks, a fence
and grass, panning, as a camera ``scale`` times coarser than the original sees it; made with PyAV),
starts the gRPC server in-process on 127.0.0.1 with a free port, streams the clip through the
client with a learned model, writes the restored MP4 (fragmented, plays in any player) and stops
the server. Beside the video it writes ``OUTPUT-compare.png``: the first frame upscaled by bicubic
| the same frame restored, labelled with the PSNR of each against the original scene.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from pathlib import Path

from ..option_values import parse_size

__all__ = ["DEMO_MODEL", "add_arguments", "run"]

DEMO_MODEL = "sr-fast-x2"  # the fastest learned x2 model (about 0.14 s a 480x270 frame on 2 idle cores)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("output", nargs="?", default="restored-sample.mp4",
                        help="restored video (.mp4, .mkv or .ts; default ./restored-sample.mp4)")
    parser.add_argument("-m", "--model", default=DEMO_MODEL, help=f"model (default {DEMO_MODEL})")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of the sample clip (default 2)")
    parser.add_argument("--size", default="480x270", help="sample size WxH (default 480x270)")
    parser.add_argument("--keep-sample", help="also save the generated input clip here (.ts)")


def run(args: argparse.Namespace) -> int:
    from ..client import RestoreClient
    from ..media.compare import write_comparison
    from ..media.samples import write_sample_clip
    from ..media.scene import scene_frame, scene_original
    from ..models.registry import get_spec
    from ..pipeline.stages import Progress
    from ..server import ServerConfig
    from ..server.background import server_in_thread
    from ..v1 import restore_pb2 as pb
    from .progress import ProgressLine

    width, height = parse_size(args.size)
    scale = get_spec(args.model).scale
    output = Path(args.output)
    compare = output.with_name(f"{output.stem}-compare.png")
    say = sys.stderr.write
    with tempfile.TemporaryDirectory(prefix="stream-restore-demo-") as tmp:
        sample = Path(args.keep_sample) if args.keep_sample else Path(tmp) / "sample.ts"
        t0 = time.perf_counter()
        write_sample_clip(sample, width=width, height=height, frames=max(1, round(args.seconds * 25)),
                          pattern=functools.partial(scene_frame, scale=scale), crf=20)
        say(f"generated a {args.seconds:g} s {width}x{height} sample clip with audio "
            f"({sample.stat().st_size // 1024} KiB): a scene filmed {scale}x coarser than its original"
            f" in {time.perf_counter() - t0:.1f} s\n")
        config = ServerConfig(host="127.0.0.1", port=0, backend="torch", preload=(args.model,), max_streams=1)
        with server_in_thread(config) as server:
            address = f"127.0.0.1:{server.port}"
            say(f"server listening on {address} (model {args.model} loaded)\n")
            request = pb.RestoreConfig(model=pb.ModelOptions(model=args.model),
                                       output=pb.OutputOptions(preset="ultrafast"))
            bar = ProgressLine("restoring", enabled=sys.stderr.isatty())
            with RestoreClient(address) as client:
                try:
                    result = client.restore(
                        sample,
                        output,
                        request,
                        progress=lambda p: bar(
                            Progress(p.frames_done, p.frames_total or None, p.elapsed_seconds, p.fps)
                        ),
                    )
                finally:
                    bar.finish()
        say("server stopped\n")
        s, h = result.summary, result.header
        if s is None or h is None:
            say("the server sent no summary\n")
            return 1
        say(f"restored {s.frames_out} frames {h.input.width}x{h.input.height} -> "
            f"{h.output.width}x{h.output.height} "
            f"with {args.model} in {s.wall_seconds:.1f} s ({s.fps:.1f} fps), audio carried "
            f"({s.packets_copied} packets)\n"
            f"wrote {output} ({output.stat().st_size // 1024} KiB); play it with any player\n")
        reference = scene_original(0, width * scale, height * scale, scale=scale)
        shown = write_comparison(sample, output, compare, seconds=0.0, reference=reference,
                                 labels=(f"input, bicubic x{scale}", args.model))
    scores = (f": PSNR against the original scene {shown.psnr[0]:.2f} dB bicubic, "
              f"{shown.psnr[1]:.2f} dB {args.model}") if shown.psnr else ""
    say(f"wrote {compare} (first frame: input upscaled by bicubic | restored){scores}\n")
    return 0
