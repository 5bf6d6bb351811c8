"""GPU paths: TensorRT engines, CUDA graphs, ONNX Runtime on CUDA. Skipped (with the reason) on CPU."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from stream_restore.backends import BackendOptions, ShapeProfile, create_backend
from stream_restore.models import get_spec

from .toy_models import TOY_NAMES

HAS_CUDA = torch.cuda.is_available()
HAS_TRT = any(importlib.util.find_spec(m) is not None for m in ("tensorrt", "tensorrt_rtx"))
needs_cuda = pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
needs_trt = pytest.mark.skipif(
    not (HAS_CUDA and HAS_TRT), reason="needs CUDA and the tensorrt or tensorrt_rtx Python package"
)
NAMES = ["bicubic-x2", "identity", *TOY_NAMES]


def _run(backend, spec, frames: int, n: int, h: int, w: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    state = backend.initial_state(n, h, w)
    outs = []
    for _ in range(frames):
        x = torch.rand(n, spec.window, 3, h, w, generator=g).to(backend.device)
        y, state = backend.infer(x, state)
        if state is not None:
            assert state.is_cuda == (backend.device.type == "cuda")  # state stays on the device
        outs.append(y.float().cpu())
    return outs


@pytest.mark.gpu
@pytest.mark.tensorrt
@needs_trt
@pytest.mark.parametrize("name", NAMES)
def test_tensorrt_matches_torch_fp32(name: str, tmp_path: Path) -> None:
    spec = get_spec(name)
    options = BackendOptions(device="cuda", cache_dir=str(tmp_path))
    ref = create_backend(spec, "torch", BackendOptions(device="cuda", channels_last=False)).load()
    with create_backend(spec, "tensorrt", options) as trt:
        for n, h, w in [(1, 32, 48), (2, 40, 24)]:
            frames = 5 if spec.recurrent else 1
            for a, b in zip(_run(trt, spec, frames, n, h, w), _run(ref, spec, frames, n, h, w), strict=True):
                assert (a - b).abs().max().item() <= 1e-4
        assert any(p.suffix == ".engine" for p in tmp_path.iterdir())


@pytest.mark.gpu
@pytest.mark.tensorrt
@needs_trt
def test_tensorrt_engine_cache_is_reused(tmp_path: Path) -> None:
    spec = get_spec("bicubic-x2")
    options = BackendOptions(device="cuda", cache_dir=str(tmp_path), profile=ShapeProfile.fixed(1, 32, 32))
    with create_backend(spec, "tensorrt", options):
        engines = sorted(tmp_path.glob("*.engine"))
    assert len(engines) == 1
    stamp = engines[0].stat().st_mtime_ns
    with create_backend(spec, "tensorrt", options) as again:
        again.infer(torch.rand(1, 1, 3, 32, 32, device="cuda"))
    assert engines[0].stat().st_mtime_ns == stamp


@pytest.mark.gpu
@pytest.mark.tensorrt
@needs_trt
@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_tensorrt_reduced_precision(precision: str, tmp_path: Path) -> None:
    spec = get_spec("test-toy-recurrent-x2")
    options = BackendOptions(device="cuda", precision=precision, cache_dir=str(tmp_path))
    ref = create_backend(spec, "torch", BackendOptions(device="cuda")).load()
    with create_backend(spec, "tensorrt", options) as trt:
        for a, b in zip(_run(trt, spec, 3, 1, 32, 32), _run(ref, spec, 3, 1, 32, 32), strict=True):
            assert (a - b).abs().max().item() <= 5e-2


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("name", NAMES)
def test_torch_cuda_graphs_match_eager(name: str) -> None:
    spec = get_spec(name)
    eager = create_backend(spec, "torch", BackendOptions(device="cuda")).load()
    graphs = create_backend(spec, "torch", BackendOptions(device="cuda", cuda_graphs=True)).load()
    frames = 4 if spec.recurrent else 2
    for a, b in zip(_run(graphs, spec, frames, 2, 32, 40), _run(eager, spec, frames, 2, 32, 40), strict=True):
        assert (a - b).abs().max().item() <= 1e-5


@pytest.mark.gpu
@needs_cuda
def test_onnxruntime_cuda_when_the_build_has_it(tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        pytest.skip("this onnxruntime build has no CUDAExecutionProvider (install onnxruntime-gpu)")
    spec = get_spec("test-toy-recurrent-x2")
    ref = create_backend(spec, "torch", BackendOptions(device="cuda", channels_last=False)).load()
    with create_backend(spec, "onnxruntime", BackendOptions(device="cuda", cache_dir=str(tmp_path))) as b:
        for a, c in zip(_run(b, spec, 3, 1, 32, 32), _run(ref, spec, 3, 1, 32, 32), strict=True):
            assert (a - c).abs().max().item() <= 1e-4
