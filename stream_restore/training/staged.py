"""Staged training of the flow-aligned video models (recipes with ``stages``), resumable.

Stages run in order on one global step counter, so a checkpoint's step says which stage it is in
and ``--resume`` picks up mid-stage: flow pre-training on the sampler's ground-truth flow, then the
aligned window (every frame from a fresh state, batched), then the full recurrence with the carried
state and fed-back output. The flow estimator (``model.flow``) has its own step size per stage.
Checkpoints are the plain loop's (``ckpt.pt``: model, optimiser, step, RNG states).
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

import torch
from torch import nn

from ..errors import CancelledError, ConfigError
from ..models.recurrent import RecurrentModel
from ..models.registry import get_spec
from .loop import COMMITTED, TrainOptions, _read_checkpoint, _save, _state, _StopFlag, initialise
from .losses import pixel_loss
from .recipe import Recipe, Sampler, Stage, make_sampler

__all__ = ["endpoint_error", "stage_at", "train_staged"]

log = logging.getLogger("stream_restore.training")


def stage_at(recipe: Recipe, step: int, total: int) -> tuple[Stage, int, int]:
    """(stage, step within it, its length) for global ``step``; the last stage extends to ``total``."""
    start = 0
    for i, stage in enumerate(recipe.stages):
        length = stage.steps if i < len(recipe.stages) - 1 else max(stage.steps, total - start)
        if step < start + length:
            return stage, step - start, length
        start += length
    raise ConfigError(f"step {step} is past the end of {recipe.model}'s stages")


def _schedule(step: int, warmup: int, length: int) -> float:
    """Warmup then cosine decay to 1% of the peak, as a factor of the peak step size."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, length - warmup))
    return 0.01 + 0.495 * (1 + math.cos(math.pi * progress))


