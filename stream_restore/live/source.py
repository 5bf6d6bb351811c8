"""A live source for the pipeline driver: reconnects, keeps timestamps increasing, drops to stay live.

:class:`LiveSource` is a :class:`~stream_restore.pipeline.stages.FrameSource`. Per connection a
reader thread demuxes packets into a bounded :class:`_Buffer` (``buffer_packets``); the pipeline's
decode stage, iterating the source, decodes them and decides, frame by frame, what to hand on:

* **Pacing.** A frame is handed over no earlier than its due time: the connection's first frame is
  due when it arrived, later ones by their timestamps from there (a burst, such as an HLS segment
  fetched at once, is spread out again). A due time never lies before the frame's own receipt, and
  a frame is not held while packets received after it wait: that burst is a backlog (what probing
  read at the connect), and holding it would keep the whole stream that much behind.
* **Drop** (default). Latency is kept under ``max_latency`` (receipt -> output mux). Before
  decoding: a video packet already older than the bound, with a later keyframe waiting, is dropped
  with everything up to that keyframe (no decoding spent on frames that could not be shown in
  time); a full buffer drops its oldest packet and video up to the next keyframe. After decoding: a
  frame whose due time plus the measured time of the rest of the pipeline (:class:`.Ledger`) is past
  the bound, or one more than two frame intervals late while a newer frame waits, is dropped; an
  idle pipeline always gets the newest frame (a model slower than the bound still publishes, at its
  own pace). Every drop is counted. **Block**: nothing is dropped; a full buffer holds the reader back.
* **Audio** is decoded here, resampled to 48 kHz stereo and handed on as :class:`AudioChunk` with
  timestamps on the output timeline; it is never dropped for lateness, so dropped video frames
  leave holes in the video track only and what is published stays in sync.
* **Loss.** End of input, a read error, or no packet for ``stall_timeout`` ends the connection;
  the source is reopened with exponential backoff and jitter, a
  :class:`~stream_restore.pipeline.Discontinuity` resets the recurrent state, and the output
  timeline continues one frame after the last frame before the loss.

Setting ``stop`` ends the iteration (the pipeline then flushes and the publisher finishes).
"""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction

from ..config import Limits
from ..errors import CancelledError, InputError
from ..frames import Frame, StreamInfo
from ..media.live_in import AUDIO_RATE, LiveInput, Received
from ..pipeline import Discontinuity
from .counters import Ledger, LiveCounters
from .options import DROP, IngestOptions

__all__ = ["VIDEO_TIME_BASE", "AudioChunk", "LiveSource"]

log = logging.getLogger(__name__)

VIDEO_TIME_BASE = Fraction(1, 90000)
_POLL = 0.1  # seconds between looks at the stop flag while waiting


@dataclass
class AudioChunk:
    """Decoded audio (48 kHz stereo float, a PyAV AudioFrame) at ``pts`` samples on the output timeline."""

    frame: object
    pts: int


class _Lost(Exception):
    """The connection ended (its reason is the message)."""


