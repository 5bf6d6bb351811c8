"""The training loop: a step runs, checkpoints resume exactly, export writes weights + checksum."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from stream_restore.cli import main
from stream_restore.errors import ConfigError
from stream_restore.models import get_spec, list_specs
from stream_restore.models.registry import file_sha256
from stream_restore.training import export as export_mod
from stream_restore.training.loop import TrainOptions, cosine_lr, train
from stream_restore.training.recipe import Recipe, load_recipe, recipe_names
from stream_restore.training.samplers import SRSampler


def _sampler() -> SRSampler:
    g = torch.Generator().manual_seed(0)
    return SRSampler([torch.rand(3, 64, 64, generator=g)], scale=2, patch=8, batch=2)


def _options(tmp_path: Path, steps: int, resume: bool = False) -> TrainOptions:
    return TrainOptions(
        out_dir=tmp_path, data_root=tmp_path, device=torch.device("cpu"), steps=steps, resume=resume
    )


RECIPE = Recipe(model="sr-fast-x2", kind="sr", steps=4, batch=2, patch=8, warmup=1, checkpoint_every=2)


def test_resume_reproduces_uninterrupted_run(tmp_path: Path) -> None:
    straight = train(RECIPE, _options(tmp_path / "a", 4), sampler=_sampler())
    train(RECIPE, _options(tmp_path / "b", 4), sampler=_sampler())  # same seed: same result
    first = tmp_path / "c"
    train(RECIPE, _options(first, 2), sampler=_sampler())
    state = torch.load(first / "ckpt.pt", weights_only=False)
    assert state["step"] == 2
    resumed = train(RECIPE, _options(first, 4, resume=True), sampler=_sampler())
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-7)
    assert (first / "log.jsonl").is_file()


def test_gan_recipe_step_runs(tmp_path: Path) -> None:
    recipe = Recipe(model="sr-fast-x2", kind="sr", steps=1, batch=2, patch=8, gan_weight=0.01)
    model = train(recipe, _options(tmp_path, 1), sampler=_sampler())
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert torch.load(tmp_path / "ckpt.pt", weights_only=False)["disc"] is not None


def test_cosine_lr_warms_up_and_decays() -> None:
    r = Recipe(model="x", kind="sr", steps=100, batch=1, patch=8, lr=1e-3, min_lr=1e-5, warmup=10)
    assert cosine_lr(0, r, 100) < cosine_lr(9, r, 100) == pytest.approx(1e-3)
    assert cosine_lr(100, r, 100) == pytest.approx(1e-5)


def test_every_recipe_names_a_registered_model() -> None:
    names = recipe_names()
    assert names
    for name in names:
        assert load_recipe(name).model == name
        get_spec(name)
    trained = {s.name for s in list_specs() if s.card is not None}
    assert trained <= set(names), "every carded model needs its recipe"
    with pytest.raises(ConfigError):
        load_recipe("no-such-model")


def test_export_writes_weights_and_checksum(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "pkg"
    (package / "weights").mkdir(parents=True)
    original = (Path(export_mod.__file__).parents[1] / "models" / "checksums.py").read_text()
    (package / "checksums.py").write_text(original)
    monkeypatch.setattr(export_mod, "_PACKAGE", package)
    module = get_spec("sr-fast-x2").builder()
    path, digest = export_mod.export_weights("sr-fast-x2", module)
    assert file_sha256(path) == digest
    assert f'"sr-fast-x2": "{digest}"' in (package / "checksums.py").read_text()


def test_cli_rejects_unknown_recipe(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "no-such-model"]) == 2
    assert "no recipe" in capsys.readouterr().err


def test_resume_adopts_the_committed_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stream_restore.training import command

    committed = tmp_path / "committed"
    (committed / "vsr-x4").mkdir(parents=True)
    (committed / "vsr-x4" / "ckpt.pt").write_bytes(b"committed")
    monkeypatch.setattr(command, "COMMITTED", committed)
    run = tmp_path / "runs" / "vsr-x4"
    command._adopt_committed_checkpoint("vsr-x4", run)
    assert (run / "ckpt.pt").read_bytes() == b"committed"
    (run / "ckpt.pt").write_bytes(b"newer")  # a run folder's own checkpoint always wins
    command._adopt_committed_checkpoint("vsr-x4", run)
    assert (run / "ckpt.pt").read_bytes() == b"newer"
    command._adopt_committed_checkpoint("sr-fast-x2", tmp_path / "runs" / "sr-fast-x2")  # none committed
    assert not (tmp_path / "runs" / "sr-fast-x2").exists()


def test_init_weights_starts_from_a_committed_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from safetensors.torch import save_file

    from stream_restore.training import loop

    monkeypatch.setattr(loop, "COMMITTED", tmp_path)
    earlier = get_spec("sr-fast-x2").builder()
    for p in earlier.parameters():
        torch.nn.init.normal_(p, std=0.05)
    save_file(earlier.state_dict(), str(tmp_path / "earlier.safetensors"))
    recipe = Recipe(
        model="sr-fast-x2", kind="sr", steps=1, batch=1, patch=8, init_weights="earlier.safetensors"
    )
    model = get_spec("sr-fast-x2").builder()
    loop.initialise(model, recipe)
    for a, b in zip(earlier.state_dict().values(), model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ConfigError, match="mismatched"):  # another model's tensors are refused
        loop.initialise(get_spec("deblur").builder(), Recipe(**{**recipe.__dict__, "model": "deblur"}))
    with pytest.raises(ConfigError, match="missing"):
        loop.initialise(model, Recipe(**{**recipe.__dict__, "init_weights": "gone.safetensors"}))


def test_shipped_recipes_start_points_exist() -> None:
    from stream_restore.training.loop import COMMITTED

    for name in recipe_names():
        recipe = load_recipe(name)
        for file in (recipe.init_weights, recipe.flow_weights):
            assert file is None or (COMMITTED / file).is_file(), f"{name}: {file} is not committed"
