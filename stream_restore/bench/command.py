"""``stream-restore bench``: matmul peak, models x backends x sizes, peers, end-to-end restore.

Figures are medians of ``--repeat`` timed calls after ``--warmup`` untimed ones, batch 1, one frame
per call (recurrent models carry their state). ``--json`` prints one JSON object per line.
Shared machines: a short matmul probe runs after every timed call, so model and peak see the same
load; ``fraction_of_peak`` divides by the best peak seen in the run, ``extra.fraction_of_local_peak``
by the median of the row's own probes (the fair figure when other processes compete for the cores).
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import platform
import sys
import warnings
from pathlib import Path

import torch

from ..backends import BackendOptions
from ..errors import ConfigError
from ..models.registry import ModelSpec, get_spec, list_specs
from ..option_values import parse_size
from .models import BACKEND_VARIANTS, BenchRow, bench_backend
from .peak import matmul_peak_gflops

__all__ = ["add_arguments", "run"]

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-m", "--model", action="append", help="model (repeatable; default all but identity)")
    parser.add_argument(
        "-b",
        "--backend",
        action="append",
        choices=sorted(BACKEND_VARIANTS),
        help="backend (repeatable; default torch and onnxruntime on CPU, tensorrt and torch on CUDA)",
    )
    parser.add_argument("-s", "--size", action="append", help="input size WxH (repeatable; default 640x360)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default cpu)")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "fp16", "bf16"])
    parser.add_argument("--threads", type=int, help="CPU threads (default: torch's default)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls before timing (default 2)")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per row (default 5)")
    parser.add_argument("--no-peers", action="store_true", help="skip the FFmpeg and SRVGGNetCompact rows")
    parser.add_argument("--no-e2e", action="store_true", help="skip the end-to-end restore rows")
    parser.add_argument(
        "--e2e-model", action="append", help="models for the end-to-end rows (default: the first model)"
    )
    parser.add_argument(
        "--e2e-backend",
        action="append",
        choices=sorted(BACKEND_VARIANTS),
        help="backends for the end-to-end rows (default: the first --backend)",
    )
    parser.add_argument(
        "--e2e-frames", type=int, default=30, help="frames of the end-to-end clip (default 30)"
    )
    parser.add_argument(
        "--e2e-clip",
        type=Path,
        default=None,
        help="real video for the end-to-end rows, scaled to --size (default: a synthetic clip with noise)",
    )
    parser.add_argument(
        "--cache-dir", default="engines/cache", help="ONNX exports and engines (default engines/cache)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")


def _header() -> str:
    load = " ".join(f"{v:.1f}" for v in os.getloadavg())
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    from ..backends.auto import cpu_name

    return (
        f"# {now}; {cpu_name()}, {os.cpu_count()} CPUs, torch {torch.__version__} with "
        f"{torch.get_num_threads()} "
        f"threads, python {platform.python_version()}; load average {load}"
    )


def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def _print(row: BenchRow, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(row.to_json() + "\n")
    elif row.kind == "peak":
        sys.stdout.write(f"peak  fp32 matmul (torch.mm, n = 1024, 2048): {row.achieved_gflops:.1f} GFLOP/s\n")
    else:
        local = row.extra.get("fraction_of_local_peak")
        shares = ""
        if row.kind == "e2e":
            shares = " decode/infer/encode {:.0%}/{:.0%}/{:.0%}".format(
                row.extra.get("decode_share", 0),
                row.extra.get("infer_share", 0),
                row.extra.get("encode_share", 0),
            )
            if "of_model_only" in row.extra:
                shares += (
                    f", {row.extra['of_model_only']:.0%} of model-only {row.extra['model_only_fps']:.2f} fps"
                )
        sys.stdout.write(
            f"{row.kind:5} {row.model:28} {row.backend:16} {row.size:>9} {_fmt(row.ms_per_frame, '9.1f')} ms "
            f"{_fmt(row.fps, '7.2f')} fps {_fmt(row.gflop_per_frame, '7.1f')} GF "
            f"{_fmt(row.achieved_gflops, '6.1f')} GF/s "
            f"{_fmt(row.fraction_of_peak, '4.0%')} of peak"
            + (f" ({local:.0%} of local)" if local is not None else "")
            + shares
            + (f"  [{row.note}]" if row.note else "")
            + "\n"
        )
    sys.stdout.flush()


class _Peak:
    """The run's best matmul peak, re-measured (briefly) before each row."""

    def __init__(self) -> None:
        self.best = matmul_peak_gflops()

    def local(self) -> float:
        value = matmul_peak_gflops(sizes=(1536,), repeats=3)
        self.best = max(self.best, value)
        return value

    def annotate(self, row: BenchRow, local: float) -> BenchRow:
        """Divide by the run's best peak; keep the interleaved local peak the row measured itself."""
        self.best = max(self.best, float(row.extra.get("local_peak_gflops", 0.0)))
        row.peak_gflops = self.best
        if row.achieved_gflops is not None:
            row.fraction_of_peak = row.achieved_gflops / self.best
            if "local_peak_gflops" not in row.extra:
                row.extra["local_peak_gflops"] = round(local, 1)
                row.extra["fraction_of_local_peak"] = round(row.achieved_gflops / local, 3)
        return row


