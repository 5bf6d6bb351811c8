"""Sliding windows: replicate padding at both ends, look-ahead delay, segment flushes."""

from __future__ import annotations

import pytest

from stream_restore.pipeline.windows import WindowBuffer


def run(buffer: WindowBuffer[int], items: list[int]) -> list[list[int]]:
    out = []
    for item in items:
        out.extend(window for window, _ in buffer.push(item))
    out.extend(window for window, _ in buffer.flush())
    return out


def test_single_frame_windows_are_immediate():
    buffer: WindowBuffer[int] = WindowBuffer(0, 0)
    assert [w for w, _ in buffer.push(7)] == [[7]]


def test_past_and_future_with_replicate_padding():
    windows = run(WindowBuffer(2, 1), [0, 1, 2, 3])
    assert windows == [[0, 0, 0, 1], [0, 0, 1, 2], [0, 1, 2, 3], [1, 2, 3, 3]]


def test_future_frames_delay_output():
    buffer: WindowBuffer[int] = WindowBuffer(0, 2)
    assert list(buffer.push(0)) == [] and list(buffer.push(1)) == []
    assert [c for _, c in buffer.push(2)] == [0]
    assert len(buffer) == 2


def test_flush_starts_a_new_segment():
    buffer: WindowBuffer[int] = WindowBuffer(1, 1)
    first = run(buffer, [0, 1])
    second = run(buffer, [5, 6])
    assert first == [[0, 0, 1], [0, 1, 1]]
    assert second == [[5, 5, 6], [5, 6, 6]]  # nothing from the old segment leaks in


def test_single_frame_segment():
    assert run(WindowBuffer(2, 2), [9]) == [[9, 9, 9, 9, 9]]


@pytest.mark.parametrize(("past", "future"), [(-1, 0), (0, -1), (-2, -2)])
def test_negative_counts_rejected(past: int, future: int):
    with pytest.raises(ValueError, match="non-negative"):
        WindowBuffer(past, future)


def test_two_future_frames_pad_with_the_last_frame():
    """Near the end the missing future repeats the segment's last frame, not the centre."""
    assert run(WindowBuffer(1, 2), [0, 1, 2, 3]) == [
        [0, 0, 1, 2],
        [0, 1, 2, 3],
        [1, 2, 3, 3],
        [2, 3, 3, 3],
    ]


@pytest.mark.parametrize("past", [0, 1, 2, 3])
@pytest.mark.parametrize("future", [0, 1, 2, 3])
@pytest.mark.parametrize("length", [1, 2, 3, 5, 8])
def test_windows_match_clamped_indexing(past: int, future: int, length: int):
    """Every window is the segment indexed at centre-past .. centre+future, clamped to its ends."""
    items = list(range(10, 10 + length))
    expected = [
        [items[min(max(i + k, 0), length - 1)] for k in range(-past, future + 1)] for i in range(length)
    ]
    assert run(WindowBuffer(past, future), items) == expected
