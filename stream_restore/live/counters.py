"""What a live session reports while it runs: state, rates, drops, reconnects, latency.

One :class:`LiveCounters` per session, written by the session's threads (each field by one thread)
and read as a :class:`LiveStatus` snapshot by the CLI's status line, the gRPC ``WatchLive`` stream
and the Prometheus exporter. :class:`Ledger` carries each frame's receipt and hand-over times from
the source to the publisher, so latency is measured per frame and the source's drop decision
knows how long the rest of the pipeline takes.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Ledger", "LiveCounters", "LiveStatus", "OutputStatus", "RateMeter"]

_RECENT = 256  # latency samples kept for percentiles
_LEDGER = 4096  # frames in flight the ledger remembers (bounded whatever the pipeline does)


class RateMeter:
    """Events per second over the last few seconds."""

    def __init__(self, window: float = 2.0) -> None:
        self.window = window
        self._times: collections.deque[float] = collections.deque(maxlen=4096)

    def tick(self, now: float | None = None) -> None:
        self._times.append(time.monotonic() if now is None else now)

    def rate(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        while self._times and self._times[0] < now - self.window:
            self._times.popleft()
        return len(self._times) / self.window


@dataclass(frozen=True)
class OutputStatus:
    url: str
    state: str  # connecting, live, reconnecting, closed
    reconnects: int
    dropped_packets: int
    last_error: str


@dataclass(frozen=True)
class LiveStatus:
    """A snapshot of one session (frames are video frames; latency in seconds)."""

    state: str  # connecting, live, reconnecting, stopping, stopped, failed
    input_fps: float
    output_fps: float
    frames_in: int
    frames_out: int
    dropped: int  # frames dropped to keep latency bounded (before and after decoding)
    dropped_before_decode: int
    reconnects: int
    latency: float  # the latest frame's receipt -> output mux
    latency_p50: float
    latency_p95: float
    latency_max: float
    last_error: str
    outputs: tuple[OutputStatus, ...] = ()


@dataclass
class _Output:
    url: str
    state: str = "connecting"
    reconnects: int = 0
    dropped_packets: int = 0
    last_error: str = ""


@dataclass
class LiveCounters:
    state: str = "connecting"
    frames_in: int = 0
    frames_out: int = 0
    dropped: int = 0
    dropped_before_decode: int = 0
    reconnects: int = 0
    last_error: str = ""
    latencies: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=_RECENT))
    latency_max: float = 0.0
    input_rate: RateMeter = field(default_factory=RateMeter)
    output_rate: RateMeter = field(default_factory=RateMeter)
    outputs: list[_Output] = field(default_factory=list)
    on_latency: Callable[[float], None] | None = None  # sees every frame's latency (the server's histogram)

    def output(self, url: str) -> _Output:
        entry = _Output(url)
        self.outputs.append(entry)
        return entry

    def published(self, latency: float) -> None:
        self.frames_out += 1
        self.output_rate.tick()
        self.latencies.append(latency)
        self.latency_max = max(self.latency_max, latency)
        if self.on_latency is not None:
            self.on_latency(latency)

    def snapshot(self) -> LiveStatus:
        recent = sorted(self.latencies)

        def pick(share: float) -> float:
            return recent[min(len(recent) - 1, int(share * len(recent)))] if recent else 0.0

        return LiveStatus(
            state=self.state, input_fps=self.input_rate.rate(), output_fps=self.output_rate.rate(),
            frames_in=self.frames_in, frames_out=self.frames_out, dropped=self.dropped,
            dropped_before_decode=self.dropped_before_decode, reconnects=self.reconnects,
            latency=self.latencies[-1] if self.latencies else 0.0, latency_p50=pick(0.5),
            latency_p95=pick(0.95), latency_max=self.latency_max, last_error=self.last_error,
            outputs=tuple(OutputStatus(o.url, o.state, o.reconnects, o.dropped_packets, o.last_error)
                          for o in list(self.outputs)),
        )


class Ledger:
    """Per-frame times from the source (receipt, hand-over to the pipeline) to the publisher's mux.

    Keyed on ``Frame.index``, which the source assigns and restoration keeps. ``downstream`` is a
    moving average of hand-over -> mux seconds: how long the pipeline behind the source takes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: collections.OrderedDict[int, tuple[float, float]] = collections.OrderedDict()
        self.downstream = 0.0

    def handed_over(self, index: int, receipt: float, now: float) -> None:
        with self._lock:
            self._times[index] = (receipt, now)
            while len(self._times) > _LEDGER:
                self._times.popitem(last=False)

    def in_flight(self) -> int:
        """Frames handed to the pipeline and not yet muxed."""
        with self._lock:
            return len(self._times)

    def muxed(self, index: int, now: float) -> float | None:
        """The frame's latency (receipt -> now), or None for a frame the ledger does not know."""
        with self._lock:
            times = self._times.pop(index, None)
            while self._times and next(iter(self._times)) < index:  # frames the session never returned
                self._times.popitem(last=False)
        if times is None:
            return None
        receipt, handed = times
        self.downstream = 0.8 * self.downstream + 0.2 * max(0.0, now - handed)
        return now - receipt
