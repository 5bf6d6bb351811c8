"""Restore over a real channel: same result as the local command, concurrency and the stream limit."""

from __future__ import annotations

import io
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import grpc
import numpy as np
import pytest

from stream_restore.client import ChunkCollector, file_chunks
from stream_restore.errors import LimitExceededError
from stream_restore.pipeline import RestoreJob, restore
from stream_restore.v1 import restore_pb2 as pb

from ..conftest import decode_video, remux_without, stream_summary
from .conftest import Running


def _config(
    model: str = "identity", container: str = "matroska", codec: str = "ffv1", pix_fmt: str = ""
) -> pb.RestoreConfig:
    return pb.RestoreConfig(model=pb.ModelOptions(model=model),
                            output=pb.OutputOptions(container=container, codec=codec, pix_fmt=pix_fmt))


def test_restore_matches_local_restore(server: Running, ts_clip: Path, tmp_path: Path) -> None:
    from stream_restore.backends import BackendOptions
    from stream_restore.config import EncodeOptions

    local = tmp_path / "local.mkv"
    restore(
        ts_clip,
        local,
        RestoreJob(
            model="identity",
            backend="torch",
            backend_options=BackendOptions(threads=1),
            encode=EncodeOptions(codec="ffv1"),
        ),
    )
    remote = tmp_path / "remote.mkv"
    progress: list[pb.Progress] = []
    with server.client() as client:
        result = client.restore(ts_clip, remote, _config(), progress=progress.append, timeout=60)
    assert result.header is not None and result.summary is not None
    assert (result.header.input.width, result.header.output.width) == (64, 64)
    assert result.header.container == "matroska" and result.header.stream_id
    assert result.summary.frames_out == 12 and result.summary.packets_copied > 0
    assert [p.frames_done for p in progress] == list(range(1, 13))
    local_frames, local_pts, local_tb, _ = decode_video(local)
    remote_frames, remote_pts, remote_tb, _ = decode_video(remote)
    assert [p * local_tb for p in local_pts] == [p * remote_tb for p in remote_pts]
    assert len(remote_frames) == 12
    for a, b in zip(local_frames, remote_frames, strict=True):
        np.testing.assert_array_equal(a, b)
    local_streams, remote_streams = stream_summary(local), stream_summary(remote)
    assert [s[:3] for s in local_streams] == [s[:3] for s in remote_streams]  # type, codec, packets
    assert remote_streams[1][0] == "audio"
    assert remote_streams[1][3] == pytest.approx(local_streams[1][3], abs=0.03)
    assert server.wait_idle()["active_streams"] == 0


