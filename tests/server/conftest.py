"""A real server on a free loopback port, run in its own event-loop thread, with a real channel."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import av
import pytest

from stream_restore.client import RestoreClient
from stream_restore.server import RestoreServer, ServerConfig
from stream_restore.server.background import server_in_thread

from ..conftest import ClipSpec, make_clip, pattern


@dataclass
class Running:
    server: RestoreServer
    address: str

    def client(self, **kwargs: object) -> RestoreClient:
        return RestoreClient(self.address, **kwargs)  # type: ignore[arg-type]

    def wait_idle(self, timeout: float = 3.0) -> dict[str, int]:
        """Wait until no stream runs and no call thread lives; returns the last counters seen."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.server.stats()
            if (
                stats["active_streams"] == 0 and stats["call_threads"] == 0 and stats["worker_threads"] == 0
            ) or time.monotonic() > deadline:
                return stats
            time.sleep(0.02)


@contextlib.contextmanager
def running_server(config: ServerConfig) -> Iterator[Running]:
    with server_in_thread(config) as server:
        yield Running(server, f"{config.host}:{server.port}")


BASE = ServerConfig(host="127.0.0.1", port=0, backend="torch", threads=1, max_streams=4, idle_timeout=10.0,
                    grace_period=0.5)


@pytest.fixture(scope="module")
def server() -> Iterator[Running]:
    """One shared server for a test module (identity and bicubic-x2 preloaded)."""
    with running_server(replace(BASE, preload=("identity",))) as running:
        yield running


@pytest.fixture
def make_server() -> Callable[..., contextlib.AbstractContextManager[Running]]:
    """Factory for servers with non-default settings: ``with make_server(max_streams=1) as s:``."""

    def factory(**changes: object) -> contextlib.AbstractContextManager[Running]:
        return running_server(replace(BASE, **changes))  # type: ignore[arg-type]

    return factory


@pytest.fixture(scope="module")
def ts_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny MPEG-TS clip with AAC audio (64x48, 12 frames)."""
    return make_clip(tmp_path_factory.mktemp("media") / "in.ts", ClipSpec(audio=("aac",)))


def png(width: int, height: int, index: int = 2) -> bytes:
    """A PNG of the suite's test pattern (frame ``index``), encoded with PyAV."""
    ctx = av.CodecContext.create("png", "w")
    ctx.width, ctx.height, ctx.pix_fmt = width, height, "rgb24"
    ctx.time_base = Fraction(1, 25)
    frame = av.VideoFrame.from_ndarray(pattern(index, width, height), format="rgb24")
    return b"".join(bytes(p) for p in ctx.encode(frame) + ctx.encode(None))
