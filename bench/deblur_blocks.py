"""Does a NAFNet-style block beat the deblur U-Net's ResBlock at the same cost? (issue 12, item 3)

    .venv/bin/python bench/deblur_blocks.py [--steps 1200 --patch 128 --threads 2]

Trains the deblur U-Net twice from scratch, once with its ResBlocks and once with three
``NAFBlock``s in each block slot (``models/deblur_unet.py``: ``BLOCKS``), on the same sampler, seed,
data, schedule and steps as each other (``deblur``'s blur model; a shortened schedule at the phase-1
step size, so the comparison fits a session on a CPU), then prints each one's counted GFLOP per
megapixel, parameters, seconds per training step and ``stream-restore eval``'s Y PSNR on Levin09
(scored up to a shift) and the two GoPro pairs. Checkpoints go to ``runs/deblur-blocks/``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
from pathlib import Path

import torch

from stream_restore.backends import BackendOptions, create_backend
from stream_restore.evaluation.datasets import load_dataset
from stream_restore.evaluation.runner import evaluate
from stream_restore.models.deblur_unet import BLOCKS, DeblurUNet
from stream_restore.models.registry import ModelSpec, get_spec, list_specs, register
from stream_restore.training.loop import TrainOptions, train
from stream_restore.training.recipes.deblur import RECIPE as DEBLUR

DATASETS = ("Levin09", "GoPro")


def _spec(block: str) -> ModelSpec:
    """deblur's spec with this block in the U-Net, untrained (registered for this process only)."""
    name = f"deblur-{block}-ab"
    if name not in {s.name for s in list_specs()}:
        register(dataclasses.replace(get_spec("deblur"), name=name, weights=None, card=None,
                                     builder=functools.partial(DeblurUNet, 16, 2, block),
                                     description=f"deblur U-Net with {block} blocks (bench only)"))
    return get_spec(name)


def _run(block: str, args: argparse.Namespace) -> tuple[str, float, int, float, dict[str, float]]:
    """Train one variant afresh and score it: (block, GFLOP/MP, parameters, s/step, PSNR-Y by dataset)."""
    spec = _spec(block)
    recipe = dataclasses.replace(DEBLUR, model=spec.name, init_weights=None, steps=args.steps,
                                 patch=args.patch, batch=args.batch, lr=args.lr, warmup=50)
    out = args.runs / block
    (out / "log.jsonl").unlink(missing_ok=True)  # a fresh run each time: the timing is this one's
    model = train(recipe, TrainOptions(out_dir=out, data_root=args.data, device=torch.device("cpu")))
    last = json.loads((out / "log.jsonl").read_text().splitlines()[-1])
    trained = dataclasses.replace(spec, builder=lambda: model)
    with create_backend(trained, "torch", BackendOptions()) as backend:
        scores = {d: evaluate(backend, d, load_dataset(d, 1, args.data)).psnr_y for d in DATASETS}
    print(f"{block}: done, {scores}", flush=True)
    return block, spec.gflop_per_megapixel(), spec.parameter_count(), last["elapsed_s"] / last["step"], scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--patch", type=int, default=128)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--blocks", nargs="+", default=sorted(BLOCKS), choices=sorted(BLOCKS))
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--runs", type=Path, default=Path("runs/deblur-blocks"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = [_run(block, args) for block in args.blocks]
    print(f"\n{args.steps} steps from scratch, {args.patch} px, batch {args.batch}, lr {args.lr}, "
          f"{args.threads} threads; Y PSNR dB")
    print(f"{'block':6} {'GFLOP/MP':>9} {'params':>9} {'s/step':>7} " + " ".join(f"{d:>8}" for d in DATASETS))
    for block, gflop, params, seconds, scores in rows:
        print(f"{block:6} {gflop:9.1f} {params:9,d} {seconds:7.3f} "
              + " ".join(f"{scores[d]:8.2f}" for d in DATASETS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
