"""Where stream-restore keeps a user's files by default: the platform's data and cache folders.

Pure functions of the environment mapping they are given (the CLI passes ``os.environ``), so
nothing below the command line reads the environment. Linux and other XDG systems use
``$XDG_DATA_HOME`` / ``$XDG_CACHE_HOME`` (default ``~/.local/share``, ``~/.cache``); macOS uses
``~/Library/Application Support`` and ``~/Library/Caches``. Torch-free: the client uses it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["APP", "MODELS_DIR_ENV", "cache_dir", "data_dir", "models_dir"]

APP = "stream-restore"
MODELS_DIR_ENV = "STREAM_RESTORE_MODELS_DIR"


def _home(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or Path.home())


def data_dir(env: Mapping[str, str]) -> Path:
    """The per-user data folder (models added by the user, job state)."""
    if sys.platform == "darwin":
        return _home(env) / "Library" / "Application Support" / APP
    base = env.get("XDG_DATA_HOME")
    return (Path(base) if base and Path(base).is_absolute() else _home(env) / ".local" / "share") / APP


def cache_dir(env: Mapping[str, str]) -> Path:
    """The per-user cache folder (exported ONNX graphs, TensorRT engines)."""
    if sys.platform == "darwin":
        return _home(env) / "Library" / "Caches" / APP
    base = env.get("XDG_CACHE_HOME")
    return (Path(base) if base and Path(base).is_absolute() else _home(env) / ".cache") / APP


def models_dir(env: Mapping[str, str]) -> Path:
    """The model directory: ``$STREAM_RESTORE_MODELS_DIR``, else ``<data dir>/models``."""
    chosen = env.get(MODELS_DIR_ENV)
    return Path(chosen).expanduser() if chosen else data_dir(env) / "models"
