"""Field mutators for still images: PNG IHDR (with the CRC fixed, so decoders believe it) and chunk
lengths, JPEG SOF sizes and marker lengths, WebP RIFF, VP8/VP8L/VP8X sizes, BMP header fields."""

from __future__ import annotations

import random
import zlib

from .fields import absurd, put

__all__ = ["bmp_field", "jpeg_field", "png_field", "webp_field"]


def png_field(data: bytearray, rng: random.Random) -> str:
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return "png: no signature"
    offset = 8
    chunks = []
    while offset + 12 <= len(data):
        length = int.from_bytes(data[offset : offset + 4], "big")
        chunks.append((bytes(data[offset + 4 : offset + 8]), offset, length))
        if offset + 12 + length > len(data):
            break
        offset += 12 + length
    if not chunks:
        return "png: no chunks"
    ihdr = [c for c in chunks if c[0] == b"IHDR"]
    if ihdr and rng.random() < 0.75:
        _, at, _ = ihdr[0]
        field, width = rng.choice(((0, 4), (4, 4), (8, 1), (9, 1), (10, 1), (11, 1), (12, 1)))
        value = absurd(rng, width) if width == 4 else rng.choice((0, 1, 2, 3, 4, 6, 7, 16, 255))
        put(data, at + 8 + field, value, width)
        crc_at = at + 8 + 13
        if crc_at + 4 <= len(data):
            put(data, crc_at, zlib.crc32(bytes(data[at + 4 : at + 8 + 13])), 4)
        return f"png IHDR+{field} <- {value} (crc fixed)"
    kind, at, length = rng.choice(chunks)
    value = rng.choice((0, 1, length + 1, length * 3, 0x7FFFFFFF, 0xFFFFFFFF))
    put(data, at, value, 4)
    return f"png {kind.decode('latin-1')} length {length}->{value}"


def jpeg_field(data: bytearray, rng: random.Random) -> str:
    sofs = [i for i in range(len(data) - 10) if data[i] == 0xFF and data[i + 1] in (0xC0, 0xC1, 0xC2, 0xC3)]
    markers = [i for i in range(len(data) - 4) if data[i] == 0xFF and 0xC0 <= data[i + 1] <= 0xFE
               and data[i + 1] not in (0xD8, 0xD9) and not 0xD0 <= data[i + 1] <= 0xD7]
    if sofs and rng.random() < 0.7:
        at = rng.choice(sofs)
        field, width = rng.choice(((5, 2), (7, 2), (4, 1), (9, 1), (11, 1)))
        value = absurd(rng, width)
        put(data, at + field, value, width)
        return f"jpeg SOF@{at}+{field} <- {value}"
    if not markers:
        return "jpeg: no markers"
    at = rng.choice(markers)
    value = rng.choice((0, 1, 2, 0xFFFF, rng.getrandbits(16)))
    put(data, at + 2, value, 2)
    return f"jpeg marker {data[at + 1]:02X}@{at} length <- {value}"


def webp_field(data: bytearray, rng: random.Random) -> str:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return "webp: no RIFF"
    choice = rng.choice(("riff", "chunk", "dims"))
    if choice == "riff":
        value = absurd(rng, 4)
        data[4:8] = (value % (1 << 32)).to_bytes(4, "little")
        return f"webp RIFF size <- {value}"
    if choice == "chunk" and len(data) >= 20:
        value = absurd(rng, 4)
        data[16:20] = (value % (1 << 32)).to_bytes(4, "little")
        return f"webp {bytes(data[12:16])!r} size <- {value}"
    kind = bytes(data[12:16])
    if kind == b"VP8 " and len(data) >= 30:  # frame tag (3), start code (3), width, height (14 bits + scale)
        at = 20 + 6 + rng.choice((0, 2))
        value = rng.choice((0, 1, 0x3FFF, 0xFFFF, rng.getrandbits(16)))
        data[at : at + 2] = value.to_bytes(2, "little")
        return f"webp VP8 dims@{at} <- {value}"
    if kind == b"VP8L" and len(data) >= 25:
        value = rng.getrandbits(28) | rng.choice((0, 0x3FFF, 0xFFFC000))
        bits = int.from_bytes(data[21:25], "little")
        data[21:25] = ((bits & ~0x0FFFFFFF) | value).to_bytes(4, "little")
        return f"webp VP8L dims <- {value:#x}"
    if kind == b"VP8X" and len(data) >= 30:
        at = 24 + rng.choice((0, 3))
        value = rng.choice((0, 0xFFFFFF, 16383, rng.getrandbits(24)))
        data[at : at + 3] = value.to_bytes(3, "little")
        return f"webp VP8X canvas@{at} <- {value}"
    return f"webp {kind!r}: no dims"


def bmp_field(data: bytearray, rng: random.Random) -> str:
    if data[:2] != b"BM" or len(data) < 54:
        return "bmp: no header"
    field, width, signed = rng.choice(((2, 4, False), (10, 4, False), (14, 4, False), (18, 4, True), (22, 4, True),
                                       (26, 2, False), (28, 2, False), (30, 4, False), (34, 4, False),
                                       (46, 4, False)))
    if signed:
        value = rng.choice((0, 1, -1, -48, 0x7FFFFFFF, -0x80000000, 65536, 8192))
        data[field : field + width] = value.to_bytes(4, "little", signed=True)
    else:
        value = absurd(rng, width)
        data[field : field + width] = (value % (1 << (8 * width))).to_bytes(width, "little")
    return f"bmp +{field} <- {value}"
