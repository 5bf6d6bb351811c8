"""What every streaming call shares: a pipeline thread, a request reader, one loop over their events.

A streaming call (``Restore``, ``RestoreFrames``) runs three things at once:

* a *feeder* task that reads request messages into the call's inbound pipe (:mod:`.pipes`);
* the *pipeline* thread (``stream-restore-call-N``), which runs :func:`~stream_restore.pipeline.drive`
  through :mod:`stream_restore.pipeline` exactly as the local command does, posting its output to
  the call's outbox;
* the handler, iterating :meth:`StreamCall.events`, which turns the outbox items into responses.

Whatever ends the call (success, an error, the client cancelling or disconnecting, a deadline, a
too-slow client, server shutdown) sets the call's cancel event; :meth:`StreamCall.close` waits for
the thread and the feeder before the handler returns, so the slot, threads and buffers are
released together.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from ..errors import InputError, LimitExceededError
from .memory import release_freed_memory
from .pipes import InputPace, Outbox
from .state import THREAD_PREFIX, ServerState
from .status import IdleTimeoutError, ShuttingDownError

__all__ = ["Finished", "StreamCall", "first_message"]

log = logging.getLogger(__name__)

R = TypeVar("R")
M = TypeVar("M")


class _Message(Protocol):
    def WhichOneof(self, name: str) -> str | None: ...


MessageT = TypeVar("MessageT", bound=_Message)


async def first_message(requests: AsyncIterator[MessageT], pace: InputPace, what: str) -> MessageT:
    """The call's first message, which must carry its configuration."""
    pace.waiting()
    try:
        first = await asyncio.wait_for(anext(requests), pace.idle_timeout)
    except StopAsyncIteration:
        raise InputError("the call ended before its configuration message") from None
    except TimeoutError:
        raise IdleTimeoutError(f"no message for {pace.idle_timeout:g} s; the stream was dropped") from None
    pace.received(0)
    if first.WhichOneof("kind") != "config":
        raise InputError(f"the first message must carry the configuration (config), not {what}")
    return first


@dataclass
class Finished(Generic[R]):
    """The pipeline thread's result (posted last)."""

    result: R | BaseException


class _Wake:
    """Wakes the event loop of a call (to look at its shut-down flag)."""


@dataclass
class _FeedFailed:
    error: BaseException


class StreamCall:
    """The thread, the feeder and the event loop of one streaming call (see the module docstring)."""

    def __init__(self, state: ServerState, number: int, pace: InputPace) -> None:
        config = state.config
        self.state = state
        self.number = number
        self.pace = pace
        self.loop = asyncio.get_running_loop()
        self.cancel = threading.Event()
        self.queue: asyncio.Queue[object] = asyncio.Queue()
        self.outbox = Outbox(self.loop, self.queue, config.output_buffer_chunks, self.cancel)
        self.started = time.perf_counter()
        self._deadline = (
            None if config.max_call_seconds is None else time.monotonic() + config.max_call_seconds
        )
        self._thread_done: asyncio.Future[None] = self.loop.create_future()
        self._thread: threading.Thread | None = None
        self._feeder: asyncio.Task[None] | None = None
        self._waiting = False  # the feeder is waiting for the client's next message
        self._shut_down = False
        state.calls.add(self)

    def shut_down(self) -> None:
        """End the call now with UNAVAILABLE: the server is stopping (from the event loop's thread)."""
        self._shut_down = True
        self.cancel.set()
        self.queue.put_nowait(_Wake())

    # -- starting --------------------------------------------------------------------------
    def start_pipeline(self, work: Callable[[], object]) -> None:
        """Run ``work`` in the call's thread; its result or error arrives as a :class:`Finished` event."""
        slots = self.state.slots

        def run() -> None:
            result: object
            try:
                result = work()
            except BaseException as exc:
                result = exc
            finally:
                slots.thread_finished()
            self.outbox.post(Finished(result), counted=False)
            try:
                self.loop.call_soon_threadsafe(_resolve, self._thread_done)
            except RuntimeError:
                pass

        slots.thread_started()
        self._thread = threading.Thread(target=contextvars.copy_context().run, args=(run,),
                                        name=f"{THREAD_PREFIX}call-{self.number}", daemon=True)
        self._thread.start()

    def start_feeder(self, requests: AsyncIterator[M], handle: Callable[[M], Awaitable[int]],
                     end: Callable[[], None], at_end: Callable[[], None] | None = None) -> None:
        """Read requests until the client's end: ``handle`` each (it returns the bytes it carried).

        ``at_end`` runs when the client ended its input (it may raise, which fails the call);
        ``end`` runs however the reading stopped, and must not raise.
        """

        async def feed() -> None:
            try:
                while True:
                    self.pace.waiting()
                    self._waiting = True
                    try:
                        message = await anext(requests)
                    except StopAsyncIteration:
                        self.pace.received(0)
                        break
                    finally:
                        self._waiting = False
                    self.pace.received(await handle(message))
                if at_end is not None:
                    at_end()
                end()
            except asyncio.CancelledError:
                end()
                raise
            except BaseException as exc:
                self.cancel.set()
                end()
                self.queue.put_nowait(_FeedFailed(exc))

        self._feeder = asyncio.create_task(feed())

    # -- running ---------------------------------------------------------------------------
    async def events(self) -> AsyncIterator[object]:
        """Outbox items in order until the pipeline's :class:`Finished`, which is yielded last.

        Raises the feeder's error, the pipeline's error, or IdleTimeoutError for a slow client.
        """
        while True:
            try:
                item = await asyncio.wait_for(self.queue.get(), timeout=1.0)
            except TimeoutError:
                self._check_budget()
                continue
            self._check_budget()
            if self._shut_down:
                raise ShuttingDownError("the server is shutting down and the call outlived its grace period; "
                                        "retry on another instance")
            if isinstance(item, _Wake):
                continue
            if isinstance(item, _FeedFailed):
                raise item.error
            if isinstance(item, Finished):
                if isinstance(item.result, BaseException):
                    raise item.result
                yield item
                return
            yield item

    def _check_budget(self) -> None:
        if self._waiting:
            self.pace.check()
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise LimitExceededError(
                f"the call ran longer than the server's limit of {self.state.config.max_call_seconds:g} s"
            )

    async def close(self) -> None:
        """Stop everything the call started and wait for it (the thread gets 5 s, the feeder 1 s)."""
        self.state.calls.discard(self)
        self.cancel.set()
        if self._feeder is not None:
            self._feeder.cancel()
        if self._thread is not None:
            await asyncio.wait([self._thread_done], timeout=5.0)
            if not self._thread_done.done():
                log.error("the pipeline thread did not stop within 5 s of the end of its call")
        if self._feeder is not None:
            await asyncio.wait([self._feeder], timeout=1.0)
            if not self._feeder.done():
                log.error("the request reader did not stop within 1 s of the end of its call")
        try:
            await self.loop.run_in_executor(self.state.executor, release_freed_memory)
        except RuntimeError:  # the executor is shut down: the server is stopping anyway
            pass


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
