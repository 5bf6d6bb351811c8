"""Server memory under the largest RestoreImage calls the configuration allows (and image bombs).

    python -m stream_restore.bench.image_memory                 # the default limits
    python -m stream_restore.bench.image_memory -- --max-image-pixels 1048576   # flags for serve

Starts ``stream-restore serve`` on a free loopback port, sends all-zero PNGs (tiny files, large
pictures: the decompression-bomb shape) of each case below, ``--calls`` at once, and prints the
server's RSS at start, the peak during the case and after it, with what each call returned.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
import time

import av
import grpc
import numpy as np

from ..client import RestoreClient
from ..v1 import restore_pb2 as pb

__all__ = ["main", "zero_png"]

# (model, width, height): a bomb over the input limit, one over the output limit, the largest
# pictures the defaults accept at scales 1, 2 and 4.
CASES = (("identity", 8192, 4352), ("bicubic-x2", 4096, 4096), ("identity", 4096, 4096),
         ("bicubic-x2", 2048, 2048), ("sr-compact-x4", 1024, 1024))


def zero_png(width: int, height: int) -> bytes:
    """An all-zero RGB PNG: a few KB for millions of pixels."""
    codec = av.CodecContext.create("png", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "rgb24"
    frame = av.VideoFrame.from_ndarray(np.zeros((height, width, 3), np.uint8), format="rgb24")
    return b"".join(bytes(p) for p in [*codec.encode(frame), *codec.encode(None)])


def main(argv: list[str] | None = None) -> int:
    import psutil

    parser = argparse.ArgumentParser(prog="python -m stream_restore.bench.image_memory")
    parser.add_argument("--calls", type=int, default=2, help="concurrent calls per case (default 2 = "
                                                             "max_images)")
    parser.add_argument("serve_flags", nargs="*", help="extra flags for stream-restore serve (after --)")
    args = parser.parse_args(argv)
    message = 64 << 20
    server = subprocess.Popen(
        [sys.executable, "-m", "stream_restore", "serve", "--port", "0", "--backend", "torch",
         "--max-message-bytes", str(message), *args.serve_flags],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        address = server.stdout.readline().split()[2]  # type: ignore[union-attr]
        process = psutil.Process(server.pid)
        mib = 1 << 20
        print(f"server start: {process.memory_info().rss // mib} MiB")
        for model, width, height in CASES:
            data = zero_png(width, height)
            outcomes: list[str] = []

            def call(data: bytes = data, model: str = model, outcomes: list[str] = outcomes) -> None:
                with RestoreClient(address, max_message_bytes=message) as client:
                    request = pb.ImageRequest(image=data, model=pb.ModelOptions(model=model))
                    try:
                        reply = client.stub.RestoreImage(request, timeout=900)
                        outcomes.append(f"{reply.width}x{reply.height}")
                    except grpc.RpcError as exc:
                        outcomes.append(exc.code().name)

            threads = [threading.Thread(target=call) for _ in range(args.calls)]
            peak, start = 0, time.perf_counter()
            for thread in threads:
                thread.start()
            while any(t.is_alive() for t in threads):
                peak = max(peak, process.memory_info().rss)
                time.sleep(0.05)
            print(f"{model:>14} {width}x{height} ({len(data) // 1024} KiB PNG) x{args.calls}: peak "
                  f"{peak // mib} MiB, "
                  f"after {process.memory_info().rss // mib} MiB, {time.perf_counter() - start:.1f} s: "
                  f"{', '.join(sorted(outcomes))}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
