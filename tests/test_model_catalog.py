"""The torch-free model catalog matches the registry, and ``stream-restore models`` never imports torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from stream_restore.model_catalog import SHIPPED, catalog_rows, registry_rows


def test_the_catalog_of_shipped_models_matches_the_registry() -> None:
    assert list(SHIPPED) == registry_rows(), "stale catalog: run python -m stream_restore.model_catalog"


def test_models_lists_shipped_and_added_models_without_importing_torch(tmp_path: Path) -> None:
    from stream_restore.models.directory import add_model
    from stream_restore.models.registry import unregister

    from .models.conftest import randomise
    from .models.test_directory import RefSRVGG

    torch.save(randomise(RefSRVGG(upscale=2), 1).state_dict(), tmp_path / "mine.pth")
    try:
        add_model(tmp_path / "mine.pth", tmp_path / "models", name="mine")
    finally:
        unregister("mine")
    (mine,) = [row for row in catalog_rows(tmp_path / "models") if row.added]
    counted = sum(p.numel() for p in RefSRVGG(upscale=2).parameters())
    assert (mine.name, mine.scale, mine.parameters) == ("mine", 2, counted)
    code = (
        "import sys; from stream_restore.cli import main; "
        f"status = main(['models', '--models-dir', {str(tmp_path / 'models')!r}]); "
        "assert 'torch' not in sys.modules, 'torch was imported'; sys.exit(status)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "sr-compact-x4" in run.stdout and "mine" in run.stdout


def test_models_name_prints_the_card_and_an_unknown_name_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from stream_restore.cli import main

    assert main(["models", "sr-compact-x4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# sr-compact-x4") and "| property | value |" in out
    assert main(["models", "identity"]) == 0
    assert "no trained weights" in capsys.readouterr().out
    assert main(["models", "no-such-model"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown model 'no-such-model'" in err
    assert main(["models", "add"]) == 2
    assert "models add needs a file" in capsys.readouterr().err
