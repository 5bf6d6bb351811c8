"""Resource bounds a client cannot get past: frame buffering, slow drips, engines, backends, metrics."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from stream_restore.backends import BackendOptions
from stream_restore.bench.image_memory import zero_png
from stream_restore.errors import LimitExceededError, PermissionDeniedError
from stream_restore.server.engines import EnginePool
from stream_restore.server.pipes import InputPace
from stream_restore.server.status import IdleTimeoutError
from stream_restore.v1 import restore_pb2 as pb
from stream_restore.v1 import restore_pb2_grpc as pb_grpc

from .conftest import Running

IDENTITY = pb.ModelOptions(model="identity")


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# -- the input pace (pure, on a fake clock) -----------------------------------------------------------


def test_a_slow_drip_is_dropped_after_one_window_of_waiting() -> None:
    clock = _Clock()
    pace = InputPace(idle_timeout=60, min_rate=1024, window=30, clock=clock)
    with pytest.raises(IdleTimeoutError, match="minimum input rate"):
        for _ in range(100):  # one byte every 59 s: each wait is under the idle timeout
            pace.waiting()
            clock.now += 59
            pace.received(1)


def test_a_steady_client_and_server_back_pressure_pass() -> None:
    clock = _Clock()
    pace = InputPace(idle_timeout=60, min_rate=1024, window=30, clock=clock)
    for _ in range(1000):  # 64 KiB every second of waiting
        pace.waiting()
        clock.now += 1
        pace.received(65536)
        clock.now += 100  # the server holds the client back: not counted
    pace.waiting()
    clock.now += 59
    pace.check()  # a long wait under the idle timeout, after plenty of data, is fine


def test_one_wait_over_the_idle_timeout_ends_the_call() -> None:
    clock = _Clock()
    pace = InputPace(idle_timeout=5, min_rate=0, window=30, clock=clock)
    pace.waiting()
    clock.now += 5.5
    with pytest.raises(IdleTimeoutError, match="no message for 5 s"):
        pace.check()


def test_a_slow_drip_client_loses_its_slot(make_server) -> None:
    sent = []

    def drip() -> Iterator[pb.RestoreRequest]:
        yield pb.RestoreRequest(config=pb.RestoreConfig(model=IDENTITY))
        for _ in range(200):  # 1 byte per 50 ms = 20 bytes/s, far below the minimum
            time.sleep(0.05)
            sent.append(1)
            yield pb.RestoreRequest(chunk=b"G")

    with make_server(min_input_rate=1000.0, input_rate_window=1.0, idle_timeout=10.0) as running:
        with grpc.insecure_channel(running.address) as channel:
            with pytest.raises(grpc.RpcError) as info:
                list(pb_grpc.RestorerStub(channel).Restore(drip(), timeout=30))
        assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED, info.value.details()
        assert "minimum input rate" in info.value.details()
        assert len(sent) < 200  # dropped long before the client was done
        assert running.wait_idle()["active_streams"] == 0


# -- RestoreFrames buffering ---------------------------------------------------------------------------


def _frames(running: Running, messages: Iterator[pb.FramesRequest]) -> grpc.RpcError:
    with grpc.insecure_channel(running.address) as channel:
        with pytest.raises(grpc.RpcError) as info:
            list(pb_grpc.RestorerStub(channel).RestoreFrames(messages, timeout=30))
    return info.value


def test_a_frame_header_beyond_the_limits_ends_the_call_at_its_first_part(server: Running) -> None:
    parts = []

    def endless() -> Iterator[pb.FramesRequest]:
        yield pb.FramesRequest(config=pb.FramesConfig(model=IDENTITY))
        head = pb.RawFrame(
            format=pb.PIXEL_FORMAT_RGB24,
            width=2**31 - 1,
            height=2**31 - 1,
            data=b"\0" * 65536,
            more_parts=True,
            time_base=pb.Rational(num=1, den=25),
        )
        yield pb.FramesRequest(frame=head)
        for _ in range(10_000):  # would be 640 MB if the server kept reading
            parts.append(1)
            yield pb.FramesRequest(frame=pb.RawFrame(data=b"\0" * 65536, more_parts=True))

    error = _frames(server, endless())
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()
    assert "exceeds the limit" in error.details()
    assert len(parts) < 1000


def test_a_frame_over_the_byte_budget_is_refused_before_it_is_buffered(make_server) -> None:
    def big() -> Iterator[pb.FramesRequest]:
        yield pb.FramesRequest(config=pb.FramesConfig(model=IDENTITY))
        yield pb.FramesRequest(frame=pb.RawFrame(format=pb.PIXEL_FORMAT_RGB48, width=2048, height=2048,
                                                 data=b"\0" * 1024, more_parts=True,
                                                 time_base=pb.Rational(num=1, den=25)))

    with make_server(max_raw_frame_bytes=16 * 1024 * 1024) as running:
        error = _frames(running, big())
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()
    assert "25165824 bytes, over the server's limit of 16777216 bytes per frame" in error.details()


# -- engines and backends ------------------------------------------------------------------------------


def test_a_backend_the_operator_did_not_enable_is_refused_before_anything_is_written(
    make_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with make_server() as running:  # backend torch, nothing else enabled
        with grpc.insecure_channel(running.address) as channel:
            stub = pb_grpc.RestorerStub(channel)
            config = pb.RestoreConfig(model=pb.ModelOptions(model="identity", backend="onnxruntime"))
            with pytest.raises(grpc.RpcError) as info:
                list(stub.Restore(iter([pb.RestoreRequest(config=config)]), timeout=30))
            assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
            with pytest.raises(grpc.RpcError) as image:
                stub.RestoreImage(pb.ImageRequest(image=b"\x89PNG", model=config.model), timeout=30)
            assert image.value.code() == grpc.StatusCode.PERMISSION_DENIED
            info_reply = stub.GetServerInfo(pb.GetServerInfoRequest(), timeout=30)
            assert list(info_reply.backends) == ["torch"]
    assert list(tmp_path.iterdir()) == []  # no engines/cache in the working directory


def test_the_server_caches_exports_in_its_own_folder_not_the_working_directory(
    make_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with make_server() as running:
        cache = running.server.state.engines.options.cache_dir
        assert cache and not Path(cache).resolve().is_relative_to(tmp_path.resolve())
    assert not Path(cache).exists()  # the private folder goes with the server


def test_engines_are_bounded_least_recently_used_first_and_never_closed_in_use() -> None:
    pool = EnginePool(BackendOptions(threads=1), "torch", max_engines=1)
    with pool.lease("identity") as first:
        with pytest.raises(LimitExceededError, match="every one is in use"):
            with pool.lease("bicubic-x2"):
                pass
    with pool.lease("bicubic-x2"):
        assert [e.model for e in pool.loaded()] == ["bicubic-x2"]
        assert not first._loaded  # the idle identity engine was closed to make room
    pool.close()


def test_preloaded_engines_stay() -> None:
    pool = EnginePool(BackendOptions(threads=1), "torch", max_engines=1)
    pool.preload("identity")
    with pytest.raises(LimitExceededError):
        with pool.lease("bicubic-x2"):
            pass
    assert [e.model for e in pool.loaded()] == ["identity"]
    with pytest.raises(PermissionDeniedError):
        pool.check("identity", "onnxruntime")
    pool.close()


def test_metrics_listen_on_loopback_even_when_the_service_listens_everywhere(make_server) -> None:
    if os.environ.get("STREAM_RESTORE_NO_WILDCARD_BIND"):
        pytest.skip("binding 0.0.0.0 is not allowed here")
    with make_server(host="0.0.0.0", metrics_port=0) as running:
        host, _port = running.server._http.server_address[:2]
    assert host == "127.0.0.1"


def test_image_bombs_are_refused_from_the_header_before_decoding(make_server) -> None:
    """A 112 KB all-zero 8192x4352 PNG used to take the server from 0.3 to 2.75 GB (identity)."""
    with make_server(max_image_pixels=1024 * 1024, max_image_output_pixels=1024 * 1024) as running:
        with grpc.insecure_channel(
            running.address, options=[("grpc.max_send_message_length", 1 << 24)]
        ) as channel:
            stub = pb_grpc.RestorerStub(channel)
            for model, size, text in (("identity", (2048, 1024), "exceeds the limit"),
                                      ("bicubic-x2", (1024, 512), "over the output limit")):
                request = pb.ImageRequest(image=zero_png(*size), model=pb.ModelOptions(model=model))
                with pytest.raises(grpc.RpcError) as info:
                    stub.RestoreImage(request, timeout=30)
                assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, info.value.details()
                assert text in info.value.details()
            ok = stub.RestoreImage(
                pb.ImageRequest(image=zero_png(512, 512), model=pb.ModelOptions(model="bicubic-x2")),
                timeout=60,
            )
            assert (ok.width, ok.height) == (1024, 1024)
