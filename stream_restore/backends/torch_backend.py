"""The PyTorch backend: eager or ``torch.compile``, on CPU or CUDA, fp32/fp16/bf16, channels-last.

On CUDA, ``cuda_graphs`` captures one graph per input shape (batch, size and state shape) on the
first call of that shape and replays it afterwards: static input buffers are filled with a
device-to-device copy, outputs are cloned out of the graph's pool so callers may keep them.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import ConfigError
from ..models.registry import ModelSpec
from .base import Backend, BackendOptions, InferenceResult

__all__ = ["TorchBackend", "torch_dtype"]

log = logging.getLogger(__name__)

_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def torch_dtype(precision: str) -> torch.dtype:
    """The torch dtype of a precision name ("fp32", "fp16", "bf16")."""
    return _DTYPES[precision]


@dataclass
class _Graph:
    """One captured CUDA graph and its static buffers."""

    graph: torch.cuda.CUDAGraph
    frames: torch.Tensor
    state: torch.Tensor | None
    output: torch.Tensor
    new_state: torch.Tensor | None


class TorchBackend(Backend):
    """Runs the registered ``nn.Module`` directly; the reference every other backend matches."""

    name = "torch"

    def __init__(self, spec: ModelSpec, options: BackendOptions) -> None:
        super().__init__(spec, options)
        self.dtype = _DTYPES[options.precision]
        self.module: nn.Module | None = None
        self._run: nn.Module | None = None  # the module or its compiled form
        self._graphs: dict[tuple[tuple[int, ...], tuple[int, ...] | None], _Graph] = {}
        self._graph_lock = threading.Lock()

    def _load(self) -> None:
        if self.device.type == "cpu":
            if self.options.threads is not None:
                torch.set_num_threads(self.options.threads)
            if self.dtype == torch.float16:
                log.warning("fp16 on CPU is emulated and slow; bf16 or fp32 run faster")
        elif self.device.type == "cuda":
            if not torch.cuda.is_available():
                raise ConfigError(f"device {self.options.device} requested but CUDA is not available")
        else:
            raise ConfigError(f"the torch backend supports cpu and cuda devices, not {self.options.device!r}")
        module = self.spec.build(pretrained=True).to(device=self.device, dtype=self.dtype)
        if self.options.channels_last:
            module = module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        for p in module.parameters():
            p.requires_grad_(False)
        self.module = module
        self._run = module
        if self.options.compile:
            import torch._inductor.config as inductor_config

            # Freezing folds weights into the graph as constants: the main win of compile on CPU.
            inductor_config.freezing = True
            self._run = torch.compile(module, fullgraph=False, dynamic=False)  # type: ignore[assignment]

    def _close(self) -> None:
        self.module = None
        self._run = None
        self._graphs.clear()

    def _initial_state(self, batch: int, height: int, width: int) -> torch.Tensor:
        assert self.module is not None  # guaranteed by load()
        state: torch.Tensor = self.module.initial_state(batch, height, width)  # type: ignore[operator]
        return state.to(device=self.device, dtype=self.dtype)

    def _prepare(self, frames: torch.Tensor) -> torch.Tensor:
        x = frames.to(device=self.device, dtype=self.dtype, non_blocking=True)
        if self.options.channels_last and x.dim() == 5 and self.spec.window == 1 and not self.spec.recurrent:
            # The model sees x[:, 0] (4-D): give it a channels-last view without another copy later.
            return x[:, 0].contiguous(memory_format=torch.channels_last).unsqueeze(1)
        return x

    def _forward(self, x: torch.Tensor, state: torch.Tensor | None) -> InferenceResult:
        run = self._run
        assert run is not None
        if self.spec.recurrent:
            out, new_state = run(x, state)
            return out, new_state
        if self.spec.window == 1:
            return run(x[:, 0]), None
        return run(x), None

    @torch.inference_mode()
    def _infer(self, frames: torch.Tensor, state: torch.Tensor | None) -> InferenceResult:
        x = self._prepare(frames)
        if state is not None:
            state = state.to(device=self.device, dtype=self.dtype, non_blocking=True)
        if self.options.cuda_graphs and self.device.type == "cuda":
            out, new_state = self._replay(x, state)
        else:
            out, new_state = self._forward(x, state)
        return out.float().contiguous(), new_state

    # -- CUDA graphs -------------------------------------------------------------------------
    def _replay(self, x: torch.Tensor, state: torch.Tensor | None) -> InferenceResult:
        key = (tuple(x.shape), None if state is None else tuple(state.shape))
        with self._graph_lock:  # static buffers are shared: one replay at a time
            entry = self._graphs.get(key) or self._capture(x, state)
            self._graphs[key] = entry
            entry.frames.copy_(x)
            if entry.state is not None and state is not None:
                entry.state.copy_(state)
            entry.graph.replay()
            new_state = None if entry.new_state is None else entry.new_state.clone()
            return entry.output.clone(), new_state

    def _capture(self, x: torch.Tensor, state: torch.Tensor | None) -> _Graph:
        """Warm up on a side stream (as CUDA graph capture requires), then capture one call."""
        static_x = x.clone()
        static_state = None if state is None else state.clone()
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            for _ in range(3):
                self._forward(static_x, static_state)
        torch.cuda.current_stream(self.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            output, new_state = self._forward(static_x, static_state)
        log.info("captured a CUDA graph for %s at %s", self.spec.name, list(x.shape))
        return _Graph(graph, static_x, static_state, output, new_state)