def test_restore_fragmented_mp4_with_scale(server: Running, ts_clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    with server.client() as client:
        config = pb.RestoreConfig(
            model=pb.ModelOptions(model="bicubic-x2"), output=pb.OutputOptions(preset="ultrafast")
        )
        result = client.restore(ts_clip, out, config, timeout=60)
    frames, _, _, _ = decode_video(out)
    assert len(frames) == 12 and frames[0].shape == (96, 128, 3)
    assert result.header.output.width == 128 and result.header.mime_type == "video/mp4"
    assert [s[0] for s in stream_summary(out)] == ["video", "audio"]


def test_damaged_input_is_reported_in_the_summary(server: Running, clip, tmp_path: Path) -> None:
    src = clip("in.ts", frames=40, width=64, height=48, options={"g": "10"})
    lost = tmp_path / "lost.ts"
    remux_without(src, lost, range(22, 25))
    with server.client() as client:
        result = client.restore(lost, tmp_path / "out.mkv", _config(), timeout=60)
    assert result.summary is not None and result.summary.frames_out == 37
    assert any("frame(s) missing" in w for w in result.summary.warnings), list(result.summary.warnings)


def _held_chunks(data: list[bytes], release: threading.Event) -> object:
    """All but the last chunk at once, the last one when ``release`` is set (keeps the call open)."""
    yield from data[:-1]
    release.wait(30)
    yield data[-1]


def test_four_concurrent_streams_and_the_limit(make_server, ts_clip: Path, tmp_path: Path) -> None:
    chunks = list(file_chunks(ts_clip, 4096))
    with make_server(max_streams=4, preload=("identity",)) as running, running.client() as client:
        release = threading.Event()
        calls = [client.stream(_config(), _held_chunks(chunks, release), timeout=60) for _ in range(4)]
        deadline = time.monotonic() + 20
        while running.server.stats()["active_streams"] < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert running.server.stats()["active_streams"] == 4
        with pytest.raises(LimitExceededError, match="maximum of 4"):
            client.restore(ts_clip, tmp_path / "fifth.mkv", _config(), timeout=30)
        release.set()
        outputs = []
        for call in calls:
            data = b"".join(r.chunk for r in call if r.WhichOneof("kind") == "chunk")
            outputs.append(data)
        decoded = []
        for i, data in enumerate(outputs):
            path = tmp_path / f"out{i}.mkv"
            path.write_bytes(data)
            frames, pts, _, _ = decode_video(path)
            assert len(frames) == 12
            decoded.append((np.stack(frames), pts))
        for frames, pts in decoded[1:]:  # identical streams in, identical frames out
            np.testing.assert_array_equal(frames, decoded[0][0])
            assert pts == decoded[0][1]
        assert running.wait_idle()["active_streams"] == 0
        # the slot is free again
        result = client.restore(ts_clip, tmp_path / "after.mkv", _config(), timeout=30)
        assert result.summary.frames_out == 12


def _endless_raw_matroska(
    stop: threading.Event, counter: list[int], width: int = 320, height: int = 240
) -> object:
    """An endless uncompressed stream (230 KB a frame) with increasing timestamps."""
    sink = ChunkCollector()
    out = av.open(sink, "w", format="matroska")
    stream = out.add_stream("rawvideo", rate=25)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    frame = av.VideoFrame.from_ndarray(np.full((height, width, 3), 128, np.uint8), format="rgb24").reformat(
        format="yuv420p"
    )
    index = 0
    while not stop.is_set():
        frame.pts = index
        frame.time_base = Fraction(1, 25)
        out.mux(stream.encode(frame))
        index += 1
        data = sink.take()
        if data:
            counter[0] += len(data)
            yield data


def _wait_until_input_stalls(sent: list[int], limit: int, polls: int = 20, timeout: float = 120.0) -> None:
    """Return once ``sent[0]`` has not moved for ``polls`` polls in a row; fail if it passes ``limit``
    first (the server buffers without bound) or never stalls (it keeps reading)."""
    deadline = time.monotonic() + timeout
    last, unchanged = -1, 0
    while unchanged < polls:
        assert sent[0] < limit, f"the server kept accepting input ({sent[0]} bytes)"
        assert time.monotonic() < deadline, f"the input never stalled ({sent[0]} bytes)"
        unchanged = unchanged + 1 if sent[0] == last else 0
        last = sent[0]
        time.sleep(0.05)


def test_input_is_read_only_as_fast_as_it_is_restored(make_server) -> None:
    """A client with endless data is held back by flow control when the server cannot keep up."""
    stop = threading.Event()
    sent = [0]
    with (
        make_server(input_buffer_bytes=64 * 1024, output_buffer_chunks=2) as running,
        running.client() as client,
    ):
        call = client.stream(
            _config(codec="rawvideo", pix_fmt="yuv420p"), _endless_raw_matroska(stop, sent), timeout=30
        )
        responses = iter(call)
        assert next(responses).WhichOneof("kind") == "header"
        # We never read the (large) output: the server's muxer waits, so its reader waits. Judged on
        # the byte counter alone: it must stop growing (however long the server takes to fill its
        # buffers on a busy machine) while still under what the buffers can hold.
        _wait_until_input_stalls(sent, limit=64 * 1024 * 1024)
        stop.set()
        call.cancel()
        with pytest.raises(grpc.RpcError):
            for _ in responses:
                pass
        assert running.wait_idle()["active_streams"] == 0


def test_concatenated_input_is_restored_with_a_warning(
    server: Running, ts_clip: Path, tmp_path: Path
) -> None:
    """Timestamps that jump back (two clips glued together) drop packets with a warning, not INTERNAL."""
    data = ts_clip.read_bytes()
    with server.client() as client:
        result = client.restore(io.BytesIO(data + data), tmp_path / "out.mkv", _config(), timeout=60)
    assert result.summary.frames_out == 12
    assert any("go backwards" in w for w in result.summary.warnings)


@pytest.mark.parametrize(("interval", "expected"), [(5, [5, 10]), (4, [4, 8, 12]), (20, [])])
def test_progress_interval_is_honoured(server: Running, ts_clip: Path, tmp_path: Path, interval: int,
                                       expected: list[int]) -> None:
    """``progress_interval`` N sends a Progress every N restored frames, not every frame."""
    config = _config()
    config.progress_interval = interval
    progress: list[pb.Progress] = []
    with server.client() as client:
        result = client.restore(ts_clip, tmp_path / "out.mkv", config, progress=progress.append, timeout=60)
    assert result.summary is not None and result.summary.frames_out == 12
    assert [p.frames_done for p in progress] == expected
    assert all(p.frames_total in (0, 12) for p in progress)
