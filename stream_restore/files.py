"""Atomic file writes: a uniquely named temporary sibling, renamed over the target only on success.

``os.replace`` is atomic on POSIX, so a reader of the target (an engine cache, a model's weights,
an output another program watches) sees the old file or the whole new one, never a partial one;
a failed or interrupted write leaves the old file byte-identical. Torch-free: the client uses it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["PartialFile", "atomic_path", "write_atomic"]


def _read_umask() -> int:
    mask = os.umask(0)  # the only way to read it; done once, at import, before any thread starts
    os.umask(mask)
    return mask


_UMASK = _read_umask()


class PartialFile:
    """An open temporary file beside ``path``: :meth:`commit` renames it over ``path``,
    :meth:`discard` removes it. Its name is ``.<stem>.partial-XXXX<suffix>`` (hidden, same suffix).

    ``mode`` is the committed file's permissions; by default those a plain ``open(path, "w")``
    would give (``0o666`` less the umask) rather than ``mkstemp``'s owner-only ``0o600``.
    Raises OSError when the folder is missing or not writable.
    """

    def __init__(self, path: Path, mode: int | None = None) -> None:
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}.partial-", suffix=path.suffix,
                                    dir=path.parent if str(path.parent) else ".")
        self.path = path
        self.temporary = Path(name)
        self.file: BinaryIO = os.fdopen(fd, "wb")
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
