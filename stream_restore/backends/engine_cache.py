"""The TensorRT engine cache: keys, file names, atomic writes and build locks (no TensorRT needed).

An engine is valid only for the exact model weights, shape profile, precision, GPU model and
compute capability, and TensorRT version it was built with, so all of these make up its
:class:`EngineKey` and its file name under ``engines/cache/``. Files are written to a temporary
name and renamed into place (``os.replace`` is atomic on POSIX), so a reader sees a whole engine
or none; a lock file keeps two processes from building the same engine at the same time.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .. import files
from .base import ShapeProfile

__all__ = [
    "EngineKey",
    "default_profile",
    "file_lock",
    "load_or_build",
    "read_bytes",
    "select_profile",
    "write_atomic",
]

log = logging.getLogger(__name__)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-").lower() or "unknown"


@dataclass(frozen=True)
class EngineKey:
    """Everything that makes a built engine non-portable."""

    model: str
    weights_sha256: str  # weights and model code (export.weights_hash)
    profile: ShapeProfile
    precision: str
    gpu_name: str
    compute_capability: tuple[int, int]
    trt_flavour: str  # "tensorrt" or "tensorrt_rtx"
    trt_version: str
    builder_optimization_level: int = 3

    def digest(self) -> str:
        """Short hash of the whole key: two keys differing anywhere never share a file."""
        return hashlib.sha256(repr(self).encode()).hexdigest()[:10]

    def filename(self) -> str:
        """A readable, unique file name: model, weights, profile, precision, GPU, TensorRT."""
        major, minor = self.compute_capability
        parts = [
            _slug(self.model),
            "w" + self.weights_sha256[:12],
            self.profile.tag(),
            self.precision,
            _slug(self.gpu_name),
            f"sm{major}{minor}",
            f"{_slug(self.trt_flavour)}{_slug(self.trt_version)}",
            f"o{self.builder_optimization_level}",
            self.digest(),
        ]
        return "_".join(parts) + ".engine"

    def timing_cache_name(self) -> str:
        """Timing caches are shared by all engines of one GPU model and TensorRT version."""
        major, minor = self.compute_capability
        tensorrt = f"{_slug(self.trt_flavour)}{_slug(self.trt_version)}"
        return f"timing_{_slug(self.gpu_name)}_sm{major}{minor}_{tensorrt}.cache"


def default_profile(batch: int, height: int, width: int, min_side: int) -> ShapeProfile:
    """The profile built when none is configured: optimised for (and capped at) the first shape.

    Video keeps one size per stream, so the engine is tuned exactly for it; smaller inputs (down
    to ``min_side`` pixels and batch 1) still run, so the last, partial batch does not rebuild.
    """
    lo_h, lo_w = min(min_side, height), min(min_side, width)
    return ShapeProfile((1, lo_h, lo_w), (batch, height, width), (batch, height, width))


def select_profile(profiles: list[ShapeProfile], batch: int, height: int, width: int) -> int | None:
    """Index of the profile to run an input with: the tightest one that covers it, or None.

    "Tightest" = smallest max volume, since engines run best near their optimum shape.
    """
    covering = [i for i, p in enumerate(profiles) if p.covers(batch, height, width)]
    if not covering:
        return None

    def volume(i: int) -> int:
        n, h, w = profiles[i].max
        return n * h * w

    return min(covering, key=volume)


def write_atomic(path: Path, data: bytes) -> None:
    """Write a cache file (parents created, durable, readable by all) so that readers see either
    the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    files.write_atomic(path, data, mode=0o644, fsync=True)


def read_bytes(path: Path) -> bytes | None:
    """The file's contents, or None when it does not exist."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created if needed) for the block (POSIX)."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def load_or_build(
    cache_dir: Path,
    key: EngineKey,
    build: Callable[[], bytes],
    is_usable: Callable[[bytes], bool] = lambda data: len(data) > 0,
) -> tuple[bytes, bool]:
    """The cached engine for ``key``, building (under a lock) and caching it when missing or unusable.

    Returns (engine bytes, whether it was built now). ``is_usable`` lets the caller reject an engine
    that no longer deserializes (driver update); it is then rebuilt and replaced.
    """
    path = cache_dir / key.filename()
    data = read_bytes(path)
    if data is not None and is_usable(data):
        return data, False
    with file_lock(path.with_name(path.name + ".lock")):
        data = read_bytes(path)  # another process may have built it while we waited
        if data is not None and is_usable(data):
            return data, False
        log.info("building TensorRT engine %s", path.name)
        data = build()
        write_atomic(path, data)
        return data, True
