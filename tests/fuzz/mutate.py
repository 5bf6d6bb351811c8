"""A seeded byte mutator that knows enough of each container to write absurd header fields.

Generic operations (bit flips, interesting values, truncation, insertion, deletion, duplication,
splices of two files) work on any bytes. Structure-aware ones find a field and overwrite it in
place with an absurd value: MP4/MOV box sizes, time scales, durations, sample tables and track
sizes; Matroska/WebM element sizes, TimestampScale, DefaultDuration (the frame rate), Duration,
PixelWidth/Height, block timestamps; PNG IHDR (with a valid CRC, so decoders believe it), JPEG
SOF sizes, WebP and BMP headers; FLV tag sizes and onMetaData numbers; MPEG-TS PES timestamps;
H.264/HEVC parameter sets. Each operation returns a short description, so a case can be replayed
and reduced (see :func:`apply`).
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from .seeds import Seed, png_with_size

__all__ = ["Mutation", "apply", "choose_mutations"]

U32 = (0, 1, 2, 7, 8, 0xFF, 0xFFFF, 0x10000, 30000, 90000, 1_000_000, 1 << 24, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE,
       0xFFFFFFFF)
U16 = (0, 1, 2, 0x7FFF, 0x8000, 0xFFFF, 16384, 8192)
FLOATS = (0.0, -0.0, -1.0, 1e-300, 1e300, float("inf"), float("-inf"), float("nan"), 30000.0, 1e9)


@dataclass(frozen=True)
class Mutation:
    """One replayable operation: ``op`` names a function of this module, ``args`` its numbers."""

    op: str
    args: tuple[int | str, ...]

    def describe(self) -> str:
        return f"{self.op}{self.args}"


# -- helpers -----------------------------------------------------------------------------------------


def _put(data: bytearray, offset: int, value: int, width: int) -> None:
    if 0 <= offset and offset + width <= len(data):
        data[offset : offset + width] = (value % (1 << (8 * width))).to_bytes(width, "big")


def _absurd(rng: random.Random, width: int) -> int:
    if width == 2:
        return rng.choice(U16)
    if width == 8:
        return rng.choice((0, 1, 1 << 32, 1 << 62, (1 << 63) - 1, (1 << 64) - 1, rng.getrandbits(64)))
    if width == 1:
        return rng.choice((0, 1, 0x7F, 0x80, 0xFF, rng.getrandbits(8)))
    return rng.choice((*U32, rng.getrandbits(32)))


# -- MP4 / MOV boxes ---------------------------------------------------------------------------------

_MP4_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"mvex", b"moof", b"traf",
                   b"udta", b"mfra", b"sinf", b"schi"}
_SAMPLE_ENTRIES = {b"avc1", b"avc3", b"hvc1", b"hev1", b"mp4v", b"vp09", b"av01", b"mp4a", b"Opus", b"tx3g"}
# box -> (offset within the payload, width) of fields worth lying about; "v1" variants for version 1
_MP4_FIELDS: dict[bytes, tuple[tuple[int, int], ...]] = {
    b"mvhd": ((12, 4), (16, 4), (20, 4)),  # timescale, duration, rate
    b"mvhd1": ((20, 4), (24, 8)),
    b"tkhd": ((12, 4), (20, 4), (76, 4), (80, 4)),  # track id, duration, width, height (16.16)
    b"tkhd1": ((28, 8), (88, 4), (92, 4)),
    b"mdhd": ((12, 4), (16, 4)),  # timescale, duration
    b"mdhd1": ((20, 4), (24, 8)),
    b"stts": ((4, 4), (8, 4), (12, 4)),  # entry count, first (count, delta)
    b"ctts": ((4, 4), (8, 4), (12, 4)),
    b"stsz": ((4, 4), (8, 4), (12, 4), (16, 4)),  # constant size, count, first sizes
    b"stsc": ((4, 4), (8, 4), (12, 4)),
    b"stco": ((4, 4), (8, 4)),
    b"co64": ((4, 4), (8, 8)),
    b"stss": ((4, 4), (8, 4)),
    b"elst": ((4, 4), (8, 4), (12, 4)),  # entry count, segment duration, media time
    b"mehd": ((4, 4),),
    b"trex": ((8, 4), (12, 4), (16, 4)),  # default sample description, duration, size
    b"tfhd": ((4, 4), (8, 8)),
    b"tfdt": ((4, 4),),
    b"trun": ((4, 4), (8, 4), (12, 4), (16, 4)),  # sample count, data offset, first sample fields
    b"stsd": ((4, 4),),
    b"avc1": ((24, 2), (26, 2), (42, 2)),  # width, height, frame count
    b"hvc1": ((24, 2), (26, 2)),
    b"mp4v": ((24, 2), (26, 2)),
    b"mp4a": ((16, 2), (18, 2), (24, 4)),  # channels, sample size, sample rate (16.16)
    b"avcC": ((4, 1), (5, 1), (6, 2)),  # length size, SPS count, SPS length
    b"hvcC": ((21, 1), (22, 1)),
}


def mp4_boxes(data: bytes) -> list[tuple[bytes, int, int, int]]:
    """(type, start, header length, size) of every box, depth first; stops at the first bad size."""
    found: list[tuple[bytes, int, int, int]] = []

    def walk(start: int, end: int, depth: int) -> None:
        offset = start
        while offset + 8 <= end and depth < 12:
            size = int.from_bytes(data[offset : offset + 4], "big")
            kind = bytes(data[offset + 4 : offset + 8])
            header = 8
            if size == 1 and offset + 16 <= end:
                size, header = int.from_bytes(data[offset + 8 : offset + 16], "big"), 16
            elif size == 0:
                size = end - offset
            if size < header or offset + size > end:
                return
            found.append((kind, offset, header, size))
            if kind in _MP4_CONTAINERS:
                walk(offset + header, offset + size, depth + 1)
            elif kind == b"stsd":
                walk(offset + header + 8, offset + size, depth + 1)
            elif kind in _SAMPLE_ENTRIES:
                skip = 28 if kind in (b"mp4a", b"Opus") else 78
                walk(offset + header + skip, offset + size, depth + 1)
            elif kind == b"meta":
                walk(offset + header + 4, offset + size, depth + 1)
            offset += size

    walk(0, len(data), 0)
    return found


def mp4_field(data: bytearray, rng: random.Random) -> str:
    boxes = mp4_boxes(bytes(data))
    if not boxes:
        return "mp4: no boxes"
    kind, start, header, size = rng.choice(boxes)
    payload = start + header
    if rng.random() < 0.25:  # the size field itself
        value = rng.choice((0, 1, 7, 8, size - 1, size + 1, size * 2, 0x7FFFFFFF, 0xFFFFFFFF))
        _put(data, start, value, 4)
        return f"mp4 {kind.decode('latin-1')}@{start} size {size}->{value}"
    key = kind
    if kind in (b"mvhd", b"tkhd", b"mdhd") and payload < len(data) and data[payload] == 1:
        key = kind + b"1"
    fields = _MP4_FIELDS.get(key)
    if fields:
        offset, width = rng.choice(fields)
    else:  # any aligned word of the payload
        if size - header < 4:
            return f"mp4 {kind.decode('latin-1')}: too small"
        offset, width = 4 * rng.randrange((size - header) // 4), 4
    value = _absurd(rng, width)
    _put(data, payload + offset, value, width)
    return f"mp4 {kind.decode('latin-1')}@{start}+{offset} <- {value}"


# -- Matroska / WebM (EBML) ----------------------------------------------------------------------------

_EBML_MASTERS = {0x1A45DFA3, 0x18538067, 0x114D9B74, 0x4DBB, 0x1549A966, 0x1654AE6B, 0xAE, 0xE0, 0xE1,
                 0x1F43B675, 0xA0, 0x1C53BB6B, 0xBB, 0xB7, 0x1254C367, 0x7373, 0x63C0, 0x67C8, 0x6D80,
                 0x6240, 0x5035}
_EBML_FLOATS = {0x4489, 0xB5, 0x78B5, 0x2383E3}
_EBML_INTERESTING = {0x2AD7B1: "TimestampScale", 0x4489: "Duration", 0x23E383: "DefaultDuration",
                     0xB0: "PixelWidth", 0xBA: "PixelHeight", 0x54B0: "DisplayWidth", 0x54BA: "DisplayHeight",
                     0xB5: "SamplingFrequency", 0x9F: "Channels", 0xE7: "ClusterTimestamp", 0x86: "CodecID",
                     0x63A2: "CodecPrivate", 0xD7: "TrackNumber", 0x83: "TrackType", 0xA3: "SimpleBlock",
                     0xA1: "Block", 0x9B: "BlockDuration", 0x9C: "FlagLacing", 0x56AA: "CodecDelay",
                     0x2383E3: "FrameRate", 0x4286: "EBMLVersion", 0x42F7: "EBMLReadVersion",
                     0x42F2: "EBMLMaxIDLength", 0x42F3: "EBMLMaxSizeLength", 0x4282: "DocType",
                     0x53B8: "StereoMode", 0x55B0: "Colour", 0xB3: "CueTime", 0xF1: "CueClusterPosition"}


def _vint(data: bytes, offset: int, keep_marker: bool) -> tuple[int, int] | None:
    if offset >= len(data) or data[offset] == 0:
        return None
    first = data[offset]
    length = 8 - first.bit_length() + 1
    if offset + length > len(data):
        return None
    value = first if keep_marker else first & ((1 << (8 - length)) - 1)
    for b in data[offset + 1 : offset + length]:
        value = (value << 8) | b
    return value, length


def ebml_elements(data: bytes) -> list[tuple[int, int, int, int, int]]:
    """(id, start, size-field offset, size-field length, payload length) of every element found."""
    found: list[tuple[int, int, int, int, int]] = []

    def walk(start: int, end: int, depth: int) -> None:
        offset = start
        while offset < end and depth < 10:
            ident = _vint(data, offset, True)
            if ident is None:
                return
            eid, id_len = ident
            size = _vint(data, offset + id_len, False)
            if size is None:
                return
            length, size_len = size
            payload = offset + id_len + size_len
            unknown = length == (1 << (7 * size_len)) - 1
            if unknown:
                length = end - payload
            if payload + length > end:
                length = end - payload  # truncated: keep what is there
            found.append((eid, offset, offset + id_len, size_len, length))
            if eid in _EBML_MASTERS:
                walk(payload, payload + length, depth + 1)
            offset = payload + length

    walk(0, len(data), 0)
    return found


def ebml_field(data: bytearray, rng: random.Random) -> str:
    elements = ebml_elements(bytes(data))
    if not elements:
        return "ebml: no elements"
    interesting = [e for e in elements if e[0] in _EBML_INTERESTING]
    eid, start, size_at, size_len, length = rng.choice(interesting if interesting and rng.random() < 0.8 else elements)
    name = _EBML_INTERESTING.get(eid, hex(eid))
    payload = size_at + size_len
    if rng.random() < 0.2 or length == 0:  # the size field: unknown, huge, or off by some bytes
        choice = rng.choice(("unknown", "huge", "minus", "plus"))
        max_value = (1 << (7 * size_len)) - 1
        value = {"unknown": max_value, "huge": max_value - 1, "minus": max(0, length - rng.randint(1, 8)),
                 "plus": min(max_value - 1, length + rng.randint(1, 64))}[choice]
        encoded = value | (1 << (7 * size_len))
        _put(data, size_at, encoded, size_len)
        return f"ebml {name}@{start} size {length}->{choice}"
    if eid in _EBML_FLOATS and length in (4, 8):
        value = rng.choice(FLOATS)
        data[payload : payload + length] = struct.pack(">d" if length == 8 else ">f", value)
        return f"ebml {name}@{start} <- {value}"
    if eid in (0xA3, 0xA1) and length >= 4:  # block: track number vint, timestamp, flags
        track = _vint(bytes(data), payload, False)
        head = track[1] if track else 1
        which = rng.choice(("timestamp", "track", "flags"))
        if which == "timestamp":
            _put(data, payload + head, rng.choice((0x7FFF, 0x8000, 0xFFFF, rng.getrandbits(16))), 2)
        elif which == "track":
            data[payload] = rng.choice((0x80, 0x82, 0x8F, 0xFF))
        else:
            data[payload + head + 2] ^= rng.choice((0x02, 0x04, 0x06, 0x80, 0x08))  # lacing, keyframe, invisible
        return f"ebml {name}@{start} {which}"
    if length == 0 or length > 8:  # bytes: overwrite some
        if length:
            for _ in range(rng.randint(1, 4)):
                data[payload + rng.randrange(length)] = rng.getrandbits(8)
        return f"ebml {name}@{start} bytes"
    width = length
    value = rng.choice((0, 1, 2, (1 << (8 * width)) - 1, 1 << (8 * width - 1), rng.getrandbits(8 * width), 33,
                        30000, 1000))
    _put(data, payload, value, width)
    return f"ebml {name}@{start} <- {value}"


# -- images -----------------------------------------------------------------------------------------


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
        value = _absurd(rng, width) if width == 4 else rng.choice((0, 1, 2, 3, 4, 6, 7, 16, 255))
        _put(data, at + 8 + field, value, width)
        crc_at = at + 8 + 13
        if crc_at + 4 <= len(data):
            import zlib

            _put(data, crc_at, zlib.crc32(bytes(data[at + 4 : at + 8 + 13])), 4)
        return f"png IHDR+{field} <- {value} (crc fixed)"
    kind, at, length = rng.choice(chunks)
    value = rng.choice((0, 1, length + 1, length * 3, 0x7FFFFFFF, 0xFFFFFFFF))
    _put(data, at, value, 4)
    return f"png {kind.decode('latin-1')} length {length}->{value}"


def jpeg_field(data: bytearray, rng: random.Random) -> str:
    sofs = [i for i in range(len(data) - 10) if data[i] == 0xFF and data[i + 1] in (0xC0, 0xC1, 0xC2, 0xC3)]
    markers = [i for i in range(len(data) - 4) if data[i] == 0xFF and 0xC0 <= data[i + 1] <= 0xFE
               and data[i + 1] not in (0xD8, 0xD9) and not 0xD0 <= data[i + 1] <= 0xD7]
    if sofs and rng.random() < 0.7:
        at = rng.choice(sofs)
        field, width = rng.choice(((5, 2), (7, 2), (4, 1), (9, 1), (11, 1)))
        value = _absurd(rng, width)
        _put(data, at + field, value, width)
        return f"jpeg SOF@{at}+{field} <- {value}"
    if not markers:
        return "jpeg: no markers"
    at = rng.choice(markers)
    value = rng.choice((0, 1, 2, 0xFFFF, rng.getrandbits(16)))
    _put(data, at + 2, value, 2)
    return f"jpeg marker {data[at + 1]:02X}@{at} length <- {value}"


def webp_field(data: bytearray, rng: random.Random) -> str:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return "webp: no RIFF"
    choice = rng.choice(("riff", "chunk", "dims"))
    if choice == "riff":
        value = _absurd(rng, 4)
        data[4:8] = (value % (1 << 32)).to_bytes(4, "little")
        return f"webp RIFF size <- {value}"
    if choice == "chunk" and len(data) >= 20:
        value = _absurd(rng, 4)
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
        value = _absurd(rng, width)
        data[field : field + width] = (value % (1 << (8 * width))).to_bytes(width, "little")
    return f"bmp +{field} <- {value}"


# -- FLV, MPEG-TS, Annex B ----------------------------------------------------------------------------

_AMF_KEYS = (b"duration", b"width", b"height", b"framerate", b"videodatarate", b"audiosamplerate", b"filesize",
             b"audiosamplesize", b"videocodecid")


def flv_field(data: bytearray, rng: random.Random) -> str:
    if data[:3] != b"FLV":
        return "flv: no header"
    amf = [data.find(key) for key in _AMF_KEYS]
    amf = [at + len(key) for at, key in zip(amf, _AMF_KEYS, strict=True) if at > 0]
    if amf and rng.random() < 0.4:
        at = rng.choice(amf)
        if at + 9 <= len(data) and data[at] == 0:
            value = rng.choice(FLOATS)
            data[at + 1 : at + 9] = struct.pack(">d", value)
            return f"flv onMetaData@{at} <- {value}"
    tags = []
    offset = int.from_bytes(data[5:9], "big") + 4
    while offset + 11 <= len(data) and len(tags) < 200:
        size = int.from_bytes(data[offset + 1 : offset + 4], "big")
        tags.append((offset, size))
        offset += 11 + size + 4
    if not tags or rng.random() < 0.1:
        value = _absurd(rng, 4)
        _put(data, 5, value, 4)
        return f"flv header offset <- {value}"
    at, size = rng.choice(tags)
    which = rng.choice(("size", "timestamp", "type", "prevsize"))
    if which == "size":
        value = rng.choice((0, 1, size + 1, 0xFFFFFF, rng.getrandbits(24)))
        _put(data, at + 1, value, 3)
    elif which == "timestamp":
        value = rng.choice((0, 0xFFFFFF, rng.getrandbits(24)))
        _put(data, at + 4, value, 3)
        if at + 7 < len(data):
            data[at + 7] = rng.choice((0, 0x7F, 0xFF))
    elif which == "type":
        value = rng.choice((8, 9, 18, 0, 0xFF))
        data[at] = value
    else:
        value = _absurd(rng, 4)
        _put(data, at + 11 + size, value, 4)
    return f"flv tag@{at} {which} <- {value}"


def _pes_timestamp(value: int, prefix: int) -> bytes:
    value &= (1 << 33) - 1
    return bytes([(prefix << 4) | (((value >> 30) & 7) << 1) | 1, (value >> 22) & 0xFF, (((value >> 15) & 0x7F) << 1) | 1,
                  (value >> 7) & 0xFF, ((value & 0x7F) << 1) | 1])


def ts_field(data: bytearray, rng: random.Random) -> str:
    starts = [i for i in range(0, len(data) - 14) if data[i : i + 3] == b"\x00\x00\x01" and data[i + 3] in (0xE0, 0xC0)]
    if starts and rng.random() < 0.6:
        at = rng.choice(starts)
        flags = data[at + 7]
        value = rng.choice((0, 1, (1 << 33) - 1, 1 << 32, rng.getrandbits(33), 90000 * 3600 * 24))
        if flags & 0x80:
            data[at + 9 : at + 14] = _pes_timestamp(value, 3 if flags & 0x40 else 2)
            return f"ts PES@{at} pts <- {value}"
        _put(data, at + 4, rng.choice((0, 1, 0xFFFF)), 2)
        return f"ts PES@{at} length"
    packets = [i for i in range(0, len(data) - 188 + 1, 188) if data[i] == 0x47]
    if not packets:
        return "ts: no packets"
    at = rng.choice(packets)
    which = rng.choice(("pid", "cc", "adaptation", "afl", "pusi"))
    if which == "pid":
        pid = rng.choice((0, 0x11, 0x100, 0x1000, 0x1FFF, rng.getrandbits(13)))
        data[at + 1] = (data[at + 1] & 0xE0) | (pid >> 8)
        data[at + 2] = pid & 0xFF
    elif which == "cc":
        data[at + 3] = (data[at + 3] & 0xF0) | rng.getrandbits(4)
    elif which == "adaptation":
        data[at + 3] = (data[at + 3] & 0xCF) | (rng.randrange(4) << 4)
    elif which == "afl":
        data[at + 4] = rng.choice((0, 183, 184, 255))
    else:
        data[at + 1] ^= 0x40
    return f"ts packet@{at} {which}"


def _nal_starts(data: bytes) -> list[int]:
    starts = []
    i = data.find(b"\x00\x00\x01")
    while i >= 0:
        starts.append(i + 3)
        i = data.find(b"\x00\x00\x01", i + 3)
    return starts


def nal_field(data: bytearray, rng: random.Random) -> str:
    starts = _nal_starts(bytes(data))
    if not starts:
        return "nal: no start codes"
    params = [s for s in starts if (data[s] & 0x1F) in (7, 8) or ((data[s] >> 1) & 0x3F) in (32, 33, 34)]
    at = rng.choice(params if params and rng.random() < 0.7 else starts)
    end = next((s - 3 for s in starts if s > at), len(data))
    if end - at < 2:
        return "nal: empty"
    for _ in range(rng.randint(1, 3)):
        pos = rng.randrange(at + 1, end)
        data[pos] = rng.choice((0x00, 0xFF, 0x80, 0x7F, data[pos] ^ (1 << rng.randrange(8))))
    return f"nal@{at} type {data[at]:#04x} bytes"


_FIELD_MUTATORS: dict[str, Callable[[bytearray, random.Random], str]] = {
    ".mp4": mp4_field, ".mov": mp4_field, ".mkv": ebml_field, ".webm": ebml_field, ".png": png_field,
    ".jpg": jpeg_field, ".webp": webp_field, ".bmp": bmp_field, ".flv": flv_field, ".ts": ts_field,
    ".h264": nal_field, ".hevc": nal_field,
}


# -- the operations ----------------------------------------------------------------------------------


def _ops() -> dict[str, Callable[..., str]]:
    def flip(data: bytearray, rng: random.Random, seed: Seed, others: Sequence[Seed]) -> str:
        n = rng.choice((1, 1, 2, 4, 8, 32))
        for _ in range(n):
            if data:
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        return f"flip {n} bits"

    def interesting(data: bytearray, rng: random.Random, seed: Seed, others: Sequence[Seed]) -> str:
        width = rng.choice((1, 2, 4))
        if len(data) < width:
            return "interesting: too short"
        at = rng.randrange(len(data) - width + 1)
        value = _absurd(rng, width)
        _put(data, at, value, width)
        return f"set {width} bytes @{at} <- {value}"

    def truncate(data: bytearray, rng: random.Random, seed: Seed, others: Sequence[Seed]) -> str:
        size = len(data)
        cut = rng.choice((0, 1, 8, 64, 188, size // 4, size // 2, size * 3 // 4, size - 1, rng.randrange(size + 1)))
        del data[max(0, min(cut, size)) :]
        return f"truncate to {len(data)} of {size}"

    def insert(data: bytearray, rng: random.Random, seed: Seed, others: Sequence[Seed]) -> str:
        at = rng.randrange(len(data) + 1)
        n = rng.choice((1, 4, 16, 188, 1024, 4096))
        fill = rng.choice(("random", "zero", "ff"))
        blob = rng.randbytes(n) if fill == "random" else bytes(n) if fill == "zero" else b"\xff" * n
        data[at:at] = blob
        return f"insert {n} {fill} @{at}"

    def delete(data: bytearray, rng: random.Random, seed: Seed, others: Sequence[Seed]) -> str:
        if not data:
            return "delete: empty"
        at = rng.randrange(len(data))
        n = rng.choice((1, 4, 16, 188, 1024, len(data) // 3))
        del data[at : at + n]
        return f"delete {n} @{at}"

    def duplicate(data: bytearray, rng: random.Random, seed: Seed, others: Sequence[Seed]) -> str:
        if not data:
            return "duplicate: empty"
        at = rng.randrange(len(data))
        n = rng.choice((16, 188, 1024, len(data) // 2))
        chunk = data[at : at + n]
        times = rng.choice((1, 2, 8))
        dest = rng.randrange(len(data) + 1)
        data[dest:dest] = chunk * times
        return f"duplicate {len(chunk)}x{times} from @{at} to @{dest}"

    def zero(data: bytearray, rng: random.Random, seed: Seed, others: Sequence[Seed]) -> str:
        if not data:
            return "zero: empty"
        at = rng.randrange(len(data))
        n = rng.choice((4, 64, 512, 4096))
        data[at : at + n] = bytes(len(data[at : at + n]))
        return f"zero {n} @{at}"

    def splice(data: bytearray, rng: random.Random, seed: Seed, others: Sequence[Seed]) -> str:
        same = [o for o in others if o.suffix == seed.suffix and o.name != seed.name and o.kind == seed.kind]
        pool = same if same and rng.random() < 0.7 else [o for o in others if o.kind != "text"] or list(others)
        other = rng.choice(pool)
        cut = rng.randrange(len(data) + 1)
        start = rng.randrange(len(other.data) + 1)
        data[cut:] = other.data[start:]
        return f"splice {cut} bytes + {other.name}[{start}:]"

    def concat(data: bytearray, rng: random.Random, seed: Seed, others: Sequence[Seed]) -> str:
        other = rng.choice([o for o in others if o.kind == seed.kind] or list(others))
        data.extend(other.data)
        return f"append {other.name}"

    def field(data: bytearray, rng: random.Random, seed: Seed, others: Sequence[Seed]) -> str:
        mutator = _FIELD_MUTATORS.get(seed.suffix)
        if seed.name.startswith("ts-") or seed.name.startswith("raw-"):
            mutator = rng.choice((mutator or nal_field, nal_field))
        if mutator is None:
            return "field: no structure known"
        if not data:
            return "field: empty"
        return mutator(data, rng)

    def bomb(data: bytearray, rng: random.Random, seed: Seed, others: Sequence[Seed], full_allowed: int = 1) -> str:
        width, height = rng.choice(((8192, 4352), (8192, 8192), (16384, 2), (4096, 4096)))
        full = bool(full_allowed) and rng.random() < 0.6 and width * height <= 8192 * 4352
        if not full:
            width, height = rng.choice(((65535, 65535), (0x7FFFFFFF, 1), (1, 0x7FFFFFFF), (100000, 100000),
                                        (width, height)))
        data[:] = png_with_size(width, height, full_data=full)
        return f"png {width}x{height} {'all-zero pixels' if full else 'header only'}"

    return {"flip": flip, "interesting": interesting, "truncate": truncate, "insert": insert, "delete": delete,
            "duplicate": duplicate, "zero": zero, "splice": splice, "concat": concat, "field": field, "bomb": bomb}


def splice_with(data: bytearray, seed: Seed, others: Sequence[Seed], name: str, cut: int, start: int) -> str:
    """The first ``cut`` per mille of this file, then the other seed from ``start`` per mille on."""
    other = next(o for o in others if o.name == name)
    at, frm = len(data) * cut // 1000, len(other.data) * start // 1000
    data[at:] = other.data[frm:]
    return f"splice {at} bytes + {name}[{frm}:]"


def ebml_set(data: bytearray, seed: Seed, others: Sequence[Seed], eid: int, kind: str, value: int | float) -> str:
    """Every element ``eid`` set in place: kind "uint" (big-endian), "float", or "fill" (every byte = value)."""
    hits = [e for e in ebml_elements(bytes(data)) if e[0] == eid]
    for _, _, size_at, size_len, length in hits:
        payload = size_at + size_len
        if kind == "float" and length in (4, 8):
            data[payload : payload + length] = struct.pack(">d" if length == 8 else ">f", value)
        elif kind == "fill":
            data[payload : payload + length] = bytes([int(value)]) * length
        elif length:
            _put(data, payload, int(value), length)
    return f"ebml {_EBML_INTERESTING.get(eid, hex(eid))} x{len(hits)} <- {kind} {value}"


def png_size(data: bytearray, seed: Seed, others: Sequence[Seed], width: int, height: int, full: int) -> str:
    data[:] = png_with_size(width, height, full_data=bool(full))
    return f"png {width}x{height} {'all-zero pixels' if full else 'header only'}"


# operations whose arguments are the values themselves (the pinned cases), not a random salt
FIXED_OPS: dict[str, Callable[..., str]] = {"splice_with": splice_with, "ebml_set": ebml_set, "png_size": png_size}


OPS = _ops()
# (op, weight) for each seed kind
_WEIGHTS: dict[str, tuple[tuple[str, float], ...]] = {
    "video": (("field", 5), ("flip", 3), ("interesting", 2), ("truncate", 2), ("insert", 1), ("delete", 1),
              ("duplicate", 1), ("zero", 1), ("splice", 2), ("concat", 0.5)),
    "image": (("field", 5), ("flip", 3), ("interesting", 2), ("truncate", 2), ("insert", 1), ("delete", 1),
              ("zero", 1), ("splice", 1), ("bomb", 0.6)),
    "text": (("flip", 1), ("insert", 1), ("truncate", 1)),
}


def choose_mutations(rng: random.Random, seed: Seed, *, bombs: bool = True) -> list[Mutation]:
    """A few operations for one case (none for about one case in twenty: the seed as it is).
    ``bombs=False`` keeps image bombs to lying headers (a real 35-megapixel image is a valid CLI input)."""
    if rng.random() < 0.05 or (seed.kind == "text" and rng.random() < 0.7):
        return []
    names, weights = zip(*_WEIGHTS[seed.kind], strict=True)
    count = 1
    while count < 4 and rng.random() < 0.35:
        count += 1
    chosen = []
    for _ in range(count):
        name = rng.choices(names, weights)[0]
        salt = rng.getrandbits(32)
        chosen.append(Mutation(name, (salt, int(bombs)) if name == "bomb" else (salt,)))
    return chosen


def apply(seed: Seed, mutations: Sequence[Mutation], others: Sequence[Seed]) -> tuple[bytes, list[str]]:
    """The seed's bytes after the operations, and what each did. Each operation draws its numbers
    from its own generator, so dropping one leaves the others unchanged (for reducing a case)."""
    data = bytearray(seed.data)
    notes = []
    for mutation in mutations:
        if mutation.op in FIXED_OPS:
            notes.append(FIXED_OPS[mutation.op](data, seed, others, *mutation.args))
            continue
        salt, *rest = mutation.args
        notes.append(OPS[mutation.op](data, random.Random(salt), seed, others, *rest))
    return bytes(data), notes


def chunk_sizes(rng: random.Random, total: int) -> Iterator[int]:
    """How a client might cut ``total`` bytes into request messages (single bytes at times)."""
    style = rng.choice(("big", "small", "mixed", "bytes"))
    sent = 0
    while sent < total:
        if style == "big":
            n = 64 * 1024
        elif style == "small":
            n = rng.choice((188, 1000, 4096))
        elif style == "bytes" and sent < 64:
            n = 1
        else:
            n = rng.choice((1, 7, 188, 4096, 65536))
        n = min(n, total - sent)
        yield n
        sent += n
