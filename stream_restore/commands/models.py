"""``stream-restore models``: the registered models and what each costs; add and remove your own.

``models NAME`` prints a model's card. ``models add FILE`` copies a PyTorch checkpoint or an ONNX
file into the model directory (``--models-dir``) and registers it: the architecture, scale and
task are read from the file (see :mod:`stream_restore.models.directory`). ``models remove NAME``
deletes an added model.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import ConfigError

__all__ = ["add_arguments", "run"]

TASKS = ("sr", "vsr", "deblur", "vdeblur")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = (
        "%(prog)s [--json]  |  %(prog)s NAME  |  %(prog)s add FILE [--name N] [--scale S] [--task T] "
        "[--frames F] [--licence FILE] [--replace]  |  %(prog)s remove NAME"
    )
    parser.add_argument(
        "target",
        nargs="?",
        metavar="NAME|add|remove",
        help="a model's name to print its card, or add / remove",
    )
    parser.add_argument(
        "argument", nargs="?", metavar="FILE|NAME", help="the file to add or the model to remove"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per model")
    add = parser.add_argument_group(
        "add",
        "add a PyTorch checkpoint (.pth, .pt, .ckpt, .safetensors) or an ONNX file to the model directory",
    )
    add.add_argument("--name", help="name to use it by (default: from the file name)")
    add.add_argument("--scale", type=int, help="check the detected scale against this one")
    add.add_argument("--task", choices=TASKS, help="what the model does (default: detected)")
    add.add_argument("--frames", type=int, help="frames per call of a multi-frame ONNX model")
    add.add_argument("--licence", type=Path, help="a text file with the model's licence, kept in its sidecar")
    add.add_argument("--replace", action="store_true", help="replace an added model of the same name")


def run(args: argparse.Namespace) -> int:
    target, argument = args.target, args.argument
    if target in ("add", "remove") and argument is None:
        raise ConfigError(f"models {target} needs a {'file' if target == 'add' else 'model name'}")
    if target == "add":
        return _add(args, Path(argument))
    if target == "remove":
        from ..models.directory import remove_model

        remove_model(argument, args.models_dir)
        print(f"removed {argument} from {args.models_dir}")
        return 0
    if argument is not None:
        raise ConfigError(f"unexpected argument {argument!r} after the model name")
    if target is not None:
        return _show(target, args.models_dir)
    return _list(args.json, args.models_dir)


def _show(name: str, directory: Path) -> int:
    """Print a model's card (shipped models) or its sidecar (added ones), without importing torch."""
    from ..errors import ModelNotFoundError
    from ..model_catalog import card_text, catalog_rows

    rows = {row.name: row for row in catalog_rows(directory)}
    row = rows.get(name)
    if row is None:
        raise ModelNotFoundError(f"unknown model {name!r}; see 'stream-restore models'")
    card = None if row.added else card_text(name)
    if row.added:
        print((directory / f"{name}.toml").read_text(errors="replace"), end="")
    elif card is not None:
        print(card, end="")
    else:
        print(
            f"{row.name}: {row.description}\n(task {row.task}, x{row.scale}, frames {row.frames}; no trained "
            "weights, so no card)"
        )
    return 0


def _add(args: argparse.Namespace, source: Path) -> int:
    from ..models.directory import add_model

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
    header = (
        f"{'name':<16} {'task':<8} {'scale':>5} {'frames':>7} {'recur':>5} {'params':>9} "
        f"{'GFLOP/MP':>9}  description"
    )
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
