"""Staged training (flow -> window -> recurrent): stages switch on the step, resume is exact."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from stream_restore.errors import ConfigError
from stream_restore.training.loop import TrainOptions, train
from stream_restore.training.recipe import Recipe, Stage
from stream_restore.training.samplers import LayeredVideoSRSampler
from stream_restore.training.staged import stage_at

STAGES = (
    Stage("flow", "flow", steps=2, lr=0.0, flow_lr=1e-3, warmup=1),
    Stage("window", "window", steps=1, lr=1e-3, flow_lr=1e-4, flow_weight=0.1, warmup=1),
    Stage("recurrent", "recurrent", steps=1, lr=1e-3, flow_lr=1e-4, warmup=1),
)
RECIPE = Recipe(model="vsr-x2", kind="vsr-layers", steps=4, batch=1, patch=8, frames=3,
                checkpoint_every=1, stages=STAGES)


def _sampler() -> LayeredVideoSRSampler:
    g = torch.Generator().manual_seed(0)
    images = list(
        F.interpolate(torch.rand(2, 3, 20, 20, generator=g), scale_factor=4, mode="bicubic").clamp(0, 1)
    )
    return LayeredVideoSRSampler(images, scale=2, patch=8, batch=1, frames=3, max_speed=2.0)


def _options(out: Path, steps: int, resume: bool = False) -> TrainOptions:
    return TrainOptions(out_dir=out, data_root=out, device=torch.device("cpu"), steps=steps, resume=resume)


def test_stage_at_boundaries_and_extension() -> None:
    assert stage_at(RECIPE, 0, 4)[0].name == "flow"
    assert stage_at(RECIPE, 2, 4)[:2] == (STAGES[1], 0)
    assert stage_at(RECIPE, 5, 7) == (STAGES[2], 2, 4)  # the last stage runs on to --steps
    with pytest.raises(ConfigError):
        Recipe(model="x", kind="vsr-layers", steps=5, batch=1, patch=8, stages=STAGES)


@pytest.mark.slow
def test_flow_stage_trains_only_the_flow_and_resume_is_exact(tmp_path: Path) -> None:
    straight = train(RECIPE, _options(tmp_path / "a", 4), sampler=_sampler())
    after_flow = train(RECIPE, _options(tmp_path / "b", 2), sampler=_sampler())
    torch.manual_seed(0)
    init = type(after_flow)(2)  # same builder seed as the run: compare the non-flow weights
    for name, p in after_flow.named_parameters():
        if not name.startswith("flow."):
            torch.testing.assert_close(p, dict(init.named_parameters())[name], rtol=0, atol=0)
    assert any(
        not torch.equal(a, b)
        for a, b in zip(init.flow.parameters(), after_flow.flow.parameters(), strict=True)
    )
    train(RECIPE, _options(tmp_path / "b", 3, resume=True), sampler=_sampler())
    resumed = train(RECIPE, _options(tmp_path / "b", 4, resume=True), sampler=_sampler())
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-7)
    assert any(
        not torch.equal(a, b) for a, b in zip(straight.parameters(), after_flow.parameters(), strict=True)
    )


def test_endpoint_error_ignores_clips_without_ground_truth() -> None:
    from stream_restore.models import get_spec
    from stream_restore.training.staged import endpoint_error

    model = get_spec("vsr-x2").builder()  # untrained: zero flow everywhere
    clip = torch.rand(2, 3, 3, 8, 8)
    flow = torch.ones(2, 3, 2, 8, 8)
    flow[1] = float("nan")
    assert endpoint_error(model, clip, flow).item() == pytest.approx(2**0.5, rel=1e-5)
    assert endpoint_error(model, clip[1:], flow[1:]).item() == 0.0


def test_flow_step_without_ground_truth_is_skipped(tmp_path: Path) -> None:
    """A flow-stage batch of real clips only (no flow known) counts as a step and changes nothing."""
    sampler = _sampler()
    real = [torch.randint(0, 256, (6, 3, 30, 30), dtype=torch.uint8)]
    sampler = LayeredVideoSRSampler(sampler.images, 2, 8, 1, 3, real=real, real_fraction=1.0)
    model = train(RECIPE, _options(tmp_path, 1), sampler=sampler)
    torch.manual_seed(0)
    init = type(model)(2)
    for a, b in zip(init.parameters(), model.parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.slow
def test_flow_weights_start_the_flow_estimator(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    from stream_restore.training import staged

    name = "vsr-x4-flow.safetensors"
    frozen = (Stage("window", "window", steps=1, lr=0.0, flow_lr=0.0, warmup=1),)
    recipe = Recipe(model="vsr-x2", kind="vsr-layers", steps=1, batch=1, patch=8, frames=3,
                    stages=frozen, flow_weights=name)
    model = train(recipe, _options(tmp_path / "a", 1), sampler=_sampler())
    expected = load_file(str(Path(staged.__file__).parent / "checkpoints" / name))
    for key, value in model.flow.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=0, atol=0)
    with pytest.raises(ConfigError, match="missing"):
        train(
            replace(recipe, flow_weights="no-such.safetensors"),
            _options(tmp_path / "b", 1),
            sampler=_sampler(),
        )


def test_resume_without_a_checkpoint_starts_after_the_committed_flow_stage(tmp_path: Path) -> None:
    """A fresh checkout resumes past the flow stage whose result is committed, not from step 0."""
    import json

    from safetensors.torch import load_file

    from stream_restore.training import staged

    stages = (
        Stage("flow", "flow", steps=5, lr=0.0, flow_lr=1e-3, warmup=1),
        Stage("window", "window", steps=1, lr=0.0, flow_lr=0.0, warmup=1),
    )
    recipe = Recipe(
        model="vsr-x4",
        kind="vsr-layers",
        steps=6,
        batch=1,
        patch=8,
        frames=3,
        checkpoint_every=1,
        stages=stages,
    )
    images = [torch.rand(3, 64, 64, generator=torch.Generator().manual_seed(i)) for i in range(2)]
    sampler = LayeredVideoSRSampler(images, scale=4, patch=8, batch=1, frames=3, max_speed=2.0)
    options = replace(_options(tmp_path, 6, resume=True), log_every=1)
    model = train(recipe, options, sampler=sampler)
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [(r["step"], r["stage"]) for r in records] == [(6, "window")]
    expected = load_file(
        str(Path(staged.__file__).parent / "checkpoints" / "vsr-x4-flow.safetensors")
    )
    for key, value in model.flow.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=0, atol=0)


def test_fusion_layers_have_their_own_step_size(tmp_path: Path) -> None:
    """With the body's and the flow's step sizes at zero, a stage's ``fusion_lr`` moves only the
    zero-initialised fusion layers (the temporal 1x1 conv and the keep gate)."""
    stage = Stage("fusion", "recurrent", steps=2, lr=0.0, flow_lr=0.0, warmup=1, fusion_lr=1e-3)
    # started from sr-compact-x2, so the head is not zero and gradient reaches the temporal conv
    recipe = replace(RECIPE, steps=2, stages=(stage,), init_from="sr-compact-x2")
    model = train(recipe, _options(tmp_path / "a", 2), sampler=_sampler())
    frozen = train(replace(recipe, stages=(replace(stage, fusion_lr=0.0),)), _options(tmp_path / "b", 2),
                   sampler=_sampler())
    before = dict(frozen.named_parameters())
    changed = {name.split(".")[0] for name, p in model.named_parameters() if not torch.equal(p, before[name])}
    assert changed == {"temporal", "gate"}


def _old_checkpoint(path: Path) -> None:
    """Rewrite ``path`` as an earlier model and trainer saved it: another gate, two groups."""
    state = torch.load(path, weights_only=False)
    state["model"] = {k: v for k, v in state["model"].items() if not k.startswith("gate.")}
    state["model"]["mix.weight"] = torch.zeros(1, 48, 1, 1)  # a layer the model no longer has
    params = [torch.nn.Parameter(v.clone()) for v in state["model"].values() if v.is_floating_point()]
    state["optimizer"] = torch.optim.Adam([{"params": params[:-1]}, {"params": params[-1:]}]).state_dict()
    torch.save(state, path)


def test_a_stage_may_add_layers_and_regroup_the_optimiser(tmp_path: Path) -> None:
    """At a stage's first step a checkpoint with other layers resumes (new ones keep their
    initialisation, old ones are dropped, Adam starts afresh); anywhere else it is refused."""
    stages = (
        Stage("window", "window", steps=2, lr=1e-3, flow_lr=1e-4, warmup=1),
        Stage("fusion", "recurrent", steps=1, lr=1e-4, flow_lr=1e-5, warmup=1, fusion_lr=1e-3),
    )
    recipe = replace(RECIPE, steps=3, stages=stages)
    train(recipe, _options(tmp_path / "boundary", 2), sampler=_sampler())
    _old_checkpoint(tmp_path / "boundary" / "ckpt.pt")
    model = train(recipe, _options(tmp_path / "boundary", 3, resume=True), sampler=_sampler())
    assert model.gate.weight.abs().sum() > 0  # created zero, trained by the fusion stage

    train(recipe, _options(tmp_path / "mid", 1), sampler=_sampler())
    _old_checkpoint(tmp_path / "mid" / "ckpt.pt")
    with pytest.raises(ConfigError, match="does not fit"):
        train(recipe, _options(tmp_path / "mid", 3, resume=True), sampler=_sampler())
