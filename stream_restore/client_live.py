"""The Live service from Python, over a :class:`~stream_restore.client.RestoreClient`'s connection::

    from stream_restore.client import RestoreClient
    from stream_restore.client_live import LiveClient
    from stream_restore.v1 import live_pb2

    with RestoreClient("127.0.0.1:50051") as client:
        live = LiveClient(client)
        session = live.start(live_pb2.StartLiveRequest(source="rtsp://10.0.0.5/cam",
                                                       outputs=["udp://239.1.1.1:5000"]))
        for state in live.watch(session.id):
            print(state.metrics.output_fps, state.metrics.dropped)

Errors come back as the project's exceptions (PERMISSION_DENIED is PermissionDeniedError). Torch-free.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from .client import RestoreClient, error_from_rpc
from .v1 import live_pb2 as lpb
from .v1 import live_pb2_grpc as lpb_grpc

__all__ = ["STATE_NAMES", "LiveClient"]

STATE_NAMES = {value: name.removeprefix("LIVE_STATE_").lower() for name, value in lpb.LiveState.items()}


class LiveClient:
    """StartLive, WatchLive, ListLive and StopLive on ``client``'s channel, token and TLS."""

    def __init__(self, client: RestoreClient) -> None:
        self.client = client
        self.stub = lpb_grpc.LiveStub(client.channel)

    def start(self, request: lpb.StartLiveRequest, *, timeout: float | None = 30.0) -> lpb.LiveSession:
        try:
            session: lpb.LiveSession = self.stub.StartLive(request, timeout=timeout,
                                                           metadata=self.client.metadata)
            return session
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, self.client.target) from None

    def watch(self, session_id: str, *, timeout: float | None = None) -> Iterator[lpb.LiveSession]:
        """The session's state about twice a second until it ends (the last message is final)."""
        try:
            yield from self.stub.WatchLive(lpb.LiveRef(id=session_id), timeout=timeout,
                                           metadata=self.client.metadata)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, self.client.target) from None

    def list(self, *, timeout: float | None = 10.0) -> list[lpb.LiveSession]:
        try:
            return list(self.stub.ListLive(lpb.ListLiveRequest(), timeout=timeout,
                                           metadata=self.client.metadata).sessions)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, self.client.target) from None

    def stop(self, session_id: str, *, timeout: float | None = 60.0) -> lpb.LiveSession:
        try:
            session: lpb.LiveSession = self.stub.StopLive(lpb.LiveRef(id=session_id), timeout=timeout,
                                                          metadata=self.client.metadata)
            return session
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, self.client.target) from None
