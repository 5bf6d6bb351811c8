"""Per-stream plumbing between the asyncio servicer and the restoring threads.

:class:`ByteSource` is the readable file-like object (``read`` only: no ``seek``, so FFmpeg treats it as a pipe) PyAV demuxes: the servicer feeds request
chunks into it, and it holds at most ``limit`` bytes, so a fast client is held back by gRPC flow
control instead of filling the server's memory. :class:`ChunkSink` is the writable file-like
object the muxer writes: each write is handed to the event loop at once (no latency added), and
the encoder waits when the client reads slower than the server restores. :class:`StreamSlots`
counts and limits concurrent streams and their threads.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import LimitExceededError

__all__ = ["ByteSource", "ChunkSink", "StreamSlots"]

_POLL = 0.05  # seconds between cancellation checks of a blocked reader or writer


class ByteSource:
    """A blocking, bounded byte pipe: asyncio side feeds, a PyAV thread reads.

    ``read`` blocks until data arrives; it returns ``b""`` at the end of the input and also once
    ``cancel`` is set, so a demuxer blocked in it returns within ``_POLL`` seconds.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, limit: int, cancel: threading.Event) -> None:
        self._loop = loop
        self._limit = limit
        self._cancel = cancel
        self._chunks: collections.deque[memoryview] = collections.deque()
        self._size = 0
        self._eof = False
        self._cond = threading.Condition()
        self._space = asyncio.Event()
        self._space.set()
        self.bytes_in = 0

    # -- asyncio side ------------------------------------------------------------------------
    async def feed(self, data: bytes) -> None:
        """Append ``data``; waits (without blocking the loop) while the buffer is full."""
        while True:
            with self._cond:
                if self._size < self._limit or self._eof:
                    break
                self._space.clear()
            await self._space.wait()
        with self._cond:
            if self._eof:
                return  # the reader is gone: drop the data
            self._chunks.append(memoryview(data))
            self._size += len(data)
            self.bytes_in += len(data)
            self._cond.notify_all()

    def close_input(self) -> None:
        """End of the input: readers get the remaining bytes, then ``b""``."""
        with self._cond:
            self._eof = True
            self._cond.notify_all()
        self._loop.call_soon_threadsafe(self._space.set)

    # -- reader side (PyAV's thread) -----------------------------------------------------------
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
            had_room = self._size < self._limit
        if had_room:
            try:
                self._loop.call_soon_threadsafe(self._space.set)
            except RuntimeError:  # the loop is closed: nobody is feeding any more
                pass
        return done

    def read(self, size: int = -1) -> bytes:
        size = 1 << 16 if size is None or size < 0 else size
        buffer = bytearray(size)
        n = self.readinto(memoryview(buffer))
        return bytes(buffer[:n])


class ChunkSink:
    """A writable file-like object whose writes go to an asyncio queue (bounded in chunks)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[object], limit: int,
                 cancel: threading.Event) -> None:
        self._loop = loop
        self._queue = queue
        self._cancel = cancel
        self._slots = threading.BoundedSemaphore(limit)
        self.bytes_out = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        chunk = bytes(data)
        if not chunk:
            return 0
        while not self._slots.acquire(timeout=_POLL):
            if self._cancel.is_set():
                return len(chunk)  # drop: the call is over
        self.bytes_out += len(chunk)
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, chunk)
        except RuntimeError:
            pass
        return len(chunk)

    def taken(self, count: int = 1) -> None:
        """The servicer sent ``count`` chunks: let the writer queue as many more."""
        for _ in range(count):
            try:
                self._slots.release()
            except ValueError:
                break


class StreamSlots:
    """Limits concurrent streams; counts live sessions and the threads working for them."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._active = 0
        self._threads = 0
        self._ids = itertools.count(1)
        self.started = 0

    @property
    def active(self) -> int:
        return self._active

    @property
    def threads(self) -> int:
        """Threads started for streams and not yet finished (each of them joins its own helpers)."""
        return self._threads

    @contextmanager
    def acquire(self) -> Iterator[int]:
        """Hold one stream slot; raises LimitExceededError when all are taken."""
        with self._lock:
            if self._active >= self.limit:
                raise LimitExceededError(
                    f"the server is running its maximum of {self.limit} concurrent streams; retry later"
                )
            self._active += 1
            self.started += 1
            number = next(self._ids)
        try:
            yield number
        finally:
            with self._lock:
                self._active -= 1

    def thread_started(self) -> None:
        with self._lock:
            self._threads += 1

    def thread_finished(self) -> None:
        with self._lock:
            self._threads -= 1
