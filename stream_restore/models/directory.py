"""The model directory: community and in-house weights added by the user, served like shipped ones.

``stream-restore models add FILE`` copies a PyTorch checkpoint (``.pth``/``.pt``/``.ckpt``/
``.safetensors``) or an ONNX file into the directory beside a small TOML sidecar
(``<name>.toml``: name, task, scale, frames, the file's SHA-256, the architecture and its
parameters, an optional licence). Every command and the server register the directory's models
at start; they then stream, tile, export and serve like the shipped ones.

Checkpoints are never unpickled beyond plain tensors: ``torch.load(weights_only=True)`` refuses
anything that would run code, and safetensors holds tensors only. The architecture is read from
the weights' names and shapes (:mod:`.community`); one no family recognises goes to spandrel where
that optional extra imports (handed the tensors already read, never the file), else it is refused
with the families we know and the ways on (ONNX, the spandrel extra). The file's checksum is
verified again every time the model is built, so a file replaced behind the sidecar's back is
refused rather than run.

This module needs only torch and the standard library; ONNX graphs are inspected by the caller
(``backends.onnx_file``) and the findings passed in, since ``models`` never imports backends.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import pickle
import re
import shutil
import tomllib
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, ModelNotFoundError, StreamRestoreError
from ..files import write_atomic
from .community import FAMILIES, Detected, Family, detect_family, via_spandrel
from .registry import (
    ExternalModel,
    ModelSpec,
    Task,
    WeightsSpec,
    file_sha256,
    get_spec,
    register,
    unregister,
    verified_path,
)

__all__ = [
    "CHECKPOINT_SUFFIXES",
    "ImportedModel",
    "OnnxFacts",
    "Sidecar",
    "add_model",
    "load_directory",
    "read_checkpoint",
    "remove_model",
]

log = logging.getLogger(__name__)

CHECKPOINT_SUFFIXES = (".pth", ".pt", ".ckpt", ".safetensors")
MAX_MODEL_BYTES = 2 << 30  # 2 GiB: larger files are refused before they are read
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_WRAPPERS = ("params_ema", "params", "state_dict", "model", "net_g", "generator")
SPANDREL = "spandrel"  # the family name of models built through spandrel


@dataclass(frozen=True)
class OnnxFacts:
    """What an ONNX graph says about itself (read by ``backends.onnx_file.inspect``)."""

    scale: int
    channels: int  # colour channels per frame
    frames: int  # frames per call (1 for single-frame models)
    layout: str  # "single", "channels" or "time"
    size_multiple: int = 1


@dataclass(frozen=True)
class Sidecar:
    """The TOML record of one added model (everything needed to register it without reading it)."""

    name: str
    file: str  # name of the model file in the directory
    sha256: str
    kind: str  # "checkpoint" or "onnx"
    family: str
    task: str
    scale: int
    past_frames: int = 0
    future_frames: int = 0
    layout: str = "single"
    size_multiple: int = 1
    receptive_field: int = 16
    exact_tiles: bool = True
    description: str = ""
    licence: str = ""
    parameters: int = -1  # counted when added (-1: not countable, an ONNX graph)
    gflop_per_mpixel: float = -1.0
    params: dict[str, int | str] = field(default_factory=dict)

    def to_toml(self) -> str:
        lines = ["# stream-restore model sidecar (written by `stream-restore models add`)"]
        for key, value in vars(self).items():
            if key != "params":
                lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
        lines.append("[params]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in sorted(self.params.items())]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, text: str, where: str) -> Sidecar:
        try:
            data = tomllib.loads(text)
            params = data.pop("params", {})
            sidecar = cls(**data, params=dict(params))
        except (tomllib.TOMLDecodeError, TypeError) as exc:
            raise ConfigError(f"{where}: not a valid model sidecar ({exc})") from None
        _check_name(sidecar.name)
        if Path(sidecar.file).name != sidecar.file:
            raise ConfigError(f"{where}: the model file must be a plain name in the directory")
        return sidecar


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return '"' + "".join(c if c.isprintable() or c in "\\" else f"\\u{ord(c):04x}" for c in escaped) + '"'


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ConfigError(f"model name {name!r}: use 1-64 lower-case letters, digits, '.', '_' or '-'")


# -- reading checkpoints safely -------------------------------------------------------------------


def read_checkpoint(path: Path) -> dict[str, torch.Tensor]:
    """The state dict in a checkpoint file: tensors only, never code.

    Accepts safetensors, and ``torch.save`` files of a state dict, possibly wrapped (BasicSR's
    ``params_ema``/``params``, Lightning's ``state_dict``, ``module.`` prefixes of DataParallel).
    Raises ConfigError for a file that would need to unpickle anything but tensors.
    """
    size = path.stat().st_size
    if size > MAX_MODEL_BYTES:
        limit = MAX_MODEL_BYTES >> 30
        raise ConfigError(f"{path.name}: {size / 2**30:.1f} GiB is larger than the {limit} GiB limit")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            state: object = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise ConfigError(f"{path.name}: not a readable safetensors file ({exc})") from None
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(
                f"{path.name}: refused: loading it would run pickled code, not only read tensors ({first}); "
                "save the weights alone (torch.save(model.state_dict())) or as safetensors"
            ) from None
        except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as exc:
            raise ConfigError(f"{path.name}: not a readable PyTorch checkpoint ({exc})") from None
    return _unwrap(state, path.name)


def _unwrap(state: object, name: str) -> dict[str, torch.Tensor]:
    for _ in range(3):  # e.g. {"state_dict": {"params_ema": {...}}}
        if isinstance(state, Mapping):
            inner = next((state[k] for k in _WRAPPERS if isinstance(state.get(k), Mapping)), None)
            if inner is not None and not any(isinstance(v, torch.Tensor) for v in state.values()):
                state = inner
                continue
        break
    if not isinstance(state, Mapping):
        raise ConfigError(f"{name}: holds a {type(state).__name__}, not a state dict of tensors")
    tensors = {str(k): v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ConfigError(f"{name}: holds no tensors")
    if all(k.startswith("module.") for k in tensors):
        tensors = {k[len("module.") :]: v for k, v in tensors.items()}
    return tensors


# -- the module an added checkpoint becomes -------------------------------------------------------


class ImportedModel(nn.Module):
    """A community network behind the registry's calling convention (RGB in [0, 1], any size).

    Pads the input (replicate) to the network's size requirements (a multiple, a minimum side,
    a square) and crops the output back; a one-channel network restores each of R, G and B as its
    own image.
    """

    def __init__(
        self, net: nn.Module, *, scale: int, multiple: int, channels: int, minimum: int = 0,
        square: bool = False,
    ) -> None:
        super().__init__()
        self.net = net
        self.scale = scale
        self.multiple = multiple
        self.channels = channels
        self.minimum = minimum
        self.square = square

    def _padded_size(self, h: int, w: int) -> tuple[int, int]:
        """The smallest height and width at least (h, w) that meet the size requirements (pixels)."""
        th, tw = max(h, self.minimum), max(w, self.minimum)
        if self.square:
            th = tw = max(th, tw)
        m = self.multiple
        return -(-th // m) * m, -(-tw // m) * m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        th, tw = self._padded_size(h, w)
        ph, pw = th - h, tw - w
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        if self.channels == 1:
            x = x.reshape(n * c, 1, h + ph, w + pw)
        y: torch.Tensor = self.net(x)
        if self.channels == 1:
            y = y.reshape(n, c, y.shape[-2], y.shape[-1])
        return y[..., : h * self.scale, : w * self.scale]


def _load_into(family: Family, module: nn.Module, path: Path) -> None:
    """Weights loader of an added checkpoint: the family's renaming, then a strict load."""
    assert isinstance(module, ImportedModel)
    state = family.convert(read_checkpoint(path))
    try:
        module.net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise StreamRestoreError(f"{path.name} does not match its recorded architecture: {exc}") from None


