"""TensorRT's pure parts on CPU: cache keys, profiles, atomic writes, build locks, typing choice."""

from __future__ import annotations

import multiprocessing
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from stream_restore.backends.base import ShapeProfile
from stream_restore.backends.engine_cache import (
    EngineKey,
    default_profile,
    load_or_build,
    select_profile,
    write_atomic,
)
from stream_restore.backends.tensorrt_backend import uses_strong_typing

KEY = EngineKey(
    model="sr-fast-x2",
    weights_sha256="ab" * 32,
    profile=ShapeProfile((1, 16, 16), (1, 360, 640), (2, 360, 640)),
    precision="fp16",
    gpu_name="NVIDIA H100 80GB HBM3",
    compute_capability=(9, 0),
    trt_flavour="tensorrt",
    trt_version="10.13.0",
)


def test_key_names_everything_that_makes_an_engine_non_portable() -> None:
    name = KEY.filename()
    for part in (
        "sr-fast-x2",
        "wabababababab",
        "n1-1-2_h16-360-360_w16-640-640",
        "fp16",
        "nvidia-h100",
        "sm90",
        "tensorrt10.13.0",
    ):
        assert part in name
    assert name.endswith(".engine") and "/" not in name and " " not in name
    variants = [
        replace(KEY, weights_sha256="cd" * 32),
        replace(KEY, profile=ShapeProfile.fixed(1, 720, 1280)),
        replace(KEY, precision="bf16"),
        replace(KEY, gpu_name="NVIDIA L4"),
        replace(KEY, compute_capability=(8, 9)),
        replace(KEY, trt_version="10.14.1"),
        replace(KEY, trt_flavour="tensorrt_rtx"),
        replace(KEY, builder_optimization_level=5),
    ]
    names = {v.filename() for v in variants} | {name}
    assert len(names) == len(variants) + 1
    assert KEY.timing_cache_name() == replace(KEY, model="other", precision="fp32").timing_cache_name()


def test_profile_selection() -> None:
    small = ShapeProfile((1, 16, 16), (1, 360, 640), (1, 360, 640))
    large = ShapeProfile((1, 16, 16), (1, 1080, 1920), (4, 1080, 1920))
    assert select_profile([large, small], 1, 360, 640) == 1  # the tightest covering profile
    assert select_profile([large, small], 2, 360, 640) == 0
    assert select_profile([small], 1, 361, 640) is None
    assert select_profile([], 1, 8, 8) is None
    profile = default_profile(2, 360, 640, min_side=4)
    assert profile.covers(2, 360, 640) and profile.covers(1, 4, 4) and not profile.covers(3, 360, 640)
    assert profile.opt == (2, 360, 640)
    assert default_profile(1, 2, 3, min_side=4).min == (1, 2, 3)


def test_atomic_write_never_exposes_partial_files(tmp_path: Path) -> None:
    target = tmp_path / "engines" / "x.engine"
    write_atomic(target, b"a" * 1000)
    write_atomic(target, b"b" * 2000)
    assert target.read_bytes() == b"b" * 2000
    assert [p.name for p in target.parent.iterdir()] == ["x.engine"]


def test_failed_build_leaves_no_file(tmp_path: Path) -> None:
    def build() -> bytes:
        raise RuntimeError("builder failed")

    with pytest.raises(RuntimeError):
        load_or_build(tmp_path, KEY, build)
    assert not (tmp_path / KEY.filename()).exists()


def test_cache_hit_skips_build_and_unusable_engines_are_rebuilt(tmp_path: Path) -> None:
    calls: list[int] = []

    def build() -> bytes:
        calls.append(1)
        return b"engine-%d" % len(calls)

    assert load_or_build(tmp_path, KEY, build) == (b"engine-1", True)
    assert load_or_build(tmp_path, KEY, build) == (b"engine-1", False)
    rebuilt = load_or_build(tmp_path, KEY, build, is_usable=lambda data: data != b"engine-1")
    assert rebuilt == (b"engine-2", True) and len(calls) == 2


def _build_in_process(cache: str, counter: str) -> None:
    def build() -> bytes:
        with open(counter, "a") as fh:
            fh.write("x")
        return b"E" * 4096

    load_or_build(Path(cache), KEY, build)


def test_two_processes_build_an_engine_once(tmp_path: Path) -> None:
    counter = tmp_path / "builds.txt"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_build_in_process, args=(str(tmp_path), str(counter))) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert all(p.exitcode == 0 for p in procs)
    assert counter.read_text() == "x"
    assert (tmp_path / KEY.filename()).read_bytes() == b"E" * 4096


def test_threads_share_one_build(tmp_path: Path) -> None:
    results: list[bool] = []

    def worker() -> None:
        results.append(load_or_build(tmp_path, KEY, lambda: b"T")[1])

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1


def test_strong_typing_choice() -> None:
    assert not uses_strong_typing(has_fp16_flag=True, precision="fp16")  # classic TensorRT: flags
    assert uses_strong_typing(has_fp16_flag=False, precision="bf16")  # TensorRT-RTX: typed network
    assert not uses_strong_typing(has_fp16_flag=False, precision="fp32")
