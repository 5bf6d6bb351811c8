"""The one table that turns errors into gRPC status codes.

Caller errors never become INTERNAL: only exceptions that are not :class:`StreamRestoreError`
(bugs, unexpected library failures) and :class:`OutputError` (the server failed to encode or
write its own output stream: a server fault) do.
"""

from __future__ import annotations

import grpc

from ..errors import OutputError, StreamRestoreError
from ..status_codes import CALLER_ERRORS

__all__ = ["STATUS_TABLE", "IdleTimeoutError", "ShuttingDownError", "status_for"]


class IdleTimeoutError(StreamRestoreError):
    """The client sent nothing for longer than the server's idle timeout."""


class ShuttingDownError(StreamRestoreError):
    """The server is stopping and the call outlived the grace period (retry on another instance)."""


# First match wins: subclasses before their bases. The caller errors' rows are shared with the client.
STATUS_TABLE: tuple[tuple[type[BaseException], grpc.StatusCode], ...] = (
    *CALLER_ERRORS,
    (IdleTimeoutError, grpc.StatusCode.DEADLINE_EXCEEDED),
    (ShuttingDownError, grpc.StatusCode.UNAVAILABLE),
    (OutputError, grpc.StatusCode.INTERNAL),  # our own output stream: a server fault
)


def status_for(error: BaseException) -> grpc.StatusCode:
    """The status code a call that failed with ``error`` ends with."""
    for kind, code in STATUS_TABLE:
        if isinstance(error, kind):
            return code
    return grpc.StatusCode.INTERNAL