def _family(name: str) -> Family:
    for family in FAMILIES:
        if family.name == name:
            return family
    known = ", ".join([*(f.name for f in FAMILIES), SPANDREL])
    raise ConfigError(f"unknown architecture family {name!r}; known: {known}")


def _build_via_spandrel(sidecar: Sidecar, weights: WeightsSpec) -> nn.Module:
    """A spandrel model, built the way it was added: spandrel reads the verified file's tensors.

    Spandrel derives an architecture's hyper-parameters from its weights, so the module cannot be
    built without them; the file is checked against the sidecar's SHA-256 first, and spandrel must
    find the recorded architecture and scale again.
    """
    reason = via_spandrel.unavailable_reason()
    if reason is not None:
        raise ConfigError(
            f"{sidecar.name} was added through spandrel, which does not import here ({reason}); "
            f"{via_spandrel.INSTALL_HINT}"
        )
    path = verified_path(weights)
    made = via_spandrel.recognise(read_checkpoint(path), path.name)
    recorded = (sidecar.params.get("architecture"), sidecar.scale)
    if made is None or (made.detected.params.get("architecture"), made.detected.scale) != recorded:
        raise StreamRestoreError(
            f"{path.name}: spandrel no longer builds it as the recorded {recorded[0]} x{recorded[1]}"
        )
    found = made.detected
    return ImportedModel(
        made.module, scale=sidecar.scale, multiple=sidecar.size_multiple,
        channels=int(found.params["in_channels"]), minimum=int(sidecar.params.get("min_size", 0)),
        square=bool(sidecar.params.get("square")),
    )


