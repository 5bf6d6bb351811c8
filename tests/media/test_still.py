"""Still images: decoded only as PNG, JPEG, WebP or BMP by their own decoder, sized from the header
before any pixel is decoded."""

from __future__ import annotations

import struct
import zlib
from fractions import Fraction

import pytest
import torch

from stream_restore.config import Limits
from stream_restore.errors import InputError, LimitExceededError, UnsupportedError
from stream_restore.frames import ColorInfo, Frame
from stream_restore.media import still
from stream_restore.media.images import encode_image
from tests.conftest import make_clip, pattern


def _frame(width: int, height: int) -> Frame:
    rgb = torch.from_numpy(pattern(0, width, height)).permute(2, 0, 1).float() / 255
    return Frame(data=rgb, pts=0, time_base=Fraction(1, 25), index=0)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def zero_png(width: int, height: int) -> bytes:
    """An all-zero RGB PNG, compressed row by row: 8192x4352 is about 104 KB."""
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + 3 * width)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def test_a_decompression_bomb_over_the_budget_is_refused_before_decoding(monkeypatch):
    bomb = zero_png(8192, 4352)
    assert len(bomb) < 200_000
    assert still.image_header(bomb) == still.ImageHeader("png", 8192, 4352)

    def no_decoder(*args: object, **kwargs: object) -> None:
        raise AssertionError("a decoder was created for an image over the budget")

    monkeypatch.setattr(still.av.CodecContext, "create", no_decoder)
    with pytest.raises(LimitExceededError, match="8192x4352"):
        still.decode_image(bomb, Limits(max_pixels=4096 * 4096))


@pytest.mark.parametrize(("suffix", "codec"), [(".png", "png"), (".jpg", "mjpeg"), (".webp", "webp"),
                                               (".bmp", "bmp")])
def test_each_kind_is_sized_from_its_header_and_decoded(suffix, codec):
    data = encode_image(_frame(70, 38), suffix, ColorInfo())
    assert still.image_header(data) == still.ImageHeader(codec, 70, 38)
    image = still.decode_image(data, Limits())
    assert (image.width, image.height, image.codec) == (70, 38, codec)
    assert image.data.shape == (3, 38, 70)


def test_lossless_webp_header():
    import av

    ctx = av.CodecContext.create("libwebp", "w")
    ctx.width, ctx.height, ctx.pix_fmt, ctx.time_base = 33, 17, "bgra", Fraction(1, 25)
    ctx.options = {"lossless": "1"}
    frame = av.VideoFrame.from_ndarray(pattern(0, 33, 17), format="rgb24").reformat(format="bgra")
    data = b"".join(bytes(p) for p in ctx.encode(frame) + ctx.encode(None))
    assert data[12:16] == b"VP8L"
    assert still.image_header(data) == still.ImageHeader("webp", 33, 17)


@pytest.mark.parametrize("data", [
    b"ffconcat version 1.0\nfile secret.ts\n",
    b"#EXTM3U\n#EXTINF:1,\nhttp://127.0.0.1:9/a.ts\n",
    b"GIF89a" + b"\x00" * 64,
    b"not an image at all" * 10,
])
def test_anything_else_is_not_an_image(data):
    with pytest.raises(UnsupportedError, match="not an image"):
        still.decode_image(data, Limits())


def test_a_video_is_not_an_image(tmp_path):
    with pytest.raises(UnsupportedError):
        still.decode_image(make_clip(tmp_path / "in.mp4").read_bytes(), Limits())


def test_truncated_headers_and_data_are_input_errors():
    png = encode_image(_frame(40, 30), ".png", ColorInfo())
    with pytest.raises(InputError, match="header"):
        still.decode_image(png[:20], Limits())
    jpeg = encode_image(_frame(40, 30), ".jpg", ColorInfo())
    with pytest.raises(InputError):
        still.decode_image(jpeg[:200], Limits())
    with pytest.raises(InputError, match="header"):
        still.decode_image(b"\xff\xd8\xff\xda\x00\x02", Limits())


def test_jpeg_fill_bytes_and_standalone_markers_before_the_frame_header_are_stepped_over():
    """The JPEG sizer walks markers the way decoders do (ITU T.81 B.1.1.2): fill bytes, then markers
    without a length (TEM, RSTn), then segments; the SOF it reaches gives the size."""
    data = encode_image(_frame(70, 38), ".jpg", ColorInfo())
    for extra in (b"\xff", b"\xff\xff\xff", b"\xff\x01", b"\xff\xd0", b"\xff\xd7\xff\x01", b"\xff\xd8"):
        assert still.image_header(data[:2] + extra + data[2:]) == still.ImageHeader("mjpeg", 70, 38), extra


@pytest.mark.parametrize("marker", [b"\xff\xd9", b"\xff\xda\x00\x02"])
def test_a_jpeg_that_ends_or_starts_its_scan_before_any_frame_header_is_an_input_error(marker):
    data = encode_image(_frame(70, 38), ".jpg", ColorInfo())
    with pytest.raises(InputError, match="jpeg header is truncated or corrupt"):
        still.image_header(data[:2] + marker + data[2:])
    with pytest.raises(InputError, match="jpeg header is truncated or corrupt"):
        still.image_header(b"\xff\xd8" + marker[:2])  # nothing after it


def test_a_jpeg_cut_anywhere_in_its_header_is_an_input_error():
    data = encode_image(_frame(70, 38), ".jpg", ColorInfo())
    sof = max(data.find(bytes([0xFF, m])) for m in SOF_MARKERS)
    assert sof > 0
    for cut in range(3, sof + 9):
        with pytest.raises(InputError):
            still.image_header(data[:cut])
    assert still.image_header(data[: sof + 9]) == still.ImageHeader("mjpeg", 70, 38)


SOF_MARKERS = [0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF]  # T.81 table B.1


@pytest.mark.parametrize("sof", SOF_MARKERS)
def test_every_jpeg_frame_header_kind_gives_the_size(sof):
    """Baseline, progressive, lossless, hierarchical and arithmetic-coded frames all state their size:
    an arithmetic-coded bomb must not slip past the header check."""
    segment = b"\xff" + bytes([sof]) + struct.pack(">HBHHB", 11, 8, 4352, 8192, 1) + b"\x01\x11\x00"
    assert still.image_header(b"\xff\xd8" + segment + b"\xff\xd9") == still.ImageHeader("mjpeg", 8192, 4352)


@pytest.mark.parametrize("marker", [0xC4, 0xC8, 0xCC])  # DHT, JPG extension, DAC: not frame headers
def test_jpeg_segments_that_look_like_frame_headers_are_skipped(marker):
    lookalike = b"\xff" + bytes([marker]) + struct.pack(">HBHHB", 8, 8, 9999, 9999, 1)
    data = encode_image(_frame(70, 38), ".jpg", ColorInfo())
    assert still.image_header(data[:2] + lookalike + data[2:]) == still.ImageHeader("mjpeg", 70, 38)
