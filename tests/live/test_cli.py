"""``stream-restore live``: one-line errors (exit 2), a torch-free --help, a real run stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from stream_restore.bench.live_feed import Feed
from stream_restore.cli import main

from .conftest import FPS, HEIGHT, WIDTH, decode, wait_for

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("argv", "message"), [
    (["file:///etc/passwd", "udp://127.0.0.1:5000"], "not a live protocol"),
    (["/no/such/file.ts", "udp://127.0.0.1:5000"], "no such file"),
    (["http://127.0.0.1:9/x", "foo:bar"], "not an output protocol"),
    (["http://127.0.0.1:9/x", "/no/such/folder/live.m3u8"], "does not exist"),
    (["http://127.0.0.1:9/x", "out.avi"], "unknown output type"),
    (["http://127.0.0.1:9/x", "udp://127.0.0.1:5000", "-m", "no-such-model"], "unknown model"),
    (["http://127.0.0.1:9/x", "udp://127.0.0.1:5000", "--max-latency", "1"], "--max-latency"),
    (["http://127.0.0.1:9/x", "udp://127.0.0.1:5000", "--stall-timeout", "0"], "timeouts"),
    (["http://127.0.0.1:9/x", "udp://127.0.0.1:5000", "--crf", "99"], "--crf"),
    (["http://127.0.0.1:9/x"], "required: OUTPUT"),
    (["http://127.0.0.1:9/x", "udp://127.0.0.1:5000", "--drop", "--block"], "not allowed with"),
])
def test_bad_input_is_one_line_and_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    try:
        status = main(["live", *argv])
    except SystemExit as exc:  # argparse's usage errors
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_help_is_torch_free() -> None:
    code = ("import sys\nfrom stream_restore.cli import _build_parser\n_build_parser('live')\n"
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('av')))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


@pytest.mark.slow
def test_a_run_publishes_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    with Feed("http://127.0.0.1:0/feed", width=WIDTH, height=HEIGHT, fps=FPS) as feed:
        playlist = tmp_path / "hls" / "live.m3u8"
        playlist.parent.mkdir()
        process = subprocess.Popen(
            [sys.executable, "-m", "stream_restore", "live", feed.url, str(playlist),
             str(tmp_path / "rec.ts"), "-m", "bicubic-x2"],
            cwd=tmp_path, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        try:
            wait_for(lambda: len(list(playlist.parent.glob("live-*.ts"))) >= 2 or process.poll() is not None,
                     timeout=90, what="HLS segments")
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, err
    assert "live:" in err and "frames in" in err  # the summary line
    assert "#EXT-X-ENDLIST" in playlist.read_text()  # a clean end: the playlist is closed
    seen = decode(str(tmp_path / "rec-00000.ts"))
    assert seen.sizes == {(2 * WIDTH, 2 * HEIGHT)} and seen.audio_samples > 0
