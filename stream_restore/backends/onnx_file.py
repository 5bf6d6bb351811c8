"""Added ONNX models: inspect a user's graph once, then run it with ONNX Runtime.

A user's ONNX file is not one of our exports: its input may be ``[N, C, H, W]`` (one frame),
``[N, T*C, H, W]`` (frames stacked on channels) or ``[N, T, C, H, W]`` (a time axis), named as the
exporter chose. :func:`inspect` reads the layout from the graph and measures the scale and the
size multiple with probe runs; a graph with a fixed height or width is refused with what to
re-export. :class:`OnnxFileBackend` adapts the pipeline's ``[N, T, 3, H, W]`` windows to the
graph's layout, pads to the size multiple and crops back. On CUDA the TensorRT execution
provider is preferred, its engines cached under ``cache_dir/ort-trt/<file sha256>``.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError, InputError
from ..models.directory import OnnxFacts
from ..models.registry import ModelSpec
from .base import Backend, BackendOptions, InferenceResult
from .onnxruntime_backend import CPU, TENSORRT, select_providers

__all__ = ["OnnxFileBackend", "inspect"]

log = logging.getLogger(__name__)

_PROBE = 64  # pixels: the probe input's side
_MULTIPLES = (2, 4, 8, 16, 32, 64)


def _session(path: Path, providers: list[Any] | None = None, threads: int | None = 1) -> Any:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.inter_op_num_threads = 1
    if threads is not None:
        so.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(str(path), so, providers=providers or [CPU])
    except Exception as exc:  # onnxruntime raises its own untyped exception classes
        raise ConfigError(f"{path.name}: ONNX Runtime cannot load the graph ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _dims(shape: list[Any]) -> list[int | None]:
    return [d if isinstance(d, int) and d > 0 else None for d in shape]


def inspect(path: Path) -> OnnxFacts:
    """The layout, scale and size multiple of the ONNX graph at ``path`` (ConfigError if unusable)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ConfigError(
            "adding an ONNX model needs onnxruntime (pip install 'stream-restore[onnx]')"
        ) from None
    session = _session(path)
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or not outputs:
        raise ConfigError(f"{path.name}: expected one image input, the graph has {len(inputs)} inputs")
    shape = _dims(list(inputs[0].shape))
    if len(shape) not in (4, 5):
        raise ConfigError(
            f"{path.name}: input {inputs[0].name} has rank {len(shape)}; expected [N,C,H,W] or [N,T,C,H,W]"
        )
    if shape[-1] is not None or shape[-2] is not None:
        raise ConfigError(
            f"{path.name}: the input has a fixed size {shape[-2]}x{shape[-1]}; re-export it with dynamic "
            "height and width (torch.onnx.export(..., dynamic_axes={'input': {2: 'height', 3: 'width'}}) or "
            "dynamic_shapes)"
        )
    if len(shape) == 5:
        frames, channels, layout = shape[1], shape[2], "time"
        if frames is None or channels is None:
            raise ConfigError(f"{path.name}: a time-axis input needs a fixed frame count and channel count")
    else:
        stacked = shape[1]
        if stacked is None:
            raise ConfigError(f"{path.name}: the input's channel count is dynamic; export it fixed (3)")
        channels = 3 if stacked % 3 == 0 else 1 if stacked == 1 else 0
        if not channels:
            raise ConfigError(f"{path.name}: {stacked} input channels are neither RGB frames nor grey")
        frames = stacked // channels
        layout = "single" if frames == 1 else "channels"
    facts = OnnxFacts(scale=1, channels=channels, frames=frames, layout=layout)
    multiple = _size_multiple(session, facts, path.name)
    width = _PROBE + (multiple if multiple > 1 else 1)  # an odd width where the graph takes one
    size = _run(session, facts, _PROBE, width, path.name)
    if size is None:
        raise ConfigError(f"{path.name}: the graph fails on a {_PROBE}x{width} probe input")
    scale = size[0] // _PROBE
    if scale < 1 or size != (scale * _PROBE, scale * width):
        raise ConfigError(
            f"{path.name}: a {width}x{_PROBE} input gives {size[1]}x{size[0]}: not an integer scale"
        )
    return OnnxFacts(scale=scale, channels=channels, frames=frames, layout=layout, size_multiple=multiple)


def _size_multiple(session: Any, facts: OnnxFacts, name: str) -> int:
    if _run(session, facts, _PROBE + 1, _PROBE + 1, name) is not None:
        return 1
    for multiple in _MULTIPLES:
        if _run(session, facts, _PROBE + multiple, _PROBE + multiple, name) is not None:
            return multiple
    return _MULTIPLES[-1]


