"""The one driver's own checks, run before and during work (mutation testing found them unguarded)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest
import torch

from stream_restore.backends import Backend, BackendOptions, create_backend
from stream_restore.config import Limits
from stream_restore.errors import ConfigError, LimitExceededError, UnsupportedError
from stream_restore.frames import Frame, StreamInfo
from stream_restore.models.registry import get_spec
from stream_restore.pipeline.driver import MAX_ENCODED_SIDE, RestoreJob, drive
from stream_restore.pipeline.job import output_kind, restore
from stream_restore.pipeline.stages import Progress

from ..conftest import make_clip

TB = Fraction(1, 25)


class Frames:
    """A source of in-memory frames (the pipeline's protocol) that counts what was taken from it."""

    def __init__(self, info: StreamInfo, count: int, *, timed: bool = True) -> None:
        self.info = info
        self.timed = timed
        self.corrupt_packets = 0
        self.warnings: list[str] = []
        self.count = count
        self.taken = 0

    def __iter__(self) -> Iterator[object]:
        for i in range(self.count):
            self.taken += 1
            data = torch.full((3, self.info.height, self.info.width), (i % 10) / 10)
            yield Frame(data=data, pts=i if self.timed else None, time_base=TB, index=i)

    def close(self) -> None:
        """Nothing to release."""


class Collect:
    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.closed = self.aborted = False

    def write(self, frame: Frame) -> None:
        self.frames.append(frame)

    def write_packet(self, packet: object) -> None:
        """No other streams."""

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True


@pytest.fixture(scope="module")
def x2() -> Iterator[Backend]:
    engine = create_backend(get_spec("bicubic-x2"), "torch", BackendOptions()).load()
    yield engine
    engine.close()


def _info(width: int = 32, height: int = 24, duration: float | None = None) -> StreamInfo:
    return StreamInfo(width=width, height=height, time_base=TB, frame_rate=Fraction(25), duration=duration)


def test_the_output_pixel_limit_counts_the_scale_on_both_sides(x2: Backend) -> None:
    out_pixels = 64 * 48  # 32x24 restored x2
    sink = Collect()
    with pytest.raises(LimitExceededError, match="64x48 exceed the output limit"):
        drive(Frames(_info(), 3), sink, x2, RestoreJob(limits=Limits(max_output_pixels=out_pixels - 1)))
    assert sink.frames == [] and not sink.closed
    sink = Collect()
    stats = drive(Frames(_info(), 3), sink, x2, RestoreJob(limits=Limits(max_output_pixels=out_pixels)))
    assert stats.frames_out == 3 and sink.closed
    assert [tuple(f.data.shape) for f in sink.frames] == [(3, 48, 64)] * 3


def test_a_frame_side_ffmpeg_cannot_encode_is_refused_before_any_frame(x2: Backend) -> None:
    wide = MAX_ENCODED_SIDE // 2 + 1  # x2 is one pixel over the encoders' largest side
    limits = Limits(max_width=10**6, max_height=10**6, max_pixels=10**9, max_output_pixels=10**12)
    source = Frames(_info(width=wide, height=8), 1)
    with pytest.raises(ConfigError, match="exceeds the largest frame FFmpeg encodes"):
        drive(source, Collect(), x2, RestoreJob(limits=limits))
    assert source.taken == 0


def test_a_declared_duration_over_the_limit_is_refused_before_any_frame(x2: Backend) -> None:
    source = Frames(_info(duration=10.0), 2)  # says 10 s; its frames cover 0.04 s
    with pytest.raises(LimitExceededError, match=r"duration 10\.0 s exceeds the limit of 1\.0 s"):
        drive(source, Collect(), x2, RestoreJob(limits=Limits(max_duration=1.0)))
    assert source.taken == 0
    ok = Frames(_info(duration=1.0), 2)  # exactly the limit is allowed
    assert drive(ok, Collect(), x2, RestoreJob(limits=Limits(max_duration=1.0))).frames_out == 2


def test_a_declared_size_over_the_limits_is_refused_before_any_frame(x2: Backend) -> None:
    source = Frames(_info(width=64, height=48), 1)
    with pytest.raises(LimitExceededError, match="64x48 exceeds the limit of 32x32"):
        drive(source, Collect(), x2, RestoreJob(limits=Limits(max_width=32, max_height=32)))
    assert source.taken == 0


def test_progress_reports_the_rate_of_the_frames_done(x2: Backend) -> None:
    seen: list[Progress] = []
    job = RestoreJob()
    start = time.perf_counter()
    drive(Frames(_info(), 6), Collect(), x2, job, progress=seen.append)
    took = time.perf_counter() - start
    assert seen and seen[-1].frames_done == 6
    for p in seen:
        assert 0 < p.elapsed <= took and p.fps == pytest.approx(p.frames_done / p.elapsed)


# -- what an output path asks for (pipeline/job.py) ------------------------------------------------------


@pytest.mark.parametrize(("name", "kind"), [("out.PNG", "image"), ("out.mkv", "video"), ("frames", "folder"),
                                            ("frames/", "folder")])
def test_the_output_kind_follows_the_extension(tmp_path: Path, name: str, kind: str) -> None:
    assert output_kind(Path(str(tmp_path / name) + ("/" if name.endswith("/") else ""))) == kind


def test_an_unknown_output_extension_is_refused_and_an_existing_folder_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedError, match=r"unknown output type '\.xyz'"):
        output_kind(tmp_path / "out.xyz")
    (tmp_path / "frames.d").mkdir()
    assert output_kind(tmp_path / "frames.d") == "folder"


