"""The errors stream-restore raises, and what each means to a caller.

Every error a user can cause is a :class:`StreamRestoreError`; anything else that escapes is a bug.
Classes also subclass the builtin that describes them, so generic handlers keep working::

    StreamRestoreError                      base of everything below
    ├── InputError (ValueError)             the input cannot be used: undecodable, truncated, empty,
    │   │                                   no video, absurd size, size change into one video
    │   └── UnsupportedError                a codec, container or pixel format we cannot handle
    ├── ConfigError (ValueError)            options that contradict each other or the output
    ├── ModelNotFoundError (KeyError)       no model of that name is registered
    ├── LimitExceededError                  a configured limit (size, duration, streams) was hit
    ├── OutputError (OSError)               the output cannot be written (path, permissions, disk)
    ├── AuthError                           missing or wrong credentials (server only)
    ├── PermissionDeniedError (PermissionError)  a resource the operator did not allow: a backend,
    │                                       a path outside the configured roots, a URL or demuxer
    └── CancelledError                      the caller cancelled (Ctrl-C, client gone, deadline)

The CLI maps these to exit codes (:func:`exit_code`), the server to gRPC status codes (in
``server/``); internal faults are everything that is not listed here.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "CancelledError",
    "ConfigError",
    "InputError",
    "LimitExceededError",
    "ModelNotFoundError",
    "OutputError",
    "PermissionDeniedError",
    "StreamRestoreError",
    "UnsupportedError",
    "exit_code",
]


class StreamRestoreError(Exception):
    """Base class of every error stream-restore raises on purpose."""


class InputError(StreamRestoreError, ValueError):
    """The input media cannot be used as given."""


class UnsupportedError(InputError):
    """A codec, container, pixel format or stream layout that stream-restore does not handle."""


class ConfigError(StreamRestoreError, ValueError):
    """Invalid or contradictory options."""


class ModelNotFoundError(StreamRestoreError, KeyError):
    """No model of the requested name is registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class LimitExceededError(StreamRestoreError):
    """A configured resource limit (resolution, duration, concurrent streams, message size)."""


class OutputError(StreamRestoreError, OSError):
    """The output cannot be created or written."""


class AuthError(StreamRestoreError):
    """Missing or invalid credentials."""


class PermissionDeniedError(StreamRestoreError, PermissionError):
    """The request asks for something the operator did not allow (never opened or run)."""


class CancelledError(StreamRestoreError):
    """The work was cancelled by its caller (interrupt, disconnect, deadline)."""


def exit_code(error: BaseException) -> int:
    """CLI exit status for an error: 2 for what the user can fix, 130 for an interrupt, else 1."""
    if isinstance(error, (CancelledError, KeyboardInterrupt)):
        return 130
    if isinstance(
        error,
        (InputError, ConfigError, ModelNotFoundError, LimitExceededError, OutputError, AuthError,
         PermissionDeniedError),
    ):
        return 2
    return 1