class _Buffer:
    """Packets between the reader thread and the decoder: bounded, with the drop policy's overflow."""

    def __init__(self, capacity: int, drop: bool) -> None:
        self.capacity, self.drop = capacity, drop
        self.items: collections.deque[Received] = collections.deque()
        self.cond = threading.Condition()
        self.ended: BaseException | None = None
        self.finished = False
        self.need_key = False  # video packets were lost: wait for a keyframe
        self.overflow = 0  # video packets dropped on overflow (counted by the consumer)

    def push(self, item: Received, stop: threading.Event) -> bool:
        with self.cond:
            while len(self.items) >= self.capacity:
                if self.drop:
                    old = self.items.popleft()
                    if old.kind == "video":
                        self.overflow += 1
                        self.need_key = True
                    continue
                if stop.is_set():
                    return False
                self.cond.wait(_POLL)
            self.items.append(item)
            self.cond.notify_all()
        return True

    def end(self, error: BaseException | None) -> None:
        with self.cond:
            self.finished, self.ended = True, error
            self.cond.notify_all()

    def take(self, stop: threading.Event, stall: float) -> Received | None:
        """The next packet; None when stopped; raises _Lost at the end or after ``stall`` s of silence."""
        deadline = time.monotonic() + stall
        with self.cond:
            while not self.items:
                if stop.is_set():
                    return None
                if self.finished:
                    raise _Lost(str(self.ended) if self.ended else "the source ended")
                if time.monotonic() > deadline:
                    raise _Lost(f"no data for {stall:g} s (stalled)")
                self.cond.wait(_POLL)
            item = self.items.popleft()
            self.cond.notify_all()
            return item

    def newer_video_waiting(self, receipt: float) -> bool:
        """Whether a video packet received after ``receipt`` waits: the source has moved on, so a
        burst still being paced out is a backlog (probed packets), not frames sent ahead (HLS)."""
        with self.cond:
            return any(item.kind == "video" and item.receipt > receipt for item in self.items)

    def video_waiting(self) -> bool:
        with self.cond:
            return any(item.kind == "video" for item in self.items)

    def skip_to_keyframe(self) -> int:
        """Drop the video packets before the latest keyframe waiting (audio stays); how many went."""
        with self.cond:
            keys = [i for i, item in enumerate(self.items) if item.kind == "video" and item.key]
            if not keys:
                return 0
            last = keys[-1]
            kept = [item for i, item in enumerate(self.items) if i >= last or item.kind != "video"]
            dropped = len(self.items) - len(kept)
            self.items = collections.deque(kept)
            self.cond.notify_all()
            return dropped


