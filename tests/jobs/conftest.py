"""Helpers for the archive-job tests: the CLI as a real process, a store in the test's folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stream_restore.jobs import Store

# Deterministic encodes (x264 ultrafast at a fixed thread count on one machine), no colour compile.
FAST = ["--backend", "torch", "--preset", "ultrafast", "--compile-colour", "off", "-q"]


def cli(*args: str | Path, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "stream_restore", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}: {result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def only_job(state: Path) -> str:
    store = Store(state)
    try:
        (record,) = store.jobs()
        return record.id
    finally:
        store.close()


def partial_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if ".partial-" in p.name]
