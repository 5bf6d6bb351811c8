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