def test_a_restore_into_a_path_without_extension_writes_a_folder_of_frames(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "in.mkv", frames=3)
    out = tmp_path / "frames"
    stats = restore(clip, out, RestoreJob(model="identity", backend="torch"))
    assert stats.frames_out == 3 and len(list(out.iterdir())) == 3


@pytest.mark.parametrize(
    ("rate", "step"), [(10.0, 0.1), (0.5, 2.0), (None, 1 / 25), (0.0, 1 / 25), (-5.0, 1 / 25), (-0.5, 1 / 25)]
)
def test_untimed_frames_count_at_the_nominal_rate_or_25_fps(rate: float | None, step: float) -> None:
    """Untimed frames are timed at the stream's rate (25 fps when it has none or a senseless one), so
    the duration limit still holds: the frame at exactly the limit passes, the next is refused."""
    from stream_restore.pipeline.driver import FrameGuard

    guard = FrameGuard(Limits(max_duration=1.0), "input", rate)
    frames = round(1.0 / step) + 1  # 0 s .. 1.0 s inclusive
    for i in range(frames):
        guard(Frame(data=torch.zeros(3, 8, 8), pts=None, time_base=TB, index=i))
    with pytest.raises(LimitExceededError, match="longer than the limit of 1 s"):
        guard(Frame(data=torch.zeros(3, 8, 8), pts=None, time_base=TB, index=frames))


def test_the_driver_times_untimed_frames_at_the_streams_own_rate(x2: Backend) -> None:
    """10 fps without timestamps: 11 frames are 1.0 s (allowed), the 12th is over (not 25 fps's 0.44 s)."""
    info = StreamInfo(width=32, height=24, time_base=TB, frame_rate=Fraction(10))
    job = RestoreJob(limits=Limits(max_duration=1.0))
    assert drive(Frames(info, 11, timed=False), Collect(), x2, job).frames_out == 11
    with pytest.raises(LimitExceededError, match="longer than the limit"):
        drive(Frames(info, 12, timed=False), Collect(), x2, job)


def test_duration_is_measured_from_the_first_frame_not_from_zero(x2: Backend) -> None:
    """A stream whose timestamps start at 100 s is as long as its frames cover, not 100 s long."""
    from stream_restore.pipeline.driver import FrameGuard

    guard = FrameGuard(Limits(max_duration=1.0), "input", 25.0)
    for i in range(26):  # 100.00 .. 101.00 s
        guard(Frame(data=torch.zeros(3, 8, 8), pts=2500 + i, time_base=TB, index=i))
    with pytest.raises(LimitExceededError):
        guard(Frame(data=torch.zeros(3, 8, 8), pts=2526, time_base=TB, index=26))


def test_a_declared_duration_under_the_limit_and_the_largest_encodable_side_are_allowed(x2: Backend) -> None:
    assert drive(Frames(_info(duration=0.5), 2), Collect(), x2, RestoreJob(limits=Limits(max_duration=1.0)))
    identity = create_backend(get_spec("identity"), "torch", BackendOptions()).load()
    limits = Limits(max_width=10**6, max_height=10**6, max_pixels=10**9, max_output_pixels=10**12)
    try:
        widest = Frames(_info(width=MAX_ENCODED_SIDE, height=8), 1)
        stats = drive(widest, Collect(), identity, RestoreJob(limits=limits))
    finally:
        identity.close()
    assert stats.frames_out == 1


def test_the_output_pixel_limit_counts_the_scale_squared_at_x4() -> None:
    x4 = create_backend(get_spec("bicubic-x4"), "torch", BackendOptions()).load()
    try:
        out_pixels = 32 * 24 * 16
        for allowed in (out_pixels, out_pixels - 1):
            job = RestoreJob(limits=Limits(max_output_pixels=allowed))
            if allowed < out_pixels:
                with pytest.raises(LimitExceededError):
                    drive(Frames(_info(), 1), Collect(), x4, job)
            else:
                assert drive(Frames(_info(), 1), Collect(), x4, job).frames_out == 1
    finally:
        x4.close()
