"""Fixtures for evaluation tests: the shared data folder, once per session (skips when absent)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``../shared/data`` beside the repository; tests that need it skip with a reason if missing."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is missing (see /work/shared/data/README.md)")
    return SHARED_DATA


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Evaluation work is many small tensor ops; on a shared 2-core machine one intra-op thread is
    several times faster than two contending ones. Restored after each module."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
