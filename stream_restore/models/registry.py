"""The model registry: every restoration model is described by a :class:`ModelSpec`.

Architectures are pure ``nn.Module`` classes, one family per file; each file registers its specs at
import time. Building a model never touches the network: weights are safetensors files shipped in
``stream_restore/models/weights/`` and verified against the checksum in the spec.

Calling convention of the modules (what backends rely on), with images float32 RGB in [0, 1]:

* single-frame models (``window == 1`` and not recurrent): ``forward(x[N,3,H,W]) -> y[N,3,sH,sW]``
* window models: ``forward(x[N,T,3,H,W]) -> y[N,3,sH,sW]`` for frame ``past_frames`` of the window
* recurrent models: ``forward(x[N,T,3,H,W], state) -> (y, new_state)``, with
  ``module.initial_state(n, h, w)`` giving the zero state (a tensor on the module's device)
"""

from __future__ import annotations

import enum
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from ..errors import ModelNotFoundError, StreamRestoreError

__all__ = [
    "DEFAULT_RECURRENT_WARMUP",
    "ExternalModel",
    "ModelSpec",
    "Task",
    "WeightsSpec",
    "build_model",
    "get_spec",
    "list_specs",
    "register",
    "unregister",
]


DEFAULT_RECURRENT_WARMUP = 32  # archive-job warm-up frames of a recurrent model not measured yet


class Task(enum.StrEnum):
    SUPER_RESOLUTION = "sr"
    VIDEO_SUPER_RESOLUTION = "vsr"
    DEBLUR = "deblur"
    VIDEO_DEBLUR = "vdeblur"
    IDENTITY = "identity"


@dataclass(frozen=True)
class WeightsSpec:
    """A weights file and its SHA-256 (hex): shipped with the package, or a user's added model.

    ``location`` is the full path of a file outside the package (a model directory's checkpoint);
    ``loader`` loads such a file into the built module (key renaming, unwrapping), after the
    checksum was verified. Shipped weights are safetensors loaded as they are.
    """

    file: str  # name inside stream_restore/models/weights/, or of the file at ``location``
    sha256: str
    location: Path | None = None
    loader: Callable[[nn.Module, Path], None] | None = None

    def path(self) -> Path:
        if self.location is not None:
            return self.location
        return Path(str(resources.files("stream_restore.models") / "weights" / self.file))


@dataclass(frozen=True)
class ExternalModel:
    """Where an added (not shipped) model came from: see :mod:`stream_restore.models.directory`."""

    file: Path  # the model file inside the model directory
    sha256: str
    kind: str  # "checkpoint" (a PyTorch architecture we build) or "onnx" (runs on ONNX Runtime only)
    family: str  # architecture family, or "onnx"
    layout: str = "single"  # ONNX inputs: "single" [N,C,H,W], "channels" [N,T*C,H,W], "time" [N,T,C,H,W]
    licence: str = ""
    exact_tiles: bool = True


@dataclass(frozen=True)
class ModelSpec:
    """Everything the pipeline and backends need to know about a model, without building it."""

    name: str
    task: Task
    scale: int
    builder: Callable[[], nn.Module]  # builds the architecture with random/fixed init, no I/O
    past_frames: int = 0
    future_frames: int = 0
    recurrent: bool = False
    weights: WeightsSpec | None = None
    description: str = ""
    card: str | None = None  # model card file name inside stream_restore/models/cards/
    # Pixels of context each output pixel depends on, per side, in input pixels (for tiling).
    receptive_field: int = 8
    # Inputs must be multiples of this (models pad internally otherwise; informational).
    size_multiple: int = 1
    external: ExternalModel | None = None  # set for models added from a model directory
    # Recurrent models: frames an archive-job segment starts early so its state matches a
    # sequential run at the segment's first frame (measured with ``bench/jobs_overhead.py warmup``;
    # docs/benchmarks.md "Archive jobs"). None: not measured, DEFAULT_RECURRENT_WARMUP applies.
    warmup_frames: int | None = None

    @property
    def onnx_only(self) -> bool:
        """An added ONNX file: no PyTorch module exists, only ONNX Runtime can run it."""
        return self.external is not None and self.external.kind == "onnx"

    @property
    def segment_warmup(self) -> int:
        """Warm-up frames of an archive-job segment: 0 for models without recurrent state."""
        if not self.recurrent:
            return 0
        return self.warmup_frames if self.warmup_frames is not None else DEFAULT_RECURRENT_WARMUP

    @property
    def window(self) -> int:
        """Frames the model sees per call: past + current + future."""
        return self.past_frames + 1 + self.future_frames

    @property
    def frames_needed(self) -> str:
        return f"{self.past_frames}+1+{self.future_frames}"

    def build(self, *, pretrained: bool = True) -> nn.Module:
        """Instantiate the module in eval mode, loading and verifying weights when it has some."""
        module = self.builder()
        if pretrained and self.weights is not None:
            load_weights(module, self.weights)
        return module.eval()

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.builder().parameters())

    def gflop_per_megapixel(self) -> float:
        return _gflop_per_megapixel(self)


_REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec, *, replace: bool = False) -> ModelSpec:
    """Add ``spec``; ``replace`` lets an added model be registered again (never a shipped one)."""
    existing = _REGISTRY.get(spec.name)
    if existing is not None and not (replace and existing.external is not None and spec.external is not None):
        raise ValueError(f"model {spec.name!r} registered twice")
    if spec.scale < 1 or spec.past_frames < 0 or spec.future_frames < 0:
        raise ValueError(f"model {spec.name!r}: invalid scale or frame counts")
    _REGISTRY[spec.name] = spec
    return spec


def get_spec(name: str) -> ModelSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ModelNotFoundError(f"unknown model {name!r}; registered models: {known}") from None


def unregister(name: str) -> None:
    """Remove an added model (shipped models cannot be removed)."""
    spec = _REGISTRY.get(name)
    if spec is not None and spec.external is not None:
        del _REGISTRY[name]


def list_specs() -> list[ModelSpec]:
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def build_model(name: str, *, pretrained: bool = True) -> nn.Module:
    return get_spec(name).build(pretrained=pretrained)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified_path(weights: WeightsSpec) -> Path:
    """The weights file, after checking that it exists and has the recorded SHA-256."""
    path = weights.path()
    if not path.is_file():
        where = "its model directory" if weights.location is not None else "the installation"
        raise StreamRestoreError(f"weights file {path} is missing from {where}")
    actual = file_sha256(path)
    if actual != weights.sha256:
        raise StreamRestoreError(
            f"weights file {path.name} has checksum {actual[:12]}..., expected {weights.sha256[:12]}..."
        )
    return path


def load_weights(module: nn.Module, weights: WeightsSpec) -> None:
    """Load a weights file into ``module`` after checking its SHA-256."""
    from safetensors.torch import load_file

    path = verified_path(weights)
    if weights.loader is not None:
        weights.loader(module, path)
        return
    module.load_state_dict(load_file(str(path)), strict=True)


def example_input(spec: ModelSpec, height: int, width: int, batch: int = 1) -> tuple[torch.Tensor, ...]:
    """Arguments for one forward call of ``spec``'s module on an input of the given size."""
    if spec.window == 1 and not spec.recurrent:
        return (torch.rand(batch, 3, height, width),)
    frames = torch.rand(batch, spec.window, 3, height, width)
    if spec.recurrent:
        module = spec.builder()
        return (frames, module.initial_state(batch, height, width))  # type: ignore[operator]
    return (frames,)


@functools.cache
def _gflop_per_megapixel(spec: ModelSpec) -> float:
    """Count (not estimate) the FLOPs of one forward call and scale to one input megapixel.

    Convolutions dominate and are linear in pixel count, so a 64x64 input gives the per-pixel
    cost; a multiply-add counts as two FLOPs (PyTorch's FlopCounterMode convention).
    """
    from torch.utils.flop_counter import FlopCounterMode

    side = 64 * spec.size_multiple if spec.size_multiple > 1 else 64
    module = spec.builder().eval()
    args = example_input(spec, side, side)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(*args)
    return float(counter.get_total_flops()) / (side * side) * 1e6 / 1e9
