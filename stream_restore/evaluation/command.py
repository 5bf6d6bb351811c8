"""``stream-restore eval``: score registered models on the benchmarks, baseline beside each.

Each model is paired with the datasets of its kind: super-resolution models (sr, vsr) with Set5,
Set14, BSD100 and the video clips at their scale; deblurring models (deblur, vdeblur) with
Levin09, GoPro and the synthetic blurred video. The baseline of a table is MATLAB bicubic
(``bicubic-xS``) for super-resolution and the unrestored input (``identity``) for deblurring.

Examples::

    stream-restore eval                                   # every x4 model, all x4 datasets
    stream-restore eval --scale 2 3 4 --dataset Set5 Set14 BSD100
    stream-restore eval --model vsr-x4 --dataset video video-crf30 --json
    stream-restore eval --model sr-compact-x4 vsr-x4 --dataset video --no-temporal
    stream-restore eval --scale 2 --dataset Set5 video --plot scores.png   # needs the plot extra
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

from ..backends import Backend, BackendOptions, check_device, create_backend
from ..errors import ConfigError
from ..models.registry import ModelSpec, Task, get_spec, list_specs
from .datasets import DATASETS, Sample, default_data_dir, load_dataset
from .runner import EvalResult, evaluate

__all__ = ["add_arguments", "run"]

DATA_ENV = "STREAM_RESTORE_DATA"  # read here only, the CLI edge
_KIND = {
    Task.SUPER_RESOLUTION: "sr",
    Task.VIDEO_SUPER_RESOLUTION: "sr",
    Task.DEBLUR: "deblur",
    Task.VIDEO_DEBLUR: "deblur",
    Task.IDENTITY: "deblur",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", nargs="+", metavar="NAME", help="models to score (default: all of --scale)"
    )
    parser.add_argument(
        "--dataset",
        nargs="+",
        metavar="NAME",
        choices=list(DATASETS),
        help=f"datasets (default: all of each model's kind): {', '.join(DATASETS)}",
    )
    parser.add_argument(
        "--scale",
        nargs="+",
        type=int,
        metavar="S",
        help="model scales to include; 1 = deblurring (default: 4)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per (model, dataset) line")
    parser.add_argument("--plot", type=Path, metavar="FILE.png",
                        help="also draw PSNR per model and dataset, and per-frame PSNR and flicker for video "
                             "sets (needs matplotlib: pip install 'stream-restore[plot]')")
    parser.add_argument(
        "--data-dir", type=Path, help=f"shared data folder (default: ${DATA_ENV} or ../shared/data)"
    )
    parser.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:1 (default: cpu)")
    parser.add_argument("--threads", type=int, help="CPU threads for inference (default: torch's)")
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N images or clips per dataset")
    parser.add_argument(
        "--no-temporal",
        action="store_true",
        help="also score each recurrent model without its neighbours and state (the temporal-path check)",
    )


def _kind(spec: ModelSpec) -> str:
    return _KIND[spec.task]


def _baseline_name(kind: str, scale: int) -> str:
    return f"bicubic-x{scale}" if kind == "sr" else "identity"


def _select_models(args: argparse.Namespace) -> list[ModelSpec]:
    scales = set(args.scale) if args.scale else None
    if args.model:
        specs = [get_spec(name) for name in args.model]
        if scales is not None:
            specs = [s for s in specs if s.scale in scales]
    else:
        scales = scales or {4}
        specs = [s for s in list_specs() if s.scale in scales and s.task != Task.IDENTITY]
        if 1 in scales and not specs:
            specs = [get_spec("identity")]
    if not specs:
        raise ConfigError("no registered model matches the given --model / --scale")
    return specs


def _plan(specs: list[ModelSpec], datasets: list[str] | None) -> list[tuple[str, int, list[ModelSpec]]]:
    """(dataset, scale, [baseline, models...]) in a stable order: scale, then dataset, then model."""
    plan: list[tuple[str, int, list[ModelSpec]]] = []
    for scale in sorted({s.scale for s in specs}):
        group = [s for s in specs if s.scale == scale]
        for name, info in DATASETS.items():
            if datasets is not None and name not in datasets:
                continue
            members = [s for s in group if _kind(s) == info.kind]
            if not members or (info.kind == "sr" and scale not in (2, 3, 4)):
                continue
            baseline = _baseline_name(info.kind, scale)
            rows = [get_spec(baseline)] if baseline not in {s.name for s in members} else []
            rows += sorted(members, key=lambda s: (s.name != baseline, s.name))
            plan.append((name, scale, rows))
    return plan


def _fmt(value: float | None, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return "inf" if math.isinf(value) else f"{value:.{digits}f}"


def format_table(dataset: str, scale: int, samples: list[Sample], results: list[EvalResult]) -> str:
    """A plain-text table of one dataset; the first row is the baseline, deltas are against it."""
    info = DATASETS[dataset]
    frames = sum(s.frames for s in samples)
    unit = f"{len(samples)} clips, {frames} frames" if info.video else f"{len(samples)} images"
    crop = samples[0].border if samples else 0
    title = (
        f"{dataset}{f' x{scale}' if info.kind == 'sr' else ''} ({unit}, crop {crop} px) - {info.description}"
    )
    video = info.video
    header = f"{'model':<22} {'PSNR-Y':>7} {'dY':>6} {'SSIM-Y':>7} {'PSNR-RGB':>8}"
    header += f" {'tDiff':>6}" if video else ""
    header += f" {'sharp':>6} {'time s':>7}"
    lines = [title, header, "-" * len(header)]
    base = results[0].psnr_y if results else math.nan
    for i, r in enumerate(results):
        name = r.model + (" (input)" if r.model == "identity" else "")
        delta = "base" if i == 0 else _fmt(r.psnr_y - base, 2)
        line = f"{name:<22} {_fmt(r.psnr_y, 2):>7} {delta:>6} {_fmt(r.ssim_y, 4):>7} {_fmt(r.psnr_rgb, 2):>8}"
        line += f" {_fmt(r.temporal, 2):>6}" if video else ""
        relative = 100.0 * r.sharpness / r.sharpness_gt if r.sharpness_gt > 0 else math.nan
        line += f" {_fmt(relative, 0) + '%' if not math.isnan(relative) else '-':>6} {r.seconds:>7.1f}"
        lines.append(line)
    lines.append("sharp: Laplacian variance of the output's luma against the ground truth's (no-reference "
                 "detail;"
                 " blur < 100% < noise or invented "
                 "texture)" + ("; tDiff: flicker, lower is steadier" if video else ""))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit must be at least 1")
    if args.threads is not None and args.threads < 1:
        raise ConfigError("--threads must be at least 1")
    data_dir = args.data_dir or (
        Path(os.environ[DATA_ENV]) if os.environ.get(DATA_ENV) else default_data_dir()
    )
    if not data_dir.is_dir():
        raise ConfigError(f"data folder {data_dir} does not exist; pass --data-dir or set ${DATA_ENV}")
    check_device(args.device)
    if args.plot is not None:
        from .plot import check_plot_target

        check_plot_target(args.plot)  # before minutes of scoring
    options = BackendOptions(device=args.device, threads=args.threads)
    specs = _select_models(args)
    if args.no_temporal:
        from .ablation import without_temporal

        specs += [without_temporal(s) for s in specs if s.recurrent]
    plan = _plan(specs, args.dataset)
    if not plan:
        raise ConfigError(
            "no dataset matches the selected models (SR models need x2-x4 data, deblur models scale 1)"
        )
    backends: dict[str, Backend] = {}
    tables: list[tuple[str, int, list[EvalResult]]] = []
    started = time.perf_counter()
    try:
        for dataset, scale, specs in plan:
            samples = load_dataset(dataset, scale, data_dir, args.limit)
            results = []
            for spec in specs:
                if spec.name not in backends:
                    backends[spec.name] = create_backend(spec, "torch", options).load()
                result = evaluate(backends[spec.name], dataset, samples)
                results.append(result)
                if args.json:
                    line = {**result.to_json(), "task": spec.task.value, "baseline": spec is specs[0]}
                    print(json.dumps(line), flush=True)
            tables.append((dataset, scale, results))
            if not args.json:
                print(format_table(dataset, scale, samples, results) + "\n", flush=True)
    finally:
        for backend in backends.values():
            backend.close()
    elapsed = time.perf_counter() - started
    sys.stderr.write(f"stream-restore eval: {len(plan)} tables in {elapsed:.1f} s\n")
    if args.plot is not None:
        from .plot import write_plot

        sys.stderr.write(f"wrote {write_plot(args.plot, tables)}\n")
    return 0
