"""The auto backend: candidate order, fallback when a backend fails to load, remembered timings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from stream_restore.backends import BackendOptions, TorchBackend, create_backend
from stream_restore.backends.auto import AutoBackend, candidate_order, rank_by_speed
from stream_restore.backends.base import Backend
from stream_restore.errors import StreamRestoreError, UnsupportedError
from stream_restore.models import get_spec


def test_candidate_order() -> None:
    assert candidate_order("cuda", tensorrt_ok=True, cuda_ok=True, cpu_ranking=[]) == ["tensorrt", "torch"]
    assert candidate_order("cuda", tensorrt_ok=False, cuda_ok=True, cpu_ranking=[]) == ["torch"]
    assert candidate_order("cpu", tensorrt_ok=False, cuda_ok=False, cpu_ranking=["torch", "onnxruntime"]) == [
        "torch",
        "onnxruntime",
    ]
    assert rank_by_speed({"torch": 12.0, "onnxruntime": 9.5, "x": float("inf")}) == [
        "onnxruntime",
        "torch",
        "x",
    ]


class _Broken(TorchBackend):
    name = "broken"

    def _load(self) -> None:
        raise UnsupportedError("no tensorrt here")


def test_falls_back_when_a_backend_fails_to_load(tmp_path: Path) -> None:
    spec = get_spec("bicubic-x2")
    options = BackendOptions(cache_dir=str(tmp_path))
    made: list[str] = []

    def factory(name: str, opts: BackendOptions) -> Backend:
        made.append(name)
        return _Broken(spec, opts) if name == "onnxruntime" else TorchBackend(spec, opts)

    auto = AutoBackend(spec, options, factory)
    auto._cpu_ranking = lambda: ["onnxruntime", "torch"]  # type: ignore[method-assign]
    with auto:
        assert auto.name == "auto:torch" and "onnxruntime" in auto.failures
        y, _ = auto.infer(torch.rand(1, 1, 3, 8, 8))
        assert y.shape == (1, 3, 16, 16)
    assert made == ["onnxruntime", "torch"]


def test_all_candidates_failing_is_an_error(tmp_path: Path) -> None:
    spec = get_spec("identity")
    auto = AutoBackend(spec, BackendOptions(cache_dir=str(tmp_path)), lambda n, o: _Broken(spec, o))
    auto._cpu_ranking = lambda: ["onnxruntime", "torch"]  # type: ignore[method-assign]
    with pytest.raises(StreamRestoreError, match="no backend could run"):
        auto.load()


def test_cpu_choice_is_measured_once_and_remembered(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    spec = get_spec("bicubic-x2")
    options = BackendOptions(cache_dir=str(tmp_path))
    with create_backend(spec, "auto", options) as first:
        assert first.name in ("auto:torch", "auto:onnxruntime")
    memory = json.loads((tmp_path / "auto-cpu.json").read_text())
    (entry,) = memory.values()
    assert set(entry) == {"torch", "onnxruntime"}
    # Pretend torch was far faster: the remembered figures, not a new measurement, decide.
    key = next(iter(memory))
    memory[key] = {"torch": 1.0, "onnxruntime": 1000.0}
    (tmp_path / "auto-cpu.json").write_text(json.dumps(memory))
    with create_backend(spec, "auto", options) as second:
        assert second.name == "auto:torch"
