"""FFmpeg's log, and FFmpeg errors as the project's errors with a message a user can act on.

FFmpeg logs from every thread it runs, frame-decoding threads included. PyAV's Python log callback
takes the GIL in those threads, and a thread that holds the GIL while it waits for them (freeing a
codec context does, in PyAV's ``__dealloc__``) then never wakes: the CLI hung on corrupt input that
way. So FFmpeg's log is off (its own C callback at level quiet, no Python, no GIL) except while an
input is opened, in the opening thread, where :func:`libav_capture` collects the lines that explain
a failure ("moov atom not found", "Format not on whitelist") and sends them to our log, where
``-v`` shows them. Decoding-time faults are counted and summarised by the reader instead.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence

import av
import av.logging

from ..errors import InputError, OutputError, StreamRestoreError, UnsupportedError

__all__ = ["LIBAV_LOG", "LibavLine", "input_error", "libav_capture", "output_error"]

LibavLine = tuple[int, str, str]  # (FFmpeg level, component, message), as PyAV reports them
LIBAV_LOG = logging.getLogger("stream_restore.media.ffmpeg")  # FFmpeg's lines, at INFO (-v)
_AV_LOG_QUIET = -8
_AV_LOG_ERROR = 16

_lock = threading.Lock()
_capturing = 0  # threads inside libav_capture; the Python callback is installed while > 0


def _silence() -> None:
    """FFmpeg's own callback at level quiet: prints nothing and never enters Python."""
    av.logging.restore_default_callback()
    av.logging.set_libav_level(_AV_LOG_QUIET)


_silence()
# Lines PyAV emits while a capture is on but from a thread that is not capturing (another stream
# of the server) would reach the "libav" logger; they are not ours to print.
logging.getLogger("libav").setLevel(logging.CRITICAL + 1)
logging.getLogger("libav").propagate = False


@contextlib.contextmanager
def libav_capture() -> Iterator[list[LibavLine]]:
    """Collect FFmpeg's warnings and errors of this thread while opening an input.

    Only for code that starts no FFmpeg threads of its own (``avformat_open_input`` and stream
    probing decode single-threaded); the lines are logged at INFO when the block ends.
    """
    global _capturing
    with _lock:
        if _capturing == 0:
            av.logging.set_level(av.logging.WARNING)
        _capturing += 1
    logs: list[LibavLine] = []
    try:
        with av.logging.Capture(local=True) as logs:
            yield logs
    finally:
        with _lock:
            _capturing -= 1
            if _capturing == 0:
                _silence()
        for _, component, message in logs:
            LIBAV_LOG.info("ffmpeg %s: %s", component or "-", message.strip())


def _reason(exc: av.FFmpegError, logs: Sequence[LibavLine] = ()) -> str:
    errors = [message.strip() for level, _, message in logs if level <= _AV_LOG_ERROR and message.strip()]
    if errors:
        return errors[-1].rstrip(".")
    log = getattr(exc, "log", None)
    if log and len(log) >= 3 and str(log[2]).strip():
        return str(log[2]).strip().rstrip(".")
    return (exc.strerror or str(exc)).rstrip(".")


def input_error(name: str, exc: av.FFmpegError, logs: Sequence[LibavLine] = ()) -> StreamRestoreError:
    """An FFmpeg failure while opening or reading input, as an InputError naming the source.

    ``logs``: FFmpeg's lines captured around the failing call (:func:`libav_capture`), whose last
    error is the reason given.
    """
    reason = _reason(exc, logs)
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
