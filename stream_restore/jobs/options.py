"""A job's restore options stored as JSON in the job store, and read back as the same frozen config.

The store keeps a :class:`~stream_restore.pipeline.RestoreJob` per job so that any worker, on any
machine, restores its segments exactly as the submitter asked. Fractions are kept as ``"n/d"``
strings and tuples as lists; nothing else needs translating.
"""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction
from typing import Any

from ..backends import BackendOptions, ShapeProfile
from ..config import EncodeOptions, Limits, PipelineOptions
from ..errors import ConfigError
from ..pipeline import RestoreJob

__all__ = ["job_from_json", "job_to_json"]


def _plain(value: object) -> object:
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def job_to_json(job: RestoreJob) -> str:
    """The job's options as canonical JSON (sorted keys: the same job gives the same text)."""
    return json.dumps(_plain(job), sort_keys=True)


def _tuple(value: Any) -> Any:
    return tuple(_tuple(v) for v in value) if isinstance(value, list) else value


def job_from_json(text: str) -> RestoreJob:
    """The :class:`RestoreJob` :func:`job_to_json` wrote. Raises ConfigError for anything else."""
    try:
        data = json.loads(text)
        backend = dict(data["backend_options"])
        if backend.get("profile") is not None:
            backend["profile"] = ShapeProfile(**{k: _tuple(v) for k, v in backend["profile"].items()})
        if backend.get("ort_providers") is not None:
            backend["ort_providers"] = tuple(backend["ort_providers"])
        encode = dict(data["encode"])
        if encode.get("frame_rate") is not None:
            encode["frame_rate"] = Fraction(encode["frame_rate"])
        return RestoreJob(
            model=data["model"],
            backend=data["backend"],
            backend_options=BackendOptions(**backend),
            encode=EncodeOptions(**encode),
            pipeline=PipelineOptions(**data["pipeline"]),
            limits=Limits(**data["limits"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"stored job options cannot be read: {exc}") from None
