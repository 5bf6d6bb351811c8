"""Restoration models: the registry and one architecture family per module.

Importing this package registers every shipped model. ``models`` depends only on torch and the
project's ``errors``; it never imports media, pipeline, backends or server code.
"""

from __future__ import annotations

from . import (  # noqa: F401  (register the shipped models)
    bicubic,
    deblur_unet,
    sr_compact,
    sr_fast,
    vdeblur,
    vsr_aligned,
)
from .registry import ModelSpec, Task, WeightsSpec, build_model, get_spec, list_specs, register

__all__ = ["ModelSpec", "Task", "WeightsSpec", "build_model", "get_spec", "list_specs", "register"]
