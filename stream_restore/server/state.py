"""What every call handler shares: configuration, engines, stream and image slots, metrics."""

from __future__ import annotations

import threading
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Protocol

from .config import ServerConfig
from .engines import EnginePool
from .metrics import ServerMetrics
from .slots import StreamSlots

__all__ = ["THREAD_PREFIX", "ServerState", "worker_threads"]

THREAD_PREFIX = "stream-restore-"  # every thread started for a call (and the pipeline's own) has it


def worker_threads() -> int:
    """Live threads working for calls in this process (the pipeline names its threads the same way)."""
    return sum(1 for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX))


class Stoppable(Protocol):
    def shut_down(self) -> None: ...


@dataclass
class ServerState:
    config: ServerConfig
    engines: EnginePool
    slots: StreamSlots
    metrics: ServerMetrics
    executor: Executor  # unary calls (images) and engine loading
    images: StreamSlots  # RestoreImage calls, counted apart from the streams
    calls: set[Stoppable] = field(default_factory=set)  # streaming calls running (for shutdown)
    stopping: bool = False
