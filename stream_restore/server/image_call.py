"""``RestoreImage``: one encoded still in, restored as a one-frame stream by the pipeline driver, encoded out.

Memory is bounded per call and across calls: the encoded bytes by ``max_image_bytes``, the decoded
picture by ``max_image_pixels`` (read from the image header before any pixel is decoded), the
restored picture by ``max_image_output_pixels``; the model runs in tiles of at most
``image_tile_pixels`` input pixels; and at most ``max_images`` calls run at once. The worst case
of the default configuration is in ``docs/service.md`` ("Resource limits").
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from fractions import Fraction

from ..config import Limits
from ..errors import ConfigError, InputError, LimitExceededError
from ..frames import Frame, StreamInfo
from ..media.decode import check_frame_size
from ..media.images import encode_image
from ..media.still import decode_image, image_header
from ..models.registry import get_spec
from ..pipeline import RestoreJob, drive
from .memory import release_freed_memory
from .state import ServerState

__all__ = ["RestoredImage", "restore_image", "restore_image_in_slot"]

_SUFFIX = {"png": ".png", "jpeg": ".jpg", "jpg": ".jpg", "webp": ".webp"}
_CODEC_SUFFIX = {"png": ".png", "mjpeg": ".jpg", "webp": ".webp", "libwebp": ".webp", "bmp": ".png"}
MIME = {".png": "image/png", ".jpg": "image/jpeg", ".webp": "image/webp"}


@dataclass(frozen=True)
class RestoredImage:
    data: bytes
    mime_type: str
    width: int
    height: int
    seconds: float


class _Still:
    """A one-frame source (the pipeline's protocol)."""

    def __init__(self, frame: Frame, info: StreamInfo) -> None:
        self.info = info
        self.corrupt_packets = 0
        self.warnings: list[str] = []
        self._frame = frame

    def __iter__(self) -> Iterator[object]:
        yield self._frame

    def close(self) -> None:
        """Nothing to release."""


class _Collect:
    """A sink that keeps the restored frame."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []

    def write(self, frame: Frame) -> None:
        self.frames.append(frame)

    def write_packet(self, packet: object) -> None:
        """Stills have no other streams."""

    def close(self) -> None:
        """Nothing to finish."""

    def abort(self) -> None:
        self.frames.clear()


def image_limits(state: ServerState) -> Limits:
    """The server's input limits, narrowed to the image budgets."""
    config = state.config
    limits = config.limits
    return replace(limits, max_pixels=min(limits.max_pixels, config.max_image_pixels),
                   max_output_pixels=min(limits.max_output_pixels, config.max_image_output_pixels))


def restore_image(
    state: ServerState,
    data: bytes,
    model: str,
    backend: str,
    tile_max_pixels: int,
    tile_overlap: int,
    output_format: str,
    quality: int,
) -> RestoredImage:
    """Restore one encoded image (blocking; run it in a worker thread, inside an image slot)."""
    config = state.config
    if not data:
        raise InputError("the request holds no image bytes")
    if len(data) > config.max_image_bytes:
        raise LimitExceededError(f"the image is {len(data)} bytes; the limit is {config.max_image_bytes}")
    if output_format and output_format.lower() not in _SUFFIX:
        raise ConfigError(f"output format {output_format!r} is not one of png, jpeg, webp")
    if quality and not 1 <= quality <= 100:
        raise ConfigError("quality must be within 1..100")
    limits = image_limits(state)
    start = time.perf_counter()
    header = image_header(data, "image")
    scale = get_spec(model).scale
    if header.width and header.height:
        check_frame_size(header.width, header.height, limits, "image")
    if (
        header.width
        and header.height
        and header.width * header.height * scale * scale > limits.max_output_pixels
    ):
        raise LimitExceededError(  # refused from the header: nothing decoded
            f"image: {header.width}x{header.height} x{scale} would be "
            f"{header.width * scale}x{header.height * scale}, "
            f"over the output limit of {limits.max_output_pixels} pixels"
        )
    image = decode_image(data, limits, "image")
    frame = Frame(data=image.data, pts=0, time_base=Fraction(1, 25), index=0)
    info = StreamInfo(width=frame.width, height=frame.height, time_base=Fraction(1, 25), frame_rate=None,
                      color=image.color, codec=image.codec)
    tiles = min(tile_max_pixels or config.image_tile_pixels, config.image_tile_pixels)
    job = RestoreJob(model=model, backend=backend, limits=limits)
    sink = _Collect()
    with state.engines.for_stream(model, backend, tiles, tile_overlap) as engine:
        drive(_Still(frame, info), sink, engine, job, name="image")
    if not sink.frames:
        raise InputError("image: the model produced no output")
    out = sink.frames[0]
    state.metrics.frames_in.inc()
    state.metrics.frames_out.inc()
    suffix = _SUFFIX[output_format.lower()] if output_format else _CODEC_SUFFIX.get(image.codec, ".png")
    encoded = encode_image(out, suffix, image.color, quality or None)
    if len(encoded) > config.max_message_bytes - 1024:
        raise LimitExceededError(
            f"the restored image is {len(encoded)} bytes, over the server's message limit of "
            f"{config.max_message_bytes}; ask for JPEG or WebP, or use RestoreFrames (which splits frames)"
        )
    return RestoredImage(encoded, MIME[suffix], out.width, out.height, time.perf_counter() - start)


def restore_image_in_slot(
    state: ServerState,
    data: bytes,
    model: str,
    backend: str,
    tile_max_pixels: int = 0,
    tile_overlap: int = 0,
    output_format: str = "",
    quality: int = 0,
) -> RestoredImage:
    """:func:`restore_image` inside one of the ``max_images`` slots, after the backend check
    (blocking; RestoreImage and the web page both come through here)."""
    state.engines.check(model, backend)
    with state.images.acquire():
        try:
            return restore_image(state, data, model, backend, tile_max_pixels, tile_overlap, output_format,
                                 quality)
        finally:
            release_freed_memory()
