"""The ``auto`` backend: the best engine this machine has, with fallback when one fails to load.

Order: TensorRT, then torch on CUDA (when the device is CUDA); on CPU, whichever of ONNX Runtime
and torch ran this model faster here, measured once (a few frames at 256x144) and remembered in
``cache_dir/auto-cpu.json`` under a key of model weights, CPU model, thread count and library
versions. If a candidate fails to load (no TensorRT, an export the engine cannot parse), the next
one is tried and the failure logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from ..errors import StreamRestoreError
from ..models.registry import ModelSpec
from .base import Backend, BackendOptions, InferenceResult

__all__ = ["AutoBackend", "candidate_order", "cpu_name", "measure_backend", "rank_by_speed"]

log = logging.getLogger(__name__)

CPU_CANDIDATES = ("onnxruntime", "torch")
_PROBE = (1, 144, 256)  # batch, height, width of the one-off CPU measurement


def candidate_order(device_type: str, tensorrt_ok: bool, cuda_ok: bool, cpu_ranking: list[str]) -> list[str]:
    """Backends to try, best first (pure). ``cpu_ranking`` is the measured CPU order."""
    if device_type == "cuda":
        if not cuda_ok:
            return []
        return (["tensorrt"] if tensorrt_ok else []) + ["torch"]
    return list(cpu_ranking) or list(CPU_CANDIDATES)


def rank_by_speed(timings: dict[str, float]) -> list[str]:
    """Backend names by measured milliseconds per frame, fastest first; failed ones (inf) last."""
    return sorted(timings, key=lambda name: timings[name])


def cpu_name() -> str:
    """The CPU model, for keys of remembered measurements."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def measure_backend(backend: Backend, batch: int, height: int, width: int, repeats: int = 3) -> float:
    """Median milliseconds of one ``infer`` call on a loaded backend, after one warm-up call."""
    spec = backend.spec
    frames = torch.rand(batch, spec.window, 3, height, width, device=backend.device)
    state = backend.initial_state(batch, height, width)
    backend.infer(frames, state)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        backend.infer(frames, state)
        if backend.device.type == "cuda":
            torch.cuda.synchronize(backend.device)
        times.append((time.perf_counter() - started) * 1e3)
    return statistics.median(times)


class AutoBackend(Backend):
    """Delegates to the first candidate backend that loads; see the module docstring for the order."""

    name = "auto"

    def __init__(
        self, spec: ModelSpec, options: BackendOptions, factory: Callable[[str, BackendOptions], Backend]
    ) -> None:
        super().__init__(spec, options)
        self._factory = factory
        self.chosen: Backend | None = None
        self.failures: dict[str, str] = {}

    def _load(self) -> None:
        from .tensorrt_backend import tensorrt_available

        cuda_ok = torch.cuda.is_available()
        trt_ok = self.device.type == "cuda" and tensorrt_available()
        ranking = self._cpu_ranking() if self.device.type == "cpu" else []
        order = candidate_order(self.device.type, trt_ok, cuda_ok, ranking)
        self.chosen = self._first_loading(order)
        self.name = f"auto:{self.chosen.name}"
        log.info("auto backend for %s: %s", self.spec.name, self.chosen.name)

    def _first_loading(self, order: list[str]) -> Backend:
        for name in order:
            backend = self._factory(name, self.options)
            try:
                return backend.load()
            except Exception as exc:  # any load failure means: try the next engine
                self.failures[name] = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "auto backend: %s failed to load %s (%s); trying the next", name, self.spec.name, exc
                )
        detail = "; ".join(f"{k}: {v}" for k, v in self.failures.items()) or "no candidate for this device"
        raise StreamRestoreError(f"no backend could run {self.spec.name} on {self.options.device}: {detail}")

    # -- the remembered CPU measurement ----------------------------------------------------------
    def _memory_key(self) -> str:
        from .export import weights_hash

        versions = [f"torch={torch.__version__}"]
        with contextlib.suppress(ImportError):
            import onnxruntime

            versions.append(f"onnxruntime={onnxruntime.__version__}")
        threads = self.options.threads or torch.get_num_threads()
        module = self.spec.build(pretrained=True)
        return "|".join(
            [
                self.spec.name,
                weights_hash(module)[:16],
                cpu_name(),
                f"threads={threads}",
                f"compile={int(self.options.compile)}",
                *versions,
            ]
        )

    def _cpu_ranking(self) -> list[str]:
        path = Path(self.options.cache_dir) / "auto-cpu.json"
        key = self._memory_key()
        memory: dict[str, dict[str, float]] = {}
        with contextlib.suppress(OSError, ValueError):
            memory = json.loads(path.read_text())
        if key in memory:
            return rank_by_speed(memory[key])
        timings: dict[str, float] = {}
        for name in CPU_CANDIDATES:
            backend = self._factory(name, self.options)
            try:
                with backend:
                    timings[name] = measure_backend(backend, *_PROBE)
            except Exception as exc:  # a backend that cannot run this model ranks last
                log.info("auto backend: %s cannot run %s on CPU: %s", name, self.spec.name, exc)
                timings[name] = float("inf")
        log.info(
            "auto backend: CPU ms per %s frame for %s: %s",
            "x".join(map(str, _PROBE[1:])),
            self.spec.name,
            timings,
        )
        memory[key] = timings
        with contextlib.suppress(OSError):
            from .engine_cache import write_atomic

            write_atomic(path, json.dumps(memory, indent=1, sort_keys=True).encode())
        return rank_by_speed(timings)

    # -- delegation --------------------------------------------------------------------------
    def _close(self) -> None:
        if self.chosen is not None:
            self.chosen.close()
            self.chosen = None
        self.name = "auto"

    def _initial_state(self, batch: int, height: int, width: int) -> torch.Tensor:
        assert self.chosen is not None
        state = self.chosen.initial_state(batch, height, width)
        assert state is not None
        return state

    def _validate(self, frames: torch.Tensor, state: torch.Tensor | None) -> None:
        assert self.chosen is not None
        self.chosen._validate(frames, state)

    def _infer(self, frames: torch.Tensor, state: torch.Tensor | None) -> InferenceResult:
        assert self.chosen is not None
        return self.chosen._infer(frames, state)
