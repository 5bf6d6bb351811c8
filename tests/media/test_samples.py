"""The one synthetic sample clip: reproducible bytes, the frames and audio asked for."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from stream_restore.media.samples import sample_frame, write_sample_clip


def test_sample_clip_streams_and_reproducibility(tmp_path: Path) -> None:
    a = write_sample_clip(tmp_path / "a.ts", width=64, height=48, frames=10)
    b = write_sample_clip(tmp_path / "b.ts", width=64, height=48, frames=10)
    assert a.read_bytes() == b.read_bytes()  # one encoder thread: the same bytes every time
    with av.open(str(a)) as container:
        assert [s.type for s in container.streams] == ["video", "audio"]
        assert sum(1 for _ in container.decode(video=0)) == 10
    silent = write_sample_clip(tmp_path / "c.ts", width=64, height=48, frames=3, audio=False)
    with av.open(str(silent)) as container:
        assert [s.type for s in container.streams] == ["video"]


def test_frames_move() -> None:
    first, later = sample_frame(0, 40, 30), sample_frame(5, 40, 30)
    assert first.shape == (30, 40, 3) and first.dtype == np.uint8
    assert not np.array_equal(first, later)
