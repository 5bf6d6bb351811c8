"""Model-card helpers: run statistics come from the training log, and a lost log is said to be lost."""

from __future__ import annotations

import json
from pathlib import Path

from stream_restore.evaluation.card import _kept_notes, _run_line, _run_stats


def test_run_stats_sum_resumed_segments(tmp_path: Path) -> None:
    records = [
        {"step": 50, "elapsed_s": 30.0},
        {"step": 100, "elapsed_s": 60.0},
        {"step": 150, "elapsed_s": 25.0},  # resumed: the clock restarts
        {"step": 200, "elapsed_s": 55.0},
    ]
    (tmp_path / "log.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    assert _run_stats(tmp_path) == (200, 115.0)
    assert _run_line(200, 115.0, 300).startswith("Run: 200 steps, 2 min wall clock")


def test_missing_log_is_reported_not_zero(tmp_path: Path) -> None:
    step, seconds = _run_stats(tmp_path)
    assert (step, seconds) == (0, 0.0)
    line = _run_line(step, seconds, 6300)
    assert "6300 steps" in line and "not recorded" in line and "0 min" not in line


def test_notes_are_kept_when_not_given(tmp_path: Path) -> None:
    card = tmp_path / "m.md"
    card.write_text("# m\n\n## Measured\n\n| a |\n\n## Notes and gaps\n\nTrained twice.\n")
    assert _kept_notes(card) == "Trained twice."
    assert _kept_notes(tmp_path / "missing.md") == ""


def test_a_cards_run_line_survives_a_lost_log_only_for_the_same_schedule() -> None:
    kept = "Run: 1800 steps, 17 min wall clock on a shared 2-core AMD EPYC (Zen 3) CPU, no GPU,"
    assert _run_line(0, 0.0, 1800, kept) == kept
    assert "not recorded" in _run_line(0, 0.0, 6300, kept)
    assert _run_line(6300, 3600.0, 6300, kept).startswith("Run: 6300 steps, 60 min")
