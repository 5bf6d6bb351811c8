"""``RestoreImage``: decode an encoded image with PyAV, restore it as a one-frame stream, encode it."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from fractions import Fraction

import av

from ..errors import ConfigError, InputError, LimitExceededError
from ..frames import Frame
from ..media.convert import color_info_for, frame_to_tensor
from ..media.decode import check_frame_size
from ..media.errors import input_error, quiet_libav
from ..media.images import encode_image
from ..pipeline import StreamSession
from .state import ServerState

__all__ = ["RestoredImage", "restore_image"]

_SUFFIX = {"png": ".png", "jpeg": ".jpg", "jpg": ".jpg", "webp": ".webp"}
_CODEC_SUFFIX = {"png": ".png", "mjpeg": ".jpg", "webp": ".webp", "libwebp": ".webp"}
MIME = {".png": "image/png", ".jpg": "image/jpeg", ".webp": "image/webp"}


@dataclass(frozen=True)
class RestoredImage:
    data: bytes
    mime_type: str
    width: int
    height: int
    seconds: float


def restore_image(state: ServerState, data: bytes, model: str, backend: str, tile_max_pixels: int, tile_overlap: int,
                  output_format: str, quality: int) -> RestoredImage:
    """Restore one encoded image (blocking; run it in a worker thread)."""
    config = state.config
    if not data:
        raise InputError("the request holds no image bytes")
    if len(data) > config.max_image_bytes:
        raise LimitExceededError(f"the image is {len(data)} bytes; the limit is {config.max_image_bytes}")
    if output_format and output_format.lower() not in _SUFFIX:
        raise ConfigError(f"output format {output_format!r} is not one of png, jpeg, webp")
    if quality and not 1 <= quality <= 100:
        raise ConfigError("quality must be within 1..100")
    engine = state.engines.for_stream(model, backend, tile_max_pixels, tile_overlap)
    start = time.perf_counter()
    try:
        with quiet_libav(), av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise InputError("the request does not hold an image")
            stream = container.streams.video[0]
            codec = stream.codec_context.name
            if stream.codec_context.width and stream.codec_context.height:
                check_frame_size(stream.codec_context.width, stream.codec_context.height, config.limits, "image")
            decoded = next(iter(container.decode(stream)), None)
    except av.FFmpegError as exc:
        raise input_error("image", exc) from None
    if decoded is None:
        raise InputError("image: no decodable picture (the data is truncated or not an image)")
    check_frame_size(decoded.width, decoded.height, config.limits, "image")
    suffix = _SUFFIX[output_format.lower()] if output_format else _CODEC_SUFFIX.get(codec, ".png")
    color = color_info_for(decoded)
    frame = Frame(data=frame_to_tensor(decoded), pts=0, time_base=Fraction(1, 25), index=0)
    session = StreamSession(engine, detect_cuts=False)
    restored = session.push(frame) + session.flush()
    if not restored:
        raise InputError("image: the model produced no output")
    out = restored[0]
    state.metrics.frames_in.inc()
    state.metrics.frames_out.inc()
    encoded = encode_image(out, suffix, color, quality or None)
    if len(encoded) > config.max_message_bytes - 1024:
        raise LimitExceededError(
            f"the restored image is {len(encoded)} bytes, over the server's message limit of "
            f"{config.max_message_bytes}; ask for JPEG or WebP, or use RestoreFrames (which splits frames)"
        )
    return RestoredImage(encoded, MIME[suffix], out.width, out.height, time.perf_counter() - start)
