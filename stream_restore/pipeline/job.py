"""One restoration job: pick the reader and writer for the input and output, run, finish atomically.

Inputs: a video file, URL or readable byte stream; an image file; a folder of images.
Outputs: a video file (container from the extension), a writable byte stream (streaming
container), an image file, or a folder of PNGs. A file or folder output appears only when the job
succeeds: it is written under a temporary name beside the target and renamed into place.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

from ..backends import Backend, create_backend
from ..config import PipelineOptions
from ..errors import ConfigError, InputError, OutputError
from ..files import discard, temporary_sibling
from ..frames import Frame, StreamInfo
from ..media.codecs import IMAGE_EXTENSIONS, VIDEO_CONTAINERS, container_for
from ..media.decode import VideoReader
from ..media.encode import VideoWriter
from ..media.images import ImageSequenceReader, is_image_path, list_images, write_image
from ..models.registry import get_spec
from .driver import RestoreJob, drive
from .stages import FrameSink, FrameSource, Progress, RunStats

__all__ = ["RestoreJob", "StreamStart", "restore"]

log = logging.getLogger(__name__)


# -- sinks -------------------------------------------------------------------------------------------


class _ImageSink:
    """Writes frames as image files: one named image, or a folder of PNGs."""

    def __init__(
        self, target: Path, *, single: bool, source_info: StreamInfo, quality: int | None, digits: int
    ) -> None:
        self.target = target
        self.single = single
        self.color = source_info.color
        self.quality = quality
        self.digits = digits
        self.written = 0

    def write(self, frame: Frame) -> None:
        if self.single:
            if self.written:
                raise ConfigError(f"{self.target.name} is a single image but the input has several frames; "
                                  f"give a folder or a video file as output")
            path = self.target
        else:
            stem = Path(frame.name).stem if frame.name else f"{frame.index:0{self.digits}d}"
            path = self.target / f"{stem}.png"
        write_image(path, frame, self.color, self.quality)
        self.written += 1

    def write_packet(self, packet: object) -> None:
        """Images have no audio; packets (none arrive from image inputs) are ignored."""

    def close(self) -> None:
        if not self.written:
            raise InputError("no frame was restored")

    def abort(self) -> None:
        """Nothing to release: the temporary target is removed by the caller."""


# -- opening inputs and outputs ------------------------------------------------------------------------

# Compiling the colour conversion takes 5-10 s on our 2-core machine and saves 10-25 ms per 720p
# frame there (media.kernels), so "auto" compiles once this many frames were really decoded (and
# encoded): a frame count or rate the container declares costs a client nothing to inflate (a
# 25 KB file declared 15,660 frames), frames it must send do.
COMPILE_COLOUR_FRAMES = 500


def compile_colour(options: PipelineOptions, engine: Backend, info: StreamInfo) -> bool:
    """Whether this job converts colour with the compiled kernels from its first frame on."""
    if options.compile_colour != "auto":
        return options.compile_colour == "on"
    return engine.options.compile


def compile_colour_after(options: PipelineOptions, compiled: bool) -> int | None:
    """From which decoded (and encoded) frame on "auto" switches to the compiled kernels, if at all."""
    return COMPILE_COLOUR_FRAMES if options.compile_colour == "auto" and not compiled else None



def open_source(source: str | Path | BinaryIO, job: RestoreJob, *, format: str | None = None) -> FrameSource:
    """A reader for a path (video, image or folder), URL or byte stream."""
    if isinstance(source, Path) or (isinstance(source, str) and "://" not in source):
        path = Path(source)
        files = (
            list_images(path) if path.is_dir() else [path] if is_image_path(path) and path.is_file() else None
        )
        if files is not None:
            if job.pipeline.trimmed:
                raise ConfigError(f"{path}: --start, --duration and --frames apply to video inputs")
            return ImageSequenceReader(
                files, limits=job.limits, frame_rate=job.encode.frame_rate or Fraction(25)
            )
    part = job.pipeline
    end = part.start + part.duration if part.duration is not None else None
    return VideoReader(
        source,
        limits=job.limits,
        format=format,
        threads=part.decode_threads,
        start=part.start,
        end=end,
        max_frames=part.max_frames,
    )


def output_kind(path: Path) -> str:
    """ "video", "image" or "folder" for an output path."""
    suffix = path.suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        return "image"
    if suffix in VIDEO_CONTAINERS:
        return "video"
    if path.is_dir() or not suffix or str(path).endswith(os.sep):
        return "folder"
    container_for(path)  # raises the "unknown output type" error
    return "video"


def _check_writable(path: Path) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: folder {parent} is not writable")
    if path.is_dir() and output_kind(path) != "folder":
        raise OutputError(f"{path}: is a folder")
    if path.is_dir() and any(path.iterdir()):
        raise OutputError(f"{path}: output folder exists and is not empty")


def _video_writer(
    target: Path | BinaryIO,
    container: str,
    job: RestoreJob,
    out_info: StreamInfo,
    copied: list[Any],
    compiled: bool,
    *,
    streaming: bool = False,
    name: str | None = None,
) -> VideoWriter:
    """The output video file or stream, with the input's other streams copied into it."""
    writer = VideoWriter(
        target,
        out_info,
        container=container,
        encode=job.encode,
        copy_from=copied,
        streaming=streaming,
        name=name,
        compiled_colour=compiled,
    )
    writer.compile_colour_after = compile_colour_after(job.pipeline, compiled)
    return writer


