"""Which paths a remote caller may make the server read and write: only under configured roots.

:func:`path_under` is pure (no file is opened; ``os.path.realpath`` only reads links) and is the
one check the Jobs service applies to every path a request names, and again to every file a
folder expands to: a path is resolved against its root, symlinks followed, and refused unless the
result lies inside the root's own real path. ``..`` components are refused outright, whatever
they would resolve to, so a request cannot even probe what lies outside.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, InputError, PermissionDeniedError

__all__ = ["JobRoots", "path_under", "relative_to_root"]

MAX_PATH_CHARS = 4096  # longest path a request may name


def path_under(root: Path, requested: str, what: str) -> Path:
    """The real path of ``requested`` (relative to ``root``, or absolute inside it).

    Raises InputError for an empty, overlong or NUL-holding path and PermissionDeniedError for one
    that is, or leads by a symlink, outside ``root``.
    """
    if len(requested) > MAX_PATH_CHARS or "\x00" in requested:
        raise InputError(f"{what}: not a usable path")
    parts = Path(requested).parts
    if ".." in parts:
        raise PermissionDeniedError(f"{what} {requested!r}: '..' is not allowed")
    base = os.path.realpath(root)
    resolved = os.path.realpath(os.path.join(base, requested))
    if resolved != base and not resolved.startswith(base.rstrip(os.sep) + os.sep):
        raise PermissionDeniedError(f"{what} {requested!r} is outside the {what} root")
    return Path(resolved)


def relative_to_root(root: Path, path: str) -> str:
    """``path`` as the caller names it: relative to its root (the server's own layout stays private)."""
    try:
        return str(Path(path).relative_to(os.path.realpath(root)))
    except ValueError:
        return Path(path).name


@dataclass(frozen=True)
class JobRoots:
    """The folders remote jobs read from and write to (both required to enable the service)."""

    input: Path
    output: Path

    def __post_init__(self) -> None:
        for name, folder in (("input", self.input), ("output", self.output)):
            if not folder.is_dir():
                raise ConfigError(f"jobs {name} root {folder} is not a folder")
