"""Live sessions end to end on loopback: real sources, restoration, publishing, reconnects, policies."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from torch import nn

from stream_restore.backends import BackendOptions
from stream_restore.bench.live_feed import Feed
from stream_restore.live import BLOCK, IngestOptions, LiveConfig, LiveSession, engine_lease, parse_output
from stream_restore.models import registry
from stream_restore.models.registry import ModelSpec, Task

from .conftest import FPS, HEIGHT, WIDTH, Receiver, decode, free_udp_port, live_threads, wait_for

ENGINES = tempfile.mkdtemp(prefix="stream-restore-live-engines-")  # exports stay out of the checkout
FAST = IngestOptions(stall_timeout=2.0, open_timeout=5.0, backoff_initial=0.1, backoff_max=0.5)


def start(source: str, outputs: list[str], model: str = "identity", ingest: IngestOptions = FAST,
          backend: str = "auto") -> LiveSession:
    targets = tuple(parse_output(o, allow_local=True, segment_seconds=3600) for o in outputs)
    return LiveSession(LiveConfig(source, targets, model=model, backend=backend, ingest=ingest),
                       engine_lease(BackendOptions(cache_dir=ENGINES))).start()


def stop(session: LiveSession) -> None:
    session.stop()
    assert session.done.is_set()
    assert session.error is None, session.error
    assert session.counters.state == "stopped"


@pytest.mark.slow
def test_http_source_restored_and_published_to_udp_hls_and_a_recording(tmp_path: Path) -> None:
    receiver = Receiver(free_udp_port())
    with Feed("http://127.0.0.1:0/feed", width=WIDTH, height=HEIGHT, fps=FPS) as feed:
        session = start(feed.url, [receiver.url, str(tmp_path / "live.m3u8"), str(tmp_path / "rec.mkv")],
                        model="bicubic-x2")
        wait_for(lambda: session.counters.frames_out >= 45 and receiver.seen.stamps, what="published frames")
        status = session.counters.snapshot()
        stop(session)
    receiver.close()
    assert status.state == "live" and status.reconnects == 0
    assert [o.state for o in status.outputs] == ["live"] * 3
    assert status.latency_max > 0 and status.frames_in >= status.frames_out
    want = {(2 * WIDTH, 2 * HEIGHT)}
    assert receiver.seen.sizes == want and receiver.seen.audio_samples > 0  # the network output
    for name in ("rec-00000.mkv", "live.m3u8"):
        seen = decode(str(tmp_path / name))
        assert seen.sizes == want, name
        assert seen.rate == pytest.approx(FPS, rel=0.02), name
        assert seen.audio_samples > 0.5 * 48000 * len(seen.pts) / FPS, name  # audio beside the video
        assert seen.pts == sorted(seen.pts) and len(set(seen.pts)) == len(seen.pts), name
        # Frames in capture order, none repeated (drop may leave gaps: catching up at the start)
        assert all(b > a for a, b in zip(seen.stamps, seen.stamps[1:], strict=False)), name
    assert "#EXT-X-ENDLIST" in (tmp_path / "live.m3u8").read_text()  # a clean stop ends the playlist


def test_udp_mpegts_source(tmp_path: Path) -> None:
    port = free_udp_port()
    source = f"udp://127.0.0.1:{port}"
    session = start(source, [str(tmp_path / "rec.ts")])
    with Feed(source, width=WIDTH, height=HEIGHT, fps=FPS, audio=False):
        wait_for(lambda: session.counters.frames_out >= 30, what="frames from the UDP source")
        stop(session)
    seen = decode(str(tmp_path / "rec-00000.ts"))
    assert seen.sizes == {(WIDTH, HEIGHT)} and len(seen.pts) >= 30


@pytest.mark.slow
def test_hls_source_from_a_web_server(tmp_path: Path, hls_server: tuple[Path, str]) -> None:
    folder, base = hls_server
    with Feed(str(folder / "feed.m3u8"), width=WIDTH, height=HEIGHT, fps=FPS):
        wait_for(lambda: len(list(folder.glob("feed-*.ts"))) >= 2, what="the first HLS segments")
        session = start(f"{base}/feed.m3u8", [str(tmp_path / "rec.mkv")])
        wait_for(lambda: session.counters.frames_out >= 45, what="frames from the HLS source")
        stop(session)
    seen = decode(str(tmp_path / "rec-00000.mkv"))
    assert seen.sizes == {(WIDTH, HEIGHT)} and seen.audio_samples > 0
    assert seen.pts == sorted(seen.pts)


def test_source_lost_and_back_reconnects_with_increasing_timestamps(tmp_path: Path) -> None:
    with Feed("http://127.0.0.1:0/feed", width=WIDTH, height=HEIGHT, fps=FPS) as feed:
        session = start(feed.url, [str(tmp_path / "rec.mkv")])
        wait_for(lambda: session.counters.frames_out >= 20, what="frames before the loss")
        feed.interrupt()  # the viewer is dropped; the feed listens again (a camera that restarted)
        wait_for(lambda: session.counters.reconnects >= 1, what="the reconnect")
        before = session.counters.frames_out
        wait_for(lambda: session.counters.frames_out >= before + 20 and feed.connections >= 2,
                 what="frames after the reconnect")
        status = session.counters.snapshot()
        stop(session)
    assert status.reconnects >= 1 and status.state == "live"
    seen = decode(str(tmp_path / "rec-00000.mkv"))
    assert all(b > a for a, b in zip(seen.pts, seen.pts[1:], strict=False)), "timestamps went back"
    jumps = [b - a for a, b in zip(seen.stamps, seen.stamps[1:], strict=False) if b - a != 1]
    assert jumps and all(j > 1 for j in jumps), "the recording must show the gap of the loss, and only gaps"


def test_stalled_source_is_detected_by_the_watchdog(tmp_path: Path) -> None:
    """A source that stops sending but keeps the connection open is lost after the stall timeout."""
    with Feed("http://127.0.0.1:0/feed", width=WIDTH, height=HEIGHT, fps=FPS, frames=45) as feed:
        ingest = IngestOptions(stall_timeout=0.5, open_timeout=1.0, backoff_initial=0.1, backoff_max=0.2)
        session = start(feed.url, [str(tmp_path / "rec.mkv")], ingest=ingest)
        wait_for(lambda: session.counters.reconnects >= 1, what="the stall to be noticed")
        assert session.counters.frames_out > 0
        stop(session)


@contextlib.contextmanager
def socket_closed_port() -> Iterator[int]:
    """A loopback TCP port nobody listens on (bound, not listening: connections are refused)."""
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield int(holder.getsockname()[1])


class _Slow(nn.Module):
    """A model slower than the source: 150 ms a frame (5x a 30 fps frame interval)."""

    scale = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        time.sleep(0.15)
        return x.clone()


@pytest.fixture
def slow_model() -> object:
    spec = ModelSpec("test-live-slow", Task.IDENTITY, 1, _Slow, receptive_field=0)
    registry.register(spec)
    yield spec.name
    del registry._REGISTRY[spec.name]  # unregister() is for added models only


@pytest.mark.slow
def test_overload_drops_frames_and_keeps_latency_bounded(tmp_path: Path, slow_model: str) -> None:
    bound = 0.6
    ingest = IngestOptions(stall_timeout=5.0, max_latency=bound, backoff_initial=0.1, backoff_max=0.5)
    with Feed("http://127.0.0.1:0/feed", width=WIDTH, height=HEIGHT, fps=FPS) as feed:
        session = start(feed.url, [str(tmp_path / "rec.mkv")], model=slow_model, ingest=ingest,
                        backend="torch")
        wait_for(lambda: session.counters.frames_out >= 15, what="frames through the slow model")
        status = session.counters.snapshot()
        stop(session)
    assert status.dropped > status.frames_out  # most frames cannot be restored in time: dropped
    assert status.dropped_before_decode + (status.dropped - status.dropped_before_decode) == status.dropped
    # The median stays under the bound whatever the machine's load (the bound is what drops keep).
    assert status.latency_p50 < bound, status


@pytest.mark.slow
def test_block_policy_drops_nothing(tmp_path: Path, slow_model: str) -> None:
    ingest = IngestOptions(stall_timeout=30.0, policy=BLOCK, backoff_initial=0.1, backoff_max=0.5)
    with Feed("http://127.0.0.1:0/feed", width=WIDTH, height=HEIGHT, fps=FPS, frames=40) as feed:
        session = start(feed.url, [str(tmp_path / "rec.mkv")], model=slow_model, ingest=ingest,
                        backend="torch")
        wait_for(lambda: session.counters.frames_out >= 25, what="frames through the slow model")
        status = session.counters.snapshot()
        stop(session)
    assert status.dropped == 0
    seen = decode(str(tmp_path / "rec-00000.mkv"))
    steps = {b - a for a, b in zip(seen.stamps, seen.stamps[1:], strict=False)}
    assert steps == {1}, f"with block every frame is published: {steps}"


def test_stop_releases_every_thread_and_socket(tmp_path: Path) -> None:
    with Feed("http://127.0.0.1:0/feed", width=WIDTH, height=HEIGHT, fps=FPS) as feed:
        session = start(feed.url, [str(tmp_path / "rec.mkv")])
        wait_for(lambda: session.counters.frames_out >= 5, what="the session to run")
        stop(session)
        port = int(feed.url.split(":")[2].split("/")[0])
        wait_for(lambda: not _connections_to(port), timeout=20, what="the source's socket to close")
    wait_for(lambda: not live_threads(), timeout=20, what=f"threads to end: {live_threads()}")
    assert not [t for t in threading.enumerate() if t.name.startswith("stream-restore-")]


def _connections_to(port: int) -> list[object]:
    import psutil

    return [c for c in psutil.Process().net_connections("tcp")
            if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED]


def test_a_failing_output_does_not_stop_the_others(tmp_path: Path) -> None:
    with socket_closed_port() as dead:
        with Feed("http://127.0.0.1:0/feed", width=WIDTH, height=HEIGHT, fps=FPS) as feed:
            session = start(feed.url, [f"rtmp://127.0.0.1:{dead}/live/key", str(tmp_path / "rec.mkv")])
            wait_for(lambda: session.counters.frames_out >= 30, what="frames published")
            status = session.counters.snapshot()
            stop(session)
    rtmp, recording = status.outputs
    assert rtmp.state == "connecting" and "refused" in rtmp.last_error.lower()
    assert recording.state == "live"
    assert len(decode(str(tmp_path / "rec-00000.mkv")).pts) >= 30


def test_a_source_that_never_answers_is_retried_until_stopped(tmp_path: Path) -> None:
    import socket

    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/feed"
    session = start(url, [str(tmp_path / "rec.mkv")])
    wait_for(lambda: "refused" in session.counters.last_error.lower(), what="a refused connection")
    assert session.counters.state == "connecting"
    stop(session)


def _push_server(scheme: str, path: str) -> tuple[subprocess.Popen[str], str]:
    script = Path(__file__).with_name("push_server.py")
    process = subprocess.Popen([sys.executable, str(script), scheme, path], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline().split()
    assert line[:1] == ["ready"], line
    return process, line[1]


@pytest.mark.slow
def test_rtmp_and_rtsp_push_outputs() -> None:
    servers = [_push_server("rtmp", "/live/key"), _push_server("rtsp", "/live")]
    try:
        with Feed("http://127.0.0.1:0/feed", width=WIDTH, height=HEIGHT, fps=FPS) as feed:
            session = start(feed.url, [url for _, url in servers])
            results = [json.loads(process.communicate(timeout=90)[0]) for process, _ in servers]
            status = session.counters.snapshot()
            stop(session)
    finally:
        for process, _ in servers:
            process.kill()
    for result in results:
        assert result["frames"] >= 40 and result["audio"] > 0, result
        assert result["sizes"] == [[WIDTH, HEIGHT]], result
    assert status.outputs[0].state in ("live", "reconnecting", "closed")  # the servers hung up at 40 frames


def test_the_manager_forgets_old_ended_sessions_and_says_so(tmp_path: Path) -> None:
    """Ended sessions stay listed (their final state) up to a bound; the hook sees each one dropped."""
    from stream_restore.live import LiveManager, parse_rules

    forgotten: list[str] = []
    manager = LiveManager(parse_rules(["http://127.0.0.1/32"]),
                          engine_lease(BackendOptions(cache_dir=ENGINES)),
                          output_rules=parse_rules(["udp://127.0.0.1/32"]),
                          on_forget=lambda s: forgotten.append(s.id))
    with socket_closed_port() as dead:
        output = parse_output("udp://127.0.0.1:9", allow_local=False)
        config = LiveConfig(f"http://127.0.0.1:{dead}/feed", (output,), backend="torch", ingest=FAST)
        ids = []
        for _ in range(18):
            session = manager.start(config)
            manager.stop(session.id)
            ids.append(session.id)
    assert forgotten == ids[:2] and [s.id for s in manager.sessions()] == ids[2:]
    assert all(s.done.is_set() for s in manager.sessions())
