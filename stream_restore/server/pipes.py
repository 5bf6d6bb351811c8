"""Per-call plumbing between the asyncio servicer and the pipeline's threads, every buffer bounded.

Into the pipeline: :class:`ByteSource` is the readable file-like object PyAV demuxes (``read``
only, no ``seek``, so FFmpeg treats it as a pipe), holding at most ``limit`` bytes of request
chunks; :class:`FrameFeed` is the frame source of ``RestoreFrames``, holding at most ``limit``
frames. When either is full the servicer stops reading requests, and gRPC flow control holds the
client back instead of the server's memory filling up.

Out of the pipeline: :class:`Outbox` hands items to the event loop at once (no latency added) and
makes the pipeline wait when more than ``limit`` are not yet sent, i.e. when the client reads
slower than the server restores. :class:`ChunkSink` (the muxer's writable file) and
:class:`FrameOutbox` (the restored frames of ``RestoreFrames``) post through one.

:class:`InputPace` tells a client that is merely slow from one that holds a call open by sending
almost nothing (a slow drip).
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from collections.abc import Callable, Iterator

from ..frames import Frame, StreamInfo
from ..pipeline import Discontinuity
from .status import IdleTimeoutError

__all__ = ["ByteSource", "ChunkSink", "FrameFeed", "FrameOutbox", "InputPace", "Outbox"]

_POLL = 0.05  # seconds between cancellation checks of a blocked reader or writer


class _Handoff:
    """What both inbound pipes share: a condition for the reading thread, an event for the feeder."""

    def __init__(self, loop: asyncio.AbstractEventLoop, limit: int, cancel: threading.Event) -> None:
        self._loop = loop
        self._limit = limit
        self._cancel = cancel
        self._size = 0  # in the pipe's unit (bytes or frames)
        self._eof = False
        self._cond = threading.Condition()
        self._space = asyncio.Event()
        self._space.set()

    async def _room(self) -> bool:
        """Wait (without blocking the loop) until the pipe has room; False once the reader is gone."""
        while True:
            with self._cond:
                if self._eof:
                    return False
                if self._size < self._limit:
                    return True
                self._space.clear()
            await self._space.wait()

    def _taken(self) -> None:
        """Called by the reader (holding no lock) after it removed items."""
        with self._cond:
            room = self._size < self._limit
        if room:
            try:
                self._loop.call_soon_threadsafe(self._space.set)
            except RuntimeError:  # the loop is closed: nobody is feeding any more
                pass

    def close_input(self) -> None:
        """End of the input: the reader gets what is left, then the end."""
        with self._cond:
            self._eof = True
            self._cond.notify_all()
        try:
            self._loop.call_soon_threadsafe(self._space.set)
        except RuntimeError:
            pass


class ByteSource(_Handoff):
    """A blocking, bounded byte pipe (``limit`` in bytes): the loop feeds, a PyAV thread reads.

    ``read`` blocks until data arrives; it returns ``b""`` at the end of the input and also once
    ``cancel`` is set, so a demuxer blocked in it returns within ``_POLL`` seconds.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, limit: int, cancel: threading.Event) -> None:
        super().__init__(loop, limit, cancel)
        self._chunks: collections.deque[memoryview] = collections.deque()
        self.bytes_in = 0

    async def feed(self, data: bytes) -> None:
        """Append ``data``; waits while the buffer is full; dropped once the reader is gone."""
        if not await self._room():
            return
        with self._cond:
            self._chunks.append(memoryview(data))
            self._size += len(data)
            self.bytes_in += len(data)
            self._cond.notify_all()

    def readinto(self, buffer: memoryview) -> int:
        want = len(buffer)
        with self._cond:
            while not self._chunks and not self._eof:
                if self._cancel.is_set():
                    return 0
                self._cond.wait(_POLL)
            if self._cancel.is_set():
                return 0
            done = 0
            while self._chunks and done < want:
                head = self._chunks[0]
                take = min(len(head), want - done)
                buffer[done : done + take] = head[:take]
                done += take
                if take == len(head):
                    self._chunks.popleft()
                else:
                    self._chunks[0] = head[take:]
            self._size -= done
        self._taken()
        return done

    def read(self, size: int = -1) -> bytes:
        size = 1 << 16 if size is None or size < 0 else size
        buffer = bytearray(size)
        n = self.readinto(memoryview(buffer))
        return bytes(buffer[:n])


