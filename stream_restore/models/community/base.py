"""What every community family provides: detection from a state dict, and a builder."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch
from torch import nn

__all__ = ["Detected", "Family", "detect_family", "layer_indices"]

StateDict = Mapping[str, torch.Tensor]


@dataclass(frozen=True)
class Detected:
    """A family recognised from weights: its name, builder parameters and what the pipeline needs."""

    family: str
    params: dict[str, int | str]  # keyword arguments of the family's builder (JSON/TOML-safe)
    scale: int
    task: str  # a registry Task value: "sr" or "deblur"
    size_multiple: int = 1  # inputs are padded to this multiple by the module itself
    receptive_field: int = 16  # input pixels of context per side (tiling overlap)
    exact_tiles: bool = True  # False when a global operation (pooling) makes tiles differ


@dataclass(frozen=True)
class Family:
    """One architecture family: ``detect`` reads weights, ``build`` makes the module from params."""

    name: str
    detect: Callable[[StateDict], Detected | None]
    build: Callable[..., nn.Module]
    convert: Callable[[StateDict], dict[str, torch.Tensor]] = field(default=lambda state: dict(state))
    pads_input: bool = False  # the network pads to its size multiple itself (keep its own padding)


def layer_indices(state: StateDict, prefix: str) -> list[int]:
    """The sorted integer indices ``i`` of keys ``prefix.i.…`` (e.g. the layers of a ModuleList)."""
    found = set()
    for key in state:
        if key.startswith(prefix):
            head = key[len(prefix):].split(".", 1)[0]
            if head.isdigit():
                found.add(int(head))
    return sorted(found)


def detect_family(families: tuple[Family, ...], state: StateDict) -> tuple[Family, Detected] | None:
    """The first family that recognises ``state`` (after its own key conversion), or None."""
    for family in families:
        converted = family.convert(state)
        detected = family.detect(converted)
        if detected is not None:
            return family, detected
    return None
