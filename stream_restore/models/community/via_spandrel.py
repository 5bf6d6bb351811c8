"""Architectures beyond the native families, through spandrel (the optional ``spandrel`` extra).

Where spandrel imports (it needs a torchvision built for the installed torch, i.e. CUDA torch with
its matching torchvision), a checkpoint none of our families recognises is handed to spandrel as
the state dict we already read safely (``ModelLoader().load_from_state_dict``): spandrel never
opens the file, so nothing is unpickled. Its descriptor gives the architecture, scale, channels,
size requirements, precision support and purpose, which the sidecar records; the module is built
again the same way from the verified file each time the model is built, and must come out as the
recorded architecture.

Spandrel reports no receptive field and most of its architectures are attention networks, so
tiles get a generous overlap and are not expected to match a whole frame exactly.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from torch import nn

from ...errors import ConfigError
from .base import Detected, StateDict

__all__ = ["INSTALL_HINT", "SpandrelModel", "recognise", "unavailable_reason", "version"]

INSTALL_HINT = (
    "pip install 'stream-restore[spandrel]' for the architectures spandrel knows (it needs a "
    "torchvision built for your torch: CUDA torch with its matching torchvision; PyPI's torchvision "
    "does not import against CPU-only torch)"
)
RECEPTIVE_FIELD = 64  # tiling overlap per side, in input pixels (spandrel does not report one)
_PURPOSES = ("SR", "Restoration")  # image to image; not "FaceSR" (aligned faces) or "Inpainting" (masks)


@dataclass(frozen=True)
class SpandrelModel:
    """What spandrel made of a state dict: our detection record and the loaded module."""

    detected: Detected
    module: nn.Module


def _spandrel() -> tuple[ModuleType | None, str]:
    """spandrel, or None and why it does not import (missing, or torchvision broken against torch)."""
    try:
        return importlib.import_module("spandrel"), ""
    except (ImportError, RuntimeError, OSError, AttributeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return None, f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def unavailable_reason() -> str | None:
    """None where spandrel imports; else the import error, for messages."""
    module, reason = _spandrel()
    return None if module is not None else reason


def version() -> str:
    module, _ = _spandrel()
    return str(getattr(module, "__version__", "?")) if module is not None else ""


def recognise(state: StateDict, name: str) -> SpandrelModel | None:
    """The model spandrel builds from ``state``; None when spandrel is missing or does not know it.

    Raises ConfigError when spandrel knows the architecture but it cannot be served here (an
    inpainting or face model, channels other than RGB or grey in and out) or fails to load it.
    """
    spandrel, _ = _spandrel()
    if spandrel is None:
        return None
    try:
        descriptor = spandrel.ModelLoader().load_from_state_dict(dict(state))
    except spandrel.UnsupportedModelError:
        return None
    except (KeyError, IndexError, ValueError, TypeError, RuntimeError, AssertionError) as exc:
        raise ConfigError(f"{name}: spandrel took it for an architecture it knows but could not load it "
                          f"({type(exc).__name__}: {exc})") from None
    return SpandrelModel(_detected(descriptor, name), descriptor.model)


def _detected(descriptor: Any, name: str) -> Detected:
    """Our detection record from a spandrel model descriptor (refusing what we cannot serve)."""
    arch = str(descriptor.architecture.id)
    purpose = str(descriptor.purpose)
    if purpose not in _PURPOSES:
        raise ConfigError(f"{name}: spandrel's {arch} is a {purpose!r} model; only SR and restoration "
                          "models map onto video frames")
    channels, out_channels = int(descriptor.input_channels), int(descriptor.output_channels)
    if channels != out_channels or channels not in (1, 3):
        raise ConfigError(f"{name}: spandrel's {arch} maps {channels} to {out_channels} channels; "
                          "only RGB (or grey) in and the same out can restore video")
    scale = int(descriptor.scale)
    size = descriptor.size_requirements
    params: dict[str, int | str] = {
        "architecture": arch,
        "purpose": purpose,
        "in_channels": channels,
        "min_size": int(size.minimum),
        "square": bool(size.square),
        "supports_half": bool(descriptor.supports_half),
        "supports_bfloat16": bool(descriptor.supports_bfloat16),
        "tags": ",".join(str(t) for t in descriptor.tags),
    }
    task = "sr" if scale > 1 else "deblur"
    return Detected("spandrel", params, scale, task, size_multiple=max(1, int(size.multiple_of)),
                    receptive_field=RECEPTIVE_FIELD, exact_tiles=False)