class FrameFeed(_Handoff):
    """The frame source of a raw-frame call (``limit`` in frames), read by the pipeline's decode stage.

    ``info`` describes the stream from its first frame; the call starts the pipeline only then.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, limit: int, cancel: threading.Event, info: StreamInfo
    ) -> None:
        super().__init__(loop, limit, cancel)
        self.info = info
        self.corrupt_packets = 0
        self.warnings: list[str] = []
        self._items: collections.deque[Frame | Discontinuity] = collections.deque()

    async def put(self, item: Frame | Discontinuity) -> None:
        """Queue a frame or a reset; waits while the feed is full; dropped once the reader is gone."""
        if not await self._room():
            return
        with self._cond:
            self._items.append(item)
            self._size += 1
            self._cond.notify_all()

    def __iter__(self) -> Iterator[Frame | Discontinuity]:
        while True:
            with self._cond:
                while not self._items and not self._eof and not self._cancel.is_set():
                    self._cond.wait(_POLL)
                if self._cancel.is_set() or not self._items:
                    return
                item = self._items.popleft()
                self._size -= 1
            self._taken()
            yield item

    def close(self) -> None:
        """Nothing to release (the pipeline's source protocol)."""


class Outbox:
    """Hands items from a pipeline thread to the event loop's ``queue``, at most ``limit`` unsent."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[object], limit: int,
                 cancel: threading.Event) -> None:
        self._loop = loop
        self._queue = queue
        self._cancel = cancel
        self._slots = threading.BoundedSemaphore(limit)

    def post(self, item: object, counted: bool = True) -> bool:
        """Queue ``item`` (waiting while ``limit`` counted items are unsent); False when the call is over."""
        if counted:
            while not self._slots.acquire(timeout=_POLL):
                if self._cancel.is_set():
                    return False
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # loop closed: the call is long gone
            return False
        return True

    def taken(self, count: int = 1) -> None:
        """The servicer sent ``count`` counted items: let the pipeline queue as many more."""
        for _ in range(count):
            try:
                self._slots.release()
            except ValueError:
                break


class ChunkSink:
    """The writable file-like object a muxer writes: each write becomes an outbox item."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        self.bytes_out = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        chunk = bytes(data)
        if chunk and self._outbox.post(chunk):
            self.bytes_out += len(chunk)
        return len(chunk)  # after the call is over, writes are dropped


class FrameOutbox:
    """The frame sink of a raw-frame call: every restored frame goes to the servicer as it comes."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    def write(self, frame: Frame) -> None:
        self._outbox.post(frame)

    def write_packet(self, packet: object) -> None:
        """Raw frames carry no audio: nothing to copy."""

    def close(self) -> None:
        """Everything was posted as it came."""

    def abort(self) -> None:
        """Nothing is held here."""


class InputPace:
    """The call's budget for waiting on its client: an idle limit and a minimum input rate.

    Only time spent waiting for the client's next message counts (not time the server holds the
    client back through flow control). A single wait over ``idle_timeout`` seconds ends the call;
    so does, over every ``window`` seconds of waiting, less than ``min_rate`` bytes per second on
    average: one byte every ``idle_timeout - 1`` seconds no longer holds a slot for ever.
    """

    def __init__(self, idle_timeout: float, min_rate: float, window: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_timeout = idle_timeout
        self.min_rate = min_rate
        self.window = window
        self._clock = clock
        self._since: float | None = None  # start of the wait in progress
        self._waited = 0.0  # finished waits in the current window, seconds
        self._bytes = 0  # received in the current window

    def waiting(self) -> None:
        """The call starts waiting for the client's next message."""
        self._since = self._clock()

    def received(self, size: int) -> None:
        """A message of ``size`` bytes arrived (or the input ended, with 0)."""
        if self._since is not None:
            self._waited += self._clock() - self._since
            self._since = None
        self._bytes += size
        self.check()

    def check(self) -> None:
        """Raise IdleTimeoutError when the client is too slow; call it now and then while waiting."""
        now = self._clock()
        current = now - self._since if self._since is not None else 0.0
        if current > self.idle_timeout:
            raise IdleTimeoutError(f"no message for {self.idle_timeout:g} s; the stream was dropped")
        waited = self._waited + current
        if waited < self.window:
            return
        if self._bytes < self.min_rate * waited:
            raise IdleTimeoutError(
                f"the client sent {self._bytes} bytes in {waited:.0f} s of waiting, below the server's "
                "minimum "
                f"input rate of {self.min_rate:g} bytes/s; the stream was dropped"
            )
        self._waited, self._bytes = 0.0, 0
        if self._since is not None:
            self._since = now
