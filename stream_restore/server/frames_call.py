"""One ``RestoreFrames`` call: raw frames in, restored raw frames out, one session per call.

Inference runs in a single worker thread owned by the call (``stream-restore-frames-N``), so the
event loop never blocks and the call's session (windows, recurrent state) is touched by one thread
only. Frames split over several messages are reassembled here, within the size their header
announces.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from ..errors import ConfigError, InputError, LimitExceededError
from ..frames import ColorInfo, Frame
from ..models.registry import get_spec
from ..pipeline import StreamSession
from ..pipeline.runner import RunStats
from ..v1 import restore_pb2 as pb
from .convert import _model, frame_from_raw, raw_from_frame, raw_size, summary
from .state import THREAD_PREFIX, ServerState
from .status import IdleTimeoutError

__all__ = ["frames_call"]

log = logging.getLogger(__name__)

T = TypeVar("T")


async def _next(requests: AsyncIterator[pb.FramesRequest], idle: float) -> pb.FramesRequest | None:
    try:
        return await asyncio.wait_for(anext(requests), idle)
    except StopAsyncIteration:
        return None
    except TimeoutError:
        raise IdleTimeoutError(f"no message for {idle:g} s; the stream was dropped") from None


async def frames_call(state: ServerState, requests: AsyncIterator[pb.FramesRequest]) -> AsyncIterator[pb.FramesResponse]:
    """The RestoreFrames RPC as an async generator of responses."""
    config = state.config
    first = await _next(requests, config.idle_timeout)
    if first is None:
        raise InputError("the call ended before its configuration message")
    if first.WhichOneof("kind") != "config":
        raise InputError("the first message must carry the configuration (config), not a frame")
    options = first.config.model
    spec = get_spec(_model(options))
    out_format = first.config.output_format
    if out_format and out_format not in pb.PixelFormat.values():
        raise ConfigError(f"unknown output pixel format {out_format}")
    with state.slots.acquire() as number:
        state.metrics.active_streams.inc()
        executor = ThreadPoolExecutor(1, thread_name_prefix=f"{THREAD_PREFIX}frames-{number}")
        loop = asyncio.get_running_loop()

        async def call(fn: Callable[..., T], *args: object) -> T:
            return await loop.run_in_executor(executor, contextvars.copy_context().run, fn, *args)

        try:
            engine = await call(state.engines.for_stream, spec.name, options.backend, options.tile_max_pixels,
                                options.tile_overlap)
            session = StreamSession(engine, detect_cuts=not options.disable_scene_detection)
            stats = RunStats()
            start = time.perf_counter()
            part_bytes = max(1024, config.max_message_bytes - 4096)
            color = ColorInfo()
            out_fmt = out_format
            head: pb.RawFrame | None = None
            parts: list[bytes] = []
            received = 0
            expected = 0
            first_time: float | None = None

            def responses(frames: list[Frame]) -> list[pb.FramesResponse]:
                messages: list[pb.FramesResponse] = []
                for frame in frames:
                    stats.frames_out += 1
                    state.metrics.frames_out.inc()
                    messages.extend(pb.FramesResponse(frame=m) for m in raw_from_frame(frame, out_fmt, color, part_bytes))
                return messages

            while True:
                message = await _next(requests, config.idle_timeout)
                if message is None:
                    break
                kind = message.WhichOneof("kind")
                if kind == "config":
                    raise ConfigError("configuration sent twice: only the first message may carry config")
                if kind == "reset":
                    if head is not None:
                        raise InputError("reset in the middle of a frame split over several messages")
                    for response in responses(await call(session.reset)):
                        yield response
                    continue
                if kind != "frame":
                    continue
                raw = message.frame
                if head is None:  # first part of a frame
                    head, parts, received = raw, [], 0
                    expected = raw_size(raw.format, raw.width, raw.height)
                parts.append(raw.data)
                received += len(raw.data)
                if received > expected:
                    raise InputError(f"frame {stats.frames_in}: more data than its {head.width}x{head.height} "
                                     f"format needs ({expected} bytes)")
                if raw.more_parts:
                    continue
                frame = frame_from_raw(head, b"".join(parts), stats.frames_in, config)
                if first_time is None:
                    first_time = frame.time
                limit = config.limits.max_duration
                if limit is not None and frame.time is not None and frame.time - (first_time or 0.0) > limit:
                    raise LimitExceededError(f"the stream is longer than the limit of {limit:g} s")
                if not out_fmt:
                    out_fmt = head.format
                if head.format in (pb.PIXEL_FORMAT_YUV420P, pb.PIXEL_FORMAT_NV12):
                    from .convert import _raw_color

                    color = _raw_color(head)
                head, parts = None, []
                stats.frames_in += 1
                state.metrics.frames_in.inc()
                t0 = time.perf_counter()
                restored = await call(session.push, frame)
                stats.infer_seconds += time.perf_counter() - t0
                for response in responses(restored):
                    yield response
            if head is not None:
                raise InputError("the stream ended in the middle of a frame split over several messages")
            for response in responses(await call(session.flush)):
                yield response
            stats.wall_seconds = time.perf_counter() - start
            stats.scene_cuts = session.scene_cuts
            state.metrics.observe_run(stats.frames_out, 0.0, stats.infer_seconds, 0.0)
            yield pb.FramesResponse(summary=summary(stats))
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
            state.metrics.active_streams.dec()
