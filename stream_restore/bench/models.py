"""Timing one model on one backend: median milliseconds per frame after warm-up, and efficiency."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch

from ..backends import Backend, BackendOptions, create_backend
from ..models.registry import ModelSpec

__all__ = ["BACKEND_VARIANTS", "BenchRow", "bench_backend", "time_backend", "time_calls", "variant_options"]

# Bench backend names -> (create_backend name, option overrides). "torch-compile" is torch with
# torch.compile (inductor, freezing); "torch" is eager channels-last.
BACKEND_VARIANTS: dict[str, tuple[str, dict[str, object]]] = {
    "torch": ("torch", {}),
    "torch-compile": ("torch", {"compile": True}),
    "onnxruntime": ("onnxruntime", {}),
    "tensorrt": ("tensorrt", {}),
    "auto": ("auto", {}),
}


@dataclass
class BenchRow:
    """One line of results. ``size`` is the input "WxH"; figures are per frame (one window step)."""

    kind: str  # "peak", "model", "peer", "e2e"
    model: str
    backend: str
    size: str
    ms_per_frame: float | None = None
    fps: float | None = None
    gflop_per_frame: float | None = None
    achieved_gflops: float | None = None
    peak_gflops: float | None = None
    fraction_of_peak: float | None = None
    ms_min: float | None = None
    ms_max: float | None = None
    repeats: int = 0
    threads: int = 0
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    def finish(self, times_ms: list[float], peak: float | None) -> BenchRow:
        """Fill the figures from per-frame times in milliseconds."""
        self.ms_per_frame = statistics.median(times_ms)
        self.ms_min, self.ms_max = min(times_ms), max(times_ms)
        self.repeats = len(times_ms)
        self.fps = 1000.0 / self.ms_per_frame
        self.peak_gflops = peak
        if self.gflop_per_frame is not None:
            self.achieved_gflops = self.gflop_per_frame / (self.ms_per_frame / 1000.0)
            if peak:
                self.fraction_of_peak = self.achieved_gflops / peak
        return self

    def to_json(self) -> str:
        return json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()})


def time_calls(
    call: Callable[[], object],
    warmup: int,
    repeat: int,
    sync: Callable[[], None] | None = None,
    between: Callable[[], object] | None = None,
) -> list[float]:
    """Milliseconds of each of ``repeat`` calls after ``warmup`` untimed ones.

    ``between`` runs (untimed) after each timed call: the bench uses it to interleave matmul peak
    probes, so model and peak see the same load on a shared machine.
    """
    for _ in range(warmup):
        call()
    if sync is not None:
        sync()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        if sync is not None:
            sync()
        times.append((time.perf_counter() - started) * 1e3)
        if between is not None:
            between()
    return times


def time_backend(
    backend: Backend,
    width: int,
    height: int,
    warmup: int,
    repeat: int,
    between: Callable[[], object] | None = None,
) -> list[float]:
    """Milliseconds per call of a loaded ``backend`` on one random ``width x height`` frame window
    (batch 1); a recurrent model carries its state from call to call, as in a stream."""
    spec = backend.spec
    frames = torch.rand(1, spec.window, 3, height, width, generator=torch.Generator().manual_seed(0))
    frames = frames.to(backend.device)
    holder = {"state": backend.initial_state(1, height, width)}

    def call() -> None:
        _, holder["state"] = backend.infer(frames, holder["state"])

    sync = torch.cuda.synchronize if backend.device.type == "cuda" else None
    return time_calls(call, warmup, repeat, sync, between)


def variant_options(variant: str, base: BackendOptions) -> tuple[str, BackendOptions]:
    """The create_backend name and options of a bench backend variant."""
    from dataclasses import replace

    name, overrides = BACKEND_VARIANTS[variant]
    return name, replace(base, **overrides)  # type: ignore[arg-type]


def bench_backend(
    spec: ModelSpec,
    variant: str,
    base: BackendOptions,
    width: int,
    height: int,
    *,
    warmup: int = 2,
    repeat: int = 5,
    peak: float | None = None,
    kind: str = "model",
    note: str = "",
) -> BenchRow:
    """Time ``spec`` on a bench backend variant at ``width x height`` (batch 1, one frame per call).

    Recurrent models carry their state from call to call, as in a stream.
    """
    name, options = variant_options(variant, base)
    backend: Backend = create_backend(spec, name, options)
    row = BenchRow(kind, spec.name, variant, f"{width}x{height}", threads=torch.get_num_threads(), note=note)
    row.gflop_per_frame = spec.gflop_per_megapixel() * width * height / 1e6
    probes: list[float] = []
    with backend:
        if backend.name.startswith("auto:"):
            row.note = (row.note + f" auto chose {backend.name.removeprefix('auto:')}").strip()
        between = None
        if backend.device.type == "cpu":
            from .peak import matmul_peak_gflops

            def between() -> None:
                probes.append(matmul_peak_gflops(sizes=(1536,), repeats=1))

        times = time_backend(backend, width, height, warmup, repeat, between)
    row.finish(times, peak)
    if probes and row.achieved_gflops is not None:
        local = statistics.median(probes)
        row.extra["local_peak_gflops"] = round(local, 1)
        row.extra["fraction_of_local_peak"] = round(row.achieved_gflops / local, 3)
    return row
