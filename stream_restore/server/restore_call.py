"""One ``Restore`` call: input chunks -> byte pipe -> the local restore job -> output chunks.

The job runs in its own thread (``stream-restore-call-N``) exactly as the local ``restore``
command runs it, with the server's shared engine. Three things run concurrently:

* a feeder task reading request messages into a bounded :class:`ByteSource` (when it is full the
  feeder stops reading, and gRPC flow control stops the client);
* the job thread, whose muxer writes into a :class:`ChunkSink`;
* the handler, which forwards header, output chunks, progress and the summary to the client.

Whatever ends the call (success, an error, the client cancelling or disconnecting, a deadline,
server shutdown) sets the job's cancel event; the handler waits for the job thread before it
returns, so the stream slot, threads and buffers are released together.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import BinaryIO, cast

from ..backends import Backend
from ..errors import ConfigError, InputError, LimitExceededError
from ..frames import StreamInfo
from ..media.codecs import resolve_encoder
from ..models.registry import get_spec
from ..pipeline import restore
from ..pipeline.runner import Progress, RunStats
from ..v1 import restore_pb2 as pb
from .convert import MIME_TYPES, StreamRequest, stream_info, stream_request, summary
from .logs import CALL_ID
from .state import THREAD_PREFIX, ServerState
from .status import IdleTimeoutError
from .streams import ByteSource, ChunkSink

__all__ = ["check_streamable_prefix", "restore_call"]

log = logging.getLogger(__name__)

_SNIFF_BYTES = 4096


@dataclass
class _Done:
    result: RunStats | BaseException


@dataclass
class _FeedFailed:
    error: BaseException


def check_streamable_prefix(prefix: bytes) -> None:
    """Refuse a classic MP4/MOV whose index (moov) follows the media data: it cannot be read from a pipe.

    Fragmented and "faststart" MP4 (moov before mdat) pass; other containers are not looked at.
    """
    if len(prefix) < 16 or prefix[4:8] != b"ftyp":
        return
    offset = 0
    while offset + 8 <= len(prefix):
        size = int.from_bytes(prefix[offset : offset + 4], "big")
        kind = prefix[offset + 4 : offset + 8]
        if kind in (b"moov", b"moof"):
            return
        if kind == b"mdat":
            raise InputError(
                "the input is a classic MP4 with its index (moov) after the media data, which cannot be read "
                "as a stream; send fragmented or faststart MP4 (ffmpeg -movflags +faststart), MPEG-TS or "
                "Matroska (the stream-restore client remuxes such files itself)"
            )
        if size < 8:
            return
        offset += size


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _next_request(requests: AsyncIterator[pb.RestoreRequest], idle: float) -> pb.RestoreRequest | None:
    try:
        return await asyncio.wait_for(anext(requests), idle)
    except StopAsyncIteration:
        return None
    except TimeoutError:
        raise IdleTimeoutError(f"no message for {idle:g} s; the stream was dropped") from None


async def restore_call(
    state: ServerState, requests: AsyncIterator[pb.RestoreRequest]
) -> AsyncIterator[pb.RestoreResponse]:
    """The Restore RPC, as an async generator of responses. Raises StreamRestoreError subclasses."""
    config = state.config
    first = await _next_request(requests, config.idle_timeout)
    if first is None:
        raise InputError("the call ended before its configuration message")
    if first.WhichOneof("kind") != "config":
        raise InputError("the first message must carry the configuration (config), not input bytes")
    request = stream_request(first.config, config)
    spec = get_spec(request.job.model)  # NOT_FOUND before any slot is taken
    with state.slots.acquire() as number:
        state.metrics.active_streams.inc()
        try:
            loop = asyncio.get_running_loop()
            options = first.config.model
            engine = await loop.run_in_executor(  # in the call's context: its logs carry the call id
                state.executor, contextvars.copy_context().run, state.engines.for_stream, spec.name, options.backend,
                options.tile_max_pixels, options.tile_overlap,
            )
            # aclosing: if this generator is closed early, the inner one cleans up at once, not at GC
            async with contextlib.aclosing(_run(state, request, engine, requests, number)) as responses:
                async for response in responses:
                    yield response
        finally:
            state.metrics.active_streams.dec()


async def _run(state: ServerState, request: StreamRequest, engine: Backend, requests: AsyncIterator[pb.RestoreRequest],
               number: int) -> AsyncGenerator[pb.RestoreResponse, None]:
    config = state.config
    loop = asyncio.get_running_loop()
    cancel = threading.Event()
    events: asyncio.Queue[object] = asyncio.Queue()
    source = ByteSource(loop, config.input_buffer_bytes, cancel)
    sink = ChunkSink(loop, events, config.output_buffer_chunks, cancel)
    finished: asyncio.Future[None] = loop.create_future()
    waiting_since: list[float | None] = [None]  # when the feeder started waiting for the client
    job = request.job
    limits = job.limits
    started = time.perf_counter()
    rate: list[float] = [0.0]
    chunk_bytes = min(config.output_chunk_bytes, config.max_message_bytes - 1024)  # a message holds one

    def post(item: object) -> None:
        try:
            loop.call_soon_threadsafe(events.put_nowait, item)
        except RuntimeError:  # loop closed: the call is long gone
            pass

    def on_start(info: StreamInfo) -> None:
        rate[0] = float(info.frame_rate or 0)
        out_info = info.with_size(info.width * engine.spec.scale, info.height * engine.spec.scale)
        codec = resolve_encoder(job.encode, request.container, info.color).codec
        post(pb.RestoreResponse(header=pb.StreamHeader(
            stream_id=CALL_ID.get(), input=stream_info(info), output=stream_info(out_info, codec),
            container=request.container, mime_type=MIME_TYPES[request.container], model=job.model,
            backend=getattr(engine, "name", ""),
        )))

    def on_progress(progress: Progress) -> None:
        state.metrics.frames_out.inc()
        if limits.max_duration is not None and rate[0] > 0 and progress.frames_done / rate[0] > limits.max_duration:
            raise LimitExceededError(f"the stream is longer than the limit of {limits.max_duration:g} s")
        interval = max(request.progress_interval, 1)
        if progress.frames_done % interval == 0:
            post(pb.RestoreResponse(progress=pb.Progress(
                frames_done=progress.frames_done, frames_total=progress.frames_total or 0,
                fps=progress.fps, elapsed_seconds=progress.elapsed,
            )))

    def work() -> None:
        result: RunStats | BaseException
        try:
            result = restore(
                cast(BinaryIO, source), cast(BinaryIO, sink), job, input_format=request.input_format,
                output_format=request.container, backend=engine, progress=on_progress, cancel=cancel,
                on_start=on_start,
            )
        except BaseException as exc:
            result = exc
        finally:
            state.slots.thread_finished()
        post(_Done(result))
        try:
            loop.call_soon_threadsafe(_resolve, finished)
        except RuntimeError:
            pass

    async def feed() -> None:
        try:
            sniffed = b""
            while True:
                waiting_since[0] = time.monotonic()
                try:
                    message = await anext(requests)
                except StopAsyncIteration:
                    break
                finally:
                    waiting_since[0] = None
                kind = message.WhichOneof("kind")
                if kind == "config":
                    raise ConfigError("configuration sent twice: only the first message may carry config")
                if kind != "chunk" or not message.chunk:
                    continue
                if len(sniffed) < _SNIFF_BYTES:
                    sniffed += message.chunk[: _SNIFF_BYTES - len(sniffed)]
                    check_streamable_prefix(sniffed)
                state.metrics.bytes_in.inc(len(message.chunk))
                await source.feed(message.chunk)
            source.close_input()
        except asyncio.CancelledError:
            source.close_input()
            raise
        except BaseException as exc:
            cancel.set()
            source.close_input()
            events.put_nowait(_FeedFailed(exc))

    state.slots.thread_started()
    thread = threading.Thread(target=contextvars.copy_context().run, args=(work,),
                              name=f"{THREAD_PREFIX}call-{number}", daemon=True)
    thread.start()
    feeder = asyncio.create_task(feed())
    done = False
    carried: object = None  # an item taken while coalescing output chunks, handled next
    try:
        while True:
            if carried is not None:
                item, carried = carried, None
            else:
                try:
                    item = await asyncio.wait_for(events.get(), timeout=min(1.0, config.idle_timeout))
                except TimeoutError:
                    since = waiting_since[0]
                    if since is not None and time.monotonic() - since > config.idle_timeout:
                        raise IdleTimeoutError(
                            f"no message for {config.idle_timeout:g} s; the stream was dropped") from None
                    continue
            if isinstance(item, bytes):
                # Writes already queued go out in one message (no waiting: latency stays the same).
                parts, size = [item], len(item)
                while size < chunk_bytes and not events.empty():
                    following = events.get_nowait()
                    if not isinstance(following, bytes):
                        carried = following
                        break
                    parts.append(following)
                    size += len(following)
                sink.taken(len(parts))
                data = b"".join(parts)
                state.metrics.bytes_out.inc(len(data))
                for i in range(0, len(data), chunk_bytes):
                    yield pb.RestoreResponse(chunk=data[i : i + chunk_bytes])
            elif isinstance(item, pb.RestoreResponse):
                yield item
            elif isinstance(item, _FeedFailed):
                raise item.error
            elif isinstance(item, _Done):
                if isinstance(item.result, BaseException):
                    raise item.result
                stats = item.result
                state.metrics.frames_in.inc(stats.frames_in)
                state.metrics.observe_run(stats.frames_out, stats.decode_seconds, stats.infer_seconds, stats.encode_seconds)
                done = True
                log.info("restored %d frames in %.2f s (%.1f fps), %d bytes in, %d bytes out",
                         stats.frames_out, time.perf_counter() - started, stats.fps, source.bytes_in, sink.bytes_out)
                yield pb.RestoreResponse(summary=summary(stats, source.bytes_in, sink.bytes_out))
                return
    finally:
        if not done:
            cancel.set()
        source.close_input()
        feeder.cancel()
        await asyncio.wait([finished], timeout=5.0)
        if not finished.done():
            log.error("the restore thread did not stop within 5 s of the end of its call")
        await asyncio.wait([feeder], timeout=1.0)
        if not feeder.done():
            log.error("the request reader did not stop within 1 s of the end of its call")
