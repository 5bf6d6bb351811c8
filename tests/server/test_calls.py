"""RestoreFrames, RestoreImage, ListModels, GetServerInfo, health and reflection over a real channel."""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Iterator

import av
import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from stream_restore.client import frame_messages, join_frames
from stream_restore.media.convert import frame_to_tensor
from stream_restore.models import list_specs
from stream_restore.v1 import restore_pb2 as pb

from ..conftest import pattern
from .conftest import Running, png

RECURRENT = next((s.name for s in list_specs() if s.recurrent and s.scale > 1), None) or "bicubic-x2"
W, H = 40, 32


def _frames(seed: int, count: int = 5) -> list[bytes]:
    return [pattern(i * 3 + seed, W, H).tobytes() for i in range(count)]


def _requests(frames: list[bytes], part_bytes: int = 1 << 20) -> Iterator[pb.FramesRequest]:
    for i, data in enumerate(frames):
        yield from frame_messages(data, pb.PIXEL_FORMAT_RGB24, W, H, i * 40, (1, 1000), part_bytes=part_bytes)


def _config(model: str = RECURRENT) -> pb.FramesConfig:
    return pb.FramesConfig(model=pb.ModelOptions(model=model))


def _alone(running: Running, frames: list[bytes]) -> list[tuple[pb.RawFrame, bytes]]:
    with running.client() as client:
        return list(join_frames(client.restore_frames(_config(), _requests(frames), timeout=60)))


def test_restore_frames_keeps_state_per_stream(server: Running) -> None:
    a, b = _frames(0), _frames(100)
    alone_a, alone_b = _alone(server, a), _alone(server, b)
    scale = 2 if RECURRENT != "identity" else 1
    assert len(alone_a) == 5 and alone_a[0][0].width == W * scale
    assert [f.pts for f, _ in alone_a] == [i * 40 for i in range(5)]
    # two streams at once, their frames sent alternately: each must equal its solo run
    feeds: list[queue.Queue[pb.FramesRequest | None]] = [queue.Queue(), queue.Queue()]

    def requests(q: queue.Queue[pb.FramesRequest | None]) -> Iterator[pb.FramesRequest]:
        while (item := q.get(timeout=30)) is not None:
            yield item

    results: list[list[tuple[pb.RawFrame, bytes]]] = [[], []]
    with server.client() as client:
        def consume(k: int) -> None:
            results[k] = list(join_frames(client.restore_frames(_config(), requests(feeds[k]), timeout=60)))

        threads = [threading.Thread(target=consume, args=(k,)) for k in (0, 1)]
        for t in threads:
            t.start()
        for msgs in zip(_requests(a), _requests(b), strict=True):
            for q, m in zip(feeds, msgs, strict=True):
                q.put(m)
        for q in feeds:
            q.put(None)
        for t in threads:
            t.join(60)
    assert [d for _, d in results[0]] == [d for _, d in alone_a]
    assert [d for _, d in results[1]] == [d for _, d in alone_b]
    assert [d for _, d in alone_a] != [d for _, d in alone_b]


def test_restore_frames_splits_large_frames(make_server) -> None:
    """Frames bigger than the message limit travel in parts, both ways."""
    w, h = 160, 120  # 115 KB of RGB48 > 64 KiB messages
    data = (np.arange(w * h * 3, dtype=np.uint16) * 7).astype("<u2").tobytes()
    with make_server(max_message_bytes=64 * 1024) as running, \
            running.client(max_message_bytes=64 * 1024) as client:
        requests = frame_messages(data, pb.PIXEL_FORMAT_RGB48, w, h, 0, (1, 25), part_bytes=60 * 1024)
        assert len(requests) == 2
        responses = list(client.restore_frames(_config("identity"), iter(requests), timeout=60))
    parts = [r.frame for r in responses if r.WhichOneof("kind") == "frame"]
    assert len(parts) == 2 and parts[0].more_parts and not parts[1].more_parts
    (head, out), = join_frames(responses)
    assert (head.width, head.height, head.format) == (w, h, pb.PIXEL_FORMAT_RGB48)
    assert out == data  # identity through the float pipeline is exact at 16 bits
    assert responses[-1].summary.frames_out == 1


