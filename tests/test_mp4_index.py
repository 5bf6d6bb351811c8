"""MP4 index position: classic MP4 (media before index) is told from faststart and fragmented MP4."""

from __future__ import annotations

from pathlib import Path

import pytest

from stream_restore.mp4_index import file_is_classic_mp4, prefix_is_classic_mp4

from .conftest import make_clip


@pytest.mark.parametrize(
    ("options", "classic"),
    [
        ({}, True),
        ({"movflags": "faststart"}, False),
        ({"movflags": "frag_keyframe+empty_moov+default_base_moof"}, False),
    ],
)
def test_generated_mp4(tmp_path: Path, options: dict[str, str], classic: bool) -> None:
    clip = make_clip(tmp_path / "clip.mp4", frames=4, container_options=options)
    assert file_is_classic_mp4(clip) is classic
    assert prefix_is_classic_mp4(clip.read_bytes()[:4096]) is classic


def test_other_containers_and_short_input_pass(tmp_path: Path) -> None:
    assert not file_is_classic_mp4(make_clip(tmp_path / "clip.mkv", frames=2))
    assert not prefix_is_classic_mp4(b"")
    assert not prefix_is_classic_mp4(b"\x00\x00\x00\x10ftyp")  # too short to say


def _box(kind: bytes, payload: bytes = b"", large: bool = False) -> bytes:
    if large:  # size 1, then a 64-bit size
        return (1).to_bytes(4, "big") + kind + (16 + len(payload)).to_bytes(8, "big") + payload
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


def test_boxes_with_64_bit_sizes_are_walked() -> None:
    ftyp = _box(b"ftyp", b"isom\x00\x00\x02\x00")
    assert prefix_is_classic_mp4(ftyp + _box(b"free", b"x" * 20, large=True) + _box(b"mdat", b"data"))
    assert not prefix_is_classic_mp4(ftyp + _box(b"free", large=True) + _box(b"moov"))
    assert not prefix_is_classic_mp4(ftyp + (4).to_bytes(4, "big") + b"junk" + _box(b"mdat"))  # malformed
    assert prefix_is_classic_mp4(ftyp + _box(b"mdat"))  # an empty mdat header ending the prefix counts
    assert not prefix_is_classic_mp4(ftyp + _box(b"mdat")[:7])  # a cut header does not
