"""The short deterministic fuzz run (a fixed seed, about 300 inputs through the CLI and every RPC).

It fails on any invariant violation and prints every class with a case to replay; the long run is
``python -m tests.fuzz --count 10000``. Deselect it with ``-m "not fuzz"``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .runner import FuzzOptions, run_fuzz

SHORT_SEED = 20261202
SHORT_COUNT = 260  # random inputs, after the pinned ones


@pytest.mark.fuzz
def test_short_fuzz_run(tmp_path: Path) -> None:
    report = run_fuzz(FuzzOptions(seed=SHORT_SEED, count=SHORT_COUNT, jobs=2, timeout=15.0, batch=25,
                                  budget=100.0, workdir=tmp_path))
    print(report.format())
    assert report.outcomes, "no input ran"
    if report.violations():
        pytest.fail(report.format(), pytrace=False)
