"""Still images (PNG, JPEG, WebP, BMP) and folders of images, through FFmpeg's image codecs.

A folder is a clip in natural name order (``f2.png`` before ``f10.png``); its images may differ in
size. Images are timed at a nominal rate so they can also be encoded into a video.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
from av.video.codeccontext import VideoCodecContext

from ..config import Limits
from ..errors import InputError
from ..files import write_atomic
from ..frames import ColorInfo, ColorRange, Frame, Matrix, StreamInfo
from .codecs import IMAGE_EXTENSIONS
from .convert import color_info_for, frame_to_tensor, tensor_to_frame
from .errors import output_error
from .still import LOCAL_IMAGE_CODECS, DecodedImage, decode_image, decode_image_frame, image_header

__all__ = [
    "DecodedImage",
    "ImageSequenceReader",
    "decode_image",
    "encode_image",
    "image_header",
    "is_image_path",
    "list_images",
    "write_image",
]

_READABLE = {*IMAGE_EXTENSIONS, ".tif", ".tiff"}


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def _natural_key(path: Path) -> list[object]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def list_images(folder: Path) -> list[Path]:
    """Image files directly inside ``folder``, in natural name order."""
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder")
    files = sorted(
        (p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in _READABLE), key=_natural_key
    )
    if not files:
        raise InputError(f"{folder}: contains no images ({', '.join(sorted(_READABLE))})")
    return files


def _decode_image(path: Path, limits: Limits) -> av.VideoFrame:
    """One image file, by its own decoder, its size checked from the header first (media.still)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not data:
        raise InputError(f"{path}: file is empty")
    return decode_image_frame(data, limits, str(path), codecs=LOCAL_IMAGE_CODECS)[0]


class ImageSequenceReader:
    """Reads one image or a folder of images as a clip of frames, one per image."""

    def __init__(
        self, files: list[Path], *, limits: Limits | None = None, frame_rate: Fraction = Fraction(25)
    ) -> None:
        if not files:
            raise InputError("no images to read")
        self.files = files
        self.limits = limits or Limits()
        self.frame_rate = frame_rate
        self.time_base = 1 / frame_rate
        first = _decode_image(files[0], self.limits)
        self._first = first
        self.info = StreamInfo(
            width=first.width,
            height=first.height,
            time_base=self.time_base,
            frame_rate=frame_rate,
            color=color_info_for(first),
            codec=first.format.name,
            pix_fmt=first.format.name,
            frame_count=len(files),
        )
        self.copy_streams: list[av.stream.Stream] = []
        self.corrupt_packets = 0
        self.warnings: list[str] = []

    def __iter__(self) -> Iterator[Frame]:
        for index, path in enumerate(self.files):
            frame = self._first if index == 0 else _decode_image(path, self.limits)
            yield Frame(
                data=frame_to_tensor(frame),
                pts=index,
                time_base=self.time_base,
                index=index,
                name=path.name,
                duration=1,
            )

    def close(self) -> None:
        self._first = None  # type: ignore[assignment]


def encode_image(frame: Frame, suffix: str, color: ColorInfo, quality: int | None = None) -> bytes:
    """One frame as the bytes of an image file of the type named by ``suffix`` (".png", ...).

    ``color`` is the source description: a deep (> 8 bit) source is written as 16-bit PNG.
    """
    codec_name = IMAGE_EXTENSIONS[suffix.lower()]
    deep = color.bit_depth > 8
    pix_fmt = {
        "png": "rgb48be" if deep else "rgb24",
        "mjpeg": "yuvj444p",
        "libwebp": "yuv420p",
        "bmp": "bgr24",
    }[codec_name]
    ctx = cast(VideoCodecContext, av.CodecContext.create(codec_name, "w"))
    ctx.width, ctx.height = frame.width, frame.height
    ctx.pix_fmt = pix_fmt
    ctx.time_base = Fraction(1, 25)
    if codec_name == "mjpeg":
        # qscale 2 is visually lossless; quality maps 100 -> 1, 1 -> 31
        q = 2 if quality is None else max(1, min(31, round(31 - (quality - 1) * 30 / 99)))
        ctx.flags |= av.codec.context.Flags.qscale
        ctx.global_quality = q * 118  # FF_QP2LAMBDA
        ctx.color_range = 2
    elif codec_name == "libwebp":
        ctx.options = {"quality": str(quality or 90)}
    # JPEG (JFIF) and lossy WebP store BT.601 Y'CbCr, full range and limited range respectively.
    target = ColorInfo(
        matrix=Matrix.SMPTE170M, range=ColorRange.FULL if codec_name == "mjpeg" else ColorRange.LIMITED
    )
    av_frame = tensor_to_frame(frame.data, target, pix_fmt if pix_fmt != "bgr24" else "rgb24")
    if pix_fmt == "bgr24":
        av_frame = av_frame.reformat(format="bgr24")
    if codec_name == "mjpeg":
        av_frame.pts = 0
    packets = ctx.encode(av_frame) + ctx.encode(None)
    return b"".join(bytes(p) for p in packets)


def write_image(path: Path, frame: Frame, color: ColorInfo, quality: int | None = None) -> None:
    """Write an image file atomically: a temporary file in the same folder, renamed on success."""
    data = encode_image(frame, path.suffix, color, quality)
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise output_error(str(path), exc) from None

