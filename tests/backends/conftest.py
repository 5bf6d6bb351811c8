"""Fixtures for backend tests: test-only toy models registered for this package's tests, removed after
(a session-wide registration leaked them into later tests: the catalog check saw them as stale)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stream_restore.models import registry

from .toy_models import TOY_SPECS


@pytest.fixture(scope="package", autouse=True)
def toy_models() -> Iterator[None]:
    """Register the toy models (recurrent, window) for this package's tests, unregistered after them
    (package scope: tests elsewhere, e.g. the model catalog's, see only the shipped models)."""
    for spec in TOY_SPECS:
        registry.register(spec)
    yield
    for spec in TOY_SPECS:
        registry._REGISTRY.pop(spec.name, None)
