"""Community architectures, so checkpoints trained elsewhere load by their own parameter names.

Each module holds one family as a pure ``nn.Module`` whose parameter names match the published
checkpoints exactly, plus ``detect(state)``: the hyper-parameters read from a state dict's keys
and shapes, or None when the weights are not of that family. Nothing here is registered: a
family becomes a model when a user adds a checkpoint (:mod:`stream_restore.models.directory`).
"""

from __future__ import annotations

from . import nafnet, rrdb, span, srvgg
from .base import Detected, Family, detect_family

FAMILIES: tuple[Family, ...] = (srvgg.FAMILY, rrdb.FAMILY, nafnet.FAMILY, span.FAMILY)

__all__ = ["FAMILIES", "Detected", "Family", "detect_family"]
