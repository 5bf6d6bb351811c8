"""Jobs through the library API: byte-stream in/out, URLs, cancellation, error propagation."""

from __future__ import annotations

import functools
import http.server
import io
import threading
from pathlib import Path

import av
import pytest

from stream_restore.errors import CancelledError, InputError
from stream_restore.pipeline import RestoreJob, restore


class PipeReader(io.RawIOBase):
    """A non-seekable reader, like a socket or a gRPC request stream."""

    def __init__(self, data: bytes, chunk: int = 1500) -> None:
        self._data, self._pos, self._chunk = data, 0, chunk

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        n = min(len(buffer), self._chunk, len(self._data) - self._pos)
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


def count_frames(path_or_bytes) -> int:
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else str(path_or_bytes)
    with av.open(source) as c:
        return sum(1 for _ in c.decode(video=0))


def test_byte_stream_in_and_out(clip):
    src = clip("in.ts", frames=12, audio=("aac",))
    sink = io.BytesIO()
    stats = restore(PipeReader(src.read_bytes()), sink, RestoreJob(model="identity"), output_format="mpegts")
    assert stats.frames_out == 12 and stats.packets_copied > 0
    assert count_frames(sink.getvalue()) == 12


def test_fragmented_mp4_output_to_a_stream(clip):
    src = clip("in.mkv", frames=6)
    sink = io.BytesIO()
    restore(src, sink, RestoreJob(model="bicubic-x2"), output_format="mp4")
    assert count_frames(sink.getvalue()) == 6
    assert b"moof" in sink.getvalue()  # fragmented: playable while it is being written


def test_url_input_over_loopback_http(clip, tmp_path):
    src = clip("in.mkv", frames=5)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(src.parent))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{src.name}"
        out = tmp_path / "out.mkv"
        assert restore(url, out, RestoreJob(model="identity")).frames_out == 5
    finally:
        server.shutdown()
    assert count_frames(out) == 5


def test_cancel_stops_every_thread_and_leaves_no_output(clip, tmp_path):
    src = clip("in.mkv", frames=60)
    out = tmp_path / "out.mkv"
    cancel = threading.Event()
    before = threading.active_count()

    def on_progress(progress) -> None:
        if progress.frames_done >= 3:
            cancel.set()

    with pytest.raises(CancelledError):
        restore(src, out, RestoreJob(model="bicubic-x2"), progress=on_progress, cancel=cancel)
    assert threading.active_count() == before
    assert not out.exists() and not list(tmp_path.glob(".out.partial*"))


def test_an_error_in_one_stage_stops_the_others(clip, tmp_path):
    src = clip("in.mkv", frames=30)
    out = tmp_path / "out.mkv"
    before = threading.active_count()

    def explode(progress) -> None:
        if progress.frames_done == 2:
            raise InputError("boom")

    with pytest.raises(InputError, match="boom"):
        restore(src, out, RestoreJob(model="identity"), progress=explode)
    assert threading.active_count() == before
    assert not out.exists()


def test_streamed_output_needs_a_container(clip):
    from stream_restore.errors import ConfigError

    with pytest.raises(ConfigError):
        restore(clip("in.mkv", frames=2), io.BytesIO(), RestoreJob(model="identity"))


def test_on_start_reports_the_stream(clip, tmp_path: Path):
    seen = []
    restore(clip("in.mkv", frames=3, width=48, height=32), tmp_path / "o.mkv", RestoreJob(model="bicubic-x2"),
            on_start=seen.append)
    start = seen[0]
    assert (start.input.width, start.input.height) == (48, 32) and start.input.frame_rate == 25
    assert (start.output.width, start.output.height) == (96, 64) and start.codec == "libx264"


def test_concatenated_streams_keep_every_frame_and_audio_in_step(clip, tmp_path):
    """Timestamps restarting mid-stream (cat a.ts b.ts) are re-based, not dropped or reordered."""
    a = clip("a.ts", frames=40, audio=("aac",))
    b = clip("b.ts", frames=40, audio=("aac",))
    joined = tmp_path / "joined.ts"
    joined.write_bytes(a.read_bytes() + b.read_bytes())
    out = tmp_path / "out.mkv"
    assert restore(joined, out, RestoreJob(model="identity")).frames_out == 80
    with av.open(str(out)) as c:
        video = [f.time for f in c.decode(video=0)]
    assert video == sorted(video) and len(set(video)) == 80
    assert video[-1] > 3.0  # the second clip continues after the first (1.6 s each)


def _fail_at_frame_two(progress) -> None:
    if progress.frames_done >= 2:
        raise InputError("boom")


@pytest.mark.parametrize("name", ["out.mkv", "out.mp4", "frames"])
def test_a_failing_restore_leaves_an_existing_output_as_it_was(clip, tmp_path, name):
    """A job that fails half-way never touches what is already at the output path: a previous file
    stays byte-identical, a previous (empty) folder stays, and no partial output is left beside it."""
    src = clip("in.mkv", frames=30)
    out = tmp_path / name
    if out.suffix:
        previous = b"the previous output, not a video" * 100
        out.write_bytes(previous)
    else:
        out.mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())

    with pytest.raises(InputError, match="boom"):
        restore(src, out, RestoreJob(model="identity"), progress=_fail_at_frame_two)
    if out.suffix:
        assert out.read_bytes() == previous
    else:
        assert out.is_dir() and not any(out.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no .partial file or folder left


def test_a_cancelled_restore_leaves_an_existing_output_as_it_was(clip, tmp_path):
    src = clip("in.mkv", frames=30)
    out = tmp_path / "out.mkv"
    out.write_bytes(b"previous")
    cancel = threading.Event()

    def cancel_at_frame_two(progress) -> None:
        if progress.frames_done >= 2:
            cancel.set()

    with pytest.raises(CancelledError):
        restore(src, out, RestoreJob(model="identity"), progress=cancel_at_frame_two, cancel=cancel)
    assert out.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv", "out.mkv"]
