"""The TensorRT backend: engines built from the ONNX export, cached, run on torch CUDA tensors.

Works with the ``tensorrt`` module and with ``tensorrt_rtx`` (same Python API; RTX has no FP16/BF16
builder flags, so reduced precision there comes from a strongly typed network exported in that
dtype). ``tensorrt`` is imported only inside this module, and only when an engine is needed.

Inference binds the device pointers of torch CUDA tensors (``set_tensor_address``) and enqueues on
torch's current CUDA stream (``execute_async_v3``): frames, outputs and recurrent state never leave
the GPU. Engines are built per shape profile on first use (or ahead of time with
``stream-restore build-engines``) and cached under ``cache_dir`` by :class:`EngineKey`.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

import torch

from ..errors import ConfigError, InputError, StreamRestoreError, UnsupportedError
from ..models.registry import ModelSpec
from .base import Backend, BackendOptions, InferenceResult, ShapeProfile
from .engine_cache import EngineKey, default_profile, load_or_build, select_profile
from .export import (
    FRAMES,
    OUTPUT,
    STATE,
    STATE_OUT,
    cached_export,
    min_input_side,
    pad_input,
    padded_size,
    state_shape,
    weights_hash,
)
from .torch_backend import torch_dtype

__all__ = ["TensorRTBackend", "build_engine", "import_tensorrt", "tensorrt_available", "uses_strong_typing"]

log = logging.getLogger(__name__)


def import_tensorrt() -> tuple[ModuleType, str]:
    """The TensorRT module and its flavour ("tensorrt" or "tensorrt_rtx"); raises if neither exists."""
    try:
        import tensorrt

        return tensorrt, "tensorrt"
    except ImportError:
        pass
    try:
        import tensorrt_rtx

        return tensorrt_rtx, "tensorrt_rtx"
    except ImportError:
        raise UnsupportedError(
            "the tensorrt backend needs the tensorrt (or tensorrt_rtx) Python package and a CUDA GPU; "
            "install the 'tensorrt' extra or choose --backend auto"
        ) from None


def tensorrt_available() -> bool:
    """Whether a TensorRT module can be imported and CUDA is usable (cheap after the first call)."""
    if not torch.cuda.is_available():
        return False
    try:
        import_tensorrt()
    except UnsupportedError:
        return False
    return True


def uses_strong_typing(has_fp16_flag: bool, precision: str) -> bool:
    """Whether to build a strongly typed network from an ONNX export in the target dtype (pure).

    Classic TensorRT takes fp32 ONNX plus FP16/BF16 builder flags (it picks precision per layer);
    TensorRT-RTX and future releases without those flags need the dtype in the network itself.
    """
    return precision != "fp32" and not has_fp16_flag


class _ProgressMonitor:
    """Prints TensorRT build phases as one updating line (attached only where the API has it)."""

    def __init__(self, label: str, stream: TextIO) -> None:
        self.label, self.stream = label, stream
        self.phases: dict[str, tuple[int, int]] = {}

    def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
        self.phases[phase_name] = (0, num_steps)
        self._draw(phase_name)

    def step_complete(self, phase_name: str, step: int) -> bool:
        total = self.phases.get(phase_name, (0, 0))[1]
        self.phases[phase_name] = (step + 1, total)
        self._draw(phase_name)
        return True  # False would cancel the build

    def phase_finish(self, phase_name: str) -> None:
        self.phases.pop(phase_name, None)

    def _draw(self, phase: str) -> None:
        done, total = self.phases[phase]
        self.stream.write(f"\r  {self.label}: {phase} {done}/{total}\033[K")
        self.stream.flush()


def _attach_progress(trt: ModuleType, config: Any, label: str, stream: TextIO) -> None:
    base = getattr(trt, "IProgressMonitor", None)
    if base is None:
        return

    class Monitor(_ProgressMonitor, base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            base.__init__(self)  # type: ignore[misc]  # pybind11 trampolines need an explicit init
            _ProgressMonitor.__init__(self, label, stream)

    config.progress_monitor = Monitor()


def _set_precision_flags(trt: ModuleType, config: Any, precision: str) -> None:
    """Builder flags of a weakly typed network: fp16 or bf16 kernels allowed, or strict fp32."""
    if precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
    elif precision == "bf16":
        config.set_flag(trt.BuilderFlag.BF16)
    elif hasattr(trt.BuilderFlag, "TF32"):
        config.clear_flag(trt.BuilderFlag.TF32)  # fp32 means fp32: keep parity with PyTorch


def build_engine(
    onnx_path: Path,
    spec: ModelSpec,
    module: torch.nn.Module,
    profile: ShapeProfile,
    precision: str,
    *,
    timing_cache: Path | None = None,
    workspace_mib: int | None = None,
    optimization_level: int = 3,
    progress: TextIO | None = None,
) -> bytes:
    """Build a serialized engine for one shape profile from an ONNX export (needs a GPU)."""
    trt, flavour = import_tensorrt()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    has_fp16_flag = hasattr(trt.BuilderFlag, "FP16")
    flags = 0
    strongly_typed = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    if strongly_typed is not None and (
        uses_strong_typing(has_fp16_flag, precision) or flavour == "tensorrt_rtx"
    ):
        flags |= 1 << int(strongly_typed)  # (TensorRT-RTX networks are strongly typed either way)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise StreamRestoreError(f"TensorRT cannot parse the ONNX export of {spec.name}: {errors}")
    config = builder.create_builder_config()
    if workspace_mib is not None:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mib << 20)
    if hasattr(config, "builder_optimization_level"):
        config.builder_optimization_level = optimization_level
    if has_fp16_flag and not flags:
        _set_precision_flags(trt, config, precision)
    opt_profile = builder.create_optimization_profile()
    shapes = [(n, spec.window, 3, h, w) for n, h, w in (profile.min, profile.opt, profile.max)]
    opt_profile.set_shape(FRAMES, *shapes)
    if spec.recurrent:
        opt_profile.set_shape(
            STATE,
            *[state_shape(spec, module, n, h, w) for n, h, w in (profile.min, profile.opt, profile.max)],
        )
    config.add_optimization_profile(opt_profile)
    if not hasattr(config, "create_timing_cache"):
        timing_cache = None  # a TensorRT flavour without timing caches
    if timing_cache is not None:
        cache_data = timing_cache.read_bytes() if timing_cache.is_file() else b""
        config.set_timing_cache(config.create_timing_cache(cache_data), ignore_mismatch=False)
    if progress is not None:
        _attach_progress(trt, config, spec.name, progress)
    started = time.monotonic()
    serialized = builder.build_serialized_network(network, config)
    if progress is not None:
        progress.write(f"\r  {spec.name}: built in {time.monotonic() - started:.0f} s\033[K\n")
    if serialized is None:
        raise StreamRestoreError(
            f"TensorRT failed to build an engine for {spec.name} ({profile.tag()}, {precision})"
        )
    if timing_cache is not None:
        from .engine_cache import write_atomic

        write_atomic(timing_cache, bytes(config.get_timing_cache().serialize()))
    return bytes(serialized)


@dataclass
class _Engine:
    profile: ShapeProfile
    engine: Any
    context: Any


class TensorRTBackend(Backend):
    """Runs TensorRT engines; one execution context per shape profile, guarded by a lock."""

    name = "tensorrt"

    def __init__(self, spec: ModelSpec, options: BackendOptions) -> None:
        super().__init__(spec, options)
        self._trt: ModuleType | None = None
        self._flavour = ""
        self._runtime: Any = None
        self._module: torch.nn.Module | None = None
        self._onnx: Path | None = None
        self._weights = ""
        self._engines: list[_Engine] = []
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------
    def _load(self) -> None:
        if self.device.type != "cuda":
            raise ConfigError("the tensorrt backend runs on CUDA devices only (use --device cuda)")
        if not torch.cuda.is_available():
            raise UnsupportedError("the tensorrt backend needs CUDA, which is not available")
        self._trt, self._flavour = import_tensorrt()
        self._runtime = self._trt.Runtime(self._trt.Logger(self._trt.Logger.WARNING))
        self._module = self.spec.build(pretrained=True)
        self._weights = weights_hash(self._module)
        strong = uses_strong_typing(hasattr(self._trt.BuilderFlag, "FP16"), self.options.precision) or (
            self._flavour == "tensorrt_rtx"
        )
        compute = torch_dtype(self.options.precision) if strong else torch.float32
        self._onnx = (
            Path(self.options.onnx_path)
            if self.options.onnx_path
            else cached_export(
                self.spec,
                self.options.cache_dir,
                module=self._module,
                opset=self.options.opset,
                compute_dtype=compute,
            )
        )
        if self.options.profile is not None:  # build or load the configured profile now
            self._engines.append(self._open(self.options.profile))

    def _close(self) -> None:
        self._engines.clear()
        self._runtime = None
        self._module = None

    def engine_key(self, profile: ShapeProfile) -> EngineKey:
        """The cache key of this model's engine for ``profile`` on the current GPU."""
        assert self._trt is not None  # set by load()
        props = torch.cuda.get_device_properties(self.device)
        return EngineKey(
            model=self.spec.name,
            weights_sha256=self._weights,
            profile=profile,
            precision=self.options.precision,
            gpu_name=props.name,
            compute_capability=(props.major, props.minor),
            trt_flavour=self._flavour,
            trt_version=str(self._trt.__version__),
            builder_optimization_level=self.options.builder_optimization_level,
        )

    def _open(self, profile: ShapeProfile, progress: TextIO | None = None) -> _Engine:
        assert self._onnx is not None and self._module is not None and self._runtime is not None
        onnx_path, module = self._onnx, self._module
        key = self.engine_key(profile)
        cache_dir = Path(self.options.cache_dir)
        decoded: dict[int, Any] = {}

        def usable(data: bytes) -> bool:
            engine = self._runtime.deserialize_cuda_engine(data)
            decoded[id(data)] = engine
            return engine is not None

        def build() -> bytes:
            return build_engine(
                onnx_path,
                self.spec,
                module,
                profile,
                self.options.precision,
                timing_cache=cache_dir / key.timing_cache_name(),
                workspace_mib=self.options.workspace_mib,
                optimization_level=self.options.builder_optimization_level,
                progress=progress,
            )

        data, _ = load_or_build(cache_dir, key, build, usable)
        engine = decoded.get(id(data)) or self._runtime.deserialize_cuda_engine(data)
        if engine is None:
            raise StreamRestoreError(f"TensorRT cannot load the engine it just built for {self.spec.name}")
        return _Engine(profile, engine, engine.create_execution_context())

    def ensure_engine(self, profile: ShapeProfile, progress: TextIO | None = sys.stderr) -> None:
        """Build (or find in the cache) the engine for ``profile``; used by ``build-engines``."""
        self._require_loaded()
        if not any(e.profile == profile for e in self._engines):
            self._engines.append(self._open(profile, progress))

    def _engine_for(self, batch: int, height: int, width: int) -> _Engine:
        index = select_profile([e.profile for e in self._engines], batch, height, width)
        if index is not None:
            return self._engines[index]
        if self.options.profile is not None:
            raise InputError(
                f"{self.spec.name}: input {batch}x{width}x{height} (batch x W x H) is outside the configured "
                f"TensorRT profile {self.options.profile.tag()}"
            )
        engine = self._open(default_profile(batch, height, width, min_input_side(self.spec)))
        self._engines.append(engine)
        return engine

    # -- inference ---------------------------------------------------------------------------
    def _initial_state(self, batch: int, height: int, width: int) -> torch.Tensor:
        assert self._module is not None
        height, width = padded_size(self.spec, height, width)  # engines run at padded sizes
        state: torch.Tensor = self._module.initial_state(batch, height, width)  # type: ignore[operator]
        return state.to(device=self.device, dtype=torch.float32)

    def _infer(self, frames: torch.Tensor, state: torch.Tensor | None) -> InferenceResult:
        if frames.device.type != "cuda":
            log.debug("tensorrt backend got host frames; copying them to %s", self.device)
        padded, h0, w0 = pad_input(self.spec, frames.to(device=self.device, dtype=torch.float32))
        x = padded.contiguous()
        st = None if state is None else state.to(device=self.device, dtype=torch.float32).contiguous()
        n, _, _, h, w = (int(d) for d in x.shape)
        stream = torch.cuda.current_stream(self.device)
        with self._lock:  # an execution context runs one enqueue at a time
            engine = self._engine_for(n, h, w)
            ctx = engine.context
            ctx.set_input_shape(FRAMES, tuple(x.shape))
            ctx.set_tensor_address(FRAMES, x.data_ptr())
            new_state = None
            if st is not None:
                ctx.set_input_shape(STATE, tuple(st.shape))
                ctx.set_tensor_address(STATE, st.data_ptr())
            out = torch.empty(tuple(ctx.get_tensor_shape(OUTPUT)), device=self.device, dtype=torch.float32)
            ctx.set_tensor_address(OUTPUT, out.data_ptr())
            if st is not None:
                new_state = torch.empty(
                    tuple(ctx.get_tensor_shape(STATE_OUT)), device=self.device, dtype=torch.float32
                )
                ctx.set_tensor_address(STATE_OUT, new_state.data_ptr())
            if not ctx.execute_async_v3(stream.cuda_stream):
                raise StreamRestoreError(f"TensorRT failed to run {self.spec.name} on {list(x.shape)}")
        # Inputs were allocated on (or recorded to) this stream, so the caching allocator keeps
        # them alive until the enqueued work that reads them has run.
        x.record_stream(stream)
        if st is not None:
            st.record_stream(stream)
        if padded.shape[-2:] != frames.shape[-2:]:
            out = out[..., : h0 * self.spec.scale, : w0 * self.spec.scale]
        return out, new_state
