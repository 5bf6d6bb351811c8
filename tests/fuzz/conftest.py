"""The ``fuzz`` marker: deselect the short fuzz run with ``-m "not fuzz"`` (it runs by default)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fuzz: the short deterministic fuzz run (deselect with -m 'not fuzz')")
