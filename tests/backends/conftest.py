"""Fixtures for backend tests: test-only toy models registered for the session, removed after."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stream_restore.models import registry

from .toy_models import TOY_SPECS


@pytest.fixture(scope="package", autouse=True)
def toy_models() -> Iterator[None]:
    """Register the toy models (recurrent, window) for the tests, and unregister them afterwards.

    Package scope: gone once tests/backends is done (a session-scoped fixture left them registered
    for every later test, and the model catalog test then failed in a whole-suite run)."""
    for spec in TOY_SPECS:
        registry.register(spec)
    yield
    for spec in TOY_SPECS:
        registry._REGISTRY.pop(spec.name, None)
