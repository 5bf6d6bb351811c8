"""Message conversion (server/messages.py) on its own: what a request is turned into, what it is refused
for, and how raw frames are described and split. Written for the cosmic-ray survivors of the module:
each test fails on a one-token change of the conversion."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest
import torch

from stream_restore.config import PipelineOptions
from stream_restore.errors import ConfigError, InputError, LimitExceededError
from stream_restore.frames import ColorInfo, ColorRange, Frame, Matrix, StreamInfo
from stream_restore.pipeline.stages import RunStats
from stream_restore.server.config import ServerConfig
from stream_restore.server.messages import (
    fraction,
    frame_from_raw,
    raw_color,
    raw_frame_size,
    raw_from_frame,
    stream_info,
    stream_request,
    summary,
)
from stream_restore.v1 import restore_pb2 as pb

SERVER = ServerConfig()


def _config(**output: object) -> pb.RestoreConfig:
    return pb.RestoreConfig(model=pb.ModelOptions(model="identity"), output=pb.OutputOptions(**output))


@pytest.mark.parametrize(
    "config",
    [
        pb.RestoreConfig(model=pb.ModelOptions(model="identity", tile_max_pixels=-1)),
        pb.RestoreConfig(model=pb.ModelOptions(model="identity", tile_overlap=-1)),
        _config(gop=-1),
        _config(bitrate=-1),
        pb.RestoreConfig(model=pb.ModelOptions(model="identity"), progress_interval=-1),
    ],
)
def test_negative_settings_are_refused_one_by_one(config: pb.RestoreConfig) -> None:
    with pytest.raises(ConfigError, match="negative"):
        stream_request(config, SERVER)


def test_zero_settings_are_the_defaults_and_given_ones_are_kept() -> None:
    plain = stream_request(_config(), SERVER)
    encode = plain.job.encode
    assert (encode.crf, encode.preset, encode.tune, encode.gop, encode.bitrate) == (None,) * 5
    assert plain.job.pipeline.scene_detection and plain.container == "mpegts"
    assert plain.job.pipeline.queue_frames == PipelineOptions().queue_frames
    assert plain.job.pipeline.decode_threads == 0
    given = stream_request(
        _config(crf=0, preset="veryfast", tune="film", gop=12, bitrate=2_000_000, container="mkv"), SERVER
    )
    encode = given.job.encode
    assert (encode.crf, encode.preset, encode.tune, encode.gop, encode.bitrate) == (
        0, "veryfast", "film", 12, 2_000_000
    )
    assert given.container == "matroska"


def test_positive_tiling_settings_are_accepted() -> None:
    config = pb.RestoreConfig(model=pb.ModelOptions(model="identity", tile_max_pixels=65536, tile_overlap=16))
    assert stream_request(config, SERVER).job.model == "identity"


def test_low_latency_and_scene_detection_reach_the_pipeline() -> None:
    config = _config()
    config.low_latency = True
    config.model.disable_scene_detection = True
    pipeline = stream_request(config, SERVER).job.pipeline
    assert pipeline.queue_frames == 1 and pipeline.decode_threads == 1 and not pipeline.scene_detection


@pytest.mark.parametrize(("num", "den"), [(0, 1), (1, 0), (-1, 25), (1, -25)])
def test_a_fraction_must_be_positive_in_both_terms(num: int, den: int) -> None:
    with pytest.raises(InputError, match="positive fraction"):
        fraction(pb.Rational(num=num, den=den), "time_base")
    assert fraction(pb.Rational(num=1, den=25), "time_base") == Fraction(1, 25)


def test_stream_info_and_summary_carry_every_field() -> None:
    info = StreamInfo(width=64, height=48, time_base=Fraction(1, 90000), frame_rate=Fraction(30000, 1001),
                      duration=2.5, frame_count=75, codec="h264")
    message = stream_info(info)
    assert (message.width, message.height, message.codec) == (64, 48, "h264")
    assert (message.time_base.num, message.time_base.den) == (1, 90000)
    assert (message.frame_rate.num, message.frame_rate.den) == (30000, 1001)
    assert (message.duration, message.frame_count) == (2.5, 75)
    assert stream_info(info, "hevc").codec == "hevc"
    bare = stream_info(replace(info, frame_rate=None, duration=None, frame_count=None))
    assert (bare.frame_rate.num, bare.duration, bare.frame_count) == (0, 0.0, 0)
    stats = RunStats(frames_in=3, frames_out=2)
    assert (summary(stats, 10, 20).bytes_in, summary(stats, 10, 20).bytes_out) == (10, 20)
    assert (summary(stats).frames_out, summary(stats).bytes_in, summary(stats).bytes_out) == (2, 0, 0)


def test_a_raw_frame_at_the_byte_limit_is_allowed_and_one_byte_over_is_refused() -> None:
    raw = pb.RawFrame(format=pb.PIXEL_FORMAT_RGB24, width=64, height=48)
    exact = replace(SERVER, max_raw_frame_bytes=64 * 48 * 3)
    assert raw_frame_size(raw, exact, 0) == 64 * 48 * 3
    with pytest.raises(LimitExceededError, match="over the server's limit"):
        raw_frame_size(raw, replace(exact, max_raw_frame_bytes=64 * 48 * 3 - 1), 0)


def test_raw_colour_is_the_headers_for_yuv_and_rgb_otherwise() -> None:
    yuv = pb.RawFrame(format=pb.PIXEL_FORMAT_NV12, color_matrix=int(Matrix.SMPTE170M), full_range=True)
    assert raw_color(yuv) == ColorInfo(matrix=Matrix.SMPTE170M, range=ColorRange.FULL)
    assert raw_color(pb.RawFrame(format=pb.PIXEL_FORMAT_YUV420P)) == ColorInfo(
        matrix=Matrix.BT709, range=ColorRange.LIMITED
    )
    assert raw_color(pb.RawFrame(format=pb.PIXEL_FORMAT_RGB24, full_range=False)) == ColorInfo()
    with pytest.raises(InputError, match="unknown colour matrix code 77"):
        raw_color(pb.RawFrame(format=pb.PIXEL_FORMAT_YUV420P, color_matrix=77))


@pytest.mark.parametrize("full", [True, False])
def test_a_frame_split_into_parts_has_its_header_once_and_more_parts_until_the_last(full: bool) -> None:
    frame = Frame(data=torch.rand(3, 16, 24), pts=7, time_base=Fraction(1, 25), index=0)
    color = ColorInfo(matrix=Matrix.BT709, range=ColorRange.FULL if full else ColorRange.LIMITED)
    parts = raw_from_frame(frame, pb.PIXEL_FORMAT_YUV420P, color, part_bytes=200)
    size = 16 * 24 * 3 // 2
    assert len(parts) == -(-size // 200)
    assert [p.more_parts for p in parts] == [True] * (len(parts) - 1) + [False]
    assert (parts[0].width, parts[0].height, parts[0].pts, parts[0].full_range) == (24, 16, 7, full)
    assert all(p.width == 0 for p in parts[1:])
    data = b"".join(p.data for p in parts)
    assert len(data) == size
    back = frame_from_raw(parts[0], data, 0)
    assert back.pts == 7 and back.time_base == Fraction(1, 25) and back.data.shape == (3, 16, 24)
    (whole,) = raw_from_frame(frame, pb.PIXEL_FORMAT_YUV420P, color, part_bytes=size)
    assert not whole.more_parts and whole.data == data
