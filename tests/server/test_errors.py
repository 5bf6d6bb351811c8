"""Bad input gets its status code and leaves the server serving; cancelled calls release everything."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from stream_restore.client import frame_messages
from stream_restore.v1 import restore_pb2 as pb

from ..conftest import make_clip
from .conftest import Running

CONFIG = pb.RestoreConfig(model=pb.ModelOptions(model="identity"),
                          output=pb.OutputOptions(container="matroska", codec="ffv1"))


def _call(running: Running, requests: list[pb.RestoreRequest], timeout: float = 30) -> grpc.RpcError | None:
    """Run a raw Restore call; the error it ended with, or None."""
    with grpc.insecure_channel(running.address) as channel:
        stub = __import__("stream_restore.v1.restore_pb2_grpc", fromlist=["RestorerStub"]).RestorerStub(
            channel
        )
        try:
            for _ in stub.Restore(iter(requests), timeout=timeout):
                pass
        except grpc.RpcError as exc:
            return exc
    return None


def _config_then(chunks: list[bytes], config: pb.RestoreConfig = CONFIG) -> list[pb.RestoreRequest]:
    return [pb.RestoreRequest(config=config), *(pb.RestoreRequest(chunk=c) for c in chunks)]


def _classic_mp4(tmp: Path) -> bytes:
    return make_clip(tmp / "classic.mp4", frames=4).read_bytes()


def _cases(ts: bytes, tmp: Path) -> dict[str, tuple[list[pb.RestoreRequest], grpc.StatusCode, str]]:
    unknown = pb.RestoreConfig(model=pb.ModelOptions(model="no-such-model"))
    bad_container = pb.RestoreConfig(
        model=pb.ModelOptions(model="identity"), output=pb.OutputOptions(container="avi")
    )
    return {
        "garbage": (
            _config_then([b"\x13\x37garbage" * 500]),
            grpc.StatusCode.INVALID_ARGUMENT,
            "input stream",
        ),
        "truncated": (_config_then([ts[:1500]]), grpc.StatusCode.INVALID_ARGUMENT, "input stream"),
        "empty input": (_config_then([]), grpc.StatusCode.INVALID_ARGUMENT, "input stream"),
        "no configuration": (
            [pb.RestoreRequest(chunk=ts)],
            grpc.StatusCode.INVALID_ARGUMENT,
            "configuration",
        ),
        "no message": ([], grpc.StatusCode.INVALID_ARGUMENT, "configuration"),
        "configuration twice": (
            [pb.RestoreRequest(config=CONFIG), pb.RestoreRequest(config=CONFIG)],
            grpc.StatusCode.INVALID_ARGUMENT,
            "twice",
        ),
        "unknown model": (_config_then([ts], unknown), grpc.StatusCode.NOT_FOUND, "no-such-model"),
        "bad container": (_config_then([ts], bad_container), grpc.StatusCode.INVALID_ARGUMENT, "avi"),
        "classic mp4": (_config_then([_classic_mp4(tmp)]), grpc.StatusCode.INVALID_ARGUMENT, "moov"),
        "oversized message": (
            _config_then([b"\0" * (2 * 1024 * 1024)]),
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "",
        ),
    }


def test_bad_restore_requests(make_server, ts_clip: Path, tmp_path: Path) -> None:
    ts = ts_clip.read_bytes()
    with make_server(max_message_bytes=1024 * 1024, preload=("identity",)) as running:
        for name, (requests, code, text) in _cases(ts, tmp_path).items():
            error = _call(running, requests)
            assert error is not None, name
            assert error.code() == code, f"{name}: {error.code()} {error.details()}"
            assert text in error.details(), f"{name}: {error.details()}"
            # ... and the server keeps serving
            assert _call(running, _config_then([ts])) is None, f"after {name}"
        assert running.wait_idle() == {**running.server.stats(), "active_streams": 0, "call_threads": 0,
                                       "worker_threads": 0}


def test_bad_frames_and_images(server: Running) -> None:
    with server.client() as client:
        huge = frame_messages(b"", pb.PIXEL_FORMAT_RGB24, 100000, 100000, 0, (1, 25))
        with pytest.raises(Exception) as info:
            list(
                client.restore_frames(
                    pb.FramesConfig(model=pb.ModelOptions(model="identity")), iter(huge), timeout=30
                )
            )
        assert "exceeds the limit" in str(info.value) and "RESOURCE_EXHAUSTED" in str(info.value)
        short = frame_messages(b"\0" * 10, pb.PIXEL_FORMAT_RGB24, 16, 16, 0, (1, 25))
        with pytest.raises(Exception, match="INVALID_ARGUMENT"):
            list(
                client.restore_frames(
                    pb.FramesConfig(model=pb.ModelOptions(model="identity")), iter(short), timeout=30
                )
            )
        with pytest.raises(Exception, match="INVALID_ARGUMENT"):
            client.restore_image(b"not an image at all" * 10, "identity", timeout=30)
        with pytest.raises(Exception, match="NOT_FOUND"):
            client.restore_image(b"x", "no-such-model", timeout=30)
        assert client.list_models()


def _slow_chunks(ts: bytes, stop: threading.Event) -> Iterator[bytes]:
    yield from file_chunks_bytes(ts)
    stop.wait(30)  # then nothing more: the call stays open


def file_chunks_bytes(data: bytes, size: int = 4096) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.mark.parametrize("how", ["cancel", "deadline", "disconnect"])
def test_cancelled_calls_release_sessions_and_threads(make_server, tmp_path: Path, how: str) -> None:
    clip = make_clip(tmp_path / "long.ts", frames=40)
    ts = clip.read_bytes()
    with make_server(preload=("identity",)) as running:
        stop = threading.Event()
        client = running.client()
        call = client.stream(CONFIG, _slow_chunks(ts, stop), timeout=1.5 if how == "deadline" else 30)
        responses = iter(call)
        assert next(responses).WhichOneof("kind") == "header"
        while next(responses).WhichOneof("kind") != "progress":  # the pipeline runs
            pass
        stats = running.server.stats()
        assert stats["active_streams"] == 1 and stats["worker_threads"] >= 3  # call + decode + infer threads
        if how == "cancel":
            call.cancel()
        elif how == "disconnect":
            client.close()
        with pytest.raises(grpc.RpcError) as info:
            for _ in responses:
                pass
        expected = {"cancel": grpc.StatusCode.CANCELLED, "deadline": grpc.StatusCode.DEADLINE_EXCEEDED,
                    "disconnect": grpc.StatusCode.CANCELLED}[how]
        assert info.value.code() == expected
        # Judged on the server's counters, not a stopwatch: everything is released well before the
        # 10 s idle timeout could have done it, so the cancel itself released it.
        idle = running.wait_idle(timeout=5)
        stop.set()
        client.close()
        assert idle["active_streams"] == 0 and idle["call_threads"] == 0 and idle["worker_threads"] == 0, idle


def test_idle_stream_is_dropped(make_server, ts_clip: Path) -> None:
    with make_server(idle_timeout=0.5) as running, running.client() as client:
        stop = threading.Event()
        with pytest.raises(grpc.RpcError) as info:
            for _ in client.stream(CONFIG, _slow_chunks(ts_clip.read_bytes()[:5000], stop), timeout=30):
                pass
        stop.set()
        assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED and "no message" in info.value.details()
        assert running.wait_idle()["active_streams"] == 0




def test_resolution_and_duration_limits(make_server, ts_clip: Path) -> None:
    from stream_restore.config import Limits

    ts = ts_clip.read_bytes()  # 64x48, 12 frames at 25 fps = 0.48 s
    with make_server(limits=Limits(max_width=32, max_height=32, max_pixels=32 * 32)) as running:
        error = _call(running, _config_then([ts]))
        assert error is not None and error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "64x48 exceeds the limit of 32x32" in error.details()
    with make_server(limits=Limits(max_duration=0.2)) as running:
        error = _call(running, _config_then([ts]))
        assert error is not None and error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "longer than the limit of 0.2 s" in error.details()
        assert running.wait_idle()["worker_threads"] == 0


def test_requests_that_are_not_valid_protobuf_are_invalid_argument(server: Running) -> None:
    """Clients in other languages can send bytes our Python stubs never would (non-UTF-8 strings)."""
    with grpc.insecure_channel(server.address) as channel:
        for method, streamed, wire in (
            ("Restore", True, b"\x0a\x06\x0a\x04\x0a\x02\xff\xfe"),  # config.model.model = b"\xff\xfe"
            ("RestoreFrames", True, b"\x0a\x04\x0a\x02\xff\xfe"),
            ("RestoreImage", False, b"\x12\x04\x0a\x02\xff\xfe"),
            ("ListModels", False, b"\xff\xff\xff"),
        ):
            path = f"/stream_restore.v1.Restorer/{method}"
            if streamed:
                call = channel.stream_stream(path, request_serializer=None, response_deserializer=None)
                with pytest.raises(grpc.RpcError) as info:
                    list(call(iter([wire]), timeout=30))
            else:
                unary = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
                with pytest.raises(grpc.RpcError) as info:
                    unary(wire, timeout=30)
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (method, info.value.details())
            assert "not a valid" in info.value.details()


def test_an_mp4_whose_ftyp_claims_gigabytes_is_refused_at_once(server: Running, tmp_path: Path) -> None:
    """FFmpeg allocated the claimed 2^31 bytes: 9 KB took the server from 0.28 to 2.3 GB (fuzz F12)."""
    clip = make_clip(tmp_path / "fs.mp4", frames=4, container_options={"movflags": "+faststart"})
    data = bytearray(clip.read_bytes())
    data[:4] = (2**31 - 1).to_bytes(4, "big")
    error = _call(server, _config_then([bytes(data)]))
    assert error is not None and error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "ftyp box claims 2147483647 bytes" in error.details()
