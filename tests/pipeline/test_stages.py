"""The pipeline's stage threads: each keeps the intra-op thread count it was given."""

from __future__ import annotations

import threading
from collections.abc import Callable

import torch

from stream_restore.pipeline.stages import set_intra_op_threads


def _count_in_a_thread_after_another_sets_one(set_count: Callable[[int], None]) -> int:
    """A thread sets 2, then the caller sets 1 (as the encode stage does), then the thread works."""
    seen: dict[str, int] = {}
    ready, go = threading.Event(), threading.Event()

    def stage() -> None:
        set_count(2)
        ready.set()
        go.wait(10)
        torch.ones(64, 64) @ torch.ones(64, 64)
        seen["threads"] = torch.get_num_threads()

    previous = torch.get_num_threads()
    thread = threading.Thread(target=stage)
    thread.start()
    try:
        ready.wait(10)
        torch.set_num_threads(1)
        go.set()
        thread.join(10)
    finally:
        torch.set_num_threads(previous)
    return seen["threads"]


def test_a_stage_thread_keeps_its_count_when_another_thread_sets_one() -> None:
    assert _count_in_a_thread_after_another_sets_one(set_intra_op_threads) == 2


def test_plain_set_num_threads_loses_that_race() -> None:
    """Why the helper exists: PyTorch initialises a thread's count at its first parallel op from the
    process-wide count, which the other thread changed (if this starts passing, torch changed)."""
    assert _count_in_a_thread_after_another_sets_one(torch.set_num_threads) == 1
