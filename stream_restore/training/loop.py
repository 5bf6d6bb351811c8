"""The resumable training loop: Adam + warmup/cosine LR, checkpoints with every RNG state.

A checkpoint (``<out>/ckpt.pt``) holds the model, optimiser, discriminator (GAN recipes), step and
the data generator's and torch's RNG states, so ``--resume`` continues the exact batch stream and
gives the same weights as an uninterrupted run on the same device and thread count.
"""

from __future__ import annotations

import json
import logging
import math
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import CancelledError, ConfigError
from ..files import atomic_path
from ..models.registry import ModelSpec, get_spec
from .losses import gan_d_loss, gan_g_loss, pixel_loss
from .recipe import Recipe, Sampler, make_sampler

__all__ = ["TrainOptions", "cosine_lr", "forward_batch", "train"]

log = logging.getLogger("stream_restore.training")


@dataclass(frozen=True)
class TrainOptions:
    """Where and how to run a recipe (built once by the CLI)."""

    out_dir: Path
    data_root: Path
    device: torch.device
    seed: int = 0
    steps: int | None = None  # overrides the recipe's step count
    resume: bool = False
    log_every: int = 50


def cosine_lr(step: int, recipe: Recipe, total: int) -> float:
    """Linear warmup for ``recipe.warmup`` steps, then cosine decay to ``recipe.min_lr`` at ``total``."""
    if step < recipe.warmup:
        return recipe.lr * (step + 1) / recipe.warmup
    progress = min(1.0, (step - recipe.warmup) / max(1, total - recipe.warmup))
    return recipe.min_lr + 0.5 * (recipe.lr - recipe.min_lr) * (1 + math.cos(math.pi * progress))