def _build(family: Family, sidecar: Sidecar) -> nn.Module:
    net = family.build(**sidecar.params)
    channels = int(sidecar.params.get("in_channels", sidecar.params.get("img_channel", 3)))
    multiple = 1 if family.pads_input else sidecar.size_multiple
    return ImportedModel(net, scale=sidecar.scale, multiple=multiple, channels=channels)


def _no_module(name: str) -> nn.Module:
    raise ConfigError(f"{name} is an ONNX model: it runs on the onnxruntime backend (or auto), not torch")


def spec_for(sidecar: Sidecar, directory: Path) -> ModelSpec:
    """The registry entry of an added model (building it is lazy: nothing is read here)."""
    path = directory / sidecar.file
    external = ExternalModel(
        path,
        sidecar.sha256,
        sidecar.kind,
        sidecar.family,
        sidecar.layout,
        sidecar.licence,
        sidecar.exact_tiles,
    )
    try:
        task = Task(sidecar.task)
    except ValueError:
        raise ConfigError(f"{sidecar.name}: unknown task {sidecar.task!r}") from None
    if sidecar.kind == "onnx":
        builder = functools.partial(_no_module, sidecar.name)
        weights = None
    elif sidecar.family == SPANDREL:  # the builder verifies and reads the file: spandrel needs the weights
        verified = WeightsSpec(sidecar.file, sidecar.sha256, location=path)
        builder = functools.partial(_build_via_spandrel, sidecar, verified)
        weights = None
    else:
        family = _family(sidecar.family)
        builder = functools.partial(_build, family, sidecar)
        weights = WeightsSpec(
            sidecar.file, sidecar.sha256, location=path, loader=functools.partial(_load_into, family)
        )
    description = sidecar.description or f"added {sidecar.family} model ({sidecar.file})"
    return ModelSpec(
        name=sidecar.name,
        task=task,
        scale=sidecar.scale,
        builder=builder,
        past_frames=sidecar.past_frames,
        future_frames=sidecar.future_frames,
        weights=weights,
        description=description,
        receptive_field=sidecar.receptive_field,
        size_multiple=sidecar.size_multiple,
        external=external,
    )


# -- adding, removing, loading --------------------------------------------------------------------


def _recognise(state: Mapping[str, torch.Tensor], name: str) -> Detected:
    """The architecture of ``state``: a native family's (checked by a dry load), else spandrel's."""
    native = detect_family(FAMILIES, state)
    if native is not None:
        family, found = native
        try:  # a dry build and load: the detection must reproduce the weights' exact shapes
            family.build(**found.params).load_state_dict(family.convert(state), strict=True)
        except (RuntimeError, TypeError, ValueError) as exc:
            raise ConfigError(f"{name}: looks like {family.name} but does not load as one ({exc})") from None
        return found
    made = via_spandrel.recognise(state, name)  # spandrel loads the weights strictly itself
    if made is not None:
        return made.detected
    raise ConfigError(_unknown_architecture(name))


def _unknown_architecture(name: str) -> str:
    """Why a checkpoint is refused, and the ways on: ONNX, or spandrel where it can run."""
    known = ", ".join(f.name for f in FAMILIES)
    onnx = "export the model to ONNX with dynamic height and width and add the .onnx file instead"
    reason = via_spandrel.unavailable_reason()
    if reason is None:
        return (f"{name}: neither stream-restore's own families ({known}) nor spandrel "
                f"{via_spandrel.version()} recognise the architecture; {onnx}")
    return (f"{name}: the architecture is not one stream-restore recognises ({known}); {onnx}, or "
            f"{via_spandrel.INSTALL_HINT} (spandrel here: {reason})")


