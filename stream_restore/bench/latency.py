"""Measure the service: live latency (frames paced at a fixed rate) and throughput against local restore.

    python -m stream_restore.bench.latency --model identity --model bicubic-x2
    python -m stream_restore.bench.latency --throughput --model bicubic-x2 --size 640x360

The server runs as a separate process (``stream-restore serve`` on a free loopback port), as it
would in production. **Latency**: the client encodes frames live (H.264, zerolatency) into MPEG-TS
and sends each frame's bytes as one chunk on a fixed cadence; the server restores with
``low_latency`` and writes MPEG-TS (x264 ultrafast/zerolatency, packets flushed one by one). The
latency of frame k is the time from sending its input chunk to receiving the output chunk that
starts its PES packet (output frames are matched to input frames in order). The first
``--warmup`` seconds (stream probing, first inference) are excluded. **Throughput**: the same clip
restored by the local ``restore()`` and through the server as fast as the client can send it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av

__all__ = ["LIVE_TS_OPTIONS", "main", "parse_pes_starts"]

LIVE_TS_OPTIONS = {"flush_packets": "1", "omit_video_pes_length": "0"}


def parse_pes_starts(data: bytes) -> tuple[list[int], bytes]:
    """PTS of every video PES that starts in ``data`` (188-byte TS packets); returns (pts list, leftover)."""
    starts: list[int] = []
    usable = len(data) - len(data) % 188
    for offset in range(0, usable, 188):
        packet = data[offset : offset + 188]
        if packet[0] != 0x47 or not packet[1] & 0x40:  # sync byte, payload_unit_start_indicator
            continue
        control = (packet[3] >> 4) & 3
        start = 4
        if control in (2, 3):
            start += 1 + packet[4]
        if control == 2 or start + 14 > 188:
            continue
        pes = packet[start:]
        if pes[:3] != b"\x00\x00\x01" or not 0xE0 <= pes[3] <= 0xEF or not pes[7] & 0x80:
            continue
        p = pes[9:14]
        pts = ((p[0] >> 1) & 7) << 30 | p[1] << 22 | (p[2] >> 1) << 15 | p[3] << 7 | p[4] >> 1
        starts.append(pts)
    return starts, data[usable:]


def _start_server(model: str, threads: int | None) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "stream_restore", "serve", "--port", "0", "--backend", "torch",
               "--preload", model]
    if threads:
        command += ["--threads", str(threads)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline() if process.stdout else ""
    if not line.startswith("listening on "):
        process.kill()
        raise RuntimeError(f"the server did not start: {line!r}")
    return process, line.split()[2]


def _live_chunks(width: int, height: int, fps: int, frames: int, sent: list[float]) -> Iterator[bytes]:
    """Encode and send frames on a fixed cadence; ``sent[k]`` is when frame k's chunk was handed over."""
    from ..client import ChunkCollector
    from ..media.samples import sample_frame

    sink = ChunkCollector()
    # Explicit PES lengths let the server's demuxer hand over each frame without waiting for the next.
    out = av.open(sink, "w", format="mpegts", options=LIVE_TS_OPTIONS)
    stream = out.add_stream(
        "libx264", rate=fps, options={"preset": "ultrafast", "tune": "zerolatency", "g": str(fps)}
    )
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    start = time.perf_counter() + 0.2
    for k in range(frames):
        frame = av.VideoFrame.from_ndarray(sample_frame(k, width, height), format="rgb24").reformat(
            format="yuv420p"
        )
        frame.pts, frame.time_base = k, Fraction(1, fps)
        out.mux(stream.encode(frame))
        due = start + k / fps
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent.append(time.perf_counter())
        yield sink.take()
    out.mux(stream.encode(None))
    out.close()
    yield sink.take()


def _model_ms(model: str, width: int, height: int, threads: int | None) -> float:
    """Median time of one inference of ``model`` on one frame of this size, in ms (this process)."""
    import torch

    from ..backends import BackendOptions, create_backend
    from ..models.registry import get_spec

    spec = get_spec(model)
    with create_backend(spec, "torch", BackendOptions(threads=threads)) as engine:
        x = torch.rand(1, spec.window, 3, height, width)
        state = engine.initial_state(1, height, width)
        times = []
        for _ in range(12):
            t0 = time.perf_counter()
            engine.infer(x, state)
            times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times[2:])


