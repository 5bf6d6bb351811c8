"""Engines (loaded backends) shared by every call, within what the operator allowed and a memory bound.

Backends hold no per-stream state and are thread-safe for concurrent ``infer`` calls, so one
engine serves any number of streams; each stream wraps it in its own tiling wrapper when it asks
for tiling (the wrapper is never closed, so the shared engine outlives it).

What a client can make the server load or write is bounded:

* a backend is one of ``allowed`` (the server's default backend when the operator listed none);
  any other is refused with PERMISSION_DENIED, before anything is exported or built;
* exports and TensorRT engines go to the operator's cache folder, never the working directory;
* at most ``max_engines`` engines stay loaded: a call holds a *lease* on the engine it uses, and
  when a new one is needed the least recently used engine that no call holds is closed. Preloaded
  engines are never evicted. When every loaded engine is busy the call is refused
  (RESOURCE_EXHAUSTED) rather than the bound exceeded.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from ..backends import BACKENDS, Backend, BackendOptions, TiledBackend, create_backend
from ..errors import ConfigError, LimitExceededError, PermissionDeniedError
from ..models.registry import ModelSpec, get_spec

__all__ = ["EnginePool", "LoadedEngine"]

log = logging.getLogger(__name__)

_Key = tuple[str, str]  # (model, backend)


@dataclass(frozen=True)
class LoadedEngine:
    model: str
    backend: str  # the name the engine reports (e.g. "torch" chosen by "auto")
    device: str


class EnginePool:
    """Creates and loads engines on first use; hands out the same engine afterwards, under leases."""

    def __init__(
        self,
        options: BackendOptions,
        default_backend: str,
        max_tile_pixels: int | None = None,
        *,
        allowed: tuple[str, ...] = (),
        max_engines: int = 4,
    ) -> None:
        for name in (default_backend, *allowed):
            if name not in BACKENDS:
                raise ConfigError(f"unknown backend {name!r}; available: {', '.join(BACKENDS)}")
        if max_engines < 1:
            raise ConfigError("max_engines must be at least 1")
        self.options = options
        self.default_backend = default_backend
        self.allowed = frozenset(allowed or (default_backend,)) | {default_backend}
        self.max_tile_pixels = max_tile_pixels
        self.max_engines = max_engines
        self._engines: collections.OrderedDict[_Key, Backend] = collections.OrderedDict()  # LRU order
        self._leases: collections.Counter[_Key] = collections.Counter()
        self._pinned: set[_Key] = set()
        self._loading: dict[_Key, threading.Lock] = {}
        self._lock = threading.Lock()

    def _key(self, model: str, backend: str) -> _Key:
        spec = get_spec(model)
        name = backend or self.default_backend
        if name not in BACKENDS:
            raise ConfigError(f"unknown backend {name!r}; available: {', '.join(BACKENDS)}")
        if name not in self.allowed:
            raise PermissionDeniedError(
                f"backend {name!r} is not enabled on this server (enabled: {', '.join(sorted(self.allowed))})"
            )
        return spec.name, name

    def check(self, model: str, backend: str = "") -> None:
        """Raise as :meth:`lease` would for a model or backend that cannot be had (nothing loads)."""
        self._key(model, backend)

    def preload(self, model: str, backend: str = "") -> Backend:
        """Load an engine that is never evicted (the operator's ``preload`` list)."""
        key = self._key(model, backend)
        with self.lease(model, backend) as engine:
            with self._lock:
                self._pinned.add(key)
            return engine

    @contextlib.contextmanager
    def lease(self, model: str, backend: str = "") -> Iterator[Backend]:
        """The loaded engine for ``model`` (blocking while it loads), held for the ``with`` block."""
        key = self._key(model, backend)
        engine = self._acquire(key)
        try:
            yield engine
        finally:
            with self._lock:
                self._leases[key] -= 1
                if self._leases[key] <= 0:
                    del self._leases[key]
                evicted = self._evict_over_bound()
            for old in evicted:
                old.close()

    def _leased(self, key: _Key) -> Backend | None:
        """Under the lock: the loaded engine for ``key`` with one more lease, or None."""
        engine = self._engines.get(key)
        if engine is not None:
            self._engines.move_to_end(key)
            self._leases[key] += 1
        return engine

    def _acquire(self, key: _Key) -> Backend:
        with self._lock:
            engine = self._leased(key)
            if engine is not None:
                return engine
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:  # one load per key; other calls for the same engine wait for it
            with self._lock:
                engine = self._leased(key)
                if engine is not None:
                    return engine
                evicted = self._make_room()
            for old in evicted:
                old.close()
            log.info("loading model %s on %s (%s backend)", key[0], self.options.device, key[1])
            engine = create_backend(get_spec(key[0]), key[1], self.options).load()
            with self._lock:
                self._engines[key] = engine
                self._leases[key] += 1
                self._loading.pop(key, None)
            return engine

    def _idle(self) -> list[_Key]:
        return [k for k in self._engines if not self._leases.get(k) and k not in self._pinned]

    def _make_room(self) -> list[Backend]:
        """Under the lock: close idle engines so one more fits; refuse when every engine is busy."""
        evicted = []
        idle = self._idle()
        while len(self._engines) >= self.max_engines:
            if not idle:
                raise LimitExceededError(
                    f"the server holds its maximum of {self.max_engines} engines and every one is in use; "
                    "retry later"
                )
            key = idle.pop(0)
            log.info("closing engine %s (%s): least recently used", *key)
            evicted.append(self._engines.pop(key))
        return evicted

    def _evict_over_bound(self) -> list[Backend]:
        evicted = []
        idle = self._idle()
        while len(self._engines) > self.max_engines and idle:
            evicted.append(self._engines.pop(idle.pop(0)))
        return evicted

    @contextlib.contextmanager
    def for_stream(self, model: str, backend: str = "", tile_max_pixels: int = 0, tile_overlap: int = 0
                   ) -> Iterator[Backend]:
        """A lease on the shared engine, wrapped in a per-stream tiling wrapper when tiling applies."""
        budget = tile_max_pixels or None
        if self.max_tile_pixels is not None:
            budget = min(budget or self.max_tile_pixels, self.max_tile_pixels)
        if budget is not None and budget < 64:
            raise ConfigError(f"tile_max_pixels must be at least 64, not {budget}")
        with self.lease(model, backend) as engine:
            yield engine if budget is None else TiledBackend(engine, budget, tile_overlap or None).load()

    def spec(self, model: str) -> ModelSpec:
        return get_spec(model)

    def loaded(self) -> list[LoadedEngine]:
        with self._lock:
            return [
                LoadedEngine(m, getattr(e, "name", b), self.options.device)
                for (m, b), e in self._engines.items()
            ]

    def is_loaded(self, model: str) -> bool:
        with self._lock:
            return any(m == model for m, _ in self._engines)

    def close(self) -> None:
        with self._lock:
            engines, self._engines = list(self._engines.values()), collections.OrderedDict()
            self._pinned.clear()
        for engine in engines:
            engine.close()
