"""A seeded byte mutator: generic operations and container-aware ones, each replayable alone.

Generic operations (bit flips, interesting values, truncation, insertion, deletion, duplication,
splices of two files, appends) work on any bytes; ``field`` hands the bytes to the mutator that
knows the seed's format (:mod:`.fields`, :mod:`.image_fields`); ``bomb`` swaps in a PNG that lies
about (or really has) a huge size. Each operation returns a short description, so a case can be
replayed and reduced (see :func:`apply`).
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from .fields import (
    EBML_NAMES,
    absurd,
    ebml_elements,
    ebml_field,
    flv_field,
    mp4_boxes,
    mp4_field,
    nal_field,
    put,
    ts_field,
)
from .image_fields import bmp_field, jpeg_field, png_field, webp_field
from .seeds import Seed, png_with_size

__all__ = ["FIXED_OPS", "OPS", "Mutation", "apply", "choose_mutations", "chunk_sizes"]


@dataclass(frozen=True)
class Mutation:
    """One replayable operation: ``op`` names a function of this module, ``args`` its numbers."""

    op: str
    args: tuple[int | str, ...]

    def describe(self) -> str:
        return f"{self.op}{self.args}"



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
        value = absurd(rng, width)
        put(data, at, value, width)
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
            put(data, payload, int(value), length)
    return f"ebml {EBML_NAMES.get(eid, hex(eid))} x{len(hits)} <- {kind} {value}"


def png_size(data: bytearray, seed: Seed, others: Sequence[Seed], width: int, height: int, full: int) -> str:
    data[:] = png_with_size(width, height, full_data=bool(full))
    return f"png {width}x{height} {'all-zero pixels' if full else 'header only'}"


def cut(data: bytearray, seed: Seed, others: Sequence[Seed], permille: int) -> str:
    """Keep the first ``permille`` per mille of the bytes."""
    size = len(data)
    del data[size * permille // 1000 :]
    return f"truncate to {len(data)} of {size}"


def mp4_set(data: bytearray, seed: Seed, others: Sequence[Seed], box: str, offset: int, width: int, value: int,
            nth: int = -1) -> str:
    """In every ``box`` (or only the ``nth``, from 0): ``width`` bytes at ``offset`` into its payload set to ``value``."""
    hits = [b for b in mp4_boxes(bytes(data)) if b[0] == box.encode("latin-1")]
    hits = hits if nth < 0 else hits[nth : nth + 1]
    for _, start, header, _ in hits:
        put(data, start + header + offset, value, width)
    return f"mp4 {box} x{len(hits)} +{offset} <- {value}"


# operations whose arguments are the values themselves (the pinned cases), not a random salt
FIXED_OPS: dict[str, Callable[..., str]] = {"splice_with": splice_with, "ebml_set": ebml_set, "png_size": png_size,
                                            "cut": cut, "mp4_set": mp4_set}


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
