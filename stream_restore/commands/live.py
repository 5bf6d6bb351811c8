"""``stream-restore live SOURCE OUTPUT...``: restore a live feed in real time and publish it.

SOURCE is a live URL (``rtsp://``, ``rtmp://``, ``http(s)://`` incl. HLS, ``udp://``, ``rtp://``,
``srt://``, ``tcp://``) or a local file, played at its own pace. Each OUTPUT is a URL (``rtsp://``
push, ``rtmp://``, ``udp://`` or ``rtp://`` MPEG-TS), a ``.m3u8`` path (HLS segments beside it) or a
recording path (``.mkv``, ``.ts``, ``.mp4``; cut every ``--segment-seconds``). A status line shows
input and output frame rates, dropped frames, reconnects and latency. Ctrl-C or SIGTERM ends the
session cleanly (outputs get their trailers, HLS playlists their end) and exits 0 after a summary.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigError
from ..paths import cache_dir as user_cache_dir
from .progress import ProgressLine

__all__ = ["add_arguments", "run", "status_text"]

_STATUS_HZ = 2.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="live URL (rtsp://, rtmp://, http://, udp://, ...) or a local file")
    parser.add_argument("outputs", nargs="+", metavar="OUTPUT",
                        help="rtsp://, rtmp://, udp://, rtp:// URL, a .m3u8 path (HLS) or a recording "
                             "(.mkv, .ts, .mp4)")
    parser.add_argument("-m", "--model", default="identity", help="model name (default identity)")
    parser.add_argument("--backend", default="auto", help="auto, torch, onnxruntime or tensorrt")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    parser.add_argument("--threads", type=int, help="CPU inference threads")
    parser.add_argument("--cache-dir", help="ONNX exports and TensorRT engines (default: the user cache "
                                            "folder's engines/, e.g. ~/.cache/stream-restore/engines)")
    policy = parser.add_mutually_exclusive_group()
    policy.add_argument("--drop", dest="policy", action="store_const", const="drop",
                        help="drop frames to keep latency under --max-latency (default)")
    policy.add_argument("--block", dest="policy", action="store_const", const="block",
                        help="never drop a frame (recording); latency grows when restoration is slower")
    parser.set_defaults(policy="drop")
    parser.add_argument("--max-latency", type=float, default=1000.0, metavar="MS",
                        help="latency bound with --drop, packet receipt to output, ms (default 1000)")
    ingest = parser.add_argument_group("source")
    ingest.add_argument("--transport", choices=["tcp", "udp"], default="tcp", help="RTSP transport (default "
                                                                                   "tcp)")
    ingest.add_argument("--stall-timeout", type=float, default=5.0, metavar="S",
                        help="seconds without a packet before the source counts as lost (default 5)")
    ingest.add_argument("--open-timeout", type=float, default=10.0, metavar="S",
                        help="seconds one connection attempt may take (default 10)")
    ingest.add_argument("--backoff-max", type=float, default=8.0, metavar="S",
                        help="longest wait between reconnect attempts (default 8)")
    enc = parser.add_argument_group("encoding (one encode for every output)")
    enc.add_argument("--codec", default="", help="encoder (default libx264, tune zerolatency)")
    enc.add_argument("--crf", type=int, help="constant quality")
    enc.add_argument("--bitrate", help="target bitrate, e.g. 4M")
    enc.add_argument("--preset", default="", help="encoder speed preset (default veryfast)")
    enc.add_argument("--gop", type=int, help="keyframe interval in frames (default: one second)")
    enc.add_argument("--segment-seconds", type=float, default=600.0, metavar="S",
                     help="recording outputs are cut into files this long (default 600)")
    parser.add_argument("--duration", type=float, metavar="S", help="stop after this many seconds")
    parser.add_argument("-q", "--quiet", action="store_true", help="no status line or summary")


def _source(text: str) -> tuple[str, bool]:
    """(source, is a local file); ConfigError for a protocol that is not a live network protocol."""
    from ..live.allow import NETWORK_SCHEMES

    if "://" in text:
        scheme = urlsplit(text).scheme.lower()
        if scheme not in NETWORK_SCHEMES:
            raise ConfigError(f"source {text!r}: {scheme}:// is not a live protocol; use "
                              f"{', '.join(sorted(NETWORK_SCHEMES))} or a local file")
        return text, False
    path = Path(text)
    if not path.is_file():
        raise ConfigError(f"source {text!r}: no such file (a live source is a URL such as rtsp://host/path)")
    return str(path), True


def build_config(args: argparse.Namespace) -> Any:
    """The LiveConfig the flags describe (every check made before anything is opened)."""
    from ..config import EncodeOptions
    from ..live import IngestOptions, LiveConfig, parse_output
    from ..option_values import parse_bitrate

    source, local = _source(args.source)
    if not 0.05 <= args.max_latency / 1000 <= 600:
        raise ConfigError("--max-latency must be within 50 ms and 600000 ms")
    ingest = IngestOptions(transport=args.transport, stall_timeout=args.stall_timeout,
                           open_timeout=args.open_timeout, policy=args.policy,
                           max_latency=args.max_latency / 1000,
                           backoff_max=max(args.backoff_max, IngestOptions.backoff_initial))
    if args.segment_seconds <= 0:
        raise ConfigError("--segment-seconds must be positive")
    outputs = tuple(parse_output(o, allow_local=True, segment_seconds=args.segment_seconds)
                    for o in args.outputs)
    encode = EncodeOptions(codec=args.codec or None, crf=args.crf, preset=args.preset or None, gop=args.gop,
                           bitrate=parse_bitrate(args.bitrate) if args.bitrate else None)
    if args.duration is not None and args.duration <= 0:
        raise ConfigError("--duration must be positive")
    return LiveConfig(source, outputs, model=args.model, backend=args.backend, ingest=ingest, encode=encode,
                      local_source=local)


def status_text(status: Any) -> str:
    """One line of a session's :class:`~stream_restore.live.LiveStatus`."""
    text = (f"{status.state} | in {status.input_fps:5.1f} fps | out {status.output_fps:5.1f} fps | "
            f"dropped {status.dropped} | reconnects {status.reconnects} | latency "
            f"{1000 * status.latency:4.0f} ms (p95 {1000 * status.latency_p95:.0f} ms)")
    if status.state in ("connecting", "reconnecting") and status.last_error:
        text += f" | {status.last_error}"
    return text


