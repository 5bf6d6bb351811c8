"""This machine's fp32 matrix-multiply peak, the yardstick for model efficiency (GFLOP/s)."""

from __future__ import annotations

import statistics
import time

import torch

__all__ = ["matmul_peak_gflops"]


def matmul_peak_gflops(sizes: tuple[int, ...] = (1024, 2048), repeats: int = 7, device: str = "cpu") -> float:
    """Best over ``sizes`` of the median GFLOP/s of ``n x n @ n x n`` fp32 products (2 n^3 FLOP each).

    Runs with torch's current thread count, so it measures the same cores the models get.
    """
    best = 0.0
    for n in sizes:
        a = torch.rand(n, n, device=device)
        b = torch.rand(n, n, device=device)
        out = torch.empty(n, n, device=device)
        torch.mm(a, b, out=out)  # warm-up: thread pool start, page faults
        times = []
        for _ in range(repeats):
            if device != "cpu":
                torch.cuda.synchronize()
            started = time.perf_counter()
            torch.mm(a, b, out=out)
            if device != "cpu":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - started)
        best = max(best, 2 * n**3 / statistics.median(times) / 1e9)
    return best
