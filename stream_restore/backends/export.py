"""Export a registered model to ONNX in the backend calling convention, and check the export.

Every export has the same interface, whatever the model's own calling convention:

* input ``frames``: float32 ``[N, T, 3, H, W]`` (T = the spec's window; N, H, W dynamic; H and W
  multiples of ``spec.size_multiple``, to which the engine backends pad with :func:`pad_input`);
* input ``state`` (recurrent models only): the model's state tensor, dims that follow N, H, W dynamic;
* output ``output``: float32 ``[N, 3, sH, sW]``;
* output ``state_out`` (recurrent models only): the next state, same shape as ``state``.

So an engine (ONNX Runtime, TensorRT) carries recurrent state frame to frame by feeding ``state_out``
back as ``state``, without knowing anything about the model. The TorchScript-based exporter runs
first (about 50 ms a model); its result is checked against PyTorch with ONNX Runtime at two other
sizes, and if it fails that check (a shape-dependent Python branch frozen by tracing) the dynamo
exporter runs instead and is checked the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import io
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError, OutputError, StreamRestoreError
from ..files import atomic_path
from ..models.registry import ModelSpec
from .base import require_module

__all__ = [
    "FRAMES",
    "OUTPUT",
    "STATE",
    "STATE_OUT",
    "EngineModule",
    "ExportResult",
    "cached_export",
    "export_onnx",
    "min_input_side",
    "pad_input",
    "padded_size",
    "state_shape",
    "verify_onnx",
    "weights_hash",
]

FRAMES, STATE, OUTPUT, STATE_OUT = "frames", "state", "output", "state_out"
DEFAULT_OPSET = 17
_TOLERANCE = 1e-4  # max abs difference on [0, 1] images, scaled by the output's magnitude

log = logging.getLogger(__name__)


class EngineModule(nn.Module):
    """Wraps a model so it takes ``frames[N, T, 3, H, W]`` (+ state) like every backend does.

    ``compute_dtype`` lets an export run the model in fp16/bf16 while keeping fp32 inputs and
    outputs (used for strongly typed TensorRT networks, e.g. TensorRT-RTX).
    """

    def __init__(
        self, spec: ModelSpec, module: nn.Module, compute_dtype: torch.dtype = torch.float32
    ) -> None:
        super().__init__()
        self.module = module
        self.single_frame = spec.window == 1 and not spec.recurrent
        self.recurrent = spec.recurrent
        self.compute_dtype = compute_dtype

    def forward(self, frames: torch.Tensor, state: torch.Tensor | None = None):  # type: ignore[no-untyped-def]
        x = frames.to(self.compute_dtype)
        if self.recurrent:
            y, new_state = self.module(x, None if state is None else state.to(self.compute_dtype))
            return y.float(), new_state.float()
        y = self.module(x[:, 0]) if self.single_frame else self.module(x)
        return y.float()


def pad_input(spec: ModelSpec, frames: torch.Tensor) -> tuple[torch.Tensor, int, int]:
    """Pad ``frames[..., H, W]`` to the spec's size multiple as the models do internally.

    Models that need multiples replicate-pad bottom/right (``models.layers.pad_to_multiple``) and
    crop the output; that branch depends on Python integers, which exporters freeze, so ONNX
    graphs take multiples only and the engine backends pad before and crop after (returns the
    padded frames and the original height and width). A no-op for ``size_multiple == 1``.
    """
    h, w = int(frames.shape[-2]), int(frames.shape[-1])
    if spec.size_multiple <= 1 or (h % spec.size_multiple == 0 and w % spec.size_multiple == 0):
        return frames, h, w
    from ..models.layers import pad_to_multiple

    padded, _, _ = pad_to_multiple(frames, spec.size_multiple)
    return padded, h, w


def padded_size(spec: ModelSpec, height: int, width: int) -> tuple[int, int]:
    """The size an engine sees for frames of ``height x width`` (rounded up to the size multiple)."""
    m = max(1, spec.size_multiple)
    return _round_up(height, m), _round_up(width, m)


def min_input_side(spec: ModelSpec) -> int:
    """Smallest height/width an exported graph accepts (mirror padding needs a few pixels)."""
    return max(4, spec.size_multiple)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _sizes(spec: ModelSpec) -> tuple[tuple[int, int, int], list[tuple[int, int, int]]]:
    """(batch, height, width) to trace at, and the two different sizes to verify at."""
    # Models with a size multiple get inputs padded to it by the backends (see ``pad_input``), so
    # the graph only ever sees multiples: trace and check at multiples, two different ones.
    m = max(1, spec.size_multiple)
    trace = (2, _round_up(24, m), _round_up(32, m))
    checks = [(1, _round_up(20, m) + 2 * m, _round_up(36, m)), (3, _round_up(34, m), _round_up(18, m) + m)]
    return trace, checks


def state_shape(spec: ModelSpec, module: nn.Module, batch: int, height: int, width: int) -> tuple[int, ...]:
    """Shape of ``module``'s recurrent state for a batch of frames of the given size."""
    if not spec.recurrent:
        raise ConfigError(f"{spec.name} is not recurrent and has no state")
    return tuple(module.initial_state(batch, height, width).shape)  # type: ignore[operator]


