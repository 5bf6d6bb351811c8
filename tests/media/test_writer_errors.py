"""Faults met while writing are told apart: what the input's data causes is an InputError."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import pytest
import torch

from stream_restore.config import EncodeOptions
from stream_restore.errors import InputError, OutputError
from stream_restore.frames import ColorInfo, Frame, StreamInfo
from stream_restore.media.encode import VideoWriter

INFO = StreamInfo(
    width=64, height=48, time_base=Fraction(1, 1000), frame_rate=Fraction(25), color=ColorInfo()
)


class _Refusing:
    """The output container, with a muxer that refuses every packet with ``error``."""

    def __init__(self, real: object, error: Exception) -> None:
        self.real, self.error = real, error

    def mux(self, packets: object) -> None:
        raise self.error

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)


def _frame(index: int) -> Frame:
    return Frame(data=torch.rand(3, 48, 64), pts=40 * index, time_base=Fraction(1, 1000), index=index)


@pytest.mark.parametrize(("error", "expected"), [
    # timestamps of a damaged timeline (fuzz seed 101 #8391)
    (av.ArgumentError(22, "Invalid argument"), InputError),
    (av.OSError(28, "No space left on device"), OutputError),
])
def test_a_muxer_refusal_is_the_inputs_fault_a_write_failure_the_outputs(error, expected):
    writer = VideoWriter(io.BytesIO(), container="mpegts", encode=EncodeOptions(), streaming=True)
    writer.write(_frame(0), INFO)
    writer._out = _Refusing(writer._out, error)  # type: ignore[assignment]
    with pytest.raises(expected) as caught:
        writer.write(_frame(1), INFO)
    assert type(caught.value) is expected


@pytest.mark.parametrize("container", ["mov", "mp4"])
def test_a_frame_before_time_zero_is_kept_in_mp4_and_mov(tmp_path, container):
    """Fuzz F13: one frame at pts -1 became an edit list that hid it; the output decoded to nothing."""
    out = tmp_path / f"out.{container}"
    writer = VideoWriter(out, container=container, encode=EncodeOptions())
    frame = Frame(data=torch.rand(3, 48, 64), pts=-1, time_base=Fraction(1, 90000), index=0)
    writer.write(frame, StreamInfo(width=64, height=48, time_base=Fraction(1, 90000),
                                   frame_rate=Fraction(1000), color=ColorInfo()))
    writer.close()
    with av.open(str(out)) as container_in:
        assert sum(1 for _ in container_in.decode(video=0)) == 1