def forward_batch(spec: ModelSpec, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Run a training batch: single-frame models on ``x[N,3,h,w]``; recurrent ones over whole clips."""
    if spec.recurrent:
        return model.forward_clip(x)  # type: ignore[operator,no-any-return]
    return model(x)  # type: ignore[no-any-return]


def _load_subset(model: nn.Module, source: dict[str, torch.Tensor], origin: str) -> None:
    """Load ``source`` into ``model``; every tensor of it must exist there with the same shape,
    and parameters ``model`` adds keep their init."""
    target = model.state_dict()
    bad = [k for k, v in source.items() if k not in target or target[k].shape != v.shape]
    if bad:
        raise ConfigError(f"cannot start {type(model).__name__} from {origin}: mismatched {bad[:4]}")
    model.load_state_dict(source, strict=False)


def _warm_start(model: nn.Module, init: ModelSpec) -> None:
    """Load ``init``'s shipped weights into ``model`` (vsr-x4 starts from sr-compact-x4)."""
    if init.weights is None:
        raise ConfigError(f"cannot start from {init.name}: it ships no trained weights")
    _load_subset(model, init.build(pretrained=True).state_dict(), init.name)  # verifies the checksum


COMMITTED = Path(__file__).parent / "checkpoints"  # checkpoints and weights kept in git


def initialise(model: nn.Module, recipe: Recipe) -> None:
    """Apply the recipe's starting point: a registered model's shipped weights (``init_from``),
    then a committed weights file (``init_weights``, an earlier phase of the same schedule)."""
    if recipe.init_from:
        _warm_start(model, get_spec(recipe.init_from))
    if recipe.init_weights:
        from safetensors.torch import load_file

        path = COMMITTED / recipe.init_weights
        if not path.is_file():
            raise ConfigError(f"{recipe.model} starts from {path}, which is missing")
        _load_subset(model, load_file(str(path)), recipe.init_weights)


def _state(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    step: int,
    gen: torch.Generator,
    disc: nn.Module | None,
    d_opt: torch.optim.Optimizer | None,
    recipe: Recipe,
    seed: int,
) -> dict[str, Any]:
    return {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "disc": disc.state_dict() if disc is not None else None,
        "d_optimizer": d_opt.state_dict() if d_opt is not None else None,
        "step": step,
        "data_rng": gen.get_state(),
        "torch_rng": torch.get_rng_state(),
        "recipe": recipe.model,
        "seed": seed,
    }


def _save(path: Path, state: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:  # a crash mid-save leaves the previous checkpoint intact
        torch.save(state, tmp)


def _read_checkpoint(ckpt_path: Path, options: TrainOptions, recipe: Recipe) -> dict[str, Any] | None:
    """The checkpoint at ``ckpt_path`` (our own file, written by :func:`_save`), or None if absent."""
    if not ckpt_path.is_file():
        log.warning("no checkpoint at %s; starting from scratch", ckpt_path)
        return None
    state: dict[str, Any] = torch.load(ckpt_path, map_location=options.device, weights_only=False)
    if state["recipe"] != recipe.model:
        raise ConfigError(f"{ckpt_path} belongs to {state['recipe']}, not {recipe.model}")
    return state


def _resume(
    ckpt_path: Path,
    options: TrainOptions,
    recipe: Recipe,
    model: nn.Module,
    opt: torch.optim.Optimizer,
    gen: torch.Generator,
    disc: nn.Module | None = None,
    d_opt: torch.optim.Optimizer | None = None,
) -> int:
    """With ``--resume``, restore everything from ``ckpt_path`` and return its step (else 0)."""
    if not options.resume:
        return 0
    state = _read_checkpoint(ckpt_path, options, recipe)
    if state is None:
        return 0
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    if disc is not None and d_opt is not None:
        disc.load_state_dict(state["disc"])
        d_opt.load_state_dict(state["d_optimizer"])
    gen.set_state(state["data_rng"])
    torch.set_rng_state(state["torch_rng"])
    log.info("resumed %s at step %d", recipe.model, int(state["step"]))
    return int(state["step"])


def train(recipe: Recipe, options: TrainOptions, sampler: Sampler | None = None) -> nn.Module:
    """Run (or resume) ``recipe``; returns the trained module (in eval mode, on CPU)."""
    if recipe.stages:
        from .staged import train_staged

        return train_staged(recipe, options, sampler)
    spec = get_spec(recipe.model)
    total = options.steps or recipe.steps
    out = options.out_dir
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "ckpt.pt"

    torch.manual_seed(options.seed)
    model = spec.builder()
    initialise(model, recipe)
    model.to(options.device).train()
    opt = torch.optim.Adam(model.parameters(), lr=recipe.lr, betas=(0.9, 0.99))
    disc: nn.Module | None = None
    d_opt: torch.optim.Optimizer | None = None
    if recipe.gan_weight > 0:
        from .discriminator import UNetDiscriminator

        disc = UNetDiscriminator().to(options.device).train()
        d_opt = torch.optim.Adam(disc.parameters(), lr=recipe.d_lr, betas=(0.9, 0.99))
    gen = torch.Generator().manual_seed(options.seed)
    step = _resume(ckpt_path, options, recipe, model, opt, gen, disc, d_opt)
    if sampler is None:
        sampler = make_sampler(recipe, spec.scale, options.data_root)

    history = out / "log.jsonl"
    t0, running = time.monotonic(), 0.0
    stop = _StopFlag()
    while step < total and not stop.requested:
        lr = cosine_lr(step, recipe, total)
        for group in opt.param_groups:
            group["lr"] = lr
        x, y = sampler(gen)
        x, y = x.to(options.device), y.to(options.device)
        pred = forward_batch(spec, model, x)
        loss = pixel_loss(pred, y, recipe.freq_weight)
        if disc is not None and d_opt is not None:
            fake = pred.flatten(0, -4) if pred.dim() > 4 else pred
            for p in disc.parameters():
                p.requires_grad_(False)
            loss = loss + recipe.gan_weight * gan_g_loss(disc(fake))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if disc is not None and d_opt is not None:
            for p in disc.parameters():
                p.requires_grad_(True)
            real = y.flatten(0, -4) if y.dim() > 4 else y
            d_loss = gan_d_loss(disc(real), disc(fake.detach()))
            d_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            d_opt.step()
        step += 1
        running += loss.item()
        if step % options.log_every == 0 or step == total:
            n = options.log_every if step % options.log_every == 0 else step % options.log_every
            record = {
                "step": step,
                "loss": running / n,
                "lr": lr,
                "elapsed_s": round(time.monotonic() - t0, 1),
            }
            running = 0.0
            with open(history, "a") as fh:
                fh.write(json.dumps(record) + "\n")
            log.info("%s step %d/%d loss %.5f lr %.2e", recipe.model, step, total, record["loss"], lr)
        if step % recipe.checkpoint_every == 0 or step == total or stop.requested:
            _save(ckpt_path, _state(model, opt, step, gen, disc, d_opt, recipe, options.seed))
    stop.restore()
    if step < total:
        raise CancelledError(f"{recipe.model} stopped at step {step}; checkpoint saved, rerun with --resume")
    return model.cpu().eval()


class _StopFlag:
    """SIGTERM/SIGINT set a flag; the loop finishes its step, checkpoints and stops (no lost work)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, object] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: object) -> None:
        self.requested = True

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
