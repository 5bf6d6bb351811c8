"""Inference engines behind one protocol (:class:`Backend`), and the factory that picks one.

Backends: ``torch`` (eager or compiled, CPU/CUDA), ``onnxruntime`` (CPU; CUDA/TensorRT providers
when installed), ``tensorrt`` (cached engines on CUDA) and ``auto`` (the best of these that loads
here). Heavy optional modules (onnxruntime, tensorrt) are imported only when their backend loads.
Setting ``BackendOptions.tile_max_pixels`` wraps the backend in :class:`TiledBackend`.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from ..errors import ConfigError
from ..models.registry import ModelSpec
from .base import Backend, BackendOptions, InferenceResult, ShapeProfile
from .tiled import TiledBackend
from .torch_backend import TorchBackend

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendOptions",
    "InferenceResult",
    "ShapeProfile",
    "TiledBackend",
    "TorchBackend",
    "check_device",
    "create_backend",
    "installed_backends",
    "resolve_device",
]

BACKENDS = ("auto", "torch", "onnxruntime", "tensorrt")


def installed_backends() -> set[str]:
    """The backends this installation can run: torch and auto always, onnxruntime when the package
    is installed, tensorrt when TensorRT imports and CUDA is usable."""
    import importlib.util

    from .tensorrt_backend import tensorrt_available

    found = {"auto", "torch"}
    if importlib.util.find_spec("onnxruntime") is not None:
        found.add("onnxruntime")
    if tensorrt_available():
        found.add("tensorrt")
    return found


def resolve_device(device: str) -> str:
    """Turn "auto" into "cuda" when CUDA is usable, else "cpu"; other names pass through."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def check_device(device: str, option: str = "--device") -> str:
    """Check a device the user typed (cpu, cuda, cuda:N or auto) before any work starts; returns it
    resolved. Raises ConfigError for another name, or for CUDA on a machine without it."""
    resolved = resolve_device(device)
    try:
        kind = torch.device(resolved).type
    except RuntimeError:
        kind = ""
    if kind not in ("cpu", "cuda"):
        raise ConfigError(f"{option} must be cpu, cuda, cuda:N or auto, not {device!r}")
    if kind == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"{option} {device}: CUDA is not available on this machine")
    return resolved


def _create_plain(spec: ModelSpec, name: str, options: BackendOptions) -> Backend:
    if spec.onnx_only:  # an added ONNX file: no PyTorch module to export or run
        if name not in ("auto", "onnxruntime"):
            raise ConfigError(f"{spec.name} is an added ONNX model: it runs on the onnxruntime backend (or "
                              f"auto, which picks it), not {name}")
        from .onnx_file import OnnxFileBackend

        return OnnxFileBackend(spec, options)
    if name == "torch":
        return TorchBackend(spec, options)
    if name == "onnxruntime":
        from .onnxruntime_backend import OnnxRuntimeBackend

        return OnnxRuntimeBackend(spec, options)
    if name == "tensorrt":
        from .tensorrt_backend import TensorRTBackend

        return TensorRTBackend(spec, options)
    if name == "auto":
        from .auto import AutoBackend

        return AutoBackend(spec, options, lambda candidate, opts: _create_plain(spec, candidate, opts))
    raise ConfigError(f"unknown backend {name!r}; available: {', '.join(BACKENDS)}")


def create_backend(spec: ModelSpec, name: str, options: BackendOptions) -> Backend:
    """Instantiate (not load) the backend called ``name`` for ``spec``.

    The device "auto" resolves to CUDA when available. With ``options.tile_max_pixels`` set, the
    backend comes wrapped in a :class:`TiledBackend` with that budget and ``options.tile_overlap``.
    """
    if options.device == "auto":
        options = replace(options, device=resolve_device(options.device))
    try:
        torch.device(options.device)
    except RuntimeError:
        raise ConfigError(f"unknown device {options.device!r}; use cpu, cuda, cuda:N or auto") from None
    backend = _create_plain(spec, name, options)
    if options.tile_max_pixels is not None:
        return TiledBackend(backend, options.tile_max_pixels, options.tile_overlap)
    return backend
