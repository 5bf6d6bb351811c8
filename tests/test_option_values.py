"""Option values typed on a command line: one WxH parser (width first) and one bitrate parser."""

from __future__ import annotations

import pytest

from stream_restore.errors import ConfigError
from stream_restore.option_values import parse_bitrate, parse_seconds, parse_size


def test_sizes_are_width_then_height() -> None:
    assert parse_size("1280x720") == (1280, 720)
    assert parse_size(" 64X48 ") == (64, 48)


@pytest.mark.parametrize("text", ["", "1280", "1280x", "x720", "0x720", "1280x0", "12.5x4", "-3x4", "4x4x4"])
def test_bad_sizes_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError, match="WIDTHxHEIGHT"):
        parse_size(text)


@pytest.mark.parametrize(
    ("text", "bits"), [("800000", 800_000), ("2500k", 2_500_000), ("8M", 8_000_000), ("1.5g", 1_500_000_000)]
)
def test_bitrates(text: str, bits: int) -> None:
    assert parse_bitrate(text) == bits


@pytest.mark.parametrize("text", ["", "fast", "8MB", "-1M"])
def test_bad_bitrates_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError, match="bitrate"):
        parse_bitrate(text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("1.5", 1.5), ("1:30", 90.0), ("0:01:30.5", 90.5), ("2:00:00", 7200.0)],
)
def test_times_are_seconds_or_clock_notation(text: str, seconds: float) -> None:
    assert parse_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "-1", "1:60", "a", "1::2", "1:2:3:4", "nan"])
def test_bad_times_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError, match="--start must be seconds"):
        parse_seconds(text, "--start")
