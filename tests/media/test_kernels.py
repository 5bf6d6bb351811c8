"""Compiled colour kernels: the same codes as the eager functions, and a clean fallback to them."""

from __future__ import annotations

import logging

import pytest
import torch

from stream_restore.frames import ColorInfo, ColorRange, Matrix
from stream_restore.media import colour, kernels


def test_compiled_conversions_equal_eager():
    # 10-bit 4:2:2 full range with odd width: exercises the edge padding and the horizontal filter.
    color = ColorInfo(
        matrix=Matrix.BT2020_NCL, range=ColorRange.FULL, bit_depth=10, chroma_subsampling=(2, 1)
    )
    gen = torch.Generator().manual_seed(0)
    rgb = torch.rand(3, 18, 27, generator=gen) * 1.1 - 0.05  # a little out of gamut, as real video is
    expected = colour.rgb_to_yuv(rgb, color)
    got = kernels.rgb_to_yuv(rgb, color)
    assert all(torch.equal(a, b) for a, b in zip(expected, got, strict=True))
    y, u, v = (p.to(torch.int16) for p in expected)
    assert torch.equal(kernels.yuv_to_rgb(y, u, v, color), colour.yuv_to_rgb(y, u, v, color))


@pytest.mark.slow  # 10 s: compiles kernels
def test_each_colour_description_gets_its_own_kernel():
    """Same frame size, different matrix, range or depth: compiled must follow the description.

    Regression: with the ColorInfo dataclass as an argument, torch.compile reused the kernel of the
    first matrix it saw (BT.601 codes for BT.709 frames; up to 27 code values off).
    """
    gen = torch.Generator().manual_seed(1)
    rgb = torch.rand(3, 16, 20, generator=gen)
    for color in (
        ColorInfo(matrix=Matrix.SMPTE170M),
        ColorInfo(matrix=Matrix.BT709),
        ColorInfo(matrix=Matrix.BT709, range=ColorRange.FULL),
        ColorInfo(matrix=Matrix.BT2020_NCL, bit_depth=10),
    ):
        expected = colour.rgb_to_yuv(rgb, color)
        assert all(torch.equal(a, b) for a, b in zip(expected, kernels.rgb_to_yuv(rgb, color), strict=True))
        y, u, v = (p.to(torch.int16) for p in expected)
        assert torch.equal(kernels.yuv_to_rgb(y, u, v, color), colour.yuv_to_rgb(y, u, v, color))


def test_compiler_failure_falls_back_to_eager_with_one_warning(monkeypatch, caplog):
    def broken_compile(*args, **kwargs):
        def run(*a, **k):
            raise RuntimeError("no C++ compiler found\nlong details")

        return run

    monkeypatch.setattr(kernels.torch, "compile", broken_compile)
    monkeypatch.setattr(kernels, "_compiled", {})
    monkeypatch.setattr(kernels, "_ready", set())
    monkeypatch.setattr(kernels, "_disabled", [])
    color = ColorInfo(matrix=Matrix.BT709, range=ColorRange.LIMITED, chroma_subsampling=(2, 2))
    rgb = torch.rand(3, 8, 12)
    with caplog.at_level(logging.WARNING, logger="stream_restore.media.kernels"):
        first = kernels.rgb_to_yuv(rgb, color)
        second = kernels.rgb_to_yuv(rgb, color)
    expected = colour.rgb_to_yuv(rgb, color)
    for got in (first, second):
        assert all(torch.equal(a, b) for a, b in zip(expected, got, strict=True))
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == ["compiled colour conversion unavailable (RuntimeError: no C++ compiler found); using "
                        "the eager functions"]


def test_too_many_variants_fall_back_to_eager(monkeypatch):
    monkeypatch.setattr(kernels, "_ready", {("x", i, 1) for i in range(kernels._MAX_VARIANTS)})
    monkeypatch.setattr(kernels, "_disabled", [])
    color = ColorInfo(chroma_subsampling=(1, 1))
    rgb = torch.rand(3, 4, 4)
    got = kernels.rgb_to_yuv(rgb, color)  # would be a new variant: eager, no compile
    assert all(torch.equal(a, b) for a, b in zip(colour.rgb_to_yuv(rgb, color), got, strict=True))
    assert kernels._disabled and "frame sizes" in kernels._disabled[0]


@pytest.mark.parametrize(
    ("setting", "compiles", "expected", "after"),
    [("on", False, True, None), ("off", True, False, None), ("auto", True, True, None),
     ("auto", False, False, 500)],
)
def test_pipeline_policy(setting, compiles, expected, after):
    """"auto" never compiles from a declared frame count (a 25 KB MKV declared 15,660 frames): from
    the start with a compiled backend, else once 500 frames were really decoded."""
    from types import SimpleNamespace

    from stream_restore.config import PipelineOptions
    from stream_restore.pipeline.job import compile_colour, compile_colour_after

    engine = SimpleNamespace(options=SimpleNamespace(compile=compiles))
    options = PipelineOptions(compile_colour=setting)
    declared = SimpleNamespace(expected_frames=15_660, frame_count=15_660)
    compiled = compile_colour(options, engine, declared)  # type: ignore[arg-type]
    assert compiled is expected
    assert compile_colour_after(options, compiled) == after


def test_reader_switches_to_compiled_colour_after_measured_frames(clip):
    from stream_restore.media import decode

    seen: list[bool] = []
    with decode.VideoReader(clip("in.mkv", frames=8)) as reader:
        reader.compile_colour_after = 5
        decide = reader._compiled_now

        def spy() -> bool:
            seen.append(decide())
            return False  # keep the test off the compiler; what it would decide is recorded

        reader._compiled_now = spy  # type: ignore[method-assign]
        frames = [item for item in reader if not hasattr(item, "stream")]
    assert len(frames) == 8
    assert seen == [False] * 4 + [True] * 3  # frame 0 is converted while opening


def test_unknown_setting_is_a_config_error():
    from stream_restore.config import PipelineOptions
    from stream_restore.errors import ConfigError

    with pytest.raises(ConfigError, match="compile_colour"):
        PipelineOptions(compile_colour="sometimes")


def test_a_stream_makes_its_colour_plan_once_and_again_only_when_the_format_changes(clip, monkeypatch):
    from stream_restore.media import decode

    made: list[str] = []
    real = decode.DecodePlan.for_frame.__func__  # type: ignore[attr-defined]

    def counting(cls, frame, color=None):
        made.append(frame.format.name)
        return real(cls, frame, color)

    monkeypatch.setattr(decode.DecodePlan, "for_frame", classmethod(counting))
    with decode.VideoReader(clip("in.mkv", frames=8)) as reader:
        frames = [item for item in reader if not hasattr(item, "stream")]
    assert len(frames) == 8 and made == ["yuv420p"]
