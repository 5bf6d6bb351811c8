"""The media edge (PyAV): decoding, colour conversion, encoding and muxing, images.

Only this package touches PyAV frames and containers; everything above it sees
:class:`~stream_restore.frames.Frame` tensors with exact timestamps.
"""

from __future__ import annotations

from .codecs import EncoderSettings, container_for, resolve_encoder
from .convert import color_info_for, frame_to_tensor, tensor_to_frame
from .decode import VideoReader
from .encode import VideoWriter
from .images import ImageSequenceReader, list_images, write_image

__all__ = [
    "EncoderSettings",
    "ImageSequenceReader",
    "VideoReader",
    "VideoWriter",
    "color_info_for",
    "container_for",
    "frame_to_tensor",
    "list_images",
    "resolve_encoder",
    "tensor_to_frame",
    "write_image",
]
