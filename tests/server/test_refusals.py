"""Refusals and bounds that mutation testing found unguarded (issue 11): each test failed on a one-line fault.

* a request for an unknown model or a disabled backend is refused with its own code before a stream
  slot is taken, so it is told the truth even while every slot is busy;
* negative output settings, an empty image and a stream ending inside a split frame are caller errors;
* a one-chunk output buffer still finishes a restore (the servicer hands every sent chunk back).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from stream_restore.client import frame_messages
from stream_restore.v1 import restore_pb2 as pb
from stream_restore.v1 import restore_pb2_grpc as pb_grpc

from .conftest import Running

IDENTITY = pb.ModelOptions(model="identity")
CONFIG = pb.RestoreConfig(model=IDENTITY, output=pb.OutputOptions(container="matroska", codec="ffv1"))


def _restore(running: Running, requests: list[pb.RestoreRequest]) -> tuple[list[pb.RestoreResponse],
                                                                             grpc.RpcError | None]:
    with grpc.insecure_channel(running.address) as channel:
        responses: list[pb.RestoreResponse] = []
        try:
            for response in pb_grpc.RestorerStub(channel).Restore(iter(requests), timeout=60):
                responses.append(response)
        except grpc.RpcError as exc:
            return responses, exc
    return responses, None


def _frames(running: Running, requests: list[pb.FramesRequest]) -> grpc.RpcError | None:
    with grpc.insecure_channel(running.address) as channel:
        try:
            list(pb_grpc.RestorerStub(channel).RestoreFrames(iter(requests), timeout=60))
        except grpc.RpcError as exc:
            return exc
    return None


def _held_open(ts: bytes, stop: threading.Event) -> Iterator[bytes]:
    yield ts
    stop.wait(30)  # then nothing more: the call keeps its slot


def test_unknown_models_and_disabled_backends_are_told_so_while_every_slot_is_busy(
    make_server, ts_clip: Path
) -> None:
    with make_server(max_streams=1, preload=("identity",)) as running, running.client() as client:
        stop = threading.Event()
        try:
            busy = client.stream(CONFIG, _held_open(ts_clip.read_bytes(), stop), timeout=60)
            deadline = time.monotonic() + 20
            while running.server.stats()["active_streams"] < 1 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert running.server.stats()["active_streams"] == 1  # the only slot is taken
            cases = {
                "unknown model": (pb.ModelOptions(model="no-such-model"), grpc.StatusCode.NOT_FOUND),
                "disabled backend": (pb.ModelOptions(model="identity", backend="onnxruntime"),
                                     grpc.StatusCode.PERMISSION_DENIED),
            }
            for name, (model, code) in cases.items():
                _, error = _restore(running, [pb.RestoreRequest(config=pb.RestoreConfig(model=model))])
                assert error is not None and error.code() == code, f"Restore, {name}: {error}"
                first = pb.FramesRequest(config=pb.FramesConfig(model=model))
                error = _frames(running, [first, *frame_messages(b"\0" * 48, pb.PIXEL_FORMAT_RGB24, 4, 4, 0,
                                                                 (1, 25))])
                assert error is not None and error.code() == code, f"RestoreFrames, {name}: {error}"
            # the busy stream itself is refused nothing: a second real stream is
            _, error = _restore(running, [pb.RestoreRequest(config=CONFIG)])
            assert error is not None and error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        finally:
            stop.set()
            busy.cancel()


@pytest.mark.parametrize("field", ["gop", "bitrate", "progress_interval"])
def test_negative_output_settings_are_invalid_argument(server: Running, ts_clip: Path, field: str) -> None:
    config = pb.RestoreConfig()
    config.CopyFrom(CONFIG)
    if field == "progress_interval":
        config.progress_interval = -1
    else:
        setattr(config.output, field, -1)
    responses, error = _restore(server, [pb.RestoreRequest(config=config),
                                         pb.RestoreRequest(chunk=ts_clip.read_bytes())])
    assert error is not None and error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
    assert "must not be negative" in error.details()
    assert responses == []  # refused before anything was restored


def test_an_image_request_without_bytes_is_invalid_argument(server: Running) -> None:
    with grpc.insecure_channel(server.address) as channel:
        with pytest.raises(grpc.RpcError) as info:
            pb_grpc.RestorerStub(channel).RestoreImage(pb.ImageRequest(image=b"", model=IDENTITY), timeout=30)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "no image bytes" in info.value.details()


def test_a_stream_that_ends_inside_a_split_frame_is_invalid_argument(server: Running) -> None:
    parts = frame_messages(bytes(range(256)) * 3, pb.PIXEL_FORMAT_RGB24, 16, 16, 0, (1, 25), part_bytes=256)
    assert len(parts) == 3
    error = _frames(server, [pb.FramesRequest(config=pb.FramesConfig(model=IDENTITY)), *parts[:2]])
    assert error is not None and error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
    assert "middle of a frame" in error.details()


def test_a_restore_whose_output_outgrows_a_one_chunk_buffer_finishes(make_server, ts_clip: Path) -> None:
    """Room for one unsent chunk: every chunk sent must free its room again, or the encoder waits forever."""
    with make_server(output_buffer_chunks=1, preload=("identity",)) as running:
        responses, error = _restore(running, [pb.RestoreRequest(config=CONFIG),
                                              pb.RestoreRequest(chunk=ts_clip.read_bytes())])
    assert error is None, error
    chunks = [r for r in responses if r.WhichOneof("kind") == "chunk"]
    summaries = [r.summary for r in responses if r.WhichOneof("kind") == "summary"]
    assert len(chunks) >= 2 and summaries and summaries[0].frames_out == 12