def measure_latency(model: str, width: int, height: int, fps: int, seconds: float, warmup: float,
                    threads: int | None) -> dict[str, float]:
    from ..client import RestoreClient
    from ..v1 import restore_pb2 as pb

    process, address = _start_server(model, threads)
    try:
        frames = int(seconds * fps)
        sent: list[float] = []
        received: list[float] = []
        config = pb.RestoreConfig(
            model=pb.ModelOptions(model=model),
            low_latency=True,
            progress_interval=1000000,
            output=pb.OutputOptions(
                container="mpegts", codec="libx264", preset="ultrafast", tune="zerolatency"
            ),
        )
        leftover = b""
        summary = pb.Summary()
        with RestoreClient(address) as client:
            for response in client.stream(
                config, _live_chunks(width, height, fps, frames, sent), timeout=seconds + 60
            ):
                if response.WhichOneof("kind") == "summary":
                    summary = response.summary
                if response.WhichOneof("kind") != "chunk":
                    continue
                now = time.perf_counter()
                starts, leftover = parse_pes_starts(leftover + response.chunk)
                received.extend(now for _ in starts)
    finally:
        process.terminate()
        process.wait(30)
    if len(received) != frames:
        raise RuntimeError(f"sent {frames} frames, received {len(received)}")
    skip = int(warmup * fps)
    latencies = sorted(1000 * (r - s) for s, r in zip(sent[skip:], received[skip:], strict=True))
    model_ms = _model_ms(model, width, height, threads)
    return {
        "frames": len(latencies),
        "first_ms": 1000 * (received[0] - sent[0]),
        "median_ms": statistics.median(latencies),
        "p95_ms": latencies[int(0.95 * (len(latencies) - 1))],
        "max_ms": latencies[-1],
        "model_ms": model_ms,
        "target_ms": 3 * 1000 / fps + model_ms,
        # server busy time per frame and stage (decode includes colour conversion to float RGB)
        "decode_ms": 1000 * summary.decode_seconds / frames,
        "infer_ms": 1000 * summary.infer_seconds / frames,
        "encode_ms": 1000 * summary.encode_seconds / frames,
    }


def measure_throughput(model: str, width: int, height: int, frames: int, rounds: int,
                       threads: int | None) -> dict[str, float]:
    from ..backends import BackendOptions
    from ..client import RestoreClient
    from ..config import EncodeOptions
    from ..media.samples import write_sample_clip
    from ..pipeline import RestoreJob, restore
    from ..v1 import restore_pb2 as pb

    with tempfile.TemporaryDirectory() as tmp:
        clip = write_sample_clip(
            Path(tmp) / "clip.ts", width=width, height=height, frames=frames, audio=False
        )
        job = RestoreJob(model=model, backend="torch", backend_options=BackendOptions(threads=threads),
                         encode=EncodeOptions(preset="veryfast"))
        config = pb.RestoreConfig(model=pb.ModelOptions(model=model),
                                  output=pb.OutputOptions(container="mpegts", preset="veryfast"))
        process, address = _start_server(model, threads)
        local, remote = [], []
        try:
            with RestoreClient(address) as client:
                client.restore(clip, Path(tmp) / "warm.ts", config)  # engine warm-up
                for _ in range(rounds):  # alternate, so background load hits both alike
                    t0 = time.perf_counter()
                    restore(clip, Path(tmp) / "local.ts", job)
                    local.append(frames / (time.perf_counter() - t0))
                    t0 = time.perf_counter()
                    client.restore(clip, Path(tmp) / "remote.ts", config)
                    remote.append(frames / (time.perf_counter() - t0))
        finally:
            process.terminate()
            process.wait(30)
    return {"local_fps": statistics.median(local), "remote_fps": statistics.median(remote),
            "ratio": statistics.median(remote) / statistics.median(local)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stream_restore.bench.latency", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--model", action="append", help="model(s) to measure (default identity and the "
                                                         "fastest learned)")
    parser.add_argument("--size", default="320x240", help="input frame size WxH (default 320x240)")
    parser.add_argument("--fps", type=int, default=30, help="live input rate (default 30)")
    parser.add_argument("--seconds", type=float, default=10.0, help="live input length (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds excluded at the start (default 2)")
    parser.add_argument("--threads", type=int, help="inference threads")
    parser.add_argument("--throughput", action="store_true", help="measure throughput instead of latency")
    parser.add_argument("--frames", type=int, default=120, help="throughput clip length (default 120)")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds (median reported)")
    args = parser.parse_args(argv)
    from ..models.registry import list_specs
    from ..option_values import parse_size

    names = {s.name for s in list_specs()}
    models = args.model or ["identity", "sr-fast-x2" if "sr-fast-x2" in names else "bicubic-x2"]
    width, height = parse_size(args.size)
    for model in models:
        if args.throughput:
            r = measure_throughput(model, width, height, args.frames, args.rounds, args.threads)
            print(f"{model:12s} {width}x{height} {args.frames} frames: local {r['local_fps']:.1f} fps, "
                  f"Restore {r['remote_fps']:.1f} fps ({100 * r['ratio']:.0f}% of local)", flush=True)
        else:
            r = measure_latency(model, width, height, args.fps, args.seconds, args.warmup, args.threads)
            print(f"{model:12s} {width}x{height} @ {args.fps} fps: median {r['median_ms']:.1f} ms, "
                  f"p95 {r['p95_ms']:.1f} ms, max {r['max_ms']:.1f} ms over {r['frames']:.0f} frames "
                  f"(first frame {r['first_ms']:.0f} ms; model {r['model_ms']:.1f} ms/frame; "
                  f"target {r['target_ms']:.1f} ms; server busy per frame: decode {r['decode_ms']:.1f}, "
                  f"infer {r['infer_ms']:.1f}, encode {r['encode_ms']:.1f} ms)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
