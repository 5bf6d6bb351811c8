"""The jobs command end to end: a folder becomes one job per video (relative paths kept), and list,
status, watch, cancel and resume read and change the store; bad input is one line and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from .clips import gop_clip
from .conftest import FAST, cli


@pytest.mark.slow
def test_a_folder_is_queued_then_worked_through(tmp_path: Path) -> None:
    (tmp_path / "in" / "day2").mkdir(parents=True)
    gop_clip(tmp_path / "in" / "a.mkv", frames=30)
    gop_clip(tmp_path / "in" / "day2" / "b.mp4", frames=30)
    (tmp_path / "in" / "notes.txt").write_text("not a video")
    state = ["--state-dir", str(tmp_path / "state")]
    queued = cli(
        "jobs",
        "submit",
        tmp_path / "in",
        tmp_path / "out",
        *state,
        "--segment-seconds",
        "1",
        "--detach",
        "-m",
        "identity",
        *FAST,
    ).stdout.split()
    assert len(queued) == 2
    listed = cli("jobs", "list", *state).stdout
    assert listed.count(" queued: ") == 2 and "a.mkv" in listed and "b.mp4" in listed
    cancelled = cli("jobs", "cancel", queued[1], *state).stdout
    assert "cancelled" in cancelled
    assert cli("jobs", "watch", queued[1], *state, check=False).returncode == 130
    cli("jobs", "work", *state)  # the cancelled job is left alone
    assert (tmp_path / "out" / "a.mkv").is_file() and not (tmp_path / "out" / "day2" / "b.mp4").exists()
    watched = cli("jobs", "watch", queued[0], *state).stdout
    assert "done: 30/30 frames, 2/2 segments" in watched
    cli("jobs", "resume", queued[1], *state)
    assert (tmp_path / "out" / "day2" / "b.mp4").is_file()
    status = cli("jobs", "status", queued[1], *state).stdout
    assert "segment 1: done" in status


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    state = ["--state-dir", str(tmp_path / "state")]
    for args in (
        ["submit", tmp_path / "missing.mkv", tmp_path / "out"],
        ["submit", tmp_path, tmp_path / "out"],  # a folder without videos
        ["status", "0123456789ab"],
        ["submit", tmp_path / "x.mkv", tmp_path / "out", "--segment-seconds", "0"],
    ):
        result = cli("jobs", *args, *state, check=False)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


@pytest.mark.slow
def test_resume_without_an_id_finishes_every_unfinished_job_of_a_folder_but_not_cancelled_ones(
    tmp_path: Path,
) -> None:
    """After a crash a folder's jobs are queued or half done: one 'jobs resume' finishes them all."""
    (tmp_path / "in").mkdir()
    for name in ("a.mkv", "b.mkv", "c.mkv"):
        gop_clip(tmp_path / "in" / name, frames=20)
    state = ["--state-dir", str(tmp_path / "state")]
    queued = cli(
        "jobs", "submit", tmp_path / "in", tmp_path / "out", *state, "--detach", "-m", "identity", *FAST
    ).stdout.split()
    assert len(queued) == 3
    cli("jobs", "cancel", queued[2], *state)
    resumed = cli("jobs", "resume", *state).stdout
    assert resumed.count(" done: 20/20 frames") == 2, resumed
    assert (tmp_path / "out" / "a.mkv").is_file() and (tmp_path / "out" / "b.mkv").is_file()
    assert not (tmp_path / "out" / "c.mkv").exists()  # cancelled on purpose: resumed only by its ID
    again = cli("jobs", "resume", *state)
    assert again.returncode == 0 and "no unfinished jobs" in again.stderr