def summary_text(status: Any) -> str:
    return (f"live: {status.frames_in} frames in, {status.frames_out} out, {status.dropped} dropped "
            f"({status.dropped_before_decode} before decoding), {status.reconnects} reconnects, latency "
            f"p50 {1000 * status.latency_p50:.0f} ms p95 {1000 * status.latency_p95:.0f} ms max "
            f"{1000 * status.latency_max:.0f} ms")


def run(args: argparse.Namespace) -> int:
    from ..backends import BackendOptions, check_device
    from ..live import LiveSession, engine_lease
    from ..models.registry import get_spec

    config = build_config(args)
    get_spec(config.model)  # an unknown model: one line, exit 2, before anything is opened
    check_device(args.device)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    line = ProgressLine("live", enabled=not args.quiet and sys.stderr.isatty())
    cache = args.cache_dir or str(user_cache_dir(os.environ) / "engines")
    session = LiveSession(config, engine_lease(BackendOptions(device=args.device, threads=args.threads,
                                                              cache_dir=cache)))
    try:
        session.start()
        deadline = None if args.duration is None else time.monotonic() + args.duration
        while not stop.is_set() and not session.done.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            line.draw(status_text(session.counters.snapshot()))
            stop.wait(1 / _STATUS_HZ)
    finally:
        session.stop()
        line.finish()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if session.error is not None:
        raise session.error
    if not args.quiet:
        sys.stderr.write(summary_text(session.counters.snapshot()) + "\n")
    return 0