class LiveSource:
    """Frames and audio of a live URL, across reconnects (see the module docstring)."""

    def __init__(self, url: str, options: IngestOptions, counters: LiveCounters, ledger: Ledger,
                 stop: threading.Event, *, local: bool = False, limits: Limits | None = None,
                 opener: Callable[..., LiveInput] = LiveInput) -> None:
        self.url, self.options, self.counters, self.ledger, self.stop = url, options, counters, ledger, stop
        self.local, self.limits, self._opener = local, limits or Limits(), opener
        self.corrupt_packets = 0
        self.warnings: list[str] = []
        self._drop = options.policy == DROP
        self._index = 0
        self._last_out: float | None = None  # output time (s) of the latest frame handed on
        self._audio_next: int | None = None  # the next audio sample expected on the output timeline
        self._step = 1 / 30
        self._pending: list[object] = []
        self.has_audio = False
        self.lookahead = 0  # frames the model holds back (its future frames): in flight even when idle
        self._input: LiveInput | None = None
        self._reader: threading.Thread | None = None
        self._buffer: _Buffer | None = None
        connected = self._connect()
        if connected is None:
            raise CancelledError("stopped before the source connected")
        self._use(connected)
        self._items = self._run()
        for item in self._items:
            self._pending.append(item)
            if isinstance(item, Frame):
                assert self._input is not None
                self.info: StreamInfo = self._input.describe(item)
                self.has_audio = self._input.audio is not None
                return
        raise CancelledError("stopped before the first frame")

    # -- connections ------------------------------------------------------------------------
    def _connect(self) -> LiveInput | None:
        """Open the source, retrying with exponential backoff and jitter until it opens or ``stop``."""
        attempt = 0
        while not self.stop.is_set():
            try:
                return self._opener(self.url, transport=self.options.transport,
                                    stall_timeout=self.options.stall_timeout,
                                    open_timeout=self.options.open_timeout, limits=self.limits,
                                    local=self.local)
            except InputError as exc:
                self.counters.last_error = str(exc)
                delay = min(self.options.backoff_max, self.options.backoff_initial * 2 ** attempt)
                delay = delay / 2 + random.uniform(0, delay / 2)
                log.info("live source %s: %s; retrying in %.2f s", self.url, exc, delay)
                attempt += 1
                self.stop.wait(delay)
        return None

    def _use(self, live: LiveInput) -> None:
        self._input = live
        # A local file is read faster than real time: its reader waits rather than overflowing.
        self._buffer = buffer = _Buffer(self.options.buffer_packets, self._drop and not self.local)
        if live.frame_rate:
            self._step = float(1 / live.frame_rate)

        counters = self.counters

        def read() -> None:
            try:
                for item in live.packets():
                    if item.kind == "video":  # counted as received, whether decoded or dropped later
                        counters.frames_in += 1
                        counters.input_rate.tick()
                    if not buffer.push(item, self.stop) or self.stop.is_set():
                        break
                buffer.end(None)
            except BaseException as exc:  # the consumer sees it as the connection's end
                buffer.end(exc)

        self._reader = threading.Thread(target=read, name="stream-restore-live-reader", daemon=True)
        self._reader.start()

    def _release(self) -> None:
        """Wait for the reader (it ends at the latest at its stall timeout), then close the input."""
        if self._reader is not None:
            self._reader.join(self.options.stall_timeout + self.options.open_timeout + 1)
            if self._reader.is_alive():
                log.error("live source %s: the reader thread did not stop; the input is left open", self.url)
                return
        if self._input is not None:
            self.corrupt_packets += self._input.corrupt_packets
            self._input.close()
        self._input = self._reader = None

    # -- iteration --------------------------------------------------------------------------
    def __iter__(self) -> Iterator[object]:
        while self._pending:
            yield self._pending.pop(0)
        yield from self._items

    def _run(self) -> Iterator[object]:
        while True:
            self.counters.state = "live"
            try:
                yield from self._connection()
                return  # stopped
            except _Lost as lost:
                reason = str(lost)
            self._release()
            if self.stop.is_set():
                return
            self.counters.state, self.counters.last_error = "reconnecting", reason
            self.counters.reconnects += 1
            log.warning("live source %s lost (%s); reconnecting", self.url, reason)
            connected = self._connect()
            if connected is None:
                return
            self._use(connected)
            yield Discontinuity()

    def _connection(self) -> Iterator[object]:
        """Items of the current connection; returns when stopped, raises _Lost when it ends."""
        live, buffer, options = self._input, self._buffer, self.options
        assert live is not None and buffer is not None
        timeline = _Timeline(self._last_out, self._step, options.max_latency, reanchor=not self.local)
        while True:
            received = buffer.take(self.stop, options.stall_timeout)
            if received is None:
                return
            if received.kind == "audio":
                yield from self._audio(live, received, timeline)
                continue
            if self._skip_before_decode(buffer, received):
                continue
            for when, frame, receipt in live.decode_video(received.packet, received.receipt):
                item = self._frame(frame, when, receipt, timeline, buffer)
                if item is not None:
                    yield item

    def _skip_before_decode(self, buffer: _Buffer, received: Received) -> bool:
        if not self._drop:
            return False
        dropped = buffer.overflow
        buffer.overflow = 0
        if buffer.need_key and not received.key:
            dropped += 1
        elif time.monotonic() - received.receipt > self.options.max_latency:
            skipped = buffer.skip_to_keyframe()
            if skipped:
                dropped += 1 + skipped
                buffer.need_key = True
        if buffer.need_key and received.key and not dropped:
            buffer.need_key = False
        self.counters.dropped += dropped
        self.counters.dropped_before_decode += dropped
        return dropped > 0

    def _frame(self, frame: Frame, when: float, receipt: float, timeline: _Timeline,
               buffer: _Buffer) -> Frame | None:
        out = timeline.output_time(when)
        due = timeline.due(when, receipt)
        now = time.monotonic()
        if self._last_out is not None and out <= self._last_out:
            return None  # a repeated or out-of-order timestamp: no encoder takes it
        if self._drop:
            # Predicted late, unless the pipeline is idle: a model slower than the bound still gets
            # the newest frame each time it is free (else it would publish nothing, and the estimate
            # of its time, updated by published frames only, would never come down again).
            late = (now + self.ledger.downstream - due > self.options.max_latency
                    and self.ledger.in_flight() > self.lookahead)
            behind = now - due > 2 * self._step and buffer.video_waiting()
            if late or behind:
                self.counters.dropped += 1
                return None
        if due > now and buffer.newer_video_waiting(receipt + self._step / 2):
            due = timeline.release(due, now)  # a backlog: release it, and pace from here on
        while due - time.monotonic() > 0.0005 and not self.stop.is_set():  # pace on the timestamps
            self.stop.wait(min(_POLL, due - time.monotonic()))
        self._last_out = out
        frame.pts, frame.time_base, frame.index = round(out / VIDEO_TIME_BASE), VIDEO_TIME_BASE, self._index
        # A local file is read ahead on purpose: its frames "arrive" when they are due.
        self.ledger.handed_over(self._index, due if self.local else receipt, time.monotonic())
        self._index += 1
        return frame

    def _audio(self, live: LiveInput, received: Received, timeline: _Timeline) -> Iterator[AudioChunk]:
        for when, samples in live.decode_audio(received.packet):
            if not timeline.started:
                continue  # audio before the connection's first video frame has no place yet
            pts = round(timeline.output_time(when) * AUDIO_RATE)
            if pts < round(timeline.base * AUDIO_RATE):
                continue  # before the connection's first frame
            count = int(getattr(samples, "samples", 0))
            if self._audio_next is not None:
                if pts < self._audio_next - AUDIO_RATE // 10:
                    continue  # overlaps what was already handed on (a restarted source)
                if pts < self._audio_next + AUDIO_RATE // 50:
                    pts = self._audio_next  # small jitter: keep the audio contiguous
            self._audio_next = pts + count
            yield AudioChunk(samples, pts)

    def close(self) -> None:
        self.stop.set()
        self._release()


