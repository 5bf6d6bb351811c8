"""Parsers for option values typed on a command line: ``WIDTHxHEIGHT`` sizes and bitrates.

Torch-free (only :mod:`.errors`), so every command, benchmark and the client can share them; a bad
value raises :class:`~stream_restore.errors.ConfigError` with an example of a good one.
"""

from __future__ import annotations

import re

from .errors import ConfigError

__all__ = ["DEFAULT_MODEL", "parse_bitrate", "parse_seconds", "parse_size"]

DEFAULT_MODEL = "bicubic-x2"  # the model a command uses when none is named

_SIZE = re.compile(r"\s*(\d+)[xX](\d+)\s*")
_BITRATE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)\s*")
_BITRATE_FACTOR = {"": 1, "k": 1_000, "m": 1_000_000, "g": 1_000_000_000}


def parse_size(text: str) -> tuple[int, int]:
    """``"1280x720"`` -> ``(width, height)`` in pixels, both positive (width first, as typed)."""
    match = _SIZE.fullmatch(text)
    if not match or int(match.group(1)) < 1 or int(match.group(2)) < 1:
        raise ConfigError(f"invalid size {text!r} (expected WIDTHxHEIGHT, e.g. 1280x720)")
    return int(match.group(1)), int(match.group(2))


def parse_bitrate(text: str) -> int:
    """``"8M"``, ``"2500k"`` or ``"800000"`` -> bits per second."""
    match = _BITRATE.fullmatch(text)
    if not match:
        raise ConfigError(f"invalid bitrate {text!r} (examples: 8M, 2500k)")
    return int(float(match.group(1)) * _BITRATE_FACTOR[match.group(2).lower()])


def parse_seconds(text: str, option: str = "time") -> float:
    """A time in seconds, written ``90``, ``1.5``, ``1:30`` or ``0:01:30.5``; ConfigError otherwise."""
    parts = text.strip().split(":")
    try:
        if not 1 <= len(parts) <= 3 or any(not p.strip() for p in parts):
            raise ValueError(text)
        values = [float(p) for p in parts]
    except ValueError:
        raise ConfigError(f"{option} must be seconds or [HH:]MM:SS, not {text!r}") from None
    if any(v < 0 for v in values) or any(v >= 60 for v in values[1:]) or not all(v == v for v in values):
        raise ConfigError(f"{option} must be seconds or [HH:]MM:SS, not {text!r}")
    seconds = 0.0
    for value in values:
        seconds = seconds * 60 + value
    return seconds
