"""The Live gRPC service on a real server: allow-lists (refused requests open nothing), the session
lifecycle (start, watch, list, stop), stream slots, metrics, auth, shutdown, and the client CLI."""

from __future__ import annotations

import json
import socket
import urllib.request
from dataclasses import replace
from pathlib import Path

import grpc
import pytest

from stream_restore.bench.live_feed import Feed
from stream_restore.cli import main
from stream_restore.client_live import LiveClient
from stream_restore.errors import AuthError, LimitExceededError, PermissionDeniedError
from stream_restore.v1 import live_pb2 as lpb
from stream_restore.v1 import restore_pb2 as pb

from ..server.conftest import BASE, running_server
from .conftest import FPS, HEIGHT, WIDTH, Receiver, free_udp_port, live_threads, wait_for

ALLOWED_NET = replace(BASE, live_allow=("http://10.0.0.0/8", "udp://10.0.0.0/8", "rtsp://*.cams.example"),
                      live_output_allow=("udp://10.0.0.0/8",))
LOOPBACK = replace(BASE, live_allow=("http://127.0.0.1/32",), live_output_allow=("udp://127.0.0.1/32",))


def request(source: str, *outputs: str, model: str = "identity") -> lpb.StartLiveRequest:
    return lpb.StartLiveRequest(source=source, outputs=list(outputs), model=pb.ModelOptions(model=model))


def test_refused_sources_and_outputs_are_permission_denied_and_nothing_is_opened() -> None:
    tcp = socket.create_server(("127.0.0.1", 0))
    tcp.setblocking(False)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.setblocking(False)
    t, u = tcp.getsockname()[1], udp.getsockname()[1]
    sources = [
        "file:///etc/passwd", "/etc/passwd", "concat:/etc/passwd|/etc/hosts",
        "subfile:,start,0,end,9,:/etc/passwd",
        "pipe:0", "data:video/mp2t;base64,AAAA", "cache:http://127.0.0.1:{t}/x", "hls+http://127.0.0.1:{t}/x.m3u8",
        "crypto+http://127.0.0.1:{t}/x", "ftp://127.0.0.1:{t}/x", "gopher://127.0.0.1:{t}/x",
        "http://127.0.0.1:{t}/feed", "http://localhost:{t}/feed", "tcp://127.0.0.1:{t}", "udp://127.0.0.1:{u}",
        "rtsp://127.0.0.1:{t}/cam", "rtsp://evil.example:{t}/cam", "rtmp://10.1.2.3:{t}/live/x",
        "http://[::1]:{t}/feed",
    ]
    outputs = [  # with an allowed source: the output is what is refused
        "udp://127.0.0.1:{u}", "tcp://127.0.0.1:{t}", "rtmp://127.0.0.1:{t}/live/x", "/tmp/x.m3u8",
        "file:///tmp/x.ts", "out.mkv", "pipe:1", "http://10.0.0.1/x",
    ]
    with running_server(ALLOWED_NET) as running, running.client() as client:
        live = LiveClient(client)
        for source in sources:
            with pytest.raises(PermissionDeniedError):
                live.start(request(source.format(t=t, u=u), "udp://10.0.0.9:5000"))
        for output in outputs:
            with pytest.raises(PermissionDeniedError):
                live.start(request("http://10.9.9.9:8000/feed", output.format(t=t, u=u)))
        assert live.list() == []
        assert running.server.stats()["active_streams"] == 0
    with pytest.raises(BlockingIOError):
        tcp.accept()  # not one connection reached the loopback listener
    with pytest.raises(BlockingIOError):
        udp.recv(2048)  # nor one datagram
    tcp.close()
    udp.close()
    assert not Path("out.mkv").exists() and not Path("/tmp/x.m3u8").exists()


def test_live_is_off_by_default_and_needs_the_same_token() -> None:
    with running_server(BASE) as running, running.client() as client:
        with pytest.raises(PermissionDeniedError, match="--live-allow"):
            LiveClient(client).start(request("http://127.0.0.1:9/feed", "udp://127.0.0.1:9"))
    with running_server(replace(LOOPBACK, tokens=frozenset({"sesame"}))) as running:
        with running.client() as client, pytest.raises(AuthError):
            LiveClient(client).list()
        with running.client(token="sesame") as client:
            assert LiveClient(client).list() == []