def test_restore_frames_yuv420p(server: Running) -> None:
    rgb = pattern(1, W, H)
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p", dst_colorspace=1)
    data = b"".join(
        bytes(np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[:, : p.width]) for p in frame.planes
    )
    with server.client() as client:
        config = pb.FramesConfig(model=pb.ModelOptions(model="identity"), output_format=pb.PIXEL_FORMAT_RGB24)
        requests = frame_messages(data, pb.PIXEL_FORMAT_YUV420P, W, H, 0, (1, 25))
        (head, out), = join_frames(client.restore_frames(config, iter(requests), timeout=60))
    restored = np.frombuffer(out, np.uint8).reshape(H, W, 3).astype(int)
    assert head.format == pb.PIXEL_FORMAT_RGB24
    frame.colorspace, frame.color_range = 1, 1  # what the server assumes by default: BT.709, limited
    expected = (frame_to_tensor(frame).permute(1, 2, 0).numpy() * 255).round().clip(0, 255).astype(int)
    assert np.abs(restored - expected).max() <= 1


def _decode(data: bytes) -> av.VideoFrame:
    with av.open(io.BytesIO(data)) as c:
        return next(c.decode(video=0))


def test_restore_image(server: Running) -> None:
    with server.client() as client:
        reply = client.restore_image(png(W, H), "bicubic-x2", timeout=60)
        assert reply.mime_type == "image/png" and (reply.width, reply.height) == (2 * W, 2 * H)
        assert _decode(reply.image).width == 2 * W
        jpeg = client.restore_image(png(W, H), "identity", output_format="jpeg", quality=90, timeout=60)
        assert jpeg.mime_type == "image/jpeg" and _decode(jpeg.image).height == H
        tiled = client.restore_image(png(W, H), "bicubic-x2", tile_max_pixels=24 * 24, timeout=60)
        np.testing.assert_allclose(
            _decode(tiled.image).to_ndarray(format="rgb24").astype(int),
            _decode(reply.image).to_ndarray(format="rgb24").astype(int), atol=1,
        )


def test_list_models_and_server_info(server: Running) -> None:
    with server.client() as client:
        models = {m.name: m for m in client.list_models()}
        info = client.server_info()
    assert set(models) == {s.name for s in list_specs()}
    assert models["bicubic-x2"].scale == 2 and models["identity"].loaded
    assert info.version and "torch" in info.backends and "cpu" in info.devices
    assert info.limits.max_concurrent_streams == 4 and info.limits.max_message_bytes > 0
    assert any(e.model == "identity" for e in info.engines)


def test_health_and_reflection(server: Running) -> None:
    with grpc.insecure_channel(server.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "stream_restore.v1.Restorer"):
            reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as info:
            health.Check(health_pb2.HealthCheckRequest(service="nope"), timeout=10)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        replies = list(
            stub.ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10
            )
        )
        names = {s.name for s in replies[0].list_services_response.service}
        assert {"stream_restore.v1.Restorer", "grpc.health.v1.Health",
                "grpc.reflection.v1alpha.ServerReflection"} <= names
        request = reflection_pb2.ServerReflectionRequest(file_containing_symbol="stream_restore.v1.Restorer")
        replies = list(stub.ServerReflectionInfo(iter([request]), timeout=10))
        assert replies[0].file_descriptor_response.file_descriptor_proto


def _no_cuts(model: str = RECURRENT) -> pb.FramesConfig:
    """Scene detection off, so only an explicit reset can start a new segment."""
    return pb.FramesConfig(model=pb.ModelOptions(model=model, disable_scene_detection=True))


def test_reset_between_two_clips_equals_two_separate_calls(server: Running) -> None:
    """A reset clears the recurrent state and the frame window: clip A, reset, clip B in one call
    gives what A and B give in two calls; without the reset B's frames come out different."""
    assert next(s for s in list_specs() if s.name == RECURRENT).recurrent, "needs a recurrent model"
    a, b = _frames(0), _frames(100)
    with server.client() as client:
        alone_a = [d for _, d in join_frames(client.restore_frames(_no_cuts(), _requests(a), timeout=60))]
        alone_b = [d for _, d in join_frames(client.restore_frames(_no_cuts(), _requests(b), timeout=60))]

        def one_call(reset: bool) -> list[bytes]:
            middle = [pb.FramesRequest(reset=pb.Reset())] if reset else []
            requests = [*_requests(a), *middle, *_requests(b)]
            return [d for _, d in join_frames(client.restore_frames(_no_cuts(), iter(requests), timeout=60))]

        with_reset, without_reset = one_call(True), one_call(False)
    assert len(with_reset) == 10
    assert with_reset == alone_a + alone_b
    assert without_reset[5:] != alone_b  # the test can tell a reset from none


def test_server_info_lists_only_backends_this_installation_can_run(make_server) -> None:
    from stream_restore.backends import installed_backends

    with make_server(allowed_backends=("tensorrt", "onnxruntime")) as running, running.client() as client:
        info = client.server_info()
    assert set(info.backends) == {"torch", "tensorrt", "onnxruntime"} & installed_backends()