class _Timeline:
    """One connection's mapping of source time to output time and to due (wall) times.

    Output time continues one frame after ``previous`` (the last frame of the earlier connection),
    so timestamps keep increasing across reconnects; due times start at the first frame's receipt
    and follow the timestamps, moved earlier whenever a frame that arrived on its own (not in a
    burst) came earlier for its timestamp than the anchor says, and re-anchored when they drift
    more than half the latency bound
    ahead of the frames' arrival (a source clock faster than the wall clock, a burst at the start
    of an HLS stream); never for a local file, which is read ahead of its timestamps on purpose.
    """

    def __init__(self, previous: float | None, step: float, max_latency: float, *, reanchor: bool) -> None:
        self.base = 0.0 if previous is None else previous + step
        self.first: float | None = None
        self.anchor: float | None = None  # wall time at which source time ``first`` is due
        self.slack = max_latency / 2 if reanchor else float("inf")
        self.reanchor, self.step = reanchor, step
        self.last_receipt = float("-inf")
        self.started = False

    def output_time(self, when: float) -> float:
        if self.first is None:
            self.first, self.started = when, True
        return self.base + (when - self.first)

    def release(self, due: float, now: float) -> float:
        """Make a frame due at ``due`` due ``now`` instead (and every later one as much earlier)."""
        if self.anchor is not None:
            self.anchor -= due - now
        return now

    def due(self, when: float, receipt: float) -> float:
        if self.first is None:
            self.output_time(when)
        assert self.first is not None
        offset = when - self.first
        solo = receipt - self.last_receipt > self.step / 2  # not one of a burst received at once
        self.last_receipt = receipt
        if self.anchor is None:
            self.anchor = receipt - offset
        elif solo and self.reanchor:
            # The earliest a frame that came on its own arrived, for its timestamp: the network's
            # best case. Anchoring there keeps jitter of the first frame from becoming a standing delay.
            self.anchor = min(self.anchor, receipt - offset)
        due = self.anchor + offset
        if due - receipt > self.slack:
            self.anchor -= due - receipt
            due = receipt
        return max(due, receipt)
