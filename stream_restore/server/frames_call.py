"""One ``RestoreFrames`` call: raw frames in, restored raw frames out, through the one pipeline driver.

Frames split over several messages are reassembled here, and the size a frame's first part
announces is checked against the limits (pixels, and bytes per frame) before any of its data is
held, so a header declaring 2^31 x 2^31 ends the call at its first part. Complete frames go into
a bounded :class:`~.pipes.FrameFeed`, resets as :class:`~stream_restore.pipeline.Discontinuity`;
the pipeline thread starts with the first frame (which describes the stream) and runs
:func:`~stream_restore.pipeline.drive` like every other entry point.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from fractions import Fraction
from typing import cast

from ..config import PipelineOptions
from ..errors import ConfigError, InputError
from ..frames import ColorInfo, Frame, StreamInfo
from ..models.registry import get_spec
from ..pipeline import Discontinuity, RestoreJob, RunStats, drive
from ..v1 import restore_pb2 as pb
from .calls import Finished, StreamCall, first_message
from .messages import frame_from_raw, model_name, raw_color, raw_frame_size, raw_from_frame, summary
from .pipes import FrameFeed, FrameOutbox
from .restore_call import pace_for
from .state import ServerState

__all__ = ["frames_call"]

_FEED_FRAMES = 2  # complete input frames held before the client is held back


async def frames_call(
    state: ServerState, requests: AsyncIterator[pb.FramesRequest]
) -> AsyncIterator[pb.FramesResponse]:
    """The RestoreFrames RPC as an async generator of responses."""
    pace = pace_for(state)
    first = await first_message(requests, pace, "a frame")
    options = first.config.model
    model = model_name(options)
    get_spec(model)  # NOT_FOUND before any slot is taken
    state.engines.check(model, options.backend)
    out_format = first.config.output_format
    if out_format and out_format not in pb.PixelFormat.values():
        raise ConfigError(f"unknown output pixel format {out_format}")
    with state.slots.acquire() as number, state.metrics.streaming():
        call = StreamCall(state, number, pace)
        try:
            async with contextlib.aclosing(_FramesRun(call, first.config).run(requests)) as out:
                async for response in out:
                    yield response
        finally:
            await call.close()


class _FramesRun:
    """Reassembles request frames into the feed; turns restored frames into response messages."""

    def __init__(self, call: StreamCall, config: pb.FramesConfig) -> None:
        server = call.state.config
        self.call = call
        self.options = config.model
        self.job = RestoreJob(
            model=config.model.model, backend=config.model.backend or "",
            pipeline=PipelineOptions(scene_detection=not config.model.disable_scene_detection),
            limits=server.limits,
        )
        self.out_format = config.output_format
        self.part_bytes = max(1024, server.max_message_bytes - 4096)
        self.color = ColorInfo()
        self.feed: FrameFeed | None = None
        self.head: pb.RawFrame | None = None  # the first part of the frame being reassembled
        self.parts: list[bytes] = []
        self.received = 0
        self.expected = 0
        self.frames_in = 0

    # -- the feeder ----------------------------------------------------------------------------
    async def take(self, message: pb.FramesRequest) -> int:
        kind = message.WhichOneof("kind")
        if kind == "config":
            raise ConfigError("configuration sent twice: only the first message may carry config")
        if kind == "reset":
            if self.head is not None:
                raise InputError("reset in the middle of a frame split over several messages")
            if self.feed is not None:
                await self.feed.put(Discontinuity())
            return 0
        if kind != "frame":
            return 0
        raw = message.frame
        if self.head is None:  # first part: its header says how much is coming, checked now
            self.expected = raw_frame_size(raw, self.call.state.config, self.frames_in)
            self.head, self.parts, self.received = raw, [], 0
        self.received += len(raw.data)
        if self.received > self.expected:
            raise InputError(f"frame {self.frames_in}: more data than its "
                             f"{self.head.width}x{self.head.height} "
                             f"format needs ({self.expected} bytes)")
        self.parts.append(raw.data)
        if raw.more_parts:
            return len(raw.data)
        head, data = self.head, b"".join(self.parts)
        self.head, self.parts = None, []
        frame = frame_from_raw(head, data, self.frames_in)
        self.frames_in += 1
        self.call.state.metrics.frames_in.inc()
        self.color = raw_color(head)
        if not self.out_format:
            self.out_format = head.format
        if self.feed is None:
            self.feed = FrameFeed(self.call.loop, _FEED_FRAMES, self.call.cancel, _describe(frame, head))
            self.call.start_pipeline(self.work)
        await self.feed.put(frame)
        return len(raw.data)

    def at_end(self) -> None:
        if self.head is not None:
            raise InputError("the stream ended in the middle of a frame split over several messages")
        if self.feed is None:  # no frame at all: nothing to run
            self.call.outbox.post(Finished(RunStats()), counted=False)

    def end(self) -> None:
        if self.feed is not None:
            self.feed.close_input()

    # -- the pipeline thread -------------------------------------------------------------------
    def work(self) -> RunStats:
        assert self.feed is not None
        with self.call.state.engines.for_stream(
            self.job.model, self.job.backend, self.options.tile_max_pixels, self.options.tile_overlap
        ) as engine:
            return drive(self.feed, FrameOutbox(self.call.outbox), engine, self.job, name="raw frames",
                         cancel=self.call.cancel)

    # -- the handler ---------------------------------------------------------------------------
    async def run(self, requests: AsyncIterator[pb.FramesRequest]) -> AsyncGenerator[pb.FramesResponse, None]:
        call, metrics = self.call, self.call.state.metrics
        call.start_feeder(requests, self.take, self.end, self.at_end)
        async for item in call.events():
            if isinstance(item, Frame):
                call.outbox.taken()
                metrics.frames_out.inc()
                for message in raw_from_frame(item, self.out_format, self.color, self.part_bytes):
                    yield pb.FramesResponse(frame=message)
            elif isinstance(item, Finished):
                stats = cast(RunStats, item.result)
                metrics.observe_run(stats.frames_out, 0.0, stats.infer_seconds, 0.0)
                yield pb.FramesResponse(summary=summary(stats))


def _describe(frame: Frame, head: pb.RawFrame) -> StreamInfo:
    """The stream a raw-frame call carries, as its first frame shows it."""
    return StreamInfo(width=frame.width, height=frame.height, time_base=frame.time_base or Fraction(1, 90000),
                      frame_rate=None, color=raw_color(head), codec="rawvideo")
