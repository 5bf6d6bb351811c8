"""``stream-restore models``: the registered models and what each costs; add and remove your own.

``models add FILE`` copies a PyTorch checkpoint or an ONNX file into the model directory
(``--models-dir``) and registers it: the architecture, scale and task are read from the file (see
:mod:`stream_restore.models.directory`). ``models remove NAME`` deletes an added model.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import ConfigError

__all__ = ["add_arguments", "run"]

TASKS = ("sr", "vsr", "deblur", "vdeblur")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON object per model")
    sub = parser.add_subparsers(dest="models_action", metavar="ACTION")
    add = sub.add_parser(
        "add",
        help="add a PyTorch checkpoint (.pth, .safetensors) or an ONNX file",
        description="add a PyTorch checkpoint (.pth, .pt, .ckpt, .safetensors) or an ONNX file "
        "to the model directory",
    )
    add.add_argument("file", type=Path, help="the model file")
    add.add_argument("--name", help="name to use it by (default: from the file name)")
    add.add_argument("--scale", type=int, help="check the detected scale against this one")
    add.add_argument("--task", choices=TASKS, help="what the model does (default: detected)")
    add.add_argument("--frames", type=int, help="frames per call of a multi-frame ONNX model")
    add.add_argument("--licence", type=Path, help="a text file with the model's licence, kept in its sidecar")
    add.add_argument("--replace", action="store_true", help="replace an added model of the same name")
    remove = sub.add_parser("remove", help="delete an added model", description="delete an added model")
    remove.add_argument("name")


def run(args: argparse.Namespace) -> int:
    action = getattr(args, "models_action", None)
    if action == "add":
        return _add(args)
    if action == "remove":
        from ..models.directory import remove_model

        remove_model(args.name, args.models_dir)
        print(f"removed {args.name} from {args.models_dir}")
        return 0
    return _list(args.json, args.models_dir)


def _add(args: argparse.Namespace) -> int:
    from ..models.directory import add_model

    source: Path = args.file
    if not source.is_file():
        raise ConfigError(f"{source}: no such file")
    onnx = None
    if source.suffix.lower() == ".onnx":
        from ..backends.onnx_file import inspect

        onnx = inspect(source)
    licence = ""
    if args.licence is not None:
        try:
            licence = args.licence.read_text(errors="replace")[:20000]
        except OSError as exc:
            raise ConfigError(f"--licence {args.licence}: {exc.strerror or exc}") from None
    sidecar = add_model(
        source,
        args.models_dir,
        name=args.name,
        task=args.task,
        scale=args.scale,
        frames=args.frames,
        licence=licence,
        onnx=onnx,
        replace=args.replace,
    )
    frames = sidecar.past_frames + 1 + sidecar.future_frames
    print(
        f"added {sidecar.name}: {sidecar.family} x{sidecar.scale} {sidecar.task}"
        f"{f', {frames} frames' if frames > 1 else ''} -> {args.models_dir / sidecar.file}"
    )
    return 0


def _list(as_json: bool, directory: Path) -> int:
    from ..model_catalog import catalog_rows

    rows = catalog_rows(directory)
    if as_json:
        for row in rows:
            print(json.dumps(row.to_json()))
        return 0
    header = (f"{'name':<16} {'task':<8} {'scale':>5} {'frames':>7} {'recur':>5} {'params':>9} "
              f"{'GFLOP/MP':>9}  description")
    print(header)
    print("-" * len(header))
    for r in rows:
        params = f"{r.parameters:>9,}" if r.parameters is not None else f"{'-':>9}"
        gflop = f"{r.gflop_per_mpixel:>9.2f}" if r.gflop_per_mpixel is not None else f"{'-':>9}"
        print(
            f"{r.name:<16} {r.task:<8} {'x' + str(r.scale):>5} {r.frames:>7} "
            f"{'yes' if r.recurrent else 'no':>5} {params} {gflop}  {r.description}"
        )
    return 0
