"""The one table between the project's errors and gRPC status codes, read both ways.

The server turns a caller error into its status (:func:`status_for` in ``server/status.py``, which
adds the server's own rows); the client turns a status back into the same error class
(:func:`error_for_status`). Torch-free: the client library imports it.
"""

from __future__ import annotations

import grpc

from .errors import (
    AuthError,
    CancelledError,
    ConfigError,
    InputError,
    LimitExceededError,
    ModelNotFoundError,
    PermissionDeniedError,
    StreamRestoreError,
)

__all__ = ["CALLER_ERRORS", "error_for_status"]

# Errors a caller caused, and their codes. First match wins: subclasses before their bases; the
# first class of a code is the one the client raises for it.
CALLER_ERRORS: tuple[tuple[type[StreamRestoreError], grpc.StatusCode], ...] = (
    (InputError, grpc.StatusCode.INVALID_ARGUMENT),  # also UnsupportedError
    (ConfigError, grpc.StatusCode.INVALID_ARGUMENT),
    (ModelNotFoundError, grpc.StatusCode.NOT_FOUND),
    (LimitExceededError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (AuthError, grpc.StatusCode.UNAUTHENTICATED),
    (PermissionDeniedError, grpc.StatusCode.PERMISSION_DENIED),
    (CancelledError, grpc.StatusCode.CANCELLED),
)

_CLIENT_ERRORS: dict[grpc.StatusCode, type[StreamRestoreError]] = {
    **{code: kind for kind, code in reversed(CALLER_ERRORS)},
    grpc.StatusCode.DEADLINE_EXCEEDED: CancelledError,  # the client's deadline, or the server's idle timeout
}


def error_for_status(code: grpc.StatusCode) -> type[StreamRestoreError]:
    """The error class a client raises for a call that ended with ``code`` (server faults,
    INTERNAL and UNAVAILABLE among them, are plain :class:`StreamRestoreError`)."""
    return _CLIENT_ERRORS.get(code, StreamRestoreError)
