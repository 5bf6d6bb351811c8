"""``stream-restore train RECIPE``: run, resume and export one training recipe.

Uses CUDA when present (``--device auto``) else CPU; deterministic for a given seed, device and
thread count. Checkpoints go to ``runs/<recipe>/ckpt.pt``; ``--export`` writes the final weights
into the package (``models/weights``) and updates their checksum.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch

from ..backends import check_device
from ..errors import ConfigError
from .loop import COMMITTED  # <recipe>/ckpt.pt kept in git for long schedules

__all__ = ["add_arguments", "run"]

log = logging.getLogger("stream_restore.training")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipe", help="model name of the recipe, e.g. sr-fast-x4 (see training/recipes/)")
    parser.add_argument("--steps", type=int, default=None, help="total steps (default: the recipe's)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from runs/<recipe>/ckpt.pt, else from training/checkpoints/<recipe>/ckpt.pt "
        "if committed",
    )
    parser.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda or cuda:N")
    parser.add_argument("--seed", type=int, default=0, help="seed for init and the data stream")
    parser.add_argument("--threads", type=int, default=None, help="CPU intra-op threads (default: torch's)")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"), help="shared data root")
    parser.add_argument("--runs", type=Path, default=Path("runs"), help="folder for checkpoints and logs")
    parser.add_argument("--export", action="store_true", help="write the weights into the package when done")
    parser.add_argument(
        "--export-only", action="store_true", help="export runs/<recipe>/ckpt.pt without training"
    )


def _adopt_committed_checkpoint(model: str, out_dir: Path) -> None:
    """``--resume`` with no run folder yet starts from the committed ``checkpoints/<model>/ckpt.pt``.

    Long schedules (issue 12's staged video training) span sessions; their latest checkpoint is
    committed there, and a fresh checkout resumes from it instead of starting over.
    """
    import shutil

    committed = COMMITTED / model / "ckpt.pt"
    if (out_dir / "ckpt.pt").is_file() or not committed.is_file():
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(committed, out_dir / "ckpt.pt")
    log.info("resuming %s from the committed checkpoint %s", model, committed)


def run(args: argparse.Namespace) -> int:
    import importlib.util

    if importlib.util.find_spec("PIL") is None:
        raise ConfigError("training needs the 'train' extra: pip install 'stream-restore[train]'")
    from ..models.registry import get_spec
    from .export import export_weights
    from .loop import TrainOptions, train
    from .recipe import load_recipe

    recipe = load_recipe(args.recipe)
    if args.steps is not None and args.steps < 1:
        raise ConfigError("--steps must be positive")
    if args.threads is not None:
        if args.threads < 1:
            raise ConfigError("--threads must be positive")
        torch.set_num_threads(args.threads)
    out_dir = args.runs / recipe.model
    if args.resume:
        _adopt_committed_checkpoint(recipe.model, out_dir)
    if args.export_only:
        ckpt = out_dir / "ckpt.pt"
        if not ckpt.is_file():
            raise ConfigError(f"no checkpoint at {ckpt}")
        model = get_spec(recipe.model).builder()
        model.load_state_dict(torch.load(ckpt, map_location="cpu", weights_only=False)["model"])
    else:
        options = TrainOptions(
            out_dir=out_dir,
            data_root=args.data,
            device=torch.device(check_device(args.device)),
            seed=args.seed,
            steps=args.steps,
            resume=args.resume,
        )
        model = train(recipe, options)
    if args.export or args.export_only:
        path, digest = export_weights(recipe.model, model)
        print(f"{recipe.model}: wrote {path} sha256 {digest}")
    return 0
