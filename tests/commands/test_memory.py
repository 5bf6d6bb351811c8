"""Memory stays bounded: peak RSS does not grow with clip length (200 vs 2,000 frames).

Both runs convert colour the same way (``--compile-colour off``): left on ``auto``, only the
2,000-frame run would load the compiler (a fixed ~100 MiB, not growth with length), which is
what this test measured on a machine with a cold inductor cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

_MEASURE = """
import json, resource, sys
from stream_restore.cli import main
code = main(["restore", sys.argv[1], sys.argv[2], "--model", "bicubic-x2", "--quiet", "--preset", "ultrafast",
             "--compile-colour", "off"])
print(json.dumps({"code": code, "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def peak_rss_kib(src, out) -> int:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(src), str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["code"] == 0, result.stderr
    return int(report["peak_kib"])


@pytest.mark.slow  # 71 s on 2 busy cores: 2,000 frames
def test_peak_memory_does_not_grow_with_clip_length(clip, tmp_path):
    short = clip(
        "short.mkv", frames=200, width=96, height=64, audio=("aac",), options={"preset": "ultrafast"}
    )
    long = clip("long.mkv", frames=2000, width=96, height=64, audio=("aac",), options={"preset": "ultrafast"})
    rss_short = peak_rss_kib(short, tmp_path / "short_out.mkv")
    rss_long = peak_rss_kib(long, tmp_path / "long_out.mkv")
    print(f"peak RSS: 200 frames {rss_short / 1024:.1f} MiB, 2000 frames {rss_long / 1024:.1f} MiB")
    assert rss_long <= rss_short * 1.2
