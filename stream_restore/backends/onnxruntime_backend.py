"""The ONNX Runtime backend: the CPU provider by default, CUDA and TensorRT providers when present.

The model runs from its ONNX export (:mod:`.export`, cached under ``cache_dir/onnx/``). On CPU,
torch tensors are handed to ONNX Runtime as zero-copy numpy views; on CUDA, inputs and outputs are
bound by device pointer (I/O binding) on torch's current stream, so frames and recurrent state
never pass through host memory. ``onnxruntime`` is imported only here.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np
import torch

from ..errors import ConfigError, InputError
from ..models.registry import ModelSpec
from .base import Backend, BackendOptions, InferenceResult, require_module
from .export import FRAMES, OUTPUT, STATE, STATE_OUT, cached_export, min_input_side, pad_input, padded_size

__all__ = ["OnnxRuntimeBackend", "available_providers", "select_providers"]

log = logging.getLogger(__name__)

CPU, CUDA, TENSORRT = "CPUExecutionProvider", "CUDAExecutionProvider", "TensorrtExecutionProvider"


def available_providers() -> list[str]:
    """Execution providers of the installed onnxruntime build ([] when it is not installed)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return []
    return list(ort.get_available_providers())


def select_providers(device: str, precision: str, available: list[str]) -> list[str]:
    """The provider list for a device and precision, given what the build offers (pure).

    CPU runs fp32 only (ONNX Runtime's CPU kernels for fp16 are slower than fp32). CUDA prefers
    the TensorRT provider (which handles fp16/bf16 by flags), then the CUDA provider (fp32 only, as
    the export is fp32), and keeps the CPU provider last for the odd unsupported node.
    """
    if device == "cpu":
        if precision != "fp32":
            raise ConfigError("the onnxruntime backend runs fp32 on CPU; use --precision fp32")
        return [CPU]
    if not device.startswith("cuda"):
        raise ConfigError(f"the onnxruntime backend supports cpu and cuda devices, not {device!r}")
    chosen = [p for p in (TENSORRT, CUDA) if p in available]
    if precision != "fp32":
        chosen = [p for p in chosen if p == TENSORRT]
    if not chosen:
        need = "TensorrtExecutionProvider" if precision != "fp32" else "CUDAExecutionProvider"
        raise ConfigError(
            f"onnxruntime on {device} at {precision} needs {need}; this build has "
            f"{', '.join(available) or 'none'}"
            " (install onnxruntime-gpu)"
        )
    return [*chosen, CPU]


