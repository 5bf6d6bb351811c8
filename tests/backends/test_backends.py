"""The backend protocol: every backend validates the same way and matches the torch reference."""

from __future__ import annotations

import pytest
import torch

from stream_restore.backends import BACKENDS, BackendOptions, ShapeProfile, create_backend
from stream_restore.errors import ConfigError, InputError

ort = pytest.importorskip("onnxruntime")

CPU_BACKENDS = ["torch", "onnxruntime"]


@pytest.fixture
def cache_dir(tmp_path):  # exports and measurements go to a throwaway cache
    return str(tmp_path / "cache")


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("name", ["bicubic-x2", "test-toy-window", "test-toy-recurrent-x2", "vdeblur"])
def test_cpu_backends_match_eager(backend: str, name: str, cache_dir: str) -> None:
    from stream_restore.models import get_spec

    try:
        spec = get_spec(name)  # vdeblur: recurrent, and pads to multiples of 8 (18x26 is not)
    except KeyError:
        pytest.skip(f"{name} is not registered")
    ref_backend = create_backend(spec, "torch", BackendOptions(channels_last=False)).load()
    with create_backend(spec, backend, BackendOptions(cache_dir=cache_dir)) as b:
        n, h, w = 2, 18, 26
        state_r, state_b = ref_backend.initial_state(n, h, w), b.initial_state(n, h, w)
        for _ in range(3 if spec.recurrent else 1):
            x = torch.rand(n, spec.window, 3, h, w)
            ref, state_r = ref_backend.infer(x, state_r)
            got, state_b = b.infer(x, state_b)
            assert got.dtype == torch.float32 and got.shape == ref.shape
            assert (got - ref).abs().max().item() <= 1e-4


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_infer_validates_before_running(backend: str, cache_dir: str) -> None:
    from stream_restore.models import get_spec

    b = create_backend(get_spec("test-toy-recurrent-x2"), backend, BackendOptions(cache_dir=cache_dir))
    with pytest.raises(RuntimeError):
        b.infer(torch.rand(1, 1, 3, 8, 8), None)  # not loaded
    with b:
        state = b.initial_state(1, 8, 8)
        with pytest.raises(InputError):
            b.infer(torch.rand(1, 3, 8, 8), state)  # 4-D
        with pytest.raises(InputError):
            b.infer(torch.rand(1, 2, 3, 8, 8), state)  # wrong window
        with pytest.raises(InputError):
            b.infer(torch.randint(0, 255, (1, 1, 3, 8, 8), dtype=torch.uint8), state)
        with pytest.raises(InputError):
            b.infer(torch.rand(1, 1, 3, 8, 8), None)  # recurrent without state
        with pytest.raises(InputError):
            b.infer(torch.rand(2, 1, 3, 8, 8), state)  # state for another batch


def test_options_are_checked() -> None:
    with pytest.raises(ConfigError):
        BackendOptions(precision="int4")
    with pytest.raises(ConfigError):
        BackendOptions(cuda_graphs=True, device="cpu")
    with pytest.raises(ConfigError):
        BackendOptions(opset=13)
    with pytest.raises(ConfigError):
        ShapeProfile((1, 64, 64), (1, 32, 64), (1, 128, 128))
    from stream_restore.models import get_spec

    with pytest.raises(ConfigError):
        create_backend(get_spec("identity"), "tflite", BackendOptions())
    with pytest.raises(ConfigError):
        create_backend(get_spec("identity"), "onnxruntime", BackendOptions(precision="fp16")).load()


def test_onnxruntime_provider_selection() -> None:
    from stream_restore.backends.onnxruntime_backend import CPU, CUDA, TENSORRT, select_providers

    assert select_providers("cpu", "fp32", [CPU]) == [CPU]
    assert select_providers("cuda", "fp32", [TENSORRT, CUDA, CPU]) == [TENSORRT, CUDA, CPU]
    assert select_providers("cuda:1", "fp16", [TENSORRT, CUDA, CPU]) == [TENSORRT, CPU]
    with pytest.raises(ConfigError):
        select_providers("cuda", "fp32", [CPU])  # CPU-only build asked for CUDA
    with pytest.raises(ConfigError):
        select_providers("cuda", "fp16", [CUDA, CPU])  # fp16 needs the TensorRT provider


def test_torch_backend_channels_last_and_bf16() -> None:
    from stream_restore.models import get_spec

    spec = get_spec("bicubic-x2")
    x = torch.rand(1, 1, 3, 16, 20)
    ref = create_backend(spec, "torch", BackendOptions(channels_last=False)).load().infer(x)[0]
    got = create_backend(spec, "torch", BackendOptions(precision="bf16")).load().infer(x)[0]
    assert got.dtype == torch.float32
    assert (got - ref).abs().max().item() < 0.05


def test_every_backend_name_is_known() -> None:
    assert set(BACKENDS) == {"auto", "torch", "onnxruntime", "tensorrt"}