def _source_name(source: str | Path | BinaryIO) -> str:
    return str(source) if isinstance(source, (str, Path)) else "input stream"


# -- the job ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamStart:
    """What a run is about to produce, known once the first frame decoded (for headers, logs)."""

    input: StreamInfo
    output: StreamInfo
    codec: str  # the video encoder, or "" for image outputs


def restore(
    source: str | Path | BinaryIO,
    output: Path | BinaryIO,
    job: RestoreJob,
    *,
    input_format: str | None = None,
    output_format: str | None = None,
    backend: Backend | None = None,
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    on_start: Callable[[StreamStart], None] | None = None,
) -> RunStats:
    """Restore ``source`` into ``output``; returns what was done. Raises StreamRestoreError.

    ``backend`` lets a server share one loaded engine across jobs; otherwise one is created and
    closed here. ``on_start`` is called once the first frame decoded, before any is restored.
    """
    spec = get_spec(job.model)
    if isinstance(output, Path):
        kind = output_kind(output)
        _check_writable(output)
    else:
        kind = "stream"
        if not output_format:
            raise ConfigError("a streamed output needs a container format (mpegts, matroska or mp4)")
    own_backend = backend is None
    engine = backend or create_backend(spec, job.backend, job.backend_options)
    reader = open_source(source, job, format=input_format)
    temporary: Path | None = None
    try:
        info = reader.info
        out_info = info.with_size(info.width * spec.scale, info.height * spec.scale)
        if own_backend:
            engine.load()
        compiled = compile_colour(job.pipeline, engine, info)
        if isinstance(reader, VideoReader):
            reader.compiled_colour = compiled
            reader.compile_colour_after = compile_colour_after(job.pipeline, compiled)
        copied = getattr(reader, "copy_streams", [])
        sink: FrameSink
        codec = ""
        if kind == "stream":
            sink = writer = _video_writer(
                output, output_format or "mpegts", job, out_info, copied, compiled, streaming=True
            )
            codec = writer.settings.codec
        else:
            assert isinstance(output, Path)
            temporary = temporary_sibling(output, folder=kind == "folder")
            if kind == "video":
                sink = writer = _video_writer(
                    temporary, container_for(output, job.encode.container), job, out_info, copied, compiled,
                    name=str(output),
                )
                writer.start_at_zero = job.pipeline.start > 0  # a part of the input: its output starts at 0
                codec = writer.settings.codec
            else:
                digits = max(6, len(str(info.frame_count or 0)))
                sink = _ImageSink(
                    temporary,
                    single=kind == "image",
                    source_info=info,
                    quality=job.encode.image_quality,
                    digits=digits,
                )
        if on_start is not None:
            on_start(StreamStart(info, out_info, codec))
        stats = drive(reader, sink, engine, job, name=_source_name(source), progress=progress, cancel=cancel)
        if isinstance(sink, VideoWriter):
            stats.warnings.extend(sink.warnings)
        if temporary is not None:
            assert isinstance(output, Path)
            if kind == "folder" and output.is_dir():
                output.rmdir()  # checked empty above
            os.replace(temporary, output)
            temporary = None
        return stats
    finally:
        reader.close()
        if temporary is not None:
            discard(temporary)
        if own_backend:
            engine.close()