def add_model(
    source: Path,
    directory: Path,
    *,
    name: str | None = None,
    task: str | None = None,
    scale: int | None = None,
    frames: int | None = None,
    licence: str = "",
    onnx: OnnxFacts | None = None,
    replace: bool = False,
) -> Sidecar:
    """Copy ``source`` into ``directory`` with its sidecar, register it, and return the sidecar.

    For a checkpoint the architecture, scale and task are detected; a given ``scale`` or ``task``
    that contradicts the weights is refused. ``onnx`` carries an ONNX file's inspected facts.
    """
    if not source.is_file():
        raise ConfigError(f"{source}: no such file")
    name = name or re.sub(r"[^a-z0-9._-]+", "-", source.stem.lower()).strip("-.") or "model"
    _check_name(name)
    suffix = source.suffix.lower()
    sidecar_path = directory / f"{name}.toml"
    if sidecar_path.exists() and not replace:
        raise ConfigError(f"a model named {name!r} is already in {directory} (use --replace)")
    if suffix == ".onnx":
        if onnx is None:
            raise ConfigError(f"{source.name}: an ONNX file needs its graph inspected (onnx extra)")
        sidecar = _onnx_sidecar(name, source, onnx, task, scale, frames, licence)
    elif suffix in CHECKPOINT_SUFFIXES:
        sidecar = _checkpoint_sidecar(name, source, task, scale, licence)
    else:
        raise ConfigError(
            f"{source.name}: add a PyTorch checkpoint ({', '.join(CHECKPOINT_SUFFIXES)}) or an .onnx file"
        )
    try:
        shipped = get_spec(name).external is None
    except ModelNotFoundError:
        shipped = False
    if shipped:
        raise ConfigError(f"{name!r} is a shipped model's name; choose another with --name")
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / sidecar.file
    if source.resolve() != target.resolve():
        partial = target.with_name(f".{target.name}.adding")
        shutil.copyfile(source, partial)
        partial.replace(target)
    if file_sha256(target) != sidecar.sha256:
        raise ConfigError(f"{source.name} changed while it was being added; try again")
    spec = spec_for(sidecar, directory)
    if not spec.onnx_only:  # the list shows these without building the model (model_catalog)
        sidecar = dataclasses.replace(sidecar, parameters=spec.parameter_count(),
                                      gflop_per_mpixel=round(spec.gflop_per_megapixel(), 2))
    write_atomic(sidecar_path, sidecar.to_toml().encode())
    register(spec, replace=True)
    return sidecar


def _checkpoint_sidecar(
    name: str, source: Path, task: str | None, scale: int | None, licence: str
) -> Sidecar:
    found = _recognise(read_checkpoint(source), source.name)
    if scale is not None and scale != found.scale:
        raise ConfigError(
            f"{source.name}: the weights are a x{found.scale} {found.family} model, not x{scale}"
        )
    if task is not None and task != found.task:
        raise ConfigError(f"{source.name}: a {found.family} model restores {found.task!r}, not {task!r}")
    return Sidecar(
        name=name,
        file=f"{name}{source.suffix.lower()}",
        sha256=file_sha256(source),
        kind="checkpoint",
        family=found.family,
        task=found.task,
        scale=found.scale,
        size_multiple=found.size_multiple,
        receptive_field=found.receptive_field,
        exact_tiles=found.exact_tiles,
        licence=licence,
        params=dict(found.params),
        description=f"added {found.family} x{found.scale} {found.task} model from {source.name}",
    )


def _onnx_sidecar(
    name: str,
    source: Path,
    facts: OnnxFacts,
    task: str | None,
    scale: int | None,
    frames: int | None,
    licence: str,
) -> Sidecar:
    if scale is not None and scale != facts.scale:
        raise ConfigError(f"{source.name}: the graph upscales x{facts.scale}, not x{scale}")
    count = frames or facts.frames
    if facts.layout == "time" and frames is not None and frames != facts.frames:
        raise ConfigError(f"{source.name}: the graph takes {facts.frames} frames, not {frames}")
    if facts.layout == "channels" and count * facts.channels != facts.frames * facts.channels:
        raise ConfigError(
            f"{source.name}: {count} frames of {facts.channels} channels do not match the graph"
        )
    if task is None:
        task = (
            ("sr" if facts.scale > 1 else "deblur")
            if count == 1
            else ("vsr" if facts.scale > 1 else "vdeblur")
        )
    chosen = task
    past = (count - 1) // 2
    return Sidecar(
        name=name,
        file=f"{name}.onnx",
        sha256=file_sha256(source),
        kind="onnx",
        family="onnx",
        task=chosen,
        scale=facts.scale,
        past_frames=past,
        future_frames=count - 1 - past,
        layout=facts.layout,
        size_multiple=facts.size_multiple,
        licence=licence,
        description=f"added ONNX x{facts.scale} {chosen} model from {source.name}",
    )


def remove_model(name: str, directory: Path) -> None:
    """Delete an added model's sidecar and file and unregister it."""
    sidecar_path = directory / f"{name}.toml"
    if not sidecar_path.is_file():
        raise ModelNotFoundError(f"no added model {name!r} in {directory}")
    sidecar = Sidecar.from_toml(sidecar_path.read_text(), str(sidecar_path))
    sidecar_path.unlink()
    (directory / sidecar.file).unlink(missing_ok=True)
    unregister(name)


def load_directory(directory: Path) -> list[ModelSpec]:
    """Register every model of ``directory`` (a missing folder has none); returns their specs.

    A broken sidecar is logged and skipped, so one bad file never keeps the others (or a server)
    from starting.
    """
    if not directory.is_dir():
        return []
    specs = []
    for path in sorted(directory.glob("*.toml")):
        try:
            sidecar = Sidecar.from_toml(path.read_text(), str(path))
            spec = register(spec_for(sidecar, directory), replace=True)
        except (ConfigError, ValueError, OSError) as exc:
            log.warning("model directory: skipped %s: %s", path.name, exc)
            continue
        specs.append(spec)
    return specs
