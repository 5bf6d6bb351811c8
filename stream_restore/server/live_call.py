"""The Live service: converts messages and calls the live core (``live.LiveManager``), nothing more.

The request becomes a :class:`~stream_restore.live.LiveConfig` here (outputs parsed as network
outputs only); the manager checks the source and every output against the operator's allow-lists
before anything is opened, and takes one of the server's stream slots per session.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

import grpc

from ..config import EncodeOptions
from ..errors import ConfigError
from ..live import BLOCK, DROP, IngestOptions, LiveConfig, LiveManager, SessionInfo, parse_output
from ..v1 import live_pb2 as lpb
from ..v1 import live_pb2_grpc as lpb_grpc
from .messages import model_name
from .state import ServerState
from .status import ShuttingDownError

__all__ = ["LiveServicer", "live_config"]

_STATES = {
    "connecting": lpb.LIVE_STATE_CONNECTING,
    "live": lpb.LIVE_STATE_LIVE,
    "reconnecting": lpb.LIVE_STATE_RECONNECTING,
    "stopping": lpb.LIVE_STATE_STOPPING,
    "stopped": lpb.LIVE_STATE_STOPPED,
    "failed": lpb.LIVE_STATE_FAILED,
}
_WATCH_INTERVAL = 0.5  # seconds between WatchLive messages
MAX_URL_CHARS = 4096

T = TypeVar("T")


def live_config(request: lpb.StartLiveRequest) -> LiveConfig:
    """The session a StartLive request asks for; PERMISSION_DENIED for an output that is not a URL."""
    for url in (request.source, *request.outputs):
        if len(url) > MAX_URL_CHARS or "\x00" in url:
            raise ConfigError("a source or output URL is empty, overlong or holds a NUL")
    if not request.source:
        raise ConfigError("the request names no source")
    enc = request.encoding
    if enc.gop < 0 or enc.bitrate < 0 or request.max_latency_seconds < 0 or request.stall_timeout_seconds < 0:
        raise ConfigError("gop, bitrate, max_latency_seconds and stall_timeout_seconds must not be negative")
    encode = EncodeOptions(codec=enc.codec or None, crf=enc.crf if enc.HasField("crf") else None,
                           bitrate=enc.bitrate or None, preset=enc.preset or None, tune=enc.tune or None,
                           pix_fmt=enc.pix_fmt or None, gop=enc.gop or None)
    ingest = IngestOptions(transport=request.rtsp_transport or "tcp",
                           stall_timeout=request.stall_timeout_seconds or 5.0,
                           policy=BLOCK if request.block else DROP,
                           max_latency=request.max_latency_seconds or 1.0)
    outputs = tuple(parse_output(url, allow_local=False) for url in request.outputs)
    return LiveConfig(request.source, outputs, model=model_name(request.model),
                      backend=request.model.backend, ingest=ingest, encode=encode)


def session_message(info: SessionInfo) -> lpb.LiveSession:
    s = info.status
    return lpb.LiveSession(
        id=info.id, state=_STATES.get(s.state, lpb.LIVE_STATE_UNSPECIFIED), source=info.source,
        outputs=list(info.outputs), model=info.model, started=info.started, last_error=s.last_error,
        metrics=lpb.LiveMetrics(
            input_fps=s.input_fps, output_fps=s.output_fps, frames_in=s.frames_in, frames_out=s.frames_out,
            dropped=s.dropped, dropped_before_decode=s.dropped_before_decode, reconnects=s.reconnects,
            latency_seconds=s.latency, latency_p50_seconds=s.latency_p50, latency_p95_seconds=s.latency_p95,
            latency_max_seconds=s.latency_max),
        output_status=[lpb.LiveOutputStatus(url=o.url, state=o.state, reconnects=o.reconnects,
                                            dropped_packets=o.dropped_packets, last_error=o.last_error)
                       for o in s.outputs],
    )


class LiveServicer(lpb_grpc.LiveServicer):
    def __init__(self, state: ServerState, manager: LiveManager) -> None:
        self.state, self.manager = state, manager

    async def _call(self, function: Callable[[], T]) -> T:
        """Run a blocking core call (name resolution, a clean stop) in the worker threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.state.executor, function)

    async def StartLive(self, request: lpb.StartLiveRequest, context: grpc.aio.ServicerContext
                        ) -> lpb.LiveSession:
        if self.state.stopping:
            raise ShuttingDownError("the server is shutting down")
        config = live_config(request)
        await self._call(lambda: self.manager.check(config))  # PERMISSION_DENIED before anything else
        self.state.engines.check(config.model, config.backend)
        session = await self._call(lambda: self.manager.start(config))
        return session_message(session.info())

    async def WatchLive(self, request: lpb.LiveRef, context: grpc.aio.ServicerContext
                        ) -> AsyncIterator[lpb.LiveSession]:
        session = self.manager.get(request.id)
        while True:
            done = session.done.is_set()
            yield session_message(session.info())
            if done or self.state.stopping:
                return
            await asyncio.sleep(_WATCH_INTERVAL)

    async def ListLive(self, request: lpb.ListLiveRequest, context: grpc.aio.ServicerContext
                       ) -> lpb.ListLiveResponse:
        return lpb.ListLiveResponse(sessions=[session_message(s.info()) for s in self.manager.sessions()])

    async def StopLive(self, request: lpb.LiveRef, context: grpc.aio.ServicerContext) -> lpb.LiveSession:
        session = await self._call(lambda: self.manager.stop(request.id))
        return session_message(session.info())
