"""``stream-restore serve``: run the gRPC service until SIGTERM or Ctrl-C (then stop gracefully).

Settings come from ``--config FILE`` (JSON or TOML, same names as the flags with ``_``), overridden
by flags. ``--port 0`` picks a free port; the address is printed on stdout as
``listening on HOST:PORT`` once the server accepts calls (and ``web page on URL`` with
``--web-port``: the page of ``server/web.py``, same auth as the API).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigError

__all__ = ["add_arguments", "build_config", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="settings file (.json or .toml); flags override it")
    net = parser.add_argument_group("network")
    net.add_argument("--host", help="address to listen on (default 127.0.0.1; 0.0.0.0 or [::] for all)")
    net.add_argument("--port", type=int, help="port (default 50051; 0 picks a free port and prints it)")
    net.add_argument("--tls-cert", help="PEM certificate chain (turns on TLS)")
    net.add_argument("--tls-key", help="PEM private key of the certificate")
    net.add_argument("--tls-client-ca", help="PEM CA that client certificates must chain to (mutual TLS)")
    net.add_argument("--token-file", help="file of accepted bearer tokens, one per line")
    net.add_argument("--metrics-port", type=int, help="serve Prometheus metrics over HTTP on this port")
    net.add_argument("--metrics-host", help="address of the metrics endpoint, which has no auth (default "
                                            "127.0.0.1)")
    net.add_argument("--web-port", type=int, help="serve the web page on this port (0 picks a free one; "
                                                  "off by default); same auth as the API")
    net.add_argument("--web-host", help="address of the web page (default 127.0.0.1)")
    net.add_argument("--allow-insecure", action="store_true",
                     help="listen on a non-loopback address with neither TLS nor tokens (refused otherwise)")
    lim = parser.add_argument_group("limits")
    lim.add_argument("--max-streams", type=int, help="concurrent Restore/RestoreFrames calls (default 4)")
    lim.add_argument("--max-size", help="largest input frame, WxH (default 8192x8192)")
    lim.add_argument("--max-duration", type=float, help="longest input, seconds (default unlimited)")
    lim.add_argument("--max-message-bytes", type=int, help="largest gRPC message (default 8 MiB)")
    lim.add_argument("--idle-timeout", type=float, help="drop a stream silent this long, seconds (default "
                                                        "60)")
    lim.add_argument("--grace-period", type=float, help="seconds running streams get at shutdown (default "
                                                        "10)")
    lim.add_argument("--min-input-rate", type=float,
                     help="bytes/s a stream must average while the server waits for it (default 1024)")
    lim.add_argument("--max-call-seconds", type=float, help="wall-clock budget of one stream (default "
                                                            "unlimited)")
    lim.add_argument("--max-images", type=int, help="concurrent RestoreImage calls (default 2)")
    lim.add_argument("--max-image-pixels", type=int, help="largest decoded RestoreImage input (default "
                                                          "4096x4096)")
    eng = parser.add_argument_group("models")
    eng.add_argument("--preload", action="append", help="load this model at start (repeatable)")
    eng.add_argument("--device", help="cpu, cuda or cuda:N (default cpu)")
    eng.add_argument("--backend", help="auto, torch, onnxruntime or tensorrt (default auto)")
    eng.add_argument("--precision", choices=["fp32", "fp16", "bf16"])
    eng.add_argument("--threads", type=int, help="CPU inference threads per engine")
    eng.add_argument("--tile-max-pixels", type=int, help="tile frames above this many input pixels")
    eng.add_argument("--allow-backend", action="append",
                     help="a backend clients may ask for besides --backend (repeatable; default none)")
    eng.add_argument("--max-engines", type=int, help="engines kept loaded, least recently used closed first "
                                                     "(default 4)")
    eng.add_argument("--engine-cache-dir",
                     help="ONNX exports and TensorRT engines (default: a private folder removed at exit)")
    jobs = parser.add_argument_group("archive jobs (the Jobs service; off unless both roots are given)")
    jobs.add_argument("--jobs-input-root", help="folder remote jobs may read (paths are relative to it)")
    jobs.add_argument("--jobs-output-root", help="folder remote jobs may write")
    jobs.add_argument("--state-dir", help="job store folder (default $XDG_DATA_HOME/stream-restore)")
    jobs.add_argument("--jobs-device", action="append",
                      help="a job worker's device; repeat for one worker per device (default one cpu worker)")
    live = parser.add_argument_group("live feeds (the Live service; every request refused unless allowed)")
    live.add_argument("--live-allow", action="append", metavar="RULE",
                      help="sources a StartLive may name: scheme://host-or-CIDR[:port], e.g. "
                           "rtsp://10.0.0.0/8 or rtmp://*.cams.example (repeatable)")
    live.add_argument("--live-output-allow", action="append", metavar="RULE",
                      help="outputs a StartLive may publish to, same form, e.g. udp://239.0.0.0/8 "
                           "(repeatable)")
    parser.add_argument("--log-json", action="store_true", help="structured logs, one JSON object per line")


def build_config(args: argparse.Namespace) -> Any:
    """The ServerConfig from the config file and the flags (flags win)."""
    from ..option_values import parse_size
    from ..server.config import load_config_file, merge_config

    settings: dict[str, Any] = load_config_file(args.config) if args.config else {}
    flags = {
        "host": args.host, "port": args.port, "tls_cert": args.tls_cert, "tls_key": args.tls_key,
        "tls_client_ca": args.tls_client_ca, "token_file": args.token_file, "metrics_port": args.metrics_port,
        "max_streams": args.max_streams, "max_duration": args.max_duration,
        "max_message_bytes": args.max_message_bytes, "idle_timeout": args.idle_timeout,
        "grace_period": args.grace_period, "device": args.device, "backend": args.backend,
        "precision": args.precision, "threads": args.threads, "tile_max_pixels": args.tile_max_pixels,
        "metrics_host": args.metrics_host, "min_input_rate": args.min_input_rate,
        "max_call_seconds": args.max_call_seconds, "max_images": args.max_images,
        "max_image_pixels": args.max_image_pixels, "max_engines": args.max_engines,
        "engine_cache_dir": args.engine_cache_dir,
        "models_dir": str(getattr(args, "models_dir", "") or ""),
        "web_port": args.web_port, "web_host": args.web_host,
    }
    if args.preload:
        flags["preload"] = tuple(args.preload)
    if args.allow_backend:
        flags["allowed_backends"] = tuple(args.allow_backend)
    flags.update(jobs_input_root=args.jobs_input_root, jobs_output_root=args.jobs_output_root,
                 state_dir=args.state_dir)
    if args.jobs_device:
        flags["jobs_devices"] = tuple(args.jobs_device)
    if args.live_allow:
        flags["live_allow"] = tuple(args.live_allow)
    if args.live_output_allow:
        flags["live_output_allow"] = tuple(args.live_output_allow)
    if (args.jobs_input_root or settings.get("jobs_input_root")) and not (args.state_dir or
                                                                         settings.get("state_dir")):
        from ..jobs.store import default_state_dir

        flags["state_dir"] = str(default_state_dir())
    if args.max_size:
        width, height = parse_size(args.max_size)
        flags.update(max_width=width, max_height=height, max_pixels=width * height)
    settings.update({k: v for k, v in flags.items() if v is not None})
    config = merge_config(settings)
    exposed = [h for h in (config.host, config.web_host if config.web_port is not None else "localhost")
               if not _is_loopback(h)]
    if exposed and not (config.tls or config.tokens or args.allow_insecure or settings.get("allow_insecure")):
        raise ConfigError(
            f"refusing to serve on {exposed[0]} without authentication: give --token-file or "
            "--tls-cert/--tls-key "
            "(mutual TLS with --tls-client-ca), or --allow-insecure where the network itself is trusted"
        )
    return config


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


async def _serve(config: Any) -> None:
    from ..server import RestoreServer

    server = RestoreServer(config)
    port = await server.start()
    host = config.host if ":" not in config.host else f"[{config.host}]"
    extra = f" (metrics on port {server.metrics_port})" if server.metrics_port is not None else ""
    sys.stdout.write(f"listening on {host}:{port}{extra}\n")
    if server.web_port is not None:
        web_host = config.web_host if ":" not in config.web_host else f"[{config.web_host}]"
        sys.stdout.write(f"web page on {'https' if config.tls else 'http'}://{web_host}:{server.web_port}/\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    logging.getLogger("stream_restore").warning(
        "stopping: no new calls; running streams get %.0f s to finish", config.grace_period)
    await server.stop()


def run(args: argparse.Namespace) -> int:
    from ..backends import check_device
    from ..server.logs import configure_logging

    config = build_config(args)
    check_device(config.device)
    verbose = getattr(args, "verbose", 0)
    configure_logging(logging.DEBUG if verbose > 1 else logging.INFO, args.log_json)
    asyncio.run(_serve(config))
    return 0
