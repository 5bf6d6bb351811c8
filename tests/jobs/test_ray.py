"""The Ray executor on a local cluster (2 CPUs): the same output as the local executor, and an
actor killed mid-segment is recovered (Ray restarts it; the segment is redone)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stream_restore.config import EncodeOptions, PipelineOptions
from stream_restore.jobs import JobState, SegmentState, Store, expand_inputs, submit
from stream_restore.jobs.executors import ExecutorOptions, RayExecutor
from stream_restore.pipeline import RestoreJob

from .clips import gop_clip, video_packets
from .conftest import FAST, cli

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'stream-restore[ray]')")
psutil = pytest.importorskip("psutil")

pytestmark = pytest.mark.slow

JOB = RestoreJob(
    model="sr-fast-x2",
    backend="torch",
    encode=EncodeOptions(preset="ultrafast"),
    pipeline=PipelineOptions(compile_colour="off"),
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def _actor_pids() -> list[int]:
    return [
        p.pid
        for p in psutil.process_iter(["cmdline"])
        if any("SegmentActor" in part for part in (p.info["cmdline"] or []))
    ]


def test_ray_gives_the_local_output_and_recovers_a_killed_actor(tmp_path: Path, cluster: None) -> None:
    clip = gop_clip(tmp_path / "clip.mp4", frames=80, audio=("aac",))
    cli(
        "jobs",
        "submit",
        clip,
        tmp_path / "local",
        "--state-dir",
        tmp_path / "s1",
        "--segment-seconds",
        "0.5",
        "-m",
        "sr-fast-x2",
        *FAST,
    )

    state = tmp_path / "s2"
    store = Store(state)
    (job_id,) = submit(store, expand_inputs([str(clip)], tmp_path / "ray"), JOB, segment_seconds=0.5)
    executor = RayExecutor(ExecutorOptions(state, devices=("cpu",), lease_seconds=30.0))
    result: list[object] = []
    runner = threading.Thread(target=lambda: result.append(executor.run(store, [job_id])))
    runner.start()
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and runner.is_alive():
        done = sum(s.state is SegmentState.DONE for s in store.segments(job_id))
        pids = _actor_pids()
        if done >= 2 and pids and any(s.state is SegmentState.LEASED for s in store.segments(job_id)):
            killed = pids[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    runner.join(300)
    assert killed is not None, "the job finished before an actor could be killed"
    record = store.job(job_id)
    assert record.state is JobState.DONE, record.error
    store.close()
    assert video_packets(tmp_path / "ray" / "clip.mp4") == video_packets(tmp_path / "local" / "clip.mp4")
