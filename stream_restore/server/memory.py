"""Give memory freed by finished calls back to the operating system.

Every call decodes, restores and encodes in threads of its own, and glibc's allocator keeps what
those threads freed in per-thread arenas instead of returning it: measured here, 8 concurrent
640x360 streams left a server at 1.6 GB with nothing running (0.28 GB at start), growing with each
round of calls. ``malloc_trim(0)`` after a call returns the free pages of every arena. Where the C
library is not glibc (musl, macOS) there is nothing to call and this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading

__all__ = ["release_freed_memory"]

log = logging.getLogger(__name__)


def _load_trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_TRIM = _load_trim()
_LOCK = threading.Lock()  # one trim at a time: it walks every arena


def release_freed_memory() -> None:
    """Return freed heap pages to the OS (glibc only; a no-op elsewhere). Takes a few ms."""
    if _TRIM is None:
        return
    with _LOCK:
        _TRIM(0)