def test_bad_requests_are_invalid_argument() -> None:
    with running_server(LOOPBACK) as running, running.client() as client:
        stub = LiveClient(client).stub
        for bad in (request("http://127.0.0.1:9/feed"),  # no output
                    request("http://127.0.0.1:9/feed", "udp://127.0.0.1:9", model=""),
                    lpb.StartLiveRequest(source="http://127.0.0.1:9/feed", outputs=["udp://127.0.0.1:9"],
                                         model=pb.ModelOptions(model="identity"), max_latency_seconds=-1)):
            with pytest.raises(grpc.RpcError) as caught:
                stub.StartLive(bad, timeout=10)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.RpcError) as caught:
            stub.StopLive(lpb.LiveRef(id="live-404"), timeout=10)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.slow
def test_start_watch_list_stop_with_slots_and_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    receiver = Receiver(free_udp_port())
    config = replace(LOOPBACK, max_streams=1, metrics_port=0, web_port=0)
    with Feed("http://127.0.0.1:0/feed", width=WIDTH, height=HEIGHT, fps=FPS) as feed, \
            running_server(config) as running, running.client() as client:
        live = LiveClient(client)
        started = live.start(request(feed.url, receiver.url, model="bicubic-x2"))
        assert started.id and started.source == feed.url
        assert list(started.outputs) == [receiver.url + "?pkt_size=1316"]
        for state in live.watch(started.id, timeout=120):
            if state.state == lpb.LIVE_STATE_LIVE and state.metrics.frames_out >= 20:
                break
        assert state.metrics.output_fps > 0 and state.output_status[0].state == "live"
        assert [s.id for s in live.list()] == [started.id]
        with pytest.raises(LimitExceededError):  # the one stream slot is the session's
            live.start(request(feed.url, receiver.url))
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{running.server.metrics_port}/metrics",
                                         timeout=10).read().decode()
        label = f'{{session="{started.id}"}}'
        for name in ("input_fps", "output_fps", "frames_out_total", "dropped_total", "reconnects_total",
                     "latency_seconds_count"):
            assert f"stream_restore_live_{name}{label}" in metrics, name
        page = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{running.server.web_port}/api/live",
                                                 timeout=10).read())
        (shown,) = page["sessions"]  # the web page lists the session with its metrics
        assert page["available"] and shown["id"] == started.id and shown["state"] == "live"
        assert shown["output_fps"] > 0 and shown["dropped"] >= 0 and len(shown["latency_ms"]) == 2
        assert main(["client", "--server", running.address, "--list-live"]) == 0
        assert started.id in capsys.readouterr().out
        stopped = live.stop(started.id)
        assert stopped.state == lpb.LIVE_STATE_STOPPED
        assert main(["client", "--server", running.address, "--watch-live", started.id]) == 0
        assert "stopped" in capsys.readouterr().out  # an ended session: its final state, then the end
        wait_for(lambda: running.server.stats()["active_streams"] == 0, timeout=20, what="the slot back")
        assert not [t for t in live_threads() if t.startswith("stream-restore-live")]
    receiver.close()
    assert receiver.seen.sizes == {(2 * WIDTH, 2 * HEIGHT)} and receiver.seen.audio_samples > 0


def test_server_shutdown_ends_running_sessions() -> None:
    receiver = Receiver(free_udp_port())
    with Feed("http://127.0.0.1:0/feed", width=WIDTH, height=HEIGHT, fps=FPS) as feed:
        with running_server(LOOPBACK) as running, running.client() as client:
            live = LiveClient(client)
            started = live.start(request(feed.url, receiver.url))
            wait_for(lambda: live.list()[0].metrics.frames_out >= 5, what="the session to publish")
            session = running.server.live.get(started.id)
        assert session.done.is_set() and session.counters.state == "stopped"
        assert running.server.stats()["active_streams"] == 0
        wait_for(lambda: not [t for t in live_threads() if t.startswith("stream-restore-live")], timeout=20,
                 what="the session's threads to end")
    receiver.close()
