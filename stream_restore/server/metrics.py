"""Prometheus metrics of one server, in its own registry (several servers can live in one process)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

__all__ = ["ServerMetrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class ServerMetrics:
    """Counters, gauges and histograms the servicer and interceptors update."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.active_streams = Gauge("stream_restore_active_streams", "Restore/RestoreFrames calls "
                                                                     "running", registry=r)
        self.frames_in = Counter("stream_restore_frames_in", "Input frames decoded or received", registry=r)
        self.frames_out = Counter("stream_restore_frames_out", "Restored frames sent", registry=r)
        self.bytes_in = Counter("stream_restore_bytes_in", "Encoded input bytes received", registry=r)
        self.bytes_out = Counter("stream_restore_bytes_out", "Encoded output bytes sent", registry=r)
        self.calls = Counter("stream_restore_calls", "Calls finished, by method and status code",
                             ["method", "code"], registry=r)
        self.errors = Counter("stream_restore_errors", "Calls that ended in an error, by status code",
                              ["code"], registry=r)
        self.stage_seconds = Histogram(
            "stream_restore_stage_seconds", "Busy seconds per frame and pipeline stage",
            ["stage"], buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.live_latency = Histogram(
            "stream_restore_live_latency_seconds", "Live sessions: per-frame latency, packet receipt to "
            "output mux", ["session"], buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.call_seconds = Histogram("stream_restore_call_seconds", "Call duration by method", ["method"],
                                      buckets=(*_LATENCY_BUCKETS, 30.0, 60.0, 300.0), registry=r)

    @contextlib.contextmanager
    def streaming(self) -> Iterator[None]:
        """Count a stream call as active for the ``with`` block."""
        self.active_streams.inc()
        try:
            yield
        finally:
            self.active_streams.dec()

    def observe_run(self, frames: int, decode: float, infer: float, encode: float) -> None:
        """Record a finished run's per-frame stage latencies (mean busy time per frame)."""
        if frames <= 0:
            return
        for stage, seconds in (("decode", decode), ("infer", infer), ("encode", encode)):
            self.stage_seconds.labels(stage).observe(seconds / frames)

    def watch_jobs(self, counts: Callable[[], dict[str, dict[str, int]]]) -> None:
        """Export the job store's figures at each scrape: jobs by state (queued, running, ...),
        segments by state (done, ...) and failed segment attempts by reason."""
        self.registry.register(_JobsCollector(counts))

    def watch_live(self, sessions: Callable[[], list[tuple[str, Any]]]) -> None:
        """Export live sessions' figures at each scrape, labelled by session id: input and output
        fps, frames in and out, dropped frames, reconnects (``sessions`` gives (id, LiveStatus))."""
        self.registry.register(_LiveCollector(sessions))

    def serve_http(self, host: str, port: int) -> Any:
        """Start the /metrics endpoint (a daemon thread); returns the HTTP server (``server_port``,
        ``shutdown()``)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return server


class _JobsCollector:
    """Reads the archive-job store when Prometheus scrapes (the store, not this process, knows)."""

    _JOB_STATES = ("queued", "running", "done", "failed", "cancelled")
    _SEGMENT_STATES = ("pending", "leased", "done", "failed")

    def __init__(self, counts: Callable[[], dict[str, dict[str, int]]]) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Any]:
        counts = self.counts()
        jobs = GaugeMetricFamily("stream_restore_jobs", "Archive jobs by state", labels=["state"])
        for state in self._JOB_STATES:
            jobs.add_metric([state], counts["jobs"].get(state, 0))
        segments = GaugeMetricFamily("stream_restore_job_segments", "Archive-job segments by state",
                                     labels=["state"])
        for state in self._SEGMENT_STATES:
            segments.add_metric([state], counts["segments"].get(state, 0))
        failures = CounterMetricFamily("stream_restore_job_segment_failures",
                                       "Failed segment attempts by reason (input, lease-lost, internal, ...)",
                                       labels=["reason"])
        for reason, number in sorted(counts["failures"].items()):
            failures.add_metric([reason], number)
        yield from (jobs, segments, failures)


class _LiveCollector:
    """Reads the live sessions' counters when Prometheus scrapes."""

    _GAUGES = (("input_fps", "Live sessions: input video frames per second"),
               ("output_fps", "Live sessions: published video frames per second"))
    _COUNTERS = (("frames_in", "Live sessions: video frames received"),
                 ("frames_out", "Live sessions: video frames published"),
                 ("dropped", "Live sessions: frames dropped to keep latency bounded"),
                 ("reconnects", "Live sessions: source reconnects"))

    def __init__(self, sessions: Callable[[], list[tuple[str, Any]]]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[Any]:
        sessions = self.sessions()
        for name, text in self._GAUGES:
            gauge = GaugeMetricFamily(f"stream_restore_live_{name}", text, labels=["session"])
            for session_id, status in sessions:
                gauge.add_metric([session_id], float(getattr(status, name)))
            yield gauge
        for name, text in self._COUNTERS:
            counter = CounterMetricFamily(f"stream_restore_live_{name}", text, labels=["session"])
            for session_id, status in sessions:
                counter.add_metric([session_id], float(getattr(status, name)))
            yield counter
