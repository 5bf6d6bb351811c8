"""The warning collector readers and writers share: kept in order, logged, capped per kind."""

from __future__ import annotations

import logging

import pytest

from stream_restore.media.warnings import WarningLog


def test_warnings_of_a_kind_are_counted_past_the_cap_and_reported_cut_short(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = WarningLog(logging.getLogger("test.warnings"), shown_per_kind=2)
    with caplog.at_level(logging.WARNING, logger="test.warnings"):
        for n in range(5):
            log.add(f"corrupt {n}", "corrupt")
        log.add("re-encoded audio")
        log.add("gap 0", "gap")
    assert log.messages == ["corrupt 0", "corrupt 1", "re-encoded audio", "gap 0"]
    assert [r.getMessage() for r in caplog.records] == log.messages
    assert log.cut_short() == {"corrupt": (5, 3)}
