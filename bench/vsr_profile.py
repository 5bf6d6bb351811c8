"""Where vsr-x4's time goes on CPU: a command that prints numbers (docs/benchmarks.md, issue 12).

    .venv/bin/python bench/vsr_profile.py [--size 640x360 --threads 2]

Times a step of the shipped vsr-x4 (torch, fp32), then its parts alone (both flows with the
neighbour warps, one flow pair, the fed-back output's warp at output resolution), then prints the
share of self CPU time of the busiest operators over three profiled steps.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from torch.profiler import ProfilerActivity, profile

from stream_restore.models import get_spec
from stream_restore.models.vsr_aligned import AlignedRecurrentSR


def _ms(fn: Callable[[], object], repeat: int = 5) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    w, h = (int(v) for v in args.size.split("x"))
    model = get_spec("vsr-x4").build(pretrained=True)
    assert isinstance(model, AlignedRecurrentSR)
    x = torch.rand(1, 3, 3, h, w)
    state = model.initial_state(1, h, w)
    with torch.inference_mode():
        back, _, _ = model.align(x)
        folded = state[:, model.hidden : -1]
        print(f"step {_ms(lambda: model(x, state)):.1f} ms")
        print(f"  both flows + neighbour warps {_ms(lambda: model.align(x)):.1f} ms")
        print(f"  one flow pair {_ms(lambda: model.flow(x[:, 1], x[:, 0])):.1f} ms")
        print(f"  fed-back output warp {_ms(lambda: model.warp_output(folded, back)):.1f} ms")
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(3):
                model(x, state)
    times = {e.key: e.self_cpu_time_total for e in prof.key_averages()}
    total = sum(times.values())
    for name, value in sorted(times.items(), key=lambda kv: -kv[1])[:12]:
        print(f"{name:40s} {100 * value / total:5.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
