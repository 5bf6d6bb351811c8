"""``stream-restore demo [OUTPUT]``: the whole service in one command, for a first look.

Generates a short sample clip with audio (a moving colour pattern and a tone, made with PyAV),
starts the gRPC server in-process on 127.0.0.1 with a free port, streams the clip through the
client, writes the restored MP4 (fragmented, plays in any player) and stops the server.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from ..media.samples import write_sample_clip
from ..option_values import DEFAULT_MODEL, parse_size

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("output", nargs="?", default="restored-sample.mp4",
                        help="restored video (.mp4, .mkv or .ts; default ./restored-sample.mp4)")
    parser.add_argument("-m", "--model", default=DEFAULT_MODEL, help=f"model (default {DEFAULT_MODEL})")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of the sample clip (default 3)")
    parser.add_argument("--size", default="640x360", help="sample size WxH (default 640x360)")
    parser.add_argument("--keep-sample", help="also save the generated input clip here (.ts)")


def run(args: argparse.Namespace) -> int:
    from ..client import RestoreClient
    from ..pipeline.stages import Progress
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
        write_sample_clip(sample, width=width, height=height, frames=max(1, round(args.seconds * 25)))
        say(f"generated a {args.seconds:g} s {width}x{height} sample clip with audio "
            f"({sample.stat().st_size // 1024} KiB)"
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
        f"({s.packets_copied} packets)\nwrote {output} ({output.stat().st_size // 1024} KiB); play it with "
        "any player\n")
    return 0
