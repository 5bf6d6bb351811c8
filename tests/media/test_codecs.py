"""Encoder policy: defaults per container, bit depth kept, impossible requests refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from stream_restore.config import EncodeOptions
from stream_restore.errors import ConfigError, UnsupportedError
from stream_restore.frames import ColorInfo
from stream_restore.media.codecs import container_for, resolve_encoder

EIGHT = ColorInfo()
TEN = ColorInfo(bit_depth=10)


@pytest.mark.parametrize(
    ("name", "container", "codec"),
    [("a.mp4", "mp4", "libx264"), ("a.mkv", "matroska", "libx264"), ("a.webm", "webm", "libvpx-vp9"),
     ("a.mov", "mov", "libx264"), ("a.ts", "mpegts", "libx264")],
)
def test_container_defaults(name, container, codec):
    assert container_for(Path(name)) == container
    assert resolve_encoder(EncodeOptions(), container, EIGHT).codec == codec


def test_unknown_extension():
    with pytest.raises(UnsupportedError, match="unknown output type"):
        container_for(Path("out.xyz"))


def test_ten_bit_input_stays_ten_bit():
    assert resolve_encoder(EncodeOptions(), "matroska", TEN).pix_fmt == "yuv420p10le"
    assert resolve_encoder(EncodeOptions(codec="hevc"), "mp4", TEN).pix_fmt == "yuv420p10le"
    assert resolve_encoder(EncodeOptions(codec="ffv1"), "matroska", TEN).pix_fmt.startswith("yuv420p1")


def test_ten_bit_into_eight_bit_codec_is_refused_unless_asked():
    with pytest.raises(ConfigError, match="10-bit"):
        resolve_encoder(EncodeOptions(), "webm", TEN)
    assert resolve_encoder(EncodeOptions(pix_fmt="yuv420p"), "webm", TEN).pix_fmt == "yuv420p"


def test_aliases_crf_and_preset():
    s = resolve_encoder(EncodeOptions(codec="h264", crf=23, preset="veryfast"), "mp4", EIGHT)
    assert (s.codec, s.options["crf"], s.options["preset"]) == ("libx264", "23", "veryfast")
    b = resolve_encoder(EncodeOptions(codec="hevc", bitrate=2_000_000), "mp4", EIGHT)
    assert b.bit_rate == 2_000_000 and "crf" not in b.options


def test_bad_pix_fmt_and_codec():
    with pytest.raises(ConfigError, match="cannot write pixel format"):
        resolve_encoder(EncodeOptions(pix_fmt="rgb24"), "mp4", EIGHT)
    with pytest.raises(UnsupportedError, match="not available"):
        resolve_encoder(EncodeOptions(codec="nosuchcodec"), "mp4", EIGHT)


@pytest.mark.parametrize(("options", "field"), [
    ({"preset": "bogus"}, "preset"), ({"codec": "hevc", "preset": "bogus"}, "preset"),
    ({"codec": "ffv1", "preset": "fast"}, "preset"), ({"codec": "av1", "preset": "99"}, "preset"),
    ({"tune": "bogus"}, "tune"), ({"codec": "vp9", "tune": "film"}, "tune"),
    ({"codec": "mpeg2video"}, "codec"), ({"codec": "mjpeg"}, "codec"), ({"codec": "png"}, "codec"),
    ({"crf": 60}, "crf"),
])
def test_unusable_options_are_config_errors_naming_the_field(options, field):
    """Found only at encode time these were INTERNAL errors; they are the caller's, said up front."""
    with pytest.raises(ConfigError, match=f"^{field}"):
        resolve_encoder(EncodeOptions(**options), "matroska", EIGHT)


@pytest.mark.parametrize("bitrate", [1, 9_999, 2**62])
def test_absurd_bitrates_are_refused(bitrate):
    with pytest.raises(ConfigError, match="bitrate"):
        EncodeOptions(bitrate=bitrate)


def test_nvenc_without_a_usable_gpu_is_a_config_error(monkeypatch):
    from stream_restore.media import codecs

    monkeypatch.setattr(codecs, "nvenc_usable", lambda name: False)
    with pytest.raises(ConfigError, match=r"^codec: h264_nvenc needs an NVIDIA GPU"):
        resolve_encoder(EncodeOptions(codec="nvenc"), "mp4", EIGHT)


def test_valid_presets_and_tunes_pass():
    assert resolve_encoder(EncodeOptions(preset="veryfast", tune="film,fastdecode"), "mp4", EIGHT).options[
        "tune"
    ]
    assert resolve_encoder(EncodeOptions(codec="vp9", preset="6"), "webm", EIGHT).options["cpu-used"] == "6"
    assert resolve_encoder(EncodeOptions(codec="av1", preset="10"), "matroska", EIGHT)


@pytest.mark.parametrize(("codec", "container"), [("vp9", "mpegts"), ("ffv1", "mpegts"), ("av1", "mpegts"),
                                                  ("h264", "webm"), ("hevc", "webm")])
def test_a_codec_the_container_cannot_signal_is_refused(codec, container):
    """FFV1 or VP9 into MPEG-TS ended OK with an output holding no readable video stream."""
    with pytest.raises(ConfigError, match=f"^codec: .* cannot be stored in {container}"):
        resolve_encoder(EncodeOptions(codec=codec), container, EIGHT)
