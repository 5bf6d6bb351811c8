"""The backend protocol: one small lifecycle every inference engine implements.

``load()`` prepares the engine (weights, compiled graph, TensorRT engine), ``infer()`` runs one
call, ``close()`` releases it. The public :meth:`Backend.infer` validates shapes and dtypes before
the backend-specific :meth:`Backend._infer` runs, so every backend rejects bad input the same way.

At this level every model takes a window ``frames[N, T, 3, H, W]`` (T = the spec's window; T = 1
for single-frame models) and, for recurrent models, a state tensor; it returns the restored centre
frame ``[N, 3, sH, sW]`` and the new state (None for stateless models). A backend instance holds
no per-stream state: sessions own the state and pass it in, so one loaded backend serves any
number of streams.
"""

from __future__ import annotations

import abc
import importlib
from dataclasses import dataclass
from types import ModuleType

import torch

from ..errors import ConfigError, InputError
from ..models.registry import ModelSpec

__all__ = ["PRECISIONS", "Backend", "BackendOptions", "InferenceResult", "ShapeProfile", "require_module"]

InferenceResult = tuple[torch.Tensor, "torch.Tensor | None"]


PRECISIONS = ("fp32", "fp16", "bf16")


@dataclass(frozen=True)
class ShapeProfile:
    """The input shapes an engine is built for: (batch, height, width) at min, opt and max, in pixels.

    TensorRT optimization profiles and CUDA-graph / compile shape choices use it; every dimension
    of ``opt`` lies between ``min`` and ``max``.
    """

    min: tuple[int, int, int]
    opt: tuple[int, int, int]
    max: tuple[int, int, int]

    def __post_init__(self) -> None:
        for a, b, c in zip(self.min, self.opt, self.max, strict=True):
            if not (1 <= a <= b <= c):
                raise ConfigError(f"shape profile needs 1 <= min <= opt <= max per dimension, got {self}")

    def covers(self, batch: int, height: int, width: int) -> bool:
        """Whether an input of this batch and size lies inside the profile."""
        return all(
            lo <= v <= hi for lo, v, hi in zip(self.min, (batch, height, width), self.max, strict=True)
        )

    def tag(self) -> str:
        """Short stable text naming the profile (used in engine cache keys and file names)."""
        n, h, w = zip(self.min, self.opt, self.max, strict=True)
        return "n{}-{}-{}_h{}-{}-{}_w{}-{}-{}".format(*n, *h, *w)

    @classmethod
    def fixed(cls, batch: int, height: int, width: int) -> ShapeProfile:
        """A profile admitting exactly one shape (fastest engines, no shape changes)."""
        shape = (batch, height, width)
        return cls(shape, shape, shape)


@dataclass(frozen=True)
class BackendOptions:
    """How to run a model. ``device`` is a torch device string ("cpu", "cuda", "cuda:1").

    Backends ignore the fields that do not apply to them (``compile`` means nothing to ONNX
    Runtime); fields that contradict each other raise :class:`ConfigError` at construction or load.
    """

    device: str = "cpu"
    precision: str = "fp32"  # fp32 | fp16 | bf16
    threads: int | None = None  # intra-op threads on CPU; None keeps the library default
    # torch backend
    channels_last: bool = True  # NHWC weights/activations: 5-50% faster eager convs on CPU
    compile: bool = False  # torch.compile (inductor, with freezing); recompiles per input size
    cuda_graphs: bool = False  # capture one CUDA graph per input shape (GPU only)
    # ONNX-based backends (onnxruntime, tensorrt)
    onnx_path: str | None = None  # use this export instead of exporting into the cache
    opset: int = 17
    ort_providers: tuple[str, ...] | None = None  # explicit ONNX Runtime providers; None = by device
    # tensorrt
    profile: ShapeProfile | None = None  # None = a default profile around the first input size
    workspace_mib: int | None = None  # TensorRT builder workspace limit; None = library default
    builder_optimization_level: int = 3  # 0-5; higher builds slower and may run faster
    # files: ONNX exports, TensorRT engines and timing caches, the auto backend's measurements
    cache_dir: str = "engines/cache"
    # tiling (create_backend wraps the backend in TiledBackend when max_pixels is set)
    tile_max_pixels: int | None = None  # input pixels per inference call, batch included
    tile_overlap: int | None = (
        None  # pixels shared by neighbours; None = 2 x receptive field (4 x if recurrent)
    )

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be fp32, fp16 or bf16, not {self.precision!r}")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads must be at least 1, not {self.threads}")
        if self.cuda_graphs and self.device == "cpu":
            raise ConfigError("cuda_graphs needs a CUDA device")
        if self.opset < 17:
            raise ConfigError(f"ONNX export needs opset 17 or newer, not {self.opset}")
        if not 0 <= self.builder_optimization_level <= 5:
            raise ConfigError("builder_optimization_level must be between 0 and 5")
        if self.tile_max_pixels is not None and self.tile_max_pixels < 64:
            raise ConfigError(f"tile_max_pixels must be at least 64, not {self.tile_max_pixels}")
        if self.tile_overlap is not None and self.tile_overlap < 0:
            raise ConfigError(f"tile_overlap must not be negative, not {self.tile_overlap}")