class OnnxRuntimeBackend(Backend):
    """Runs the ONNX export with ONNX Runtime; one session, shared by every stream."""

    name = "onnxruntime"

    def __init__(self, spec: ModelSpec, options: BackendOptions) -> None:
        super().__init__(spec, options)
        self.session: Any = None
        self.providers: list[str] = []
        self._module: torch.nn.Module | None = None
        self._lock = threading.Lock()  # I/O bindings are per call; the lock guards the stream handle

    def _load(self) -> None:
        ort = require_module("onnxruntime", "onnx", "the onnxruntime backend")

        available = list(ort.get_available_providers())
        if self.options.ort_providers is not None:
            missing = [p for p in self.options.ort_providers if p not in available]
            if missing:
                raise ConfigError(f"onnxruntime providers not in this build: {', '.join(missing)}")
            providers = list(self.options.ort_providers)
        else:
            providers = select_providers(self.options.device, self.options.precision, available)
        self._module = self.spec.build(pretrained=True)
        path = self.options.onnx_path or str(
            cached_export(self.spec, self.options.cache_dir, module=self._module, opset=self.options.opset)
        )
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        if self.options.threads is not None:
            so.intra_op_num_threads = self.options.threads
        provider_args: list[Any] = []
        for p in providers:
            provider_args.append((p, self._provider_options(p)) if p != CPU else p)
        self.session = ort.InferenceSession(path, so, providers=provider_args)
        self.providers = list(self.session.get_providers())
        log.info("onnxruntime session for %s on %s", self.spec.name, ", ".join(self.providers))

    def _provider_options(self, provider: str) -> dict[str, str]:
        device_id = self.device.index or 0
        options: dict[str, str] = {"device_id": str(device_id)}
        if self.device.type == "cuda":
            stream = torch.cuda.current_stream(self.device).cuda_stream
            options["user_compute_stream"] = str(stream)
            if provider == CUDA:
                options["has_user_compute_stream"] = "1"
        if provider == TENSORRT:
            options["trt_fp16_enable"] = str(self.options.precision == "fp16")
            options["trt_bf16_enable"] = str(self.options.precision == "bf16")
            options["trt_engine_cache_enable"] = "True"
            options["trt_engine_cache_path"] = f"{self.options.cache_dir}/ort-trt"
            options["trt_timing_cache_enable"] = "True"
            options["trt_timing_cache_path"] = f"{self.options.cache_dir}/ort-trt"
            options["trt_builder_optimization_level"] = str(self.options.builder_optimization_level)
        return options

    def _close(self) -> None:
        self.session = None
        self._module = None

    def _initial_state(self, batch: int, height: int, width: int) -> torch.Tensor:
        assert self._module is not None  # guaranteed by load()
        height, width = padded_size(self.spec, height, width)  # the graph runs at padded sizes
        state: torch.Tensor = self._module.initial_state(batch, height, width)  # type: ignore[operator]
        return state.to(device=self.device, dtype=torch.float32)

    def _validate(self, frames: torch.Tensor, state: torch.Tensor | None) -> None:
        super()._validate(frames, state)
        side = min_input_side(self.spec)
        if frames.shape[-1] < side or frames.shape[-2] < side:
            raise InputError(f"{self.spec.name} on {self.name} needs frames of at least {side}x{side} pixels")

    def _infer(self, frames: torch.Tensor, state: torch.Tensor | None) -> InferenceResult:
        padded, h, w = pad_input(self.spec, frames)
        if self.device.type == "cpu":
            out, new_state = self._infer_cpu(padded, state)
        else:
            out, new_state = self._infer_cuda(padded, state)
        if padded is not frames:
            out = out[..., : h * self.spec.scale, : w * self.spec.scale]
        return out, new_state

    def _infer_cpu(self, frames: torch.Tensor, state: torch.Tensor | None) -> InferenceResult:
        feeds = {FRAMES: _as_numpy(frames)}
        if state is not None:
            feeds[STATE] = _as_numpy(state)
        outputs = self.session.run(None, feeds)
        new_state = torch.from_numpy(outputs[1]) if self.spec.recurrent else None
        return torch.from_numpy(outputs[0]), new_state

    def _infer_cuda(self, frames: torch.Tensor, state: torch.Tensor | None) -> InferenceResult:
        assert self._module is not None
        x = frames.to(device=self.device, dtype=torch.float32).contiguous()
        n, _, _, h, w = x.shape
        s = self.spec.scale
        out = torch.empty((n, 3, h * s, w * s), device=self.device, dtype=torch.float32)
        binding = self.session.io_binding()
        _bind(binding.bind_input, FRAMES, x)
        _bind(binding.bind_output, OUTPUT, out)
        new_state = None
        if state is not None:
            st = state.to(device=self.device, dtype=torch.float32).contiguous()
            new_state = torch.empty_like(st)
            _bind(binding.bind_input, STATE, st)
            _bind(binding.bind_output, STATE_OUT, new_state)
        with self._lock:
            self.session.run_with_iobinding(binding)
        return out, new_state


def _as_numpy(t: torch.Tensor) -> np.ndarray:
    """A zero-copy float32 numpy view of a CPU tensor (copies only when dtype/layout differ)."""
    return t.detach().to(device="cpu", dtype=torch.float32).contiguous().numpy()


def _bind(method: Any, name: str, tensor: torch.Tensor) -> None:
    method(
        name, tensor.device.type, tensor.device.index or 0, np.float32, tuple(tensor.shape), tensor.data_ptr()
    )
