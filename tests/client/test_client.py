"""The Python client and the ``client`` and ``demo`` commands against a real in-process server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from stream_restore.cli import main
from stream_restore.client import RestoreClient, source_chunks
from stream_restore.server.background import server_in_thread

from ..conftest import ClipSpec, decode_video, make_clip, stream_summary
from ..server.conftest import BASE


@pytest.fixture(scope="module")
def address() -> Iterator[str]:
    with server_in_thread(replace(BASE, preload=("identity",))) as server:
        yield f"127.0.0.1:{server.port}"


def test_client_command(address: str, tmp_path: Path) -> None:
    source = make_clip(tmp_path / "in.ts", ClipSpec(audio=("aac",)))
    out = tmp_path / "out.mkv"
    assert main(["client", str(source), str(out), "--server", address, "-m", "bicubic-x2", "-q"]) == 0
    frames, _, _, _ = decode_video(out)
    assert len(frames) == 12 and frames[0].shape == (96, 128, 3)
    assert [s[0] for s in stream_summary(out)] == ["video", "audio"]


def test_client_command_errors(address: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = make_clip(tmp_path / "in.ts")
    assert main(["client", str(source), str(tmp_path / "o.ts"), "--server", address, "-m", "nope", "-q"]) == 2
    assert "nope" in capsys.readouterr().err
    assert main(["client", str(source), str(tmp_path / "o.avi"), "--server", address, "-q"]) == 2
    assert not list(tmp_path.glob("*.partial*")) and not (tmp_path / "o.ts").exists()


def test_classic_mp4_and_urls_are_remuxed(address: str, tmp_path: Path) -> None:
    classic = make_clip(tmp_path / "classic.mp4", ClipSpec(audio=("aac",)))
    assert next(iter(source_chunks(classic)))[4:8] != b"ftyp"  # sent as Matroska, not as the file
    with RestoreClient(address) as client:
        result = client.restore(classic, tmp_path / "a.mkv", model="identity", timeout=60)
        assert result.summary.frames_out == 12 and result.summary.packets_copied > 0
        url = make_clip(tmp_path / "url.mkv").resolve().as_uri()  # any URL PyAV opens -> MPEG-TS
        result = client.restore(url, tmp_path / "b.ts", model="identity", timeout=60)
        assert result.summary.frames_out == 12
    assert len(decode_video(tmp_path / "b.ts")[0]) == 12


def test_demo_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sample.mp4"
    assert main(["demo", str(out), "--seconds", "0.5", "--size", "96x64", "-m", "identity"]) == 0
    err = capsys.readouterr().err
    assert "server listening on 127.0.0.1:" in err and "restored 12 frames" in err and str(out) in err
    assert [s[0] for s in stream_summary(out)] == ["video", "audio"]
    assert len(decode_video(out)[0]) == 12


def test_an_input_the_client_cannot_read_is_an_input_error_not_unknown(address: str, tmp_path: Path) -> None:
    """A classic MP4 is remuxed here as it is sent: a damaged one failed inside gRPC's request
    iterator and came back as UNKNOWN from "server" (fuzz F9)."""
    from stream_restore.errors import InputError

    data = make_clip(tmp_path / "classic.mp4").read_bytes()
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(data[: len(data) * 3 // 5])  # the index (at the end) is cut off
    with RestoreClient(address) as client, pytest.raises(InputError) as caught:
        client.restore(damaged, tmp_path / "out.mkv", model="identity", timeout=60)
    assert not str(caught.value).startswith("server:")
    assert not (tmp_path / "out.mkv").exists() and not list(tmp_path.glob(".out*"))


def test_client_gop_sets_the_keyframe_interval(address: str, tmp_path: Path) -> None:
    import av

    source = make_clip(tmp_path / "in.ts", ClipSpec(frames=12))
    out = tmp_path / "out.ts"
    argv = ["client", str(source), str(out), "--server", address, "-m", "identity", "--gop", "4", "-q"]
    assert main(argv) == 0
    with av.open(str(out)) as container:
        keys = [p.is_keyframe for p in container.demux(video=0) if p.size]
    assert keys.count(True) >= 3 and keys[:5] == [True, False, False, False, True]
