"""Scoring a training checkpoint mid-schedule: the model, its temporal ablation and a baseline."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from stream_restore.evaluation.checkpoint import main
from stream_restore.models import get_spec


@pytest.mark.slow
@pytest.mark.data
def test_a_checkpoint_is_scored_beside_its_ablation_and_the_baseline(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    torch.manual_seed(0)
    model = get_spec("vsr-x2").builder()
    torch.save({"recipe": "vsr-x2", "step": 7, "model": model.state_dict()}, tmp_path / "ckpt.pt")
    assert (
        main([str(tmp_path / "ckpt.pt"), "--frames", "2", "--datasets", "video", "--data-dir", str(data_dir)])
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("vsr-x2, step 7")
    assert [line.split()[1] for line in lines[1:]] == ["baseline", "checkpoint", "no"]
    assert "sr-compact-x2" in lines[1] and "vsr-x2/no-temporal" in lines[3]