def _state_dynamic_dims(spec: ModelSpec, module: nn.Module) -> dict[int, str]:
    """Which state dims follow the input's batch/height/width (found by probing two sizes)."""
    a = state_shape(spec, module, 2, 24, 40)
    b = state_shape(spec, module, 3, 40, 24)
    if len(a) != len(b):
        raise StreamRestoreError(f"{spec.name}: state rank depends on the input size")
    dims: dict[int, str] = {}
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if x != y:
            dims[i] = "batch" if i == 0 else f"state_{i}"
    return dims


def weights_hash(module: nn.Module) -> str:
    """SHA-256 (hex) of what an export or engine bakes in: weights *and* the code that uses them.

    Covers parameters and all buffers (non-persistent ones too, e.g. fixed bicubic kernels) in name
    order, plus the source files defining every module class in the tree, so editing a model's
    ``forward`` invalidates cached exports and engines just as new weights do.
    """
    digest = hashlib.sha256()
    files = set()
    for sub_module in module.modules():
        with contextlib.suppress(TypeError, OSError):
            files.add(inspect.getsourcefile(type(sub_module)) or "")
    for path in sorted(f for f in files if f and "site-packages" not in f and "/torch/" not in f):
        with contextlib.suppress(OSError):
            digest.update(Path(path).read_bytes())
    tensors = dict(module.named_parameters()) | dict(module.named_buffers())
    for name, tensor in sorted(tensors.items()):
        digest.update(name.encode())
        t = tensor.detach().cpu().contiguous()
        digest.update(str((t.dtype, tuple(t.shape))).encode())
        digest.update(t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_onnx` wrote."""

    path: Path
    exporter: str  # "torchscript" or "dynamo"
    opset: int
    weights_sha256: str
    max_abs_error: float | None  # against PyTorch at the check sizes; None when not verified


def _export_once(
    wrapped: EngineModule, spec: ModelSpec, module: nn.Module, path: Path, opset: int, exporter: str
) -> None:
    n, h, w = _sizes(spec)[0]
    frames = torch.rand(n, spec.window, 3, h, w)
    args: tuple[torch.Tensor, ...] = (frames,)
    inputs, outputs = [FRAMES], [OUTPUT]
    axes: dict[str, dict[int, str]] = {
        FRAMES: {0: "batch", 3: "height", 4: "width"},
        OUTPUT: {0: "batch", 2: "out_height", 3: "out_width"},
    }
    if spec.recurrent:
        args = (frames, module.initial_state(n, h, w))  # type: ignore[operator]
        inputs.append(STATE)
        outputs.append(STATE_OUT)
        axes[STATE] = axes[STATE_OUT] = _state_dynamic_dims(spec, module)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        options: dict[str, Any]
        if exporter == "torchscript":
            options = {"dynamic_axes": axes, "dynamo": False, "do_constant_folding": True}
        else:
            from torch.export import Dim

            shapes: dict[str, dict[int, object]] = {FRAMES: {0: Dim.DYNAMIC, 3: Dim.DYNAMIC, 4: Dim.DYNAMIC}}
            if spec.recurrent:
                shapes[STATE] = {i: Dim.DYNAMIC for i in axes[STATE]}
            options = {"dynamic_shapes": shapes, "dynamo": True, "verbose": False}
        torch.onnx.export(
            wrapped, args, str(path), input_names=inputs, output_names=outputs, opset_version=opset, **options
        )


def _add_metadata(path: Path, spec: ModelSpec, digest: str, exporter: str) -> None:
    import onnx

    model = onnx.load(str(path))
    meta = {
        "stream_restore.model": spec.name,
        "stream_restore.scale": str(spec.scale),
        "stream_restore.window": str(spec.window),
        "stream_restore.recurrent": str(int(spec.recurrent)),
        "stream_restore.size_multiple": str(max(1, spec.size_multiple)),  # H and W must be multiples
        "stream_restore.weights_sha256": digest,
        "stream_restore.exporter": exporter,
    }
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))


def verify_onnx(
    path: Path, spec: ModelSpec, module: nn.Module, sizes: list[tuple[int, int, int]], frames: int = 2
) -> float:
    """Max abs difference between ONNX Runtime (CPU) and PyTorch on random inputs of ``sizes``.

    Recurrent models run ``frames`` consecutive frames, feeding each engine's state back in, so
    a state that is exported wrongly shows up. Differences are relative to max(1, |output|).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    wrapped = EngineModule(spec, module).eval()
    worst = 0.0
    generator = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        for n, h, w in sizes:
            state_t = module.initial_state(n, h, w) if spec.recurrent else None  # type: ignore[operator]
            state_o = state_t.numpy() if state_t is not None else None
            for _ in range(frames if spec.recurrent else 1):
                x = torch.rand(n, spec.window, 3, h, w, generator=generator)
                feeds = {FRAMES: x.numpy()}
                if state_o is not None:
                    feeds[STATE] = state_o
                got = session.run(None, feeds)
                if spec.recurrent:
                    ref, state_t = wrapped(x, state_t)
                    state_o = got[1]
                else:
                    ref = wrapped(x)
                scale = max(1.0, float(ref.abs().max()))
                worst = max(worst, float((torch.from_numpy(got[0]) - ref).abs().max()) / scale)
    return worst


def export_onnx(
    spec: ModelSpec,
    path: str | os.PathLike[str],
    *,
    module: nn.Module | None = None,
    opset: int = DEFAULT_OPSET,
    exporter: str = "auto",
    verify: bool = True,
    compute_dtype: torch.dtype = torch.float32,
) -> ExportResult:
    """Export ``spec`` (its shipped weights unless ``module`` is given) to ``path``, atomically.

    ``exporter`` is "torchscript", "dynamo" or "auto" (TorchScript, then dynamo if the check
    fails). ``verify`` compares ONNX Runtime with PyTorch at two sizes other than the traced one
    and raises when they differ by more than 1e-4 (skipped, with a log line, without onnxruntime).
    """
    if opset < 17:
        raise ConfigError(f"ONNX export needs opset 17 or newer, not {opset}")
    if exporter not in ("auto", "torchscript", "dynamo"):
        raise ConfigError(f"exporter must be auto, torchscript or dynamo, not {exporter!r}")
    out = Path(path)
    if out.exists() and out.is_dir():
        raise OutputError(f"{out} is a directory, not an ONNX file name")
    require_module("onnx", "onnx", "ONNX export")
    module = (module if module is not None else spec.build(pretrained=True)).eval()
    wrapped = EngineModule(spec, module, compute_dtype).eval()
    digest = weights_hash(module)
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        if verify:
            log.info("onnxruntime is not installed: the ONNX export of %s is not verified", spec.name)
        verify = False
    if compute_dtype != torch.float32:
        verify = False  # reduced precision cannot meet the fp32 tolerance; engines are checked instead
    order = ["torchscript", "dynamo"] if exporter == "auto" else [exporter]
    failures: list[str] = []
    for name in order:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(out, mode=0o644) as tmp:  # a shared cache must be readable by all
                _export_once(wrapped, spec, module, tmp, opset, name)
                _add_metadata(tmp, spec, digest, name)
                error = verify_onnx(tmp, spec, module, _sizes(spec)[1]) if verify else None
                if error is not None and error > _TOLERANCE:
                    raise StreamRestoreError(f"ONNX Runtime differs from PyTorch by {error:.2e}")
        except PermissionError as exc:
            raise OutputError(f"cannot write {out}: {exc}") from exc
        except Exception as exc:  # exporter failures are many and untyped; try the next one
            failures.append(
                f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
            )
            log.info("exporting %s with the %s exporter failed: %s", spec.name, name, failures[-1])
            continue
        return ExportResult(out, name, opset, digest, error)
    raise StreamRestoreError(f"cannot export {spec.name} to ONNX: " + "; ".join(failures))


def cached_export(
    spec: ModelSpec,
    cache_dir: str | os.PathLike[str],
    *,
    module: nn.Module | None = None,
    opset: int = DEFAULT_OPSET,
    compute_dtype: torch.dtype = torch.float32,
) -> Path:
    """The ONNX export of ``spec`` under ``cache_dir/onnx/``, exporting it first when missing.

    The file name carries the weights-and-code hash, so new weights or an edited model never reuse
    a stale export; the file
    is written atomically, so concurrent processes at worst both export it.
    """
    module = (module if module is not None else spec.build(pretrained=True)).eval()
    digest = weights_hash(module)[:16]
    dtype_tag = "" if compute_dtype == torch.float32 else "-" + str(compute_dtype).removeprefix("torch.")
    path = Path(cache_dir) / "onnx" / f"{spec.name}-w{digest}-op{opset}{dtype_tag}.onnx"
    if not path.is_file():
        export_onnx(spec, path, module=module, opset=opset, compute_dtype=compute_dtype)
    return path
