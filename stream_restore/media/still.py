"""Decode one encoded still image (PNG, JPEG, WebP, BMP) safely: its size read first, one decoder.

The kind is told by the file's magic bytes and the bytes go straight to that image decoder as one
packet: no demuxer probes them, so bytes that look like a playlist or a concat script are simply
not an image. Width and height come from the header and are checked against the limits before a
pixel is decoded: a 104 KB all-zero PNG declaring 8192x4352 costs nothing when over the budget.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

import av
import torch
from av.video.codeccontext import VideoCodecContext

from ..config import Limits
from ..errors import InputError, UnsupportedError
from ..frames import ColorInfo
from .convert import color_info_for, frame_to_tensor
from .decode import check_frame_size
from .errors import LibavLine, input_error, libav_capture

__all__ = ["CLIENT_IMAGE_CODECS", "LOCAL_IMAGE_CODECS", "DecodedImage", "ImageHeader", "decode_image",
           "decode_image_frame", "image_header"]

CLIENT_IMAGE_CODECS: frozenset[str] = frozenset({"png", "mjpeg", "webp", "bmp"})  # FFmpeg decoder names
LOCAL_IMAGE_CODECS: frozenset[str] = CLIENT_IMAGE_CODECS | {"tiff"}  # image files and folders on disk

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


@dataclass(frozen=True)
class ImageHeader:
    """What an image file's header says, before any decoding: decoder name and size in pixels."""

    codec: str  # "png", "mjpeg", "webp", "bmp", "tiff"
    width: int | None  # None where the header is not parsed (TIFF: local files only)
    height: int | None


@dataclass(frozen=True)
class DecodedImage:
    """A decoded still: RGB float tensor (3, H, W) in [0, 1], its colour description, its codec."""

    data: torch.Tensor
    color: ColorInfo
    codec: str

    @property
    def width(self) -> int:
        return int(self.data.shape[-1])

    @property
    def height(self) -> int:
        return int(self.data.shape[-2])


def _kind(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "mjpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"BM"):
        return "bmp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    return None


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image or scan data before any frame header
            return None
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in _JPEG_SOF:
            if i + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    return None


def _bmp_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 26:
        return None
    (header,) = struct.unpack("<I", data[14:18])
    if header == 12:  # BITMAPCOREHEADER
        width, height = struct.unpack("<HH", data[18:22])
        return width, height
    width, height = struct.unpack("<ii", data[18:26])
    return abs(width), abs(height)  # negative height: rows top-down


_SIZE = {"png": _png_size, "mjpeg": _jpeg_size, "webp": _webp_size, "bmp": _bmp_size}


def image_header(
    data: bytes, name: str = "image", *, codecs: Iterable[str] = CLIENT_IMAGE_CODECS
) -> ImageHeader:
    """The kind and size of an encoded image from its first bytes; nothing is decoded.

    Raises UnsupportedError for data that is not one of ``codecs``, InputError for a header that
    cannot be read.
    """
    allowed = frozenset(codecs)
    kind = _kind(data)
    if kind is None or kind not in allowed:
        names = {"png": "PNG", "mjpeg": "JPEG", "webp": "WebP", "bmp": "BMP", "tiff": "TIFF"}
        raise UnsupportedError(f"{name}: not an image of a supported kind "
                               f"({', '.join(names[c] for c in sorted(allowed))})")
    if kind == "tiff":
        return ImageHeader(kind, None, None)
    size = _SIZE[kind](data)
    if size is None or not all(size):
        raise InputError(f"{name}: the {kind if kind != 'mjpeg' else 'jpeg'} header is truncated or corrupt")
    return ImageHeader(kind, *size)


def decode_image_frame(data: bytes, limits: Limits, name: str = "image", *,
                       codecs: Iterable[str] = CLIENT_IMAGE_CODECS) -> tuple[av.VideoFrame, str]:
    """Decode one still with its own decoder after checking its declared size against ``limits``."""
    if not data:
        raise InputError(f"{name}: no image bytes")
    header = image_header(data, name, codecs=codecs)
    if header.width is not None and header.height is not None:
        check_frame_size(header.width, header.height, limits, name)
    logs: list[LibavLine] = []
    try:
        with libav_capture() as logs:
            ctx = cast(VideoCodecContext, av.CodecContext.create(header.codec, "r"))
            ctx.thread_count = 1  # one picture: no decoder threads to outlive the call
            frames = ctx.decode(av.Packet(data)) + ctx.decode(None)
    except av.FFmpegError as exc:
        raise input_error(name, exc, logs) from None
    if not frames:
        raise InputError(f"{name}: no decodable picture (the data is truncated or corrupt)")
    frame = frames[0]
    check_frame_size(frame.width, frame.height, limits, name)
    return frame, header.codec


def decode_image(data: bytes, limits: Limits, name: str = "image", *,
                 codecs: Iterable[str] = CLIENT_IMAGE_CODECS) -> DecodedImage:
    """An encoded PNG, JPEG, WebP or BMP as an RGB tensor, its colour and codec (see module doc).

    ``limits.max_pixels`` is the pixel budget: an image whose header declares more is refused with
    LimitExceededError before decoding (the decoded picture costs about 4-8 bytes per pixel, the
    tensor 12).
    """
    frame, codec = decode_image_frame(data, limits, name, codecs=codecs)
    return DecodedImage(frame_to_tensor(frame), color_info_for(frame), codec)
