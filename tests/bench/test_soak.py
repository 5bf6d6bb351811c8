"""Smoke test of the soak command: one stream for a few seconds against its own server process."""

from __future__ import annotations

import pytest

from stream_restore.bench.soak import main, run_soak


@pytest.mark.slow
def test_soak_one_stream_for_a_few_seconds(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_soak(streams=1, seconds=3.0, model="bicubic-x2", size=(64, 48), frames=8, interval=1.0,
                      threads=1, say=lambda line: None)
    assert result.statuses["OK"] >= 1 and set(result.statuses) == {"OK"}, result.summary()
    assert result.outputs_checked == result.statuses["OK"] and not result.bad_outputs
    assert result.frames_out == 8 * result.outputs_checked
    assert result.start and result.peak and result.idle  # psutil saw the server
    assert result.peak[0] >= result.start[0] > 0
    assert "server RSS: start" in result.summary()


def test_soak_refuses_nonsense_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--streams", "0"])
    assert exit_info.value.code == 2
    assert "--streams must be at least 1" in capsys.readouterr().err