class Backend(abc.ABC):
    """Base class of inference engines bound to one model."""

    name: str = "base"

    def __init__(self, spec: ModelSpec, options: BackendOptions) -> None:
        self.spec = spec
        self.options = options
        self.device = torch.device(options.device)
        self._loaded = False

    # -- lifecycle -------------------------------------------------------------------------
    def load(self) -> Backend:
        if not self._loaded:
            self._load()
            self._loaded = True
        return self

    def close(self) -> None:
        if self._loaded:
            self._close()
            self._loaded = False

    def __enter__(self) -> Backend:
        return self.load()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- inference -------------------------------------------------------------------------
    def initial_state(self, batch: int, height: int, width: int) -> torch.Tensor | None:
        """Zero recurrent state for a stream of frames of the given size (None if stateless)."""
        if not self.spec.recurrent:
            return None
        self._require_loaded()
        return self._initial_state(batch, height, width)

    def infer(self, frames: torch.Tensor, state: torch.Tensor | None = None) -> InferenceResult:
        """Restore the centre frame of each window in ``frames[N, T, 3, H, W]``."""
        self._require_loaded()
        self._validate(frames, state)
        return self._infer(frames, state)

    def _validate(self, frames: torch.Tensor, state: torch.Tensor | None) -> None:
        spec = self.spec
        if frames.dim() != 5 or frames.shape[1] != spec.window or frames.shape[2] != 3:
            raise InputError(
                f"{spec.name} expects frames shaped [N, {spec.window}, 3, H, W], got {list(frames.shape)}"
            )
        if not frames.is_floating_point():
            raise InputError(f"{spec.name} expects floating-point frames, got {frames.dtype}")
        if frames.shape[-1] < 1 or frames.shape[-2] < 1 or frames.shape[0] < 1:
            raise InputError(f"{spec.name} got an empty frame batch {list(frames.shape)}")
        if spec.recurrent and state is None:
            raise InputError(f"{spec.name} is recurrent and needs a state tensor")
        if not spec.recurrent and state is not None:
            raise InputError(f"{spec.name} is not recurrent; it takes no state")
        if state is not None:
            expected = self._state_batch(frames)
            if state.dim() < 1 or state.shape[0] != expected or not state.is_floating_point():
                raise InputError(
                    f"{spec.name}: state must be a floating-point tensor with {expected} rows (one per "
                    f"stream in the batch), got {state.dtype} {list(state.shape)}; use initial_state()"
                )

    def _state_batch(self, frames: torch.Tensor) -> int:
        """Rows the state tensor must have for ``frames`` (wrappers that split frames override it)."""
        return int(frames.shape[0])

    def _require_loaded(self) -> None:
        if not self._loaded:
            raise RuntimeError(f"{type(self).__name__} used before load()")

    # -- backend-specific parts --------------------------------------------------------------
    @abc.abstractmethod
    def _load(self) -> None: ...

    @abc.abstractmethod
    def _infer(self, frames: torch.Tensor, state: torch.Tensor | None) -> InferenceResult: ...

    @abc.abstractmethod
    def _initial_state(self, batch: int, height: int, width: int) -> torch.Tensor: ...

    def _close(self) -> None:  # noqa: B027  (optional hook, deliberately not abstract)
        """Release resources; the default has nothing to release."""


def require_module(name: str, extra: str, what: str) -> ModuleType:
    """Import an optional dependency, or raise ConfigError saying which extra installs it."""
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ConfigError(f"{what} needs the {name} package: pip install 'stream-restore[{extra}]'") from None
