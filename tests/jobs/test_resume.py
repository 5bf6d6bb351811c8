"""Kill the worker with SIGKILL part-way, resume: the same output, finished segments not redone,
no temporary file left; leases expire; a damaged segment fails alone with its reason."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

from stream_restore.jobs import JobState, SegmentState, Store
from stream_restore.jobs.store import SegmentPlanRow

from .clips import gop_clip, video_packets
from .conftest import FAST, cli, only_job, partial_files


def _wait(predicate: object, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.mark.slow
def test_sigkill_then_resume_gives_the_uninterrupted_output(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    clip = gop_clip(tmp_path / "in" / "clip.mp4", frames=80, audio=("aac",))
    options = ["--segment-seconds", "0.5", "-m", "sr-fast-x2", *FAST]
    cli("jobs", "submit", clip, tmp_path / "straight", "--state-dir", tmp_path / "s1", *options)

    state = tmp_path / "s2"
    cli("jobs", "submit", clip, tmp_path / "out", "--state-dir", state, "--detach", *options)
    job_id = only_job(state)
    worker = subprocess.Popen(
        [sys.executable, "-m", "stream_restore", "jobs", "work", "--state-dir", str(state)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store = Store(state)

    def mid_job() -> bool:
        segments = store.segments(job_id)
        done = sum(s.state is SegmentState.DONE for s in segments)
        return done >= 3 and any(s.state is SegmentState.LEASED for s in segments)

    try:
        _wait(mid_job)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    before = {s.plan.index: s for s in store.segments(job_id) if s.state is SegmentState.DONE}
    killed = [s.plan.index for s in store.segments(job_id) if s.state is SegmentState.LEASED]
    assert store.job(job_id).state is JobState.RUNNING and len(killed) == 1
    assert not (tmp_path / "out" / "clip.mp4").exists()

    cli("jobs", "resume", job_id, "--state-dir", state, "-q")
    assert store.job(job_id).state is JobState.DONE
    after = {s.plan.index: s for s in store.segments(job_id)}
    assert all(
        after[i].attempts == 1 and after[i].checksum == s.checksum for i, s in before.items()
    )  # not redone
    assert after[killed[0]].attempts == 2
    assert [f[2] for f in store.failures(job_id)] == ["lease-lost"]
    store.close()
    assert video_packets(tmp_path / "out" / "clip.mp4") == video_packets(tmp_path / "straight" / "clip.mp4")
    assert not partial_files(tmp_path)
    assert not list((state / "segments").rglob("*.mp4"))  # segment files go once assembled


def _row(index: int, pts: int) -> SegmentPlanRow:
    return SegmentPlanRow(index, None, pts, pts, pts + 9, 10, 0, False)


def test_an_expired_lease_returns_to_the_queue_and_attempts_are_bounded(tmp_path: Path) -> None:
    from fractions import Fraction

    store = Store(tmp_path, lease_seconds=0.05, max_attempts=2)
    job_id = store.add_job("in", "out.mkv", "{}", "d", Fraction(1, 25), 1.0, [_row(0, 0), _row(1, 10)])
    first = store.lease("elsewhere:1")
    assert first is not None and first.index == 0
    time.sleep(0.1)  # not renewed: expired
    second = store.lease("elsewhere:2")
    assert second is not None and (second.index, second.attempt) == (0, 2)
    assert not store.renew(first, 5, 1.0)  # the first worker learns it lost the segment
    time.sleep(0.1)
    third = store.lease("elsewhere:3")  # attempt 2 expired too: segment 0 fails; segment 1 still runs
    assert third is not None and third.index == 1
    record = store.job(job_id)
    assert record.state is JobState.RUNNING and "stopped renewing its lease" in (record.error or "")
    assert store.segments(job_id)[0].state is SegmentState.FAILED
    store.fail(third, "bad input", kind="input", retry=False)  # nothing left to run: the job fails
    assert store.job(job_id).state is JobState.FAILED
    assert store.job(job_id).error == record.error  # the first reason is kept
    assert [kind for _, _, kind, _ in store.failures(job_id)] == ["lease-lost", "lease-lost", "input"]
    store.close()


def _damage(src: Path, dst: Path, packets: range) -> Path:
    """Copy src's video with the payload of the packets at these positions overwritten (same size)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = inp.streams.video[0]
        target = out.add_stream_from_template(stream)
        for position, packet in enumerate(p for p in inp.demux(stream) if p.size):
            if position in packets:
                bad = av.Packet(bytes([0x5A]) * packet.size)
                bad.pts, bad.dts, bad.time_base = packet.pts, packet.dts, packet.time_base
                bad.is_keyframe = packet.is_keyframe
                packet = bad
            packet.stream = target
            out.mux(packet)
    return dst


def test_a_damaged_segment_fails_alone_with_its_reason(tmp_path: Path) -> None:
    clip = gop_clip(tmp_path / "clip.mkv", frames=60)
    damaged = _damage(clip, tmp_path / "damaged.mkv", range(22, 28))  # inside segment 1 (frames 20-39)
    state = tmp_path / "state"
    result = cli(
        "jobs",
        "submit",
        damaged,
        tmp_path / "out",
        "--state-dir",
        state,
        "--segment-seconds",
        "1",
        "-m",
        "identity",
        *FAST,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    store = Store(state)
    job_id = only_job(state)
    states = [(s.state, s.attempts) for s in store.segments(job_id)]
    assert states == [(SegmentState.DONE, 1), (SegmentState.FAILED, 1), (SegmentState.DONE, 1)]  # not retried
    record = store.job(job_id)
    assert record.state is JobState.FAILED and record.error is not None
    assert record.error.startswith("segment 1:") and "damaged input" in record.error
    assert [kind for _, _, kind, _ in store.failures(job_id)] == ["input"]
    assert not (tmp_path / "out" / "damaged.mkv").exists()
    store.close()
