"""Compiled twins of the colour conversions in :mod:`.colour`: the same results, several times faster.

Eager ``rgb_to_yuv`` makes about thirty passes over a frame (matrix, chroma filters, rounding);
``torch.compile`` fuses them into one loop nest. Measured on one core of our 2-core Zen 3 machine
at 1280x720 4:2:0: eager 14-31 ms, compiled 3.0 ms per frame, with identical codes. That time is
taken from the model, which shares the cores, so it decides end-to-end frames per second.

Compiling costs a few seconds per colour description, frame size and thread count, so the
pipeline only asks for it where that pays off (see ``PipelineOptions.compile_colour``). If the
compiler is unavailable (no C++ toolchain) or a stream keeps changing size, the eager functions
serve instead, with one warning; the results are the same either way.

What is compiled are :func:`.colour.yuv_to_rgb_planes` and :func:`.colour.rgb_to_yuv_planes`,
which take the colour description as plain numbers: torch.compile guards those by value. Handed
the ``ColorInfo`` dataclass itself, it reused a kernel compiled for one matrix on frames of
another (BT.601 codes for BT.709 frames of the same size; caught by the bit-exact identity test).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from typing import Any

import torch

from ..frames import ColorInfo
from . import colour

__all__ = ["rgb_to_yuv", "rgb_to_yuv_planes", "yuv_to_rgb", "yuv_to_rgb_planes"]

log = logging.getLogger(__name__)

# Distinct (function, colour, shape, threads) variants compiled before falling back to eager: a
# stream whose size keeps changing must not recompile on every frame.
_MAX_VARIANTS = 16

_lock = threading.Lock()
_ready: set[Hashable] = set()
_compiled: dict[str, Callable[..., Any]] = {}
_disabled: list[str] = []  # the reason, once compiling has failed or the variant budget is spent


def _kernel(name: str) -> Callable[..., Any]:
    fn = _compiled.get(name)
    if fn is None:
        fn = _compiled[name] = torch.compile(getattr(colour, name), dynamic=False, fullgraph=True)
    return fn


def _disable(reason: str) -> None:
    if not _disabled:
        _disabled.append(reason)
        log.warning("compiled colour conversion unavailable (%s); using the eager functions", reason)


def _run(name: str, key: Hashable, *args: Any) -> Any:
    """Call the compiled ``colour.<name>``; the first call of a variant compiles it under a lock."""
    eager = getattr(colour, name)
    if _disabled:
        return eager(*args)
    variant = (name, key, torch.get_num_threads())
    if variant in _ready:
        return _kernel(name)(*args)
    with _lock:  # torch.compile is not safe to enter from two threads at once
        if _disabled:
            return eager(*args)
        if len(_ready) >= _MAX_VARIANTS:
            _disable(f"more than {_MAX_VARIANTS} frame sizes or colour descriptions")
            return eager(*args)
        try:
            result = _kernel(name)(*args)
        except Exception as exc:  # any compiler failure leaves the exact eager path
            _disable(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": "))
            return eager(*args)
        _ready.add(variant)
        return result


def yuv_to_rgb_planes(y: torch.Tensor, u: torch.Tensor, v: torch.Tensor,
                      params: colour.ConversionParams) -> torch.Tensor:
    """Compiled :func:`.colour.yuv_to_rgb_planes` (same arguments, same result)."""
    key = (params, y.shape, y.stride(), u.shape, u.stride(), v.stride(), y.dtype, y.device.type)
    return _run("yuv_to_rgb_planes", key, y, u, v, params)  # type: ignore[no-any-return]


def rgb_to_yuv_planes(rgb: torch.Tensor, params: colour.ConversionParams
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Compiled :func:`.colour.rgb_to_yuv_planes` (same arguments, same result)."""
    key = (params, rgb.shape, rgb.stride(), rgb.dtype, rgb.device.type)
    return _run("rgb_to_yuv_planes", key, rgb, params)  # type: ignore[no-any-return]


def yuv_to_rgb(y: torch.Tensor, u: torch.Tensor, v: torch.Tensor, color: ColorInfo) -> torch.Tensor:
    """Compiled :func:`.colour.yuv_to_rgb` (same arguments, same result)."""
    return yuv_to_rgb_planes(y, u, v, colour.conversion_params(color))


def rgb_to_yuv(rgb: torch.Tensor, color: ColorInfo) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Compiled :func:`.colour.rgb_to_yuv` (same arguments, same result)."""
    return rgb_to_yuv_planes(rgb, colour.conversion_params(color))
