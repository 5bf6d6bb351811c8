"""Publish the restored stream: one encode, fanned out to every output, each with its own reconnect.

:class:`Publisher` is the pipeline's :class:`~stream_restore.pipeline.stages.FrameSink`. It encodes
each restored frame and audio chunk once (:class:`~stream_restore.media.live_out.LiveEncoder`) and
offers the packets to one :class:`_OutputWorker` per output. A worker owns a thread, a bounded
queue (``_QUEUE_PACKETS``) and its container: it opens (and reopens after a failure, with backoff
and jitter) its output, starts every connection at a keyframe, and when it cannot keep up its
queue drops packets up to the next keyframe (counted) instead of holding the others back. One
output failing never stops the others or the session.
"""

from __future__ import annotations

import collections
import logging
import random
import threading
import time

import torch.nn.functional as F

from ..errors import StreamRestoreError
from ..frames import Frame, StreamInfo
from ..media.codecs import EncoderSettings
from ..media.live_out import Encoded, LiveEncoder, OutputMux
from .counters import Ledger, LiveCounters
from .options import OutputTarget
from .source import AudioChunk

__all__ = ["Publisher"]

log = logging.getLogger(__name__)

_QUEUE_PACKETS = 256  # encoded packets one output may fall behind before it drops to the next keyframe
_BACKOFF_INITIAL, _BACKOFF_MAX = 0.25, 5.0  # seconds between an output's reopen attempts
_CLOSE_SECONDS = 5.0  # how long closing waits for an output to write what it holds


class _OutputWorker:
    """One output's thread, queue and container (see the module docstring)."""

    def __init__(self, target: OutputTarget, encoder: LiveEncoder, counters: LiveCounters) -> None:
        self.target, self.encoder = target, encoder
        self.status = counters.output(target.url)
        self._queue: collections.deque[Encoded] = collections.deque()
        self._cond = threading.Condition()
        self._closing = False
        self._need_key = True
        self._thread = threading.Thread(target=self._run, name="stream-restore-live-output", daemon=True)
        self._thread.start()

    def offer(self, packet: Encoded) -> None:
        with self._cond:
            if len(self._queue) >= _QUEUE_PACKETS:
                self.status.dropped_packets += len(self._queue)
                self._queue.clear()
                self._need_key = True
            self._queue.append(packet)
            self._cond.notify()

    def close(self, timeout: float = _CLOSE_SECONDS) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("live output %s did not close within %.0f s", self.target.url, timeout)

    def _next(self) -> Encoded | None:
        with self._cond:
            while not self._queue and not self._closing:
                self._cond.wait(0.5)
            return self._queue.popleft() if self._queue else None

    def _run(self) -> None:
        attempt = 0
        while True:
            mux = self._open(attempt)
            if mux is None:
                break
            attempt = 0
            try:
                self._feed(mux)
                mux.close()
                break
            except StreamRestoreError as exc:
                mux.abort()
                self.status.last_error, self.status.state = str(exc), "reconnecting"
                self.status.reconnects += 1
                attempt = 1
                log.warning("live output %s failed (%s); reopening", self.target.url, exc)
        self.status.state = "closed"

    def _open(self, attempt: int) -> OutputMux | None:
        while True:
            if attempt:
                delay = min(_BACKOFF_MAX, _BACKOFF_INITIAL * 2 ** (attempt - 1))
                with self._cond:
                    self._cond.wait_for(lambda: self._closing, delay / 2 + random.uniform(0, delay / 2))
                    self.status.dropped_packets += len(self._queue)
                    self._queue.clear()
            with self._cond:
                if self._closing:
                    return None
                self._need_key = True
            try:
                mux = OutputMux(self.target.url, self.target.format, self.target.options, self.encoder)
            except StreamRestoreError as exc:
                self.status.last_error = str(exc)
                attempt += 1
                continue
            self.status.state = "live"
            return mux

    def _feed(self, mux: OutputMux) -> None:
        while True:
            packet = self._next()
            if packet is None:
                return
            if self._need_key:
                if not (packet.kind == "video" and packet.key):
                    continue  # every connection starts at a keyframe
                self._need_key = False
            mux.write(packet)


class Publisher:
    """The pipeline's sink for a live session (see the module docstring)."""

    def __init__(self, targets: tuple[OutputTarget, ...], settings: EncoderSettings, info: StreamInfo,
                 counters: LiveCounters, ledger: Ledger, *, audio: bool) -> None:
        """``info``: the restored stream (output size); frames of another size are scaled to it."""
        self.counters, self.ledger, self.size = counters, ledger, (info.width, info.height)
        self.encoder = LiveEncoder(settings, info, audio=audio)
        self.workers = [_OutputWorker(target, self.encoder, counters) for target in targets]
        self._closed = False

    def _fan_out(self, packets: list[Encoded]) -> None:
        for packet in packets:
            for worker in self.workers:
                worker.offer(packet)

    def write(self, frame: Frame) -> None:
        if (frame.width, frame.height) != self.size:  # the source came back at another size
            data = F.interpolate(frame.data[None], size=(self.size[1], self.size[0]), mode="bilinear",
                                 align_corners=False)[0].clamp_(0, 1)
            frame = frame.with_data(data)
        self._fan_out(self.encoder.encode_video(frame))
        latency = self.ledger.muxed(frame.index, time.monotonic())
        if latency is not None:
            self.counters.published(latency)

    def write_packet(self, packet: object) -> None:
        if isinstance(packet, AudioChunk):
            self._fan_out(self.encoder.encode_audio(packet.frame, packet.pts))

    def close(self) -> None:
        """Flush the encoders, let every output write what it holds and its trailer."""
        if self._closed:
            return
        try:
            self._fan_out(self.encoder.encode_video(None) + self.encoder.encode_audio(None))
        finally:
            self._finish()

    def abort(self) -> None:
        self._finish()

    def _finish(self) -> None:
        if self._closed:
            return
        self._closed = True
        for worker in self.workers:
            worker.close()
        self.encoder.close()
