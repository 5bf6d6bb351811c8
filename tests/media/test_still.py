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
