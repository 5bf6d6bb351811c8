"""``stream-restore export``: write a model's ONNX export (dynamic batch and size, state as I/O)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..backends.export import DEFAULT_OPSET, export_onnx
from ..errors import ConfigError
from ..models.registry import get_spec, list_specs

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-m", "--model", action="append", help="model to export (repeatable; see 'models')")
    parser.add_argument(
        "--all", action="store_true", help="export every registered model into --out (a folder)"
    )
    parser.add_argument(
        "-o", "--out", required=True, help="output .onnx file (a folder with --all or several models)"
    )
    parser.add_argument(
        "--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset, 17 or newer (default {DEFAULT_OPSET})"
    )
    parser.add_argument(
        "--exporter",
        choices=["auto", "torchscript", "dynamo"],
        default="auto",
        help="torch exporter; auto tries TorchScript, then dynamo if the check fails (default auto)",
    )
    parser.add_argument("--no-verify", action="store_true", help="skip the ONNX Runtime vs PyTorch check")


def run(args: argparse.Namespace) -> int:
    names = [s.name for s in list_specs()] if args.all else (args.model or [])
    if not names:
        raise ConfigError("name a model with --model NAME, or use --all")
    specs = [get_spec(name) for name in names]  # unknown names fail before any work
    out = Path(args.out)
    many = args.all or len(specs) > 1
    if not many and out.suffix != ".onnx":
        raise ConfigError(f"--out should name an .onnx file, got {out}")
    for spec in specs:
        target = out / f"{spec.name}.onnx" if many else out
        result = export_onnx(
            spec, target, opset=args.opset, exporter=args.exporter, verify=not args.no_verify
        )
        check = (
            "not verified"
            if result.max_abs_error is None
            else f"max abs diff vs PyTorch {result.max_abs_error:.1e}"
        )
        io = "frames[N,T,3,H,W]" + (" + state" if spec.recurrent else "")
        sys.stdout.write(f"{spec.name}: {target} (opset {result.opset}, {result.exporter}; {io}; {check})\n")
    return 0
