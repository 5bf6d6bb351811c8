"""Engines (loaded backends) shared by every stream: loaded once per (model, backend), read-only after.

Backends hold no per-stream state and are thread-safe for concurrent ``infer`` calls, so one
engine serves any number of streams; each stream wraps it in its own tiling wrapper when it asks
for tiling (the wrapper is never closed, so the shared engine outlives it).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from ..backends import BACKENDS, Backend, BackendOptions, TiledBackend, create_backend
from ..errors import ConfigError
from ..models.registry import ModelSpec, get_spec

__all__ = ["EnginePool", "LoadedEngine"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedEngine:
    model: str
    backend: str  # the name the engine reports (e.g. "torch" chosen by "auto")
    device: str


class EnginePool:
    """Creates and loads engines on first use; hands out the same engine afterwards."""

    def __init__(self, options: BackendOptions, default_backend: str, max_tile_pixels: int | None = None) -> None:
        if default_backend not in BACKENDS:
            raise ConfigError(f"unknown backend {default_backend!r}; available: {', '.join(BACKENDS)}")
        self.options = options
        self.default_backend = default_backend
        self.max_tile_pixels = max_tile_pixels
        self._engines: dict[tuple[str, str], Backend] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, model: str, backend: str = "") -> Backend:
        """The loaded engine for ``model`` (blocking while it loads). Raises ModelNotFoundError."""
        spec = get_spec(model)
        name = backend or self.default_backend
        if name not in BACKENDS:
            raise ConfigError(f"unknown backend {name!r}; available: {', '.join(BACKENDS)}")
        key = (spec.name, name)
        with self._lock:
            engine = self._engines.get(key)
            if engine is not None:
                return engine
            key_lock = self._locks.setdefault(key, threading.Lock())
        with key_lock:  # one load per key; other streams of the same model wait for it
            engine = self._engines.get(key)
            if engine is None:
                log.info("loading model %s on %s (%s backend)", spec.name, self.options.device, name)
                engine = create_backend(spec, name, self.options).load()
                with self._lock:
                    self._engines[key] = engine
            return engine

    def for_stream(self, model: str, backend: str = "", tile_max_pixels: int = 0, tile_overlap: int = 0) -> Backend:
        """The shared engine, wrapped in a per-stream tiling wrapper when tiling applies."""
        engine = self.get(model, backend)
        budget = tile_max_pixels or None
        if self.max_tile_pixels is not None:
            budget = min(budget or self.max_tile_pixels, self.max_tile_pixels)
        if budget is None:
            return engine
        if budget < 64:
            raise ConfigError(f"tile_max_pixels must be at least 64, not {budget}")
        return TiledBackend(engine, budget, tile_overlap or None).load()

    def spec(self, model: str) -> ModelSpec:
        return get_spec(model)

    def loaded(self) -> list[LoadedEngine]:
        with self._lock:
            return [LoadedEngine(m, getattr(e, "name", b), self.options.device) for (m, b), e in self._engines.items()]

    def is_loaded(self, model: str) -> bool:
        with self._lock:
            return any(m == model for m, _ in self._engines)

    def close(self) -> None:
        with self._lock:
            engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            engine.close()
