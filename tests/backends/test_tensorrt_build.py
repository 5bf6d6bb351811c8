"""build_engine against a stand-in ``tensorrt`` module: the builder calls, flags, profiles, caches.

The real TensorRT needs a GPU; this checks on CPU what our code asks of the builder.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from stream_restore.backends.base import ShapeProfile
from stream_restore.backends.tensorrt_backend import build_engine
from stream_restore.models import get_spec


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []


def _fake_tensorrt(rtx: bool) -> tuple[types.ModuleType, _Recorder]:
    rec = _Recorder()
    trt = types.ModuleType("tensorrt_rtx" if rtx else "tensorrt")
    trt.__version__ = "10.99"  # type: ignore[attr-defined]

    class Logger:
        WARNING = 2

        def __init__(self, level: int) -> None:
            self.level = level

    flags = {"TF32": 6} if rtx else {"FP16": 0, "BF16": 17, "TF32": 6}
    trt.BuilderFlag = types.SimpleNamespace(**flags)  # type: ignore[attr-defined]
    trt.NetworkDefinitionCreationFlag = types.SimpleNamespace(STRONGLY_TYPED=1)  # type: ignore[attr-defined]
    trt.MemoryPoolType = types.SimpleNamespace(WORKSPACE="workspace")  # type: ignore[attr-defined]

    class Profile:
        def set_shape(
            self, name: str, lo: tuple[int, ...], opt: tuple[int, ...], hi: tuple[int, ...]
        ) -> None:
            rec.calls.append(("set_shape", name, tuple(lo), tuple(opt), tuple(hi)))

    class Cache:
        def __init__(self, data: bytes) -> None:
            self.data = data

        def serialize(self) -> bytes:
            return self.data + b"+timings"

    class Config:
        builder_optimization_level = 3

        def set_flag(self, flag: int) -> None:
            rec.calls.append(("set_flag", flag))

        def clear_flag(self, flag: int) -> None:
            rec.calls.append(("clear_flag", flag))

        def set_memory_pool_limit(self, pool: str, size: int) -> None:
            rec.calls.append(("pool", pool, size))

        def add_optimization_profile(self, profile: Profile) -> None:
            rec.calls.append(("add_profile",))

        def create_timing_cache(self, data: bytes) -> Cache:
            return Cache(data)

        def set_timing_cache(self, cache: Cache, ignore_mismatch: bool) -> None:
            self.cache = cache

        def get_timing_cache(self) -> Cache:
            return self.cache

    class Builder:
        def __init__(self, logger: Logger) -> None:
            pass

        def create_network(self, flags: int) -> str:
            rec.calls.append(("network", flags))
            return "network"

        def create_builder_config(self) -> Config:
            return Config()

        def create_optimization_profile(self) -> Profile:
            return Profile()

        def build_serialized_network(self, network: str, config: Config) -> bytes:
            rec.calls.append(("build", config.builder_optimization_level))
            return b"ENGINE"

    class OnnxParser:
        num_errors = 0

        def __init__(self, network: str, logger: Logger) -> None:
            pass

        def parse_from_file(self, path: str) -> bool:
            rec.calls.append(("parse", Path(path).name))
            return True

    trt.Logger, trt.Builder, trt.OnnxParser = Logger, Builder, OnnxParser  # type: ignore[attr-defined]
    return trt, rec


@pytest.mark.parametrize("rtx", [False, True])
def test_build_engine_requests(rtx: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trt, rec = _fake_tensorrt(rtx)
    monkeypatch.setitem(sys.modules, "tensorrt", None if rtx else trt)  # None: "not installed"
    monkeypatch.setitem(sys.modules, "tensorrt_rtx", trt if rtx else None)
    spec = get_spec("test-toy-recurrent-x2")
    module = spec.build()
    onnx = tmp_path / "toy.onnx"
    onnx.write_bytes(b"onnx")
    timing = tmp_path / "timing.cache"
    timing.write_bytes(b"old")
    profile = ShapeProfile((1, 8, 8), (2, 64, 96), (2, 72, 128))
    data = build_engine(
        onnx, spec, module, profile, "fp16", timing_cache=timing, workspace_mib=512, optimization_level=5
    )
    assert data == b"ENGINE"
    assert timing.read_bytes() == b"old+timings"  # the timing cache was loaded, extended and saved
    calls = rec.calls
    assert (
        ("parse", "toy.onnx") in calls and ("pool", "workspace", 512 << 20) in calls and ("build", 5) in calls
    )
    assert ("set_shape", "frames", (1, 1, 3, 8, 8), (2, 1, 3, 64, 96), (2, 1, 3, 72, 128)) in calls
    channels = module.channels
    assert ("set_shape", "state", (1, channels, 8, 8), (2, channels, 64, 96), (2, channels, 72, 128)) in calls
    if rtx:  # no FP16 flag: a strongly typed network instead
        assert ("network", 1 << 1) in calls and not any(c[0] == "set_flag" for c in calls)
    else:
        assert ("network", 0) in calls and ("set_flag", 0) in calls
