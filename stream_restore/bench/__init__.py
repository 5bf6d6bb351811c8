"""Benchmarks: commands that print figures (never tests). See ``stream-restore bench --help``.

:mod:`.peak` measures the machine's fp32 matmul peak, :mod:`.models` times models on backends,
:mod:`.peers` times published reference tools on the same input, :mod:`.e2e` times the whole
``restore`` pipeline on a generated clip; :mod:`.command` ties them into one run. :mod:`.latency`
(``python -m stream_restore.bench.latency``) measures the gRPC service's live latency and throughput
through the client.
"""

from __future__ import annotations

from .models import BenchRow, bench_backend, time_calls
from .peak import matmul_peak_gflops

__all__ = ["BenchRow", "bench_backend", "matmul_peak_gflops", "time_calls"]
