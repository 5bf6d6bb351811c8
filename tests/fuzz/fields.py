"""Structure-aware field mutators for containers and bitstreams: find a field, write an absurd value.

MP4/MOV box sizes, time scales, durations, sample tables and track sizes; Matroska/WebM element
sizes, TimestampScale, DefaultDuration (the frame rate), Duration, PixelWidth/Height, block
timestamps; FLV tag sizes and onMetaData numbers; MPEG-TS PES timestamps and packet headers;
H.264/HEVC parameter sets. Each mutator edits ``data`` in place and says what it did.
"""

from __future__ import annotations

import random
import struct

__all__ = [
    "EBML_NAMES",
    "FLOATS",
    "absurd",
    "ebml_elements",
    "ebml_field",
    "flv_field",
    "mp4_boxes",
    "mp4_field",
    "nal_field",
    "put",
    "ts_field",
]


U32 = (0, 1, 2, 7, 8, 0xFF, 0xFFFF, 0x10000, 30000, 90000, 1_000_000, 1 << 24, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE,
       0xFFFFFFFF)
U16 = (0, 1, 2, 0x7FFF, 0x8000, 0xFFFF, 16384, 8192)
FLOATS = (0.0, -0.0, -1.0, 1e-300, 1e300, float("inf"), float("-inf"), float("nan"), 30000.0, 1e9)


def put(data: bytearray, offset: int, value: int, width: int) -> None:
    """Overwrite ``width`` bytes at ``offset`` with ``value`` (big-endian, wrapped); past the end: nothing."""
    if 0 <= offset and offset + width <= len(data):
        data[offset : offset + width] = (value % (1 << (8 * width))).to_bytes(width, "big")


def absurd(rng: random.Random, width: int) -> int:
    """A value a ``width``-byte field should never hold (or one at its limits)."""
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
        put(data, start, value, 4)
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
    value = absurd(rng, width)
    put(data, payload + offset, value, width)
    return f"mp4 {kind.decode('latin-1')}@{start}+{offset} <- {value}"


# -- Matroska / WebM (EBML) ----------------------------------------------------------------------------

_EBML_MASTERS = {0x1A45DFA3, 0x18538067, 0x114D9B74, 0x4DBB, 0x1549A966, 0x1654AE6B, 0xAE, 0xE0, 0xE1,
                 0x1F43B675, 0xA0, 0x1C53BB6B, 0xBB, 0xB7, 0x1254C367, 0x7373, 0x63C0, 0x67C8, 0x6D80,
                 0x6240, 0x5035}
_EBML_FLOATS = {0x4489, 0xB5, 0x78B5, 0x2383E3}
EBML_NAMES = {0x2AD7B1: "TimestampScale", 0x4489: "Duration", 0x23E383: "DefaultDuration",
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
                length = max(0, end - payload)
            if payload + length > end:
                length = max(0, end - payload)  # truncated: keep what is there
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
    interesting = [e for e in elements if e[0] in EBML_NAMES]
    eid, start, size_at, size_len, length = rng.choice(interesting if interesting and rng.random() < 0.8 else elements)
    name = EBML_NAMES.get(eid, hex(eid))
    payload = size_at + size_len
    if rng.random() < 0.2 or length == 0:  # the size field: unknown, huge, or off by some bytes
        choice = rng.choice(("unknown", "huge", "minus", "plus"))
        max_value = (1 << (7 * size_len)) - 1
        value = {"unknown": max_value, "huge": max_value - 1, "minus": max(0, length - rng.randint(1, 8)),
                 "plus": min(max_value - 1, length + rng.randint(1, 64))}[choice]
        encoded = value | (1 << (7 * size_len))
        put(data, size_at, encoded, size_len)
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
            put(data, payload + head, rng.choice((0x7FFF, 0x8000, 0xFFFF, rng.getrandbits(16))), 2)
        elif which == "track":
            data[payload] = rng.choice((0x80, 0x82, 0x8F, 0xFF))
        else:
            data[payload + head + 2] ^= rng.choice((0x02, 0x04, 0x06, 0x80, 0x08))  # lacing, keyframe, invisible
        return f"ebml {name}@{start} {which}"
    if length <= 0 or length > 8:  # bytes: overwrite some
        if length:
            for _ in range(rng.randint(1, 4)):
                data[payload + rng.randrange(length)] = rng.getrandbits(8)
        return f"ebml {name}@{start} bytes"
    width = length
    value = rng.choice((0, 1, 2, (1 << (8 * width)) - 1, 1 << (8 * width - 1), rng.getrandbits(8 * width), 33,
                        30000, 1000))
    put(data, payload, value, width)
    return f"ebml {name}@{start} <- {value}"


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
        value = absurd(rng, 4)
        put(data, 5, value, 4)
        return f"flv header offset <- {value}"
    at, size = rng.choice(tags)
    which = rng.choice(("size", "timestamp", "type", "prevsize"))
    if which == "size":
        value = rng.choice((0, 1, size + 1, 0xFFFFFF, rng.getrandbits(24)))
        put(data, at + 1, value, 3)
    elif which == "timestamp":
        value = rng.choice((0, 0xFFFFFF, rng.getrandbits(24)))
        put(data, at + 4, value, 3)
        if at + 7 < len(data):
            data[at + 7] = rng.choice((0, 0x7F, 0xFF))
    elif which == "type":
        value = rng.choice((8, 9, 18, 0, 0xFF))
        data[at] = value
    else:
        value = absurd(rng, 4)
        put(data, at + 11 + size, value, 4)
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
        put(data, at + 4, rng.choice((0, 1, 0xFFFF)), 2)
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
    starts = [s for s in _nal_starts(bytes(data)) if s < len(data)]  # a start code at the very end has no NAL
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

