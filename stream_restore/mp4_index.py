"""Where an MP4/MOV keeps its index: before the media data (streamable) or after it ("classic").

A classic MP4 (``mdat`` before ``moov``) cannot be read from a pipe: the demuxer needs the index
first. The client remuxes such files before sending them; the server refuses them from the first
bytes of a stream. Torch-free and PyAV-free: it only walks the top-level boxes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

__all__ = ["file_is_classic_mp4", "is_classic_mp4", "prefix_is_classic_mp4"]

_INDEX = (b"moov", b"moof")  # an index (or a fragment's) before any media data: streamable


def is_classic_mp4(read: Callable[[int, int], bytes], length: int) -> bool:
    """Whether the ISO-BMFF bytes ``read(offset, count)`` (``length`` of them readable) put media
    data before the index. Not an MP4 (no leading ``ftyp``), no ``mdat`` within ``length``, or a
    malformed box: False (nothing to refuse)."""
    head = read(0, 16)
    if len(head) < 16 or head[4:8] != b"ftyp":
        return False
    offset = 0
    while offset + 8 <= length:
        box = read(offset, 16)
        size, kind = int.from_bytes(box[:4], "big"), box[4:8]
        if size == 1 and len(box) >= 16:  # a 64-bit size follows the type
            size = int.from_bytes(box[8:16], "big")
        if kind in _INDEX:
            return False
        if kind == b"mdat":
            return True
        if size < 8:
            return False
        offset += size
    return False


def prefix_is_classic_mp4(prefix: bytes) -> bool:
    """:func:`is_classic_mp4` on the first bytes of a stream."""
    return is_classic_mp4(lambda offset, count: prefix[offset : offset + count], len(prefix))


def file_is_classic_mp4(path: Path) -> bool:
    """:func:`is_classic_mp4` on a whole file (seeking from box to box)."""
    with path.open("rb") as fh:

        def read(offset: int, count: int) -> bytes:
            fh.seek(offset)
            return fh.read(count)

        return is_classic_mp4(read, path.stat().st_size)
