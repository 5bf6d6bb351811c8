"""The ``stream_restore.v1.Restorer`` servicer: converts messages and calls the core, nothing more.

Errors are raised as the project's exceptions and mapped to status codes by
:class:`~stream_restore.server.interceptors.CallInterceptor`.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator

import grpc.aio
import torch

from .. import __version__
from ..backends import installed_backends
from ..models.registry import list_specs
from ..v1 import restore_pb2 as pb
from ..v1 import restore_pb2_grpc as pb_grpc
from .frames_call import frames_call
from .image_call import restore_image_in_slot
from .messages import model_name
from .restore_call import restore_call
from .state import ServerState

__all__ = ["RestorerServicer", "list_models", "server_info"]


class RestorerServicer(pb_grpc.RestorerServicer):
    """Thin adapter from gRPC calls to the call handlers."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    def Restore(self, request_iterator: AsyncIterator[pb.RestoreRequest],
                context: grpc.aio.ServicerContext) -> AsyncIterator[pb.RestoreResponse]:
        return restore_call(self.state, request_iterator)

    def RestoreFrames(self, request_iterator: AsyncIterator[pb.FramesRequest],
                      context: grpc.aio.ServicerContext) -> AsyncIterator[pb.FramesResponse]:
        return frames_call(self.state, request_iterator)

    async def RestoreImage(
        self, request: pb.ImageRequest, context: grpc.aio.ServicerContext
    ) -> pb.ImageResponse:
        options = request.model
        model = model_name(options)
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(
            self.state.executor,
            contextvars.copy_context().run,
            restore_image_in_slot,
            self.state,
            request.image,
            model,
            options.backend,
            options.tile_max_pixels,
            options.tile_overlap,
            request.output_format,
            request.quality,
        )
        return pb.ImageResponse(image=result.data, mime_type=result.mime_type, width=result.width,
                                height=result.height, seconds=result.seconds)

    async def ListModels(
        self, request: pb.ListModelsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListModelsResponse:
        return list_models(self.state)

    async def GetServerInfo(
        self, request: pb.GetServerInfoRequest, context: grpc.aio.ServicerContext
    ) -> pb.ServerInfo:
        return server_info(self.state)


def list_models(state: ServerState) -> pb.ListModelsResponse:
    """The registered models, and whether each is loaded here (ListModels; the web page)."""
    engines = state.engines
    return pb.ListModelsResponse(models=[
        pb.ModelInfo(name=s.name, task=str(s.task), scale=s.scale, past_frames=s.past_frames,
                     future_frames=s.future_frames, recurrent=s.recurrent, description=s.description,
                     loaded=engines.is_loaded(s.name))
        for s in list_specs()
    ])


def server_info(state: ServerState) -> pb.ServerInfo:
    """Version, backends, devices, engines, limits and active streams (GetServerInfo; the web page)."""
    config = state.config
    limits = config.limits
    devices = (
        ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        if torch.cuda.is_available()
        else ["cpu"]
    )
    return pb.ServerInfo(
        version=__version__,
        backends=sorted(state.engines.allowed & installed_backends()),
        devices=devices,
        engines=[
            pb.LoadedEngine(model=e.model, backend=e.backend, device=e.device)
            for e in state.engines.loaded()
        ],
        limits=pb.ServerLimits(
            max_concurrent_streams=config.max_streams,
            max_width=limits.max_width,
            max_height=limits.max_height,
            max_pixels=limits.max_pixels,
            max_duration_seconds=limits.max_duration or 0.0,
            max_message_bytes=config.max_message_bytes,
            idle_timeout_seconds=config.idle_timeout,
            max_image_bytes=config.max_image_bytes,
        ),
        active_streams=state.slots.active,
        device=config.device,
        backend=config.backend,
    )
