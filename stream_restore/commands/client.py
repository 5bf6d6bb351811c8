"""``stream-restore client INPUT OUTPUT --server HOST:PORT``: restore through a running server.

With ``--start-live URL --live-output URL...``, ``--watch-live ID``, ``--list-live`` or
``--stop-live ID`` it drives the server's live sessions instead (one line per session state).

INPUT is a file, a URL or a device PyAV can open (URLs and devices are remuxed to MPEG-TS as packets
arrive); OUTPUT is a .ts, .mkv or .mp4 file written as the result arrives, or ``-`` for stdout (pipe
it into a player: ``... - | ffplay -``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..option_values import DEFAULT_MODEL, parse_bitrate
from .progress import ProgressLine

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", nargs="?", help="video file, URL (rtsp://, http://) or device")
    parser.add_argument("output", nargs="?", help="output .ts, .mkv or .mp4, or - for stdout")
    parser.add_argument("--server", default="127.0.0.1:50051", help="HOST:PORT of the server")
    parser.add_argument("-m", "--model", default=DEFAULT_MODEL, help=f"model name (default {DEFAULT_MODEL})")
    parser.add_argument("--backend", default="", help="backend preference (default: the server's)")
    parser.add_argument("--codec", default="", help="output encoder (default h264)")
    parser.add_argument("--crf", type=int, help="constant quality")
    parser.add_argument("--bitrate", help="target bitrate, e.g. 8M")
    parser.add_argument("--preset", default="", help="encoder speed preset")
    parser.add_argument("--tune", default="", help="encoder tuning, e.g. zerolatency")
    parser.add_argument("--gop", type=int, default=0,
                        help="keyframe interval in frames (a fragmented MP4 output arrives a GOP at a time)")
    parser.add_argument("--input-format", help="input demuxer or device format (e.g. v4l2, mpegts)")
    parser.add_argument("--low-latency", action="store_true", help="live mode: minimal buffering on the "
                                                                   "server")
    parser.add_argument("--tile-max-pixels", type=int, default=0, help="tile frames above this many pixels")
    sec = parser.add_argument_group("security")
    sec.add_argument("--tls", action="store_true", help="use TLS with the system's CA roots")
    sec.add_argument("--tls-ca", help="PEM CA certificate that signed the server's certificate (implies "
                                      "--tls)")
    sec.add_argument("--tls-cert", help="client certificate for mutual TLS (PEM)")
    sec.add_argument("--tls-key", help="client key for mutual TLS (PEM)")
    sec.add_argument("--server-name", help="expected name in the server certificate")
    sec.add_argument("--token", help="bearer token (or set it in a file and use --token-file)")
    sec.add_argument("--token-file", help="file whose first line is the bearer token")
    live = parser.add_argument_group("live sessions on the server (instead of INPUT OUTPUT)")
    live.add_argument("--start-live", metavar="SOURCE_URL",
                      help="start a session restoring this live URL into every --live-output, print its id")
    live.add_argument("--live-output", action="append", metavar="URL", help="an output of --start-live "
                                                                           "(repeatable)")
    live.add_argument("--block", action="store_true", help="--start-live: never drop frames")
    live.add_argument("--max-latency", type=float, default=0.0, metavar="MS", help="--start-live: the "
                                                                                  "latency bound, ms")
    live.add_argument("--watch-live", metavar="ID", help="show a session's state until it ends (Ctrl-C "
                                                         "stops watching, not the session)")
    live.add_argument("--list-live", action="store_true", help="list the server's live sessions")
    live.add_argument("--stop-live", metavar="ID", help="stop a session and print its final state")
    parser.add_argument("--timeout", type=float, help="give up after this many seconds")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress display or summary")


def _read(path: str | None, what: str) -> bytes | None:
    if path is None:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{what} {path}: {exc.strerror or exc}") from None


def _live_text(session: Any) -> str:
    from ..client_live import STATE_NAMES

    m = session.metrics
    text = (f"{session.id} {STATE_NAMES.get(session.state, '?')} | in {m.input_fps:5.1f} fps | out "
            f"{m.output_fps:5.1f} fps | dropped {m.dropped} | reconnects {m.reconnects} | latency "
            f"{1000 * m.latency_seconds:.0f} ms (p95 {1000 * m.latency_p95_seconds:.0f} ms)")
    return text + (f" | {session.last_error}" if session.last_error else "")


def _live(args: argparse.Namespace, client: Any) -> int:
    """--start-live, --watch-live, --list-live, --stop-live: one line per session state on stdout."""
    from ..client_live import LiveClient
    from ..v1 import live_pb2 as lpb
    from ..v1 import restore_pb2 as pb

    live = LiveClient(client)
    if args.list_live:
        for session in live.list(timeout=args.timeout):
            print(_live_text(session))
    elif args.stop_live:
        print(_live_text(live.stop(args.stop_live)))
    elif args.start_live:
        request = lpb.StartLiveRequest(
            source=args.start_live, outputs=args.live_output or [], block=args.block,
            max_latency_seconds=args.max_latency / 1000,
            model=pb.ModelOptions(model=args.model, backend=args.backend),
            encoding=pb.OutputOptions(codec=args.codec, preset=args.preset, tune=args.tune, gop=args.gop,
                                      bitrate=parse_bitrate(args.bitrate) if args.bitrate else 0))
        if args.crf is not None:
            request.encoding.crf = args.crf
        print(live.start(request, timeout=args.timeout).id)
    else:
        try:
            for session in live.watch(args.watch_live, timeout=args.timeout):
                print(_live_text(session), flush=True)
        except KeyboardInterrupt:
            return 0  # watching ends; the session goes on
    return 0


def run(args: argparse.Namespace) -> int:
    from ..client import RestoreClient
    from ..v1 import restore_pb2 as pb

    token = args.token
    if args.token_file:
        lines = (_read(args.token_file, "token file") or b"").decode().split()
        token = lines[0] if lines else None
    live_actions = [a for a in (args.start_live, args.watch_live, args.list_live, args.stop_live) if a]
    if len(live_actions) > 1:
        raise ConfigError("give one of --start-live, --watch-live, --list-live and --stop-live")
    if not live_actions and not (args.input and args.output):
        raise ConfigError("give INPUT and OUTPUT (or a live action: --start-live, --watch-live, --list-live, "
                          "--stop-live)")
    if args.live_output and not args.start_live:
        raise ConfigError("--live-output goes with --start-live")
    config = pb.RestoreConfig(
        model=pb.ModelOptions(model=args.model, backend=args.backend, tile_max_pixels=args.tile_max_pixels),
        output=pb.OutputOptions(codec=args.codec, preset=args.preset, tune=args.tune, gop=args.gop,
                                bitrate=parse_bitrate(args.bitrate) if args.bitrate else 0),
        low_latency=args.low_latency,
    )
    if args.crf is not None:
        config.output.crf = args.crf
    show = not args.quiet and sys.stderr.isatty()
    bar = ProgressLine("restoring", enabled=show)

    def on_progress(p: pb.Progress) -> None:
        bar.show(p.frames_done, p.frames_total or None, p.elapsed_seconds, p.fps)

    with RestoreClient(args.server, tls=args.tls, tls_ca=_read(args.tls_ca, "CA file"),
                       client_cert=_read(args.tls_cert, "client certificate"),
                       client_key=_read(args.tls_key, "client key"), token=token,
                       server_name=args.server_name) as client:
        if live_actions:
            return _live(args, client)
        try:
            result = client.restore(args.input, args.output, config, input_format=args.input_format,
                                    progress=on_progress, timeout=args.timeout)
        finally:
            bar.finish()
    if not args.quiet and result.summary is not None:
        s, h = result.summary, result.header
        size = f" {h.input.width}x{h.input.height} -> {h.output.width}x{h.output.height}" if h else ""
        sys.stderr.write(f"restored {s.frames_out} frames{size} in {s.wall_seconds:.1f} s ({s.fps:.2f} fps) "
                         f"on {args.server} -> {args.output}\n")
        for warning in s.warnings:
            sys.stderr.write(f"warning: {warning}\n")
    return 0
