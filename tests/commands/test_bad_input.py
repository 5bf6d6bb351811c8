"""Bad input: a one-line error naming the problem, exit 2 (1 for internal), never a partial output."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from stream_restore.cli import main
from tests.conftest import REPO


def run_cli(capsys, *args: object) -> tuple[int, str]:
    code = main(["restore", *map(str, args), "--quiet"])
    err = capsys.readouterr().err
    return code, err


def assert_clean_failure(tmp_path: Path, code: int, err: str, message: str, expected_code: int = 2) -> None:
    assert code == expected_code, err
    lines = [line for line in err.strip().splitlines() if line]
    assert lines and lines[-1].startswith("stream-restore: error:"), err
    assert message.lower() in lines[-1].lower(), err
    assert "Traceback" not in err
    leftovers = [p.name for p in tmp_path.rglob("*") if p.name.startswith(("out", ".out"))]
    assert leftovers == [], leftovers


def test_garbage_bytes(tmp_path, capsys):
    src = tmp_path / "garbage.mp4"
    src.write_bytes(os.urandom(4096))
    assert_clean_failure(tmp_path, *run_cli(capsys, src, tmp_path / "out.mp4"), "not a readable media file")


def test_truncated_file(clip, tmp_path, capsys):
    src = clip("whole.mp4", frames=20)
    data = src.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    assert_clean_failure(tmp_path, *run_cli(capsys, cut, tmp_path / "out.mp4"), "truncated")


def test_empty_file(tmp_path, capsys):
    src = tmp_path / "empty.mkv"
    src.write_bytes(b"")
    assert_clean_failure(tmp_path, *run_cli(capsys, src, tmp_path / "out.mkv"), "empty")


def test_audio_only_file(tmp_path, capsys):
    src = tmp_path / "audio.m4a"
    with av.open(str(src), "w", format="mp4") as c:
        a = c.add_stream("aac", rate=48000)
        frame = av.AudioFrame.from_ndarray(np.zeros((2, 1024), np.float32), format="fltp", layout="stereo")
        frame.sample_rate, frame.pts = 48000, 0
        c.mux(a.encode(frame))
        c.mux(a.encode(None))
    assert_clean_failure(tmp_path, *run_cli(capsys, src, tmp_path / "out.mp4"), "no video stream")


def test_missing_file(tmp_path, capsys):
    assert_clean_failure(tmp_path, *run_cli(capsys, tmp_path / "nope.mp4", tmp_path / "out.mp4"), "no such file")


def test_unknown_output_container(clip, tmp_path, capsys):
    src = clip("in.mkv", frames=2)
    assert_clean_failure(tmp_path, *run_cli(capsys, src, tmp_path / "out.xyz"), "unknown output type")


def test_unknown_encoder(clip, tmp_path, capsys):
    src = clip("in.mkv", frames=2)
    assert_clean_failure(tmp_path, *run_cli(capsys, src, tmp_path / "out.mkv", "--codec", "nosuch"), "not available")


def test_video_codec_without_decoder(tmp_path, capsys):
    src = tmp_path / "evc.nut"  # NUT stores any codec; this FFmpeg has no EVC decoder
    with av.open(str(src), "w") as c:
        s = c.add_mux_stream("evc", rate=25, width=64, height=48)
        s.time_base = Fraction(1, 25)
        for i in range(3):
            p = av.Packet(os.urandom(64))
            p.pts = p.dts = i
            p.time_base = Fraction(1, 25)
            p.stream = s
            c.mux(p)
    code, err = run_cli(capsys, src, tmp_path / "out.mkv")
    assert_clean_failure(tmp_path, code, err, "not supported")


def test_unknown_model(clip, tmp_path, capsys):
    src = clip("in.mkv", frames=2)
    assert_clean_failure(tmp_path, *run_cli(capsys, src, tmp_path / "out.mkv", "--model", "nosuch"), "unknown model")


def test_unwritable_output_path(clip, tmp_path, capsys):
    src = clip("in.mkv", frames=2)
    code, err = run_cli(capsys, src, tmp_path / "no" / "such" / "dir" / "out.mkv")
    assert_clean_failure(tmp_path, code, err, "does not exist")


def test_odd_resolution_into_420_codec(clip, tmp_path, capsys):
    src = clip("odd.mkv", frames=2, width=33, height=17, codec="ffv1", pix_fmt="yuv444p")
    code, err = run_cli(capsys, src, tmp_path / "out.mp4", "--model", "identity", "--pix-fmt", "yuv420p")
    assert_clean_failure(tmp_path, code, err, "even width and height")


def test_tiny_resolution(tmp_path, capsys):
    src = tmp_path / "dot.png"
    av.VideoFrame.from_ndarray(np.zeros((1, 1, 3), np.uint8), format="rgb24").save(str(src))
    assert_clean_failure(tmp_path, *run_cli(capsys, src, tmp_path / "out.png"), "below the minimum")


def test_absurd_declared_resolution(tmp_path, capsys):
    src = tmp_path / "huge.y4m"
    src.write_bytes(b"YUV4MPEG2 W100000 H100000 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + os.urandom(1024))
    assert_clean_failure(tmp_path, *run_cli(capsys, src, tmp_path / "out.mp4"), "100000x100000")


def test_resolution_above_configured_limit(clip, tmp_path, capsys):
    src = clip("in.mkv", frames=2, width=64, height=48)
    code, err = run_cli(capsys, src, tmp_path / "out.mkv", "--max-size", "32x32")
    assert_clean_failure(tmp_path, code, err, "exceeds the limit")


def test_frame_size_change_into_one_video(clip, tmp_path, capsys):
    # Two 1.6 s clips back to back: the second restarts its timestamps and changes size.
    a = clip("a.ts", frames=40, width=64, height=48)
    b = clip("b.ts", frames=40, width=96, height=64)
    joined = tmp_path / "joined.ts"
    joined.write_bytes(a.read_bytes() + b.read_bytes())
    code, err = run_cli(capsys, joined, tmp_path / "out.mkv", "--model", "identity")
    assert_clean_failure(tmp_path, code, err, "frame size changed")


def test_frame_size_change_into_folder_is_fine(clip, tmp_path, capsys):
    a = clip("a.ts", frames=40, width=64, height=48)
    b = clip("b.ts", frames=40, width=96, height=64)
    joined = tmp_path / "joined.ts"
    joined.write_bytes(a.read_bytes() + b.read_bytes())
    code, _ = run_cli(capsys, joined, tmp_path / "frames", "--model", "identity")
    assert code == 0
    assert len(list((tmp_path / "frames").iterdir())) == 80


def test_corrupt_packet_mid_stream_is_skipped_with_warning(clip, tmp_path, caplog):
    src = clip("in.ts", frames=40, width=64, height=48, options={"g": "5"})
    data = bytearray(src.read_bytes())
    # Overwrite TS packet payloads in the middle of the file (sync bytes and continuity counters
    # kept). Seeded: with some byte patterns the demuxer silently discards whole frames and only the
    # gap they leave in the timestamps tells (seen on CI with os.urandom).
    rng = random.Random(1)
    for start in range(len(data) // 2, len(data) // 2 + 188 * 6, 188):
        offset = start - start % 188
        data[offset + 8 : offset + 188] = rng.randbytes(180)
    broken = tmp_path / "broken.ts"
    broken.write_bytes(bytes(data))
    code = main(["restore", str(broken), str(tmp_path / "out.mkv"), "--model", "identity", "--quiet"])
    assert code == 0
    assert any("missing" in r.getMessage() for r in caplog.records if r.name.startswith("stream_restore")), \
        "lost frames went unreported"
    with av.open(str(tmp_path / "out.mkv")) as c:
        assert sum(1 for _ in c.decode(video=0)) >= 30


def test_ctrl_c_stops_cleanly_without_output(clip, tmp_path):
    src = clip("long.mkv", frames=400, width=320, height=240, options={"preset": "ultrafast"})
    out = tmp_path / "out.mkv"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # A test run started in the background (``cmd &``, nohup) ignores SIGINT, and an ignored SIGINT
    # is inherited: Python then never turns it into KeyboardInterrupt. Start the child as a shell's
    # foreground job would.
    proc = subprocess.Popen(
        [sys.executable, "-m", "stream_restore", "restore", str(src), str(out), "--model", "bicubic-x4", "--quiet"],
        stderr=subprocess.PIPE, text=True, env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(tmp_path.glob(".out.partial*")):
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not out.exists()
    assert not list(tmp_path.glob(".out.partial*"))