def _run(session: Any, facts: OnnxFacts, height: int, width: int, name: str) -> tuple[int, int] | None:
    """The output height and width of one probe call, or None when the graph refuses that size."""
    x = np.random.default_rng(0).random(_layout_shape(facts, 1, height, width), dtype=np.float32)
    try:
        out = session.run(None, {session.get_inputs()[0].name: x})[0]
    except Exception:  # onnxruntime's own exception classes: the size is not accepted
        return None
    if out.ndim != 4:
        raise ConfigError(f"{name}: the output has rank {out.ndim}; expected [N,C,H,W]")
    return int(out.shape[-2]), int(out.shape[-1])


def _layout_shape(facts: OnnxFacts, n: int, height: int, width: int) -> tuple[int, ...]:
    if facts.layout == "time":
        return (n, facts.frames, facts.channels, height, width)
    return (n, facts.frames * facts.channels, height, width)


class OnnxFileBackend(Backend):
    """Runs an added ONNX model with ONNX Runtime (CPU, CUDA or the TensorRT provider)."""

    name = "onnxruntime"

    def __init__(self, spec: ModelSpec, options: BackendOptions) -> None:
        super().__init__(spec, options)
        if spec.external is None or spec.external.kind != "onnx":
            raise ConfigError(f"{spec.name} is not an added ONNX model")
        self.external = spec.external
        self.session: Any = None
        self._input = ""
        self._channels = 3
        self._lock = threading.Lock()

    def _load(self) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise ConfigError(
                f"{self.spec.name} needs onnxruntime (pip install 'stream-restore[onnx]')"
            ) from None
        from ..models.registry import file_sha256

        path = self.external.file
        if not path.is_file():
            raise ConfigError(f"{self.spec.name}: {path} is missing from its model directory")
        if file_sha256(path) != self.external.sha256:
            raise ConfigError(f"{self.spec.name}: {path.name} changed since it was added; add it again")
        chosen = select_providers(
            self.options.device, self.options.precision, list(ort.get_available_providers())
        )
        providers: list[Any] = []
        for provider in chosen:
            if provider == TENSORRT:
                cache = f"{self.options.cache_dir}/ort-trt/{self.external.sha256[:16]}"
                providers.append(
                    (
                        provider,
                        {
                            "device_id": str(self.device.index or 0),
                            "trt_engine_cache_enable": "True",
                            "trt_engine_cache_path": cache,
                            "trt_fp16_enable": str(self.options.precision == "fp16"),
                        },
                    )
                )
            elif provider != CPU:
                providers.append((provider, {"device_id": str(self.device.index or 0)}))
            else:
                providers.append(provider)
        self.session = _session(path, providers, self.options.threads)
        shape = _dims(list(self.session.get_inputs()[0].shape))
        self._input = self.session.get_inputs()[0].name
        channels = shape[2] if self.external.layout == "time" else (shape[1] or 3) // self.spec.window
        self._channels = channels or 3
        log.info(
            "onnxruntime session for added model %s on %s",
            self.spec.name,
            ", ".join(self.session.get_providers()),
        )

    def _close(self) -> None:
        self.session = None

    def _initial_state(self, batch: int, height: int, width: int) -> torch.Tensor:
        raise ConfigError(f"{self.spec.name}: added ONNX models are not recurrent")

    def _infer(self, frames: torch.Tensor, state: torch.Tensor | None) -> InferenceResult:
        n, t, c, h, w = frames.shape
        m, s = self.spec.size_multiple, self.spec.scale
        x = frames.to(device="cpu", dtype=torch.float32)
        ph, pw = (m - h % m) % m, (m - w % m) % m
        if ph or pw:
            x = F.pad(x.flatten(0, 1), (0, pw, 0, ph), mode="replicate").unflatten(0, (n, t))
        if self._channels == 1:  # a grey model restores each colour plane as its own image
            x = x.transpose(1, 2).reshape(n * c, t, 1, h + ph, w + pw)
        feed = x if self.external.layout == "time" else x.flatten(1, 2)
        with self._lock:
            try:
                out = self.session.run(None, {self._input: feed.contiguous().numpy()})[0]
            except Exception as exc:  # onnxruntime's own exception classes
                raise InputError(
                    f"{self.spec.name}: ONNX Runtime failed on a {w}x{h} frame ({_first_line(exc)})"
                ) from None
        y = torch.from_numpy(out)
        if self._channels == 1:
            y = y.reshape(n, c, y.shape[-2], y.shape[-1])
        return y[..., : h * s, : w * s].to(frames.device), None
