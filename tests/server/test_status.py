"""The error table: caller errors never become INTERNAL."""

from __future__ import annotations

import grpc
import pytest

from stream_restore import errors
from stream_restore.server.status import IdleTimeoutError, status_for


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.InputError("x"), grpc.StatusCode.INVALID_ARGUMENT),
        (errors.UnsupportedError("x"), grpc.StatusCode.INVALID_ARGUMENT),
        (errors.ConfigError("x"), grpc.StatusCode.INVALID_ARGUMENT),
        (errors.ModelNotFoundError("x"), grpc.StatusCode.NOT_FOUND),
        (errors.LimitExceededError("x"), grpc.StatusCode.RESOURCE_EXHAUSTED),
        (errors.AuthError("x"), grpc.StatusCode.UNAUTHENTICATED),
        (errors.CancelledError("x"), grpc.StatusCode.CANCELLED),
        (IdleTimeoutError("x"), grpc.StatusCode.DEADLINE_EXCEEDED),
        (errors.OutputError("x"), grpc.StatusCode.INTERNAL),
        (RuntimeError("bug"), grpc.StatusCode.INTERNAL),
        (ValueError("bug"), grpc.StatusCode.INTERNAL),
    ],
)
def test_status_table(error: BaseException, code: grpc.StatusCode) -> None:
    assert status_for(error) == code


def test_client_and_server_read_one_table() -> None:
    """The client raises, for each status, the first error class the server maps to it; server
    faults stay plain StreamRestoreError on the client (never OutputError, the client's own)."""
    from stream_restore.status_codes import CALLER_ERRORS, error_for_status

    for kind, code in CALLER_ERRORS:
        assert status_for(kind("x")) == code
        assert error_for_status(code) is next(k for k, c in CALLER_ERRORS if c == code)
    assert error_for_status(grpc.StatusCode.PERMISSION_DENIED) is errors.PermissionDeniedError
    assert error_for_status(grpc.StatusCode.DEADLINE_EXCEEDED) is errors.CancelledError
    for code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNKNOWN):
        assert error_for_status(code) is errors.StreamRestoreError
