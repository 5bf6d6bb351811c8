"""What the reader reports about damaged and irregular input (media/decode.py)."""

from __future__ import annotations

import logging
import re

import pytest

from stream_restore.media.decode import TimestampGaps
from stream_restore.pipeline import RestoreJob, restore

from ..conftest import remux_without


def steps(gaps: TimestampGaps, deltas: list[int]) -> list[int]:
    return [gaps.step(d) for d in deltas]


def test_a_gap_in_a_steady_stream_counts_the_missing_frames():
    gaps = TimestampGaps()
    assert steps(gaps, [3600] * 10) == [0] * 10
    assert gaps.step(4 * 3600) == 3
    assert steps(gaps, [3600] * 5) == [0] * 5
    assert (gaps.gaps, gaps.missing) == (1, 3)


def test_one_lost_frame_is_a_gap_and_rounding_jitter_is_not():
    # 29.97 fps in a 1/1000 time base alternates 33 and 34 ms.
    gaps = TimestampGaps()
    assert sum(steps(gaps, [33, 34, 33] * 5)) == 0
    assert gaps.step(67) == 1


def test_irregular_variable_rate_video_is_not_judged():
    assert sum(steps(TimestampGaps(), [33, 17, 50, 33, 100, 17] * 10)) == 0


def test_the_first_frames_are_not_judged():
    assert steps(TimestampGaps(), [40] * 7 + [400]) == [0] * 8


def test_a_lasting_rate_change_is_followed_after_a_few_frames():
    gaps = TimestampGaps()
    steps(gaps, [10] * 16)
    flagged = sum(1 for skipped in steps(gaps, [20] * 40) if skipped)  # e.g. a camera falling to half rate
    assert 1 <= flagged <= 5
    assert sum(steps(gaps, [20] * 20)) == 0


@pytest.mark.parametrize("suffix", [".ts", ".mkv"])
def test_packets_lost_in_transit_are_reported_as_missing_frames(clip, tmp_path, suffix):
    """Three packets gone between two keyframes (non-reference B-frames among them): the decoder has
    nothing to complain about, and the run's summary still accounts for every frame."""
    src = clip("in" + suffix, frames=40, width=64, height=48, options={"g": "10"})
    lost = tmp_path / ("lost" + suffix)
    remux_without(src, lost, range(22, 25))
    stats = restore(lost, tmp_path / "out.mkv", RestoreJob(model="identity"))
    assert stats.frames_out == 37
    reported = [int(n) for w in stats.warnings for n in re.findall(r"about (\d+) frame\(s\) missing", w)]
    assert sum(reported) == 3, stats.warnings


@pytest.mark.parametrize("vfr", [False, True], ids=["cfr", "vfr"])
@pytest.mark.parametrize("suffix", [".mkv", ".mp4", ".ts"])
def test_clean_input_gives_no_warning(clip, tmp_path, caplog, suffix, vfr):
    src = clip("in" + suffix, frames=60, width=64, height=48, vfr=vfr)
    with caplog.at_level(logging.WARNING):
        stats = restore(src, tmp_path / "out.mkv", RestoreJob(model="identity"))
    assert stats.frames_out == 60
    assert stats.warnings == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
