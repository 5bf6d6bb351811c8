"""Turn FFmpeg errors into the project's errors with a message a user can act on."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import av
import av.logging

from ..errors import InputError, OutputError, StreamRestoreError, UnsupportedError

__all__ = ["LIBAV_LOG", "input_error", "output_error", "quiet_libav"]


# FFmpeg's own log lines are how it explains failures ("Picture size 100000x100000 is invalid",
# "PES packet size mismatch"); PyAV attaches the last one to the exception only when log capture is
# on. We keep capture on for errors, which reach Python logging under "libav": corrupt data met
# while reading is reported that way instead of passing silently.
av.logging.set_level(av.logging.ERROR)
LIBAV_LOG = logging.getLogger("libav")


@contextlib.contextmanager
def quiet_libav() -> Iterator[None]:
    """Silence FFmpeg's log while opening: a failure there becomes our own one-line error."""
    level = LIBAV_LOG.level
    LIBAV_LOG.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        LIBAV_LOG.setLevel(level)


def _reason(exc: av.FFmpegError) -> str:
    log = getattr(exc, "log", None)
    if log and len(log) >= 3 and str(log[2]).strip():
        return str(log[2]).strip().rstrip(".")
    return (exc.strerror or str(exc)).rstrip(".")


def input_error(name: str, exc: av.FFmpegError) -> StreamRestoreError:
    """An FFmpeg failure while opening or reading input, as an InputError naming the source."""
    reason = _reason(exc)
    if isinstance(exc, av.FileNotFoundError):
        return InputError(f"{name}: no such file")
    if isinstance(exc, av.PermissionError):
        return InputError(f"{name}: permission denied")
    if isinstance(exc, (av.DecoderNotFoundError, av.DemuxerNotFoundError, av.PatchWelcomeError)):
        return UnsupportedError(f"{name}: unsupported format or codec ({reason})")
    if isinstance(exc, av.InvalidDataError):
        return InputError(f"{name}: not a readable media file ({reason}); it may be truncated or corrupt")
    if isinstance(exc, av.EOFError):
        return InputError(f"{name}: unexpected end of data; the input is truncated")
    if isinstance(exc, (av.ExitError, av.HTTPError)) or "timed out" in reason.lower():
        return InputError(f"{name}: cannot read ({reason})")
    return InputError(f"{name}: {reason}")


def output_error(name: str, exc: BaseException) -> StreamRestoreError:
    """An FFmpeg or OS failure while writing output."""
    if isinstance(exc, av.FFmpegError):
        reason = _reason(exc)
        if isinstance(exc, (av.EncoderNotFoundError, av.MuxerNotFoundError, av.PatchWelcomeError)):
            return UnsupportedError(f"{name}: {reason}")
        return OutputError(f"{name}: cannot write ({reason})")
    if isinstance(exc, OSError):
        return OutputError(f"{name}: cannot write ({exc.strerror or exc})")
    return OutputError(f"{name}: cannot write ({exc})")
