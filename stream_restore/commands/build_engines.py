"""``stream-restore build-engines``: build TensorRT engines ahead of time, with a progress display."""

from __future__ import annotations

import argparse
import sys
import time

from ..backends.base import PRECISIONS, BackendOptions, ShapeProfile
from ..backends.export import min_input_side, padded_size
from ..errors import ConfigError
from ..models.registry import ModelSpec, get_spec, list_specs
from ..option_values import parse_size

__all__ = ["add_arguments", "plan_builds", "run"]


def _height_width(text: str) -> tuple[int, int]:
    """ "WIDTHxHEIGHT" -> (height, width) in pixels, the order of engine shape profiles."""
    width, height = parse_size(text)
    return height, width


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-m", "--model", action="append", help="model (repeatable; default every registered model)"
    )
    parser.add_argument(
        "--size",
        action="append",
        help="input size WxH the engine is tuned for (repeatable; default 1280x720)",
    )
    parser.add_argument("--max-size", help="largest input WxH an engine accepts (default: its --size)")
    parser.add_argument("--min-size", help="smallest input WxH an engine accepts (default: a few pixels)")
    parser.add_argument(
        "--batch", type=int, default=1, help="frames per call (N) the engine is tuned for (default 1)"
    )
    parser.add_argument(
        "--precision", action="append", choices=list(PRECISIONS), help="repeatable (default fp16)"
    )
    parser.add_argument("--device", default="cuda", help="CUDA device (default cuda)")
    parser.add_argument(
        "--cache-dir", default="engines/cache", help="engine cache folder (default engines/cache)"
    )
    parser.add_argument("--workspace-mib", type=int, help="builder workspace limit in MiB")
    parser.add_argument("--opt-level", type=int, default=3, help="builder optimization level 0-5 (default 3)")
    parser.add_argument(
        "--dry-run", action="store_true", help="list the engines that would be built, build nothing"
    )


def plan_builds(
    specs: list[ModelSpec],
    sizes: list[tuple[int, int]],
    batch: int,
    precisions: list[str],
    min_size: tuple[int, int] | None,
    max_size: tuple[int, int] | None,
) -> list[tuple[ModelSpec, ShapeProfile, str]]:
    """Every (model, profile, precision) to build; profiles are min <= opt (= size) <= max (pure)."""
    if batch < 1:
        raise ConfigError("--batch must be at least 1")
    plan: list[tuple[ModelSpec, ShapeProfile, str]] = []
    for spec in specs:
        side = min_input_side(spec)
        for size in sizes:
            h, w = padded_size(spec, *size)  # engines of size-multiple models run at padded sizes
            lo_h, lo_w = min_size if min_size else (min(side, h), min(side, w))
            hi_h, hi_w = padded_size(spec, *max_size) if max_size else (h, w)
            if not (lo_h <= h <= hi_h and lo_w <= w <= hi_w):
                raise ConfigError(f"--size {w}x{h} must lie between --min-size and --max-size")
            profile = ShapeProfile((1, lo_h, lo_w), (batch, h, w), (batch, hi_h, hi_w))
            plan.extend((spec, profile, precision) for precision in precisions)
    return plan


def run(args: argparse.Namespace) -> int:
    specs = [get_spec(n) for n in args.model] if args.model else [s for s in list_specs()]
    sizes = [_height_width(s) for s in (args.size or ["1280x720"])]
    plan = plan_builds(
        specs,
        sizes,
        args.batch,
        args.precision or ["fp16"],
        _height_width(args.min_size) if args.min_size else None,
        _height_width(args.max_size) if args.max_size else None,
    )
    if args.dry_run:
        for spec, profile, precision in plan:
            sys.stdout.write(f"{spec.name}\t{precision}\t{profile.tag()}\n")
        return 0
    from ..backends.tensorrt_backend import TensorRTBackend, import_tensorrt

    import_tensorrt()  # fail early, with the install hint, before exporting anything
    started = time.monotonic()
    for i, (spec, profile, precision) in enumerate(plan, 1):
        sys.stderr.write(f"[{i}/{len(plan)}] {spec.name} {precision} {profile.tag()}\n")
        options = BackendOptions(
            device=args.device,
            precision=precision,
            cache_dir=args.cache_dir,
            workspace_mib=args.workspace_mib,
            builder_optimization_level=args.opt_level,
        )
        backend = TensorRTBackend(spec, options)
        with backend:
            t0 = time.monotonic()
            backend.ensure_engine(profile, progress=sys.stderr)
            sys.stderr.write(
                f"  ready in {time.monotonic() - t0:.1f} s: {backend.engine_key(profile).filename()}\n"
            )
    sys.stderr.write(
        f"{len(plan)} engine(s) ready in {args.cache_dir} ({time.monotonic() - started:.0f} s)\n"
    )
    return 0
