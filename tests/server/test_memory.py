"""Memory a server holds after its calls end: back near where it started, not where the calls took it."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from stream_restore.client import RestoreClient

from ..conftest import ClipSpec, make_clip

psutil = pytest.importorskip("psutil")


@pytest.mark.slow
def test_memory_freed_by_finished_streams_goes_back_to_the_system(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "in.ts", ClipSpec(frames=30, width=640, height=360, audio=("aac",)))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stream_restore",
            "serve",
            "--port",
            "0",
            "--backend",
            "torch",
            "--max-streams",
            "4",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        address = process.stdout.readline().split()[2]  # type: ignore[union-attr]
        server = psutil.Process(process.pid)
        start = peak = server.memory_info().rss  # torch, PyAV and gRPC imported; no call yet

        def one(i: int) -> None:
            with RestoreClient(address) as c:
                c.restore(clip, tmp_path / f"out-{i}.ts", model="bicubic-x2", timeout=300)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            peak = max(peak, server.memory_info().rss)
            time.sleep(0.1)
        time.sleep(1.0)
        after = server.memory_info().rss
        mib = 1 << 20
        # Without giving freed pages back, these streams left the server about 400 MiB above its start.
        assert after - start < 150 * mib, (start // mib, peak // mib, after // mib)
        assert len(list(tmp_path.glob("out-*.ts"))) == 4
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
