"""``stream-restore restore INPUT OUTPUT``: restore a video, an image or a folder of images locally."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..config import EncodeOptions, Limits, PipelineOptions
from ..errors import ConfigError
from ..option_values import DEFAULT_MODEL, parse_bitrate, parse_seconds, parse_size
from ..paths import cache_dir as user_cache_dir
from .progress import ProgressLine

if TYPE_CHECKING:
    from ..pipeline import RestoreJob

# The backends and the pipeline (torch, PyAV) are imported when a job is built, not to print --help.

__all__ = ["Terminated", "add_arguments", "add_restore_options", "build_job", "run"]


class Terminated(KeyboardInterrupt):
    """SIGTERM, stopped like Ctrl-C: every stage stops and the temporary output is removed."""

    exit_status = 143  # 128 + SIGTERM, what a shell reports for a terminated command


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Turn the first SIGTERM into :class:`Terminated` in the main thread (later ones are ignored,
    so a second kill cannot cut the clean-up short)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = False

    def handler(signum: int, frame: object) -> None:
        nonlocal raised
        if not raised:
            raised = True
            raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="video file or URL, image file, or folder of images")
    parser.add_argument("output", help="video file (.mp4 .mkv .webm .mov .ts), image file, folder, or - for "
                                       "standard output (a video stream, --output-format)")
    parser.add_argument("--output-format", choices=("mpegts", "matroska", "mp4"),
                        help="container of a video written to standard output (default mpegts)")
    part = parser.add_argument_group("a part of the input (to try a model quickly)")
    part.add_argument("--start", help="begin at this time of the input: seconds or [HH:]MM:SS (the output "
                                      "starts at 0)")
    part.add_argument("--duration", help="restore this long: seconds or [HH:]MM:SS")
    part.add_argument("--frames", type=int, help="restore at most this many frames")
    part.add_argument("--compare", type=Path, metavar="FILE.png",
                      help="also write a before/after image: the input upscaled by bicubic | restored")
    part.add_argument("--compare-at", default="0", metavar="T",
                      help="time in the output of the frame --compare shows (default its first frame)")
    add_restore_options(parser)


def add_restore_options(parser: argparse.ArgumentParser) -> None:
    """The model, encoding and execution options (shared with ``jobs submit``), read by build_job."""
    parser.add_argument("-m", "--model", default=DEFAULT_MODEL, help=f"model name (default {DEFAULT_MODEL}; "
                                                                     "see 'models')")
    enc = parser.add_argument_group("encoding")
    enc.add_argument("--codec", help="h264, hevc, vp9, av1, ffv1 (lossless), h264_nvenc, ... (default per "
                                     "container)")
    enc.add_argument("--crf", type=int, help="constant quality (lower is better; default per codec)")
    enc.add_argument("--bitrate", help="target bitrate instead of CRF, e.g. 8M")
    enc.add_argument("--preset", help="encoder speed preset (x264/x265: ultrafast..veryslow)")
    enc.add_argument("--pix-fmt", help="output pixel format (default keeps the input's bit depth)")
    enc.add_argument("--gop", type=int, help="keyframe interval in frames")
    enc.add_argument("--fps", help="frame rate for image inputs written as video (default 25)")
    enc.add_argument("--quality", type=int, help="JPEG/WebP output quality 1-100")
    run_group = parser.add_argument_group("execution")
    run_group.add_argument("--device", default="cpu", help="cpu, cuda[:N] or auto (default cpu)")
    run_group.add_argument("--backend", default="auto",
                           help="auto, torch, onnxruntime or tensorrt (default auto: the fastest available)")
    run_group.add_argument("--precision", default="fp32", choices=["fp32", "fp16", "bf16"])
    run_group.add_argument("--threads", type=int, help="CPU threads for inference")
    run_group.add_argument("--compile", action="store_true", help="torch.compile the model (torch backend)")
    run_group.add_argument("--tile-max-pixels", type=int,
                           help="split frames larger than this many input pixels into overlapping tiles")
    run_group.add_argument("--tile-overlap", type=int, help="pixels shared by neighbouring tiles (default "
                                                            "from the model)")
    run_group.add_argument("--cache-dir", default=None,
                           help="ONNX exports, TensorRT engines and backend timings (default: the user cache "
                                "folder's engines/, e.g. ~/.cache/stream-restore/engines)")
    run_group.add_argument("--no-scene-detect", action="store_true", help="never reset recurrent state on "
                                                                          "cuts")
    run_group.add_argument("--compile-colour", choices=("auto", "on", "off"), default="auto",
                           help="compile the YUV<->RGB conversion (same result, faster after a few seconds' "
                                "compile); auto: with a compiled backend or inputs of 500+ frames")
    run_group.add_argument("--max-size", default="8192x8192", help="largest accepted input, WxH (default "
                                                                   "8192x8192)")
    run_group.add_argument("--input-format", help="force the input container format (e.g. mpegts)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress display or summary")


def build_job(args: argparse.Namespace) -> RestoreJob:
    """Validated job configuration from parsed arguments (the one place flags become config)."""
    from ..backends import BackendOptions, check_device
    from ..pipeline import RestoreJob

    check_device(args.device)
    if args.tile_max_pixels is not None and args.tile_max_pixels < 64:
        raise ConfigError("--tile-max-pixels must be at least 64")
    max_w, max_h = parse_size(args.max_size)
    try:
        fps = Fraction(args.fps) if args.fps else None
    except (ValueError, ZeroDivisionError):
        raise ConfigError(f"invalid --fps {args.fps!r}") from None
    return RestoreJob(
        model=args.model,
        backend=args.backend,
        backend_options=BackendOptions(
            device=args.device,
            precision=args.precision,
            threads=args.threads,
            compile=args.compile,
            cache_dir=args.cache_dir or str(user_cache_dir(os.environ) / "engines"),
            tile_max_pixels=args.tile_max_pixels,
            tile_overlap=args.tile_overlap,
        ),
        encode=EncodeOptions(
            codec=args.codec,
            crf=args.crf,
            bitrate=parse_bitrate(args.bitrate) if args.bitrate else None,
            preset=args.preset,
            pix_fmt=args.pix_fmt,
            gop=args.gop,
            frame_rate=fps,
            image_quality=args.quality,
        ),
        pipeline=PipelineOptions(
            scene_detection=not args.no_scene_detect,
            compile_colour=args.compile_colour,
            start=parse_seconds(args.start, "--start") if getattr(args, "start", None) else 0.0,
            duration=parse_seconds(args.duration, "--duration") if getattr(args, "duration", None) else None,
            max_frames=getattr(args, "frames", None),
        ),
        limits=Limits(max_width=max_w, max_height=max_h, max_pixels=max_w * max_h),
    )


def run(args: argparse.Namespace) -> int:
    from ..media.codecs import IMAGE_EXTENSIONS
    from ..pipeline import restore

    job = build_job(args)
    output: Path | BinaryIO = Path(args.output)
    output_format = None
    if args.output == "-":
        source = Path(args.input)
        if "://" not in args.input and (source.is_dir() or source.suffix.lower() in IMAGE_EXTENSIONS):
            raise ConfigError("standard output takes a video stream; write an image or a folder to a named "
                              "file")
        if sys.stdout.isatty():
            raise ConfigError("standard output is a terminal; pipe it (| ffplay -) or name an output file")
        output, output_format = sys.stdout.buffer, args.output_format or "mpegts"
    elif args.output_format:
        raise ConfigError("--output-format is for standard output (-); a file's extension picks its "
                          "container")
    compare_at = parse_seconds(args.compare_at, "--compare-at") if args.compare else 0.0
    if args.compare is not None and (args.output == "-" or args.compare.suffix.lower() != ".png"):
        raise ConfigError("--compare writes a .png beside an output file (not standard output)")
    show = not args.quiet and sys.stderr.isatty()
    bar = ProgressLine("restoring", enabled=show)
    try:
        with _terminate_as_interrupt():
            stats = restore(args.input, output, job, input_format=args.input_format,
                            output_format=output_format, progress=bar)
    finally:
        bar.finish()
    if args.compare is not None:
        from ..media.compare import write_comparison

        write_comparison(
            Path(args.input),
            Path(args.output),
            args.compare,
            labels=("input, bicubic", args.model),
            seconds=job.pipeline.start + compare_at,
            restored_seconds=compare_at,
        )
        if not args.quiet:
            sys.stderr.write(f"before/after -> {args.compare}\n")
    if not args.quiet:
        shares = stats.shares()
        sys.stderr.write(
            f"restored {stats.frames_out} frames in {stats.wall_seconds:.1f} s ({stats.fps:.2f} fps; "
            f"decode {shares['decode']:.0%}, model {shares['infer']:.0%}, encode {shares['encode']:.0%}) -> "
            f"{args.output if args.output != '-' else 'standard output'}\n"
        )
    return 0
