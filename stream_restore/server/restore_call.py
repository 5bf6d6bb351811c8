"""One ``Restore`` call: input chunks -> byte pipe -> the restore job -> output chunks.

The job is :func:`stream_restore.pipeline.restore`, exactly as the local ``restore`` command runs
it, over a lease on the server's shared engine; :class:`~.calls.StreamCall` runs it in the call's
thread. The request chunks go into a bounded :class:`~.pipes.ByteSource` (the demuxer's pipe), the
muxer writes into a :class:`~.pipes.ChunkSink`, and this module only turns messages into those
and back.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import BinaryIO, cast

from ..errors import ConfigError, InputError
from ..models.registry import get_spec
from ..mp4_index import prefix_is_classic_mp4
from ..pipeline import Progress, RunStats, StreamStart, restore
from ..v1 import restore_pb2 as pb
from .calls import Finished, StreamCall, first_message
from .logs import CALL_ID
from .messages import MIME_TYPES, StreamRequest, stream_info, stream_request, summary
from .pipes import ByteSource, ChunkSink, InputPace
from .state import ServerState

__all__ = ["check_streamable_prefix", "restore_call"]

log = logging.getLogger(__name__)

_SNIFF_BYTES = 4096
_MAX_FTYP_BYTES = 4096  # a file-type box holds a dozen brands: tens of bytes


def check_streamable_prefix(prefix: bytes) -> None:
    """Refuse a classic MP4/MOV whose index (moov) follows the media data: it cannot be read from a pipe.

    Fragmented and "faststart" MP4 (moov before mdat) pass; other containers are not looked at.
    """
    if len(prefix) >= 8 and prefix[4:8] == b"ftyp":
        size = int.from_bytes(prefix[:4], "big")
        if size > _MAX_FTYP_BYTES or size == 1:  # 1: a 64-bit size follows; no real ftyp needs one
            # FFmpeg allocates what the box claims before reading it: 2^31 bytes for 9 KB of input.
            raise InputError(f"the input's MP4 ftyp box claims {size} bytes (at most {_MAX_FTYP_BYTES}); "
                             "it is corrupt")
    if prefix_is_classic_mp4(prefix):
        raise InputError(
            "the input is a classic MP4 with its index (moov) after the media data, which cannot be read "
            "as a stream; send fragmented or faststart MP4 (ffmpeg -movflags +faststart), MPEG-TS or "
            "Matroska (the stream-restore client remuxes such files itself)"
        )


def pace_for(state: ServerState) -> InputPace:
    config = state.config
    return InputPace(config.idle_timeout, config.min_input_rate, config.input_rate_window)


async def restore_call(
    state: ServerState, requests: AsyncIterator[pb.RestoreRequest]
) -> AsyncIterator[pb.RestoreResponse]:
    """The Restore RPC, as an async generator of responses. Raises StreamRestoreError subclasses."""
    pace = pace_for(state)
    first = await first_message(requests, pace, "input bytes")
    request = stream_request(first.config, state.config)
    get_spec(request.job.model)  # NOT_FOUND before any slot is taken
    state.engines.check(request.job.model, request.job.backend)  # PERMISSION_DENIED likewise
    with state.slots.acquire() as number, state.metrics.streaming():
        call = StreamCall(state, number, pace)
        try:
            async with contextlib.aclosing(
                _RestoreRun(call, request, first.config.model).run(requests)
            ) as out:
                async for response in out:
                    yield response
        finally:
            await call.close()


class _RestoreRun:
    """The Restore-specific halves of a :class:`StreamCall`: what goes in, and what comes out."""

    def __init__(self, call: StreamCall, request: StreamRequest, options: pb.ModelOptions) -> None:
        config = call.state.config
        self.call = call
        self.request = request
        self.options = options
        self.source = ByteSource(call.loop, config.input_buffer_bytes, call.cancel)
        self.sink = ChunkSink(call.outbox)
        self.sniffed = b""
        # a message holds one
        self.chunk_bytes = min(config.output_chunk_bytes, config.max_message_bytes - 1024)

    # -- the pipeline thread -------------------------------------------------------------------
    def work(self) -> RunStats:
        job, state = self.request.job, self.call.state
        with state.engines.for_stream(job.model, job.backend, self.options.tile_max_pixels,
                                      self.options.tile_overlap) as engine:
            self.backend_name = getattr(engine, "name", "")
            return restore(cast(BinaryIO, self.source), cast(BinaryIO, self.sink), job,
                           input_format=self.request.input_format, output_format=self.request.container,
                           backend=engine, progress=self.on_progress, cancel=self.call.cancel,
                           on_start=self.on_start)

    def on_start(self, start: StreamStart) -> None:
        request = self.request
        self.call.outbox.post(
            pb.RestoreResponse(
                header=pb.StreamHeader(
                    stream_id=CALL_ID.get(),
                    input=stream_info(start.input),
                    output=stream_info(start.output, start.codec),
                    container=request.container,
                    mime_type=MIME_TYPES[request.container],
                    model=request.job.model,
                    backend=self.backend_name,
                )
            ),
            counted=False,
        )

    def on_progress(self, progress: Progress) -> None:
        self.call.state.metrics.frames_out.inc()
        if progress.frames_done % max(self.request.progress_interval, 1) == 0:
            self.call.outbox.post(pb.RestoreResponse(progress=pb.Progress(
                frames_done=progress.frames_done, frames_total=progress.frames_total or 0,
                fps=progress.fps, elapsed_seconds=progress.elapsed,
            )), counted=False)

    # -- the feeder ----------------------------------------------------------------------------
    async def take(self, message: pb.RestoreRequest) -> int:
        kind = message.WhichOneof("kind")
        if kind == "config":
            raise ConfigError("configuration sent twice: only the first message may carry config")
        if kind != "chunk" or not message.chunk:
            return 0
        if len(self.sniffed) < _SNIFF_BYTES:
            self.sniffed += message.chunk[: _SNIFF_BYTES - len(self.sniffed)]
            check_streamable_prefix(self.sniffed)
        self.call.state.metrics.bytes_in.inc(len(message.chunk))
        await self.source.feed(message.chunk)
        return len(message.chunk)

    # -- the handler ---------------------------------------------------------------------------
    async def run(
        self, requests: AsyncIterator[pb.RestoreRequest]
    ) -> AsyncGenerator[pb.RestoreResponse, None]:
        call, metrics = self.call, self.call.state.metrics
        call.start_pipeline(self.work)
        call.start_feeder(requests, self.take, self.source.close_input)
        pending: list[bytes] = []
        async for item in call.events():
            if isinstance(item, bytes):
                pending.append(item)
                if call.queue.empty() or sum(map(len, pending)) >= self.chunk_bytes:
                    # Writes already queued go out in one message (no waiting: latency stays the same).
                    for response in self._chunks(pending):
                        yield response
                    pending = []
                continue
            for response in self._chunks(pending):
                yield response
            pending = []
            if isinstance(item, pb.RestoreResponse):
                yield item
            elif isinstance(item, Finished):
                stats = cast(RunStats, item.result)
                metrics.frames_in.inc(stats.frames_in)
                metrics.observe_run(
                    stats.frames_out, stats.decode_seconds, stats.infer_seconds, stats.encode_seconds
                )
                log.info("restored %d frames in %.2f s (%.1f fps), %d bytes in, %d bytes "
                         "out", stats.frames_out,
                         stats.wall_seconds, stats.fps, self.source.bytes_in, self.sink.bytes_out)
                yield pb.RestoreResponse(summary=summary(stats, self.source.bytes_in, self.sink.bytes_out))

    def _chunks(self, parts: list[bytes]) -> list[pb.RestoreResponse]:
        if not parts:
            return []
        self.call.outbox.taken(len(parts))
        data = b"".join(parts)
        self.call.state.metrics.bytes_out.inc(len(data))
        return [
            pb.RestoreResponse(chunk=data[i : i + self.chunk_bytes])
            for i in range(0, len(data), self.chunk_bytes)
        ]