def _peer_rows(args: argparse.Namespace, specs: list[ModelSpec], variants: list[str], base: BackendOptions,
               width: int, height: int, peak: _Peak) -> None:
    """Rows of the published reference tools on the same input (FFmpeg's scaler, SRVGGNetCompact)."""
    from .peers import ffmpeg_scale_row, srvgg_spec

    for scale in sorted({s.scale for s in specs if s.scale > 1} or {2}):
        _print(ffmpeg_scale_row(width, height, scale, repeat=args.repeat), args.json)
    peer = srvgg_spec(4)
    for variant in [v for v in variants if v != "auto"]:
        local = peak.local()
        try:
            row = bench_backend(
                peer, variant, base, width, height, peak=peak.best, kind="peer",
                note="Real-ESRGAN SRVGGNetCompact architecture, random weights",
                warmup=args.warmup, repeat=args.repeat,
            )
        except Exception as exc:
            row = BenchRow("peer", peer.name, variant, f"{width}x{height}", note=f"failed: {exc}"[:200])
        _print(peak.annotate(row, local), args.json)


def _e2e_rows(args: argparse.Namespace, specs: list[ModelSpec], variants: list[str], base: BackendOptions,
              width: int, height: int, peak: _Peak) -> int:
    """Rows of the whole restore pipeline; returns how many failed."""
    from .e2e import e2e_row

    failures = 0
    for model in args.e2e_model or [specs[0].name]:
        for variant in args.e2e_backend or variants[:1]:
            try:
                row = e2e_row(model, variant, base, width, height, frames=args.e2e_frames, peak=peak.best,
                              source=args.e2e_clip)
            except Exception as exc:
                failures += 1
                row = BenchRow("e2e", model, variant, f"{width}x{height}",
                               note=f"failed: {type(exc).__name__}: {exc}"[:200])
            _print(row, args.json)
    return failures


def run(args: argparse.Namespace) -> int:
    warnings.filterwarnings("ignore")
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.repeat < 1 or args.warmup < 0:
        raise ConfigError("--repeat must be at least 1 and --warmup at least 0")
    specs = (
        [get_spec(n) for n in args.model] if args.model else [s for s in list_specs() if s.name != "identity"]
    )
    cuda = args.device.startswith("cuda")
    variants = args.backend or (["tensorrt", "torch"] if cuda else ["onnxruntime", "torch"])
    sizes = [parse_size(s) for s in (args.size or ["640x360"])]
    base = BackendOptions(
        device=args.device, precision=args.precision, threads=args.threads, cache_dir=args.cache_dir
    )
    bench = dict(warmup=args.warmup, repeat=args.repeat)
    if not args.json:
        sys.stdout.write(_header() + "\n")
    peak = _Peak()
    _print(
        BenchRow(
            "peak",
            "fp32-matmul",
            "torch.mm",
            "1024..2048",
            peak_gflops=peak.best,
            achieved_gflops=peak.best,
            threads=torch.get_num_threads(),
        ),
        args.json,
    )
    failures = 0
    for width, height in sizes:
        for spec in specs:
            for variant in variants:
                local = peak.local()
                try:
                    row = bench_backend(spec, variant, base, width, height, peak=peak.best, **bench)
                except Exception as exc:  # a backend missing here is a line in the table, not a crash
                    failures += 1
                    row = BenchRow(
                        "model",
                        spec.name,
                        variant,
                        f"{width}x{height}",
                        note=f"failed: {type(exc).__name__}: {exc}"[:200],
                    )
                _print(peak.annotate(row, local), args.json)
        if not args.no_peers:
            _peer_rows(args, specs, variants, base, width, height, peak)
        if not args.no_e2e:
            failures += _e2e_rows(args, specs, variants, base, width, height, peak)
    return 0 if not failures else 1