def endpoint_error(model: nn.Module, clip: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Mean end-point error (LR px) of ``model.flow`` on frames t -> t-1 of ``clip[N,T,3,H,W]``.

    Clips whose flow is unknown (NaN: real footage) are left out; with none known the error is 0.
    """
    known = torch.isfinite(flow).flatten(1).all(dim=1)
    if not known.any():
        return clip.new_zeros(())
    clip, flow = clip[known], flow[known]
    target, source = clip[:, 1:].flatten(0, 1), clip[:, :-1].flatten(0, 1)
    estimator: nn.Module = model.flow  # type: ignore[assignment]
    pred: torch.Tensor = estimator(target, source)
    return (pred - flow[:, 1:].flatten(0, 1)).pow(2).sum(1).add(1e-8).sqrt().mean()


def _restore(model: RecurrentModel, clip: torch.Tensor, objective: str) -> torch.Tensor:
    if objective == "recurrent":
        restored: torch.Tensor = model.forward_clip(clip)
        return restored
    n, t, _, h, w = clip.shape
    windows = model.clip_windows(clip).flatten(0, 1)
    y, _ = model.step(windows, model.initial_state(n * t, h, w).to(clip))
    frames: torch.Tensor = y.unflatten(0, (n, t))
    return frames


def _loss(
    model: RecurrentModel,
    stage: Stage,
    x: torch.Tensor,
    y: torch.Tensor,
    flow: torch.Tensor,
    freq_weight: float,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The stage's training loss on one batch and its logged terms (end-point error, pixel loss)."""
    terms: dict[str, torch.Tensor] = {}
    if stage.objective == "flow" or stage.flow_weight > 0:
        terms["epe"] = endpoint_error(model, x, flow)
    if stage.objective == "flow":
        return terms["epe"], terms
    terms["pixel"] = pixel_loss(_restore(model, x, stage.objective), y, freq_weight)
    return terms["pixel"] + stage.flow_weight * terms.get("epe", torch.zeros(())), terms


def _parameter_groups(model: nn.Module) -> tuple[list[nn.Parameter], ...]:
    """(body, flow estimator, fusion layers): the three step sizes of a stage, in that order."""
    fusion = tuple(f"{name}." for name in getattr(model, "fusion_layers", ()))
    groups: tuple[list[nn.Parameter], ...] = ([], [], [])
    for name, param in model.named_parameters():
        groups[1 if name.startswith("flow.") else 2 if name.startswith(fusion) else 0].append(param)
    return groups


def _resume_staged(
    ckpt_path: Path,
    options: TrainOptions,
    recipe: Recipe,
    model: nn.Module,
    opt: torch.optim.Optimizer,
    gen: torch.Generator,
) -> int:
    """``--resume`` for staged recipes: the plain loop's, except at the first step of a stage.

    A stage may change the model's layers (add a zero-initialised one, replace one) and regroup
    the parameters; so at a stage's first step, parameters the checkpoint lacks keep their
    initialisation, those the model no longer has are dropped, and an optimiser state that no
    longer fits is dropped (Adam starts afresh, under the stage's warmup). Anywhere else the
    checkpoint must fit exactly.
    """
    state = _read_checkpoint(ckpt_path, options, recipe) if options.resume else None
    if state is None:
        return 0
    step = int(state["step"])
    stage, local, _ = stage_at(recipe, step, options.steps or recipe.steps)
    missing, unexpected = model.load_state_dict(state["model"], strict=False)
    if (missing or unexpected) and local:
        raise ConfigError(
            f"{ckpt_path} does not fit {recipe.model}: missing {missing}, unexpected {unexpected}"
        )
    if missing or unexpected:  # the moments of other layers mean nothing to the new ones
        log.info("%s: stage %s adds %s, drops %s and starts with a fresh optimiser", recipe.model,
                 stage.name, missing, unexpected)
    else:
        try:
            opt.load_state_dict(state["optimizer"])
        except ValueError as exc:  # torch's message for a different number or size of groups
            if local:
                raise ConfigError(f"{ckpt_path}: optimiser state does not fit ({exc})") from exc
            log.info("%s: stage %s starts with a fresh optimiser (%s)", recipe.model, stage.name, exc)
    gen.set_state(state["data_rng"])
    torch.set_rng_state(state["torch_rng"])
    log.info("resumed %s at step %d", recipe.model, step)
    return step


def _skip_committed_flow(recipe: Recipe, estimator: nn.Module) -> int:
    """Resuming with no checkpoint: start after the flow stage when its result is committed.

    The flow pre-training stage's weights are kept in ``checkpoints/<model>-flow.safetensors``
    (they are a few hundred KB, the full checkpoint with its optimiser state is not needed to go
    on). Returns the first step after the leading flow stage, or 0 when there is nothing to skip.
    """
    first = recipe.stages[0] if recipe.stages else None
    path = COMMITTED / f"{recipe.model}-flow.safetensors"
    if first is None or first.objective != "flow" or not path.is_file():
        return 0
    from safetensors.torch import load_file

    estimator.load_state_dict(load_file(str(path)))
    log.info("%s: flow stage taken from %s; starting at step %d", recipe.model, path.name, first.steps)
    return first.steps


def train_staged(recipe: Recipe, options: TrainOptions, sampler: Sampler | None = None) -> nn.Module:
    """Run (or resume) a staged recipe; returns the trained module (eval mode, on CPU)."""
    spec = get_spec(recipe.model)
    total = options.steps or recipe.steps
    out = options.out_dir
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "ckpt.pt"

    torch.manual_seed(options.seed)
    model = spec.builder()
    estimator = getattr(model, "flow", None)
    if not isinstance(model, RecurrentModel) or not isinstance(estimator, nn.Module):
        raise ConfigError(f"{recipe.model}: staged recipes need a recurrent model with a .flow estimator")
    initialise(model, recipe)
    if recipe.flow_weights:
        from safetensors.torch import load_file

        path = COMMITTED / recipe.flow_weights
        if not path.is_file():
            raise ConfigError(f"{recipe.model} starts its flow from {path}, which is missing")
        estimator.load_state_dict(load_file(str(path)))
    model.to(options.device).train()
    opt = torch.optim.Adam(
        [{"params": group, "lr": 0.0} for group in _parameter_groups(model)], betas=(0.9, 0.99)
    )
    gen = torch.Generator().manual_seed(options.seed)
    step = _resume_staged(ckpt_path, options, recipe, model, opt, gen)
    if step == 0 and options.resume:
        step = _skip_committed_flow(recipe, estimator)
    if sampler is None:
        sampler = make_sampler(recipe, spec.scale, options.data_root)

    history = out / "log.jsonl"
    t0 = time.monotonic()
    sums: dict[str, float] = {}
    count = 0
    stop = _StopFlag()
    while step < total and not stop.requested:
        stage, local, length = stage_at(recipe, step, total)
        factor = _schedule(local, stage.warmup, length)
        fusion_lr = stage.lr if stage.fusion_lr is None else stage.fusion_lr
        for group, peak in zip(opt.param_groups, (stage.lr, stage.flow_lr, fusion_lr), strict=True):
            group["lr"] = peak * factor
        x, y, flow = (t.to(options.device) for t in sampler(gen))
        loss, terms = _loss(model, stage, x, y, flow, recipe.freq_weight)
        opt.zero_grad(set_to_none=True)
        if loss.requires_grad:  # a flow step on real clips only has no ground truth: nothing to learn
            loss.backward()
            opt.step()
        step += 1
        count += 1
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + v.item()
        if step % options.log_every == 0 or step == total:
            record = {"step": step, "stage": stage.name, "lr": stage.lr * factor,
                      "flow_lr": stage.flow_lr * factor, "fusion_lr": fusion_lr * factor,
                      "elapsed_s": round(time.monotonic() - t0, 1)}
            record |= {k: v / count for k, v in sums.items()}
            sums, count = {}, 0
            with open(history, "a") as fh:
                fh.write(json.dumps(record) + "\n")
            log.info("%s step %d/%d [%s] %s", recipe.model, step, total, stage.name,
                     " ".join(f"{k} {v:.5f}" for k, v in record.items() if k in terms))
        if step % recipe.checkpoint_every == 0 or step == total or stop.requested:
            _save(ckpt_path, _state(model, opt, step, gen, None, None, recipe, options.seed))
    stop.restore()
    if step < total:
        raise CancelledError(f"{recipe.model} stopped at step {step}; checkpoint saved, rerun with --resume")
    return model.cpu().eval()
