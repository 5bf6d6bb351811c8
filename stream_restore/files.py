"""Atomic file writes: a uniquely named temporary sibling, renamed over the target only on success.

``os.replace`` is atomic on POSIX, so a reader of the target (an engine cache, a model's weights,
an output another program watches) sees the old file or the whole new one, never a partial one;
a failed or interrupted write leaves the old file byte-identical. Torch-free: the client uses it.

Temporary siblings are named ``.<stem>.partial-<pid>-<random><suffix>`` (folders
``.<name>.partial-<pid>-<random>``): the process id lets the next write of the same target remove
what a killed process (SIGKILL, power loss) left, while a live process's file is never touched.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "PartialFile", "atomic_path", "discard", "remove_stale_partials", "temporary_sibling", "write_atomic",
]

log = logging.getLogger(__name__)


def _read_umask() -> int:
    mask = os.umask(0)  # the only way to read it; done once, at import, before any thread starts
    os.umask(mask)
    return mask


_UMASK = _read_umask()
_LEGACY_PARTIAL_AGE = 3600.0  # seconds; partial files named before they carried a process id


def _partial_prefix(path: Path, folder: bool) -> str:
    return f".{path.name}.partial-" if folder else f".{path.stem}.partial-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def discard(path: Path) -> None:
    """Remove a temporary file or folder, whichever it is (nothing when it is gone)."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def remove_stale_partials(path: Path, *, folder: bool = False) -> None:
    """Remove what killed processes writing ``path`` left: temporary siblings whose process is gone.

    A live process's file, this one's or another's, is left alone; errors are ignored (the
    leftovers are hidden files, removing them is a courtesy).
    """
    prefix = _partial_prefix(path, folder)
    suffix = "" if folder else path.suffix
    try:
        siblings = list(path.parent.glob(f"{glob.escape(prefix)}*{glob.escape(suffix)}"))
    except OSError:
        return
    for sibling in siblings:
        owner = sibling.name[len(prefix):].split("-", 1)[0]
        try:
            stale = not _pid_alive(int(owner)) if owner.isdigit() else \
                time.time() - sibling.stat().st_mtime > _LEGACY_PARTIAL_AGE
            if stale and sibling.is_dir() == folder:
                log.info("removing %s, left by an earlier run that was killed", sibling)
                discard(sibling)
        except OSError:
            continue


def temporary_sibling(path: Path, *, folder: bool = False) -> Path:
    """Create a uniquely named temporary file (or folder) beside ``path``, after removing stale ones.

    It has the permissions a plain create would give (``mkstemp`` would give owner-only).
    Raises OSError when the folder is missing or not writable.
    """
    remove_stale_partials(path, folder=folder)
    parent = path.parent if str(path.parent) else Path(".")
    prefix = f"{_partial_prefix(path, folder)}{os.getpid()}-"
    if folder:
        target = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        target.chmod(0o777 & ~_UMASK)
        return target
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=path.suffix, dir=parent)
    os.close(fd)
    Path(name).chmod(0o666 & ~_UMASK)
    return Path(name)


class PartialFile:
    """An open temporary file beside ``path``: :meth:`commit` renames it over ``path``,
    :meth:`discard` removes it. It is a :func:`temporary_sibling` (hidden, same suffix).

    ``mode`` is the committed file's permissions; by default those a plain ``open(path, "w")``
    would give (``0o666`` less the umask) rather than ``mkstemp``'s owner-only ``0o600``.
    Raises OSError when the folder is missing or not writable.
    """

    def __init__(self, path: Path, mode: int | None = None) -> None:
        self.path = path
        self.temporary = temporary_sibling(path)
        self.file: BinaryIO = open(self.temporary, "wb")
        self._mode = 0o666 & ~_UMASK if mode is None else mode

    def commit(self, *, fsync: bool = False) -> None:
        """Close and rename over the target; ``fsync`` first makes the data durable (caches)."""
        if fsync and not self.file.closed:
            self.file.flush()
            os.fsync(self.file.fileno())
        self.file.close()
        os.chmod(self.temporary, self._mode)
        os.replace(self.temporary, self.path)

    def discard(self) -> None:
        """Close and remove the temporary file (a no-op once committed)."""
        self.file.close()
        self.temporary.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: Path, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for a writer that takes a file name (``torch.save``,
    an ONNX exporter); rename it over ``path`` only if the block succeeds, else remove it."""
    partial = PartialFile(path, mode)
    partial.file.close()
    try:
        yield partial.temporary
        partial.commit()
    finally:
        partial.discard()


def write_atomic(path: Path, data: bytes, *, mode: int | None = None, fsync: bool = False) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the whole new one."""
    partial = PartialFile(path, mode)
    try:
        partial.file.write(data)
        partial.commit(fsync=fsync)
    finally:
        partial.discard()
