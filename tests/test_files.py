"""Atomic writes: the target is the old file or the whole new one, never partial, never left over."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from stream_restore.files import PartialFile, atomic_path, write_atomic


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_replaces_the_whole_file_and_leaves_nothing_beside_it(tmp_path: Path) -> None:
    target = tmp_path / "x.bin"
    write_atomic(target, b"a" * 1000)
    write_atomic(target, b"b" * 10, fsync=True)
    assert target.read_bytes() == b"b" * 10
    assert [p.name for p in tmp_path.iterdir()] == ["x.bin"]


def test_default_permissions_are_a_plain_creates(tmp_path: Path) -> None:
    umask = os.umask(0o027)
    os.umask(umask)
    write_atomic(tmp_path / "plain", b"x")
    write_atomic(tmp_path / "shared", b"x", mode=0o644)
    assert _mode(tmp_path / "plain") == 0o666 & ~umask  # not mkstemp's 0o600
    assert _mode(tmp_path / "shared") == 0o644


def test_a_failed_write_keeps_the_old_file_byte_identical(tmp_path: Path) -> None:
    target = tmp_path / "model.onnx"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        assert temporary.parent == tmp_path and temporary.suffix == ".onnx" and temporary.name.startswith(".")
        temporary.write_bytes(b"half of the new one")
        raise RuntimeError("exporter failed")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


def test_atomic_path_renames_on_success(tmp_path: Path) -> None:
    target = tmp_path / "w.safetensors"
    with atomic_path(target) as temporary:
        temporary.write_bytes(b"new")
        assert not target.exists()
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["w.safetensors"]


def test_partial_file_commit_and_discard(tmp_path: Path) -> None:
    kept, dropped = PartialFile(tmp_path / "kept.ts"), PartialFile(tmp_path / "dropped.ts")
    kept.file.write(b"stream")
    dropped.file.write(b"stream")
    kept.commit()
    kept.discard()  # after commit: nothing to do
    dropped.discard()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.ts"]
    assert (tmp_path / "kept.ts").read_bytes() == b"stream"


def test_missing_folder_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "missing" / "x", b"x")


def test_a_killed_writers_partial_file_is_removed_by_the_next_write_and_a_live_ones_kept(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".weights.partial-{dead.pid}-abc123.bin"
    live = tmp_path / f".weights.partial-{os.getpid()}-def456.bin"
    other = tmp_path / f".other.partial-{dead.pid}-abc123.bin"
    for path in (stale, live, other):
        path.write_bytes(b"x")
    write_atomic(tmp_path / "weights.bin", b"new")
    assert not stale.exists() and live.exists() and other.exists()
    assert (tmp_path / "weights.bin").read_bytes() == b"new"
