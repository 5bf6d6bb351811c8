"""Typed, frozen configuration shared by the core; built once at the edge (CLI flags, gRPC request).

Nothing below the CLI or server reads the environment or parses strings into options: they get
these objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .errors import ConfigError

__all__ = ["EncodeOptions", "Limits", "PipelineOptions"]


@dataclass(frozen=True)
class Limits:
    """What input the core accepts; anything beyond raises LimitExceededError before work starts."""

    max_width: int = 8192  # input pixels
    max_height: int = 8192
    max_pixels: int = 8192 * 4352  # input pixels per frame (8K UHD and a little more)
    min_side: int = 8  # input pixels; smaller frames cannot feed a convolutional model sensibly
    max_duration: float | None = None  # seconds of input; None = unlimited
    max_output_pixels: int = 16384 * 16384  # per restored frame

    def __post_init__(self) -> None:
        if min(self.max_width, self.max_height, self.max_pixels, self.min_side) < 1:
            raise ConfigError("limits must be positive")


MIN_BITRATE = 10_000  # bits per second; below this no encoder makes a picture
MAX_BITRATE = 2_000_000_000  # bits per second; FFmpeg encoders keep rates in 32-bit fields
MAX_GOP = 100_000  # frames between keyframes


@dataclass(frozen=True)
class EncodeOptions:
    """How the restored video is encoded. ``None`` fields take per-codec defaults (media.codecs)."""

    codec: str | None = None  # FFmpeg encoder name or alias: h264, hevc, vp9, av1, ffv1, *_nvenc
    crf: int | None = None  # constant-quality factor (codec-specific scale)
    bitrate: int | None = None  # bits per second; overrides crf when set
    preset: str | None = None  # encoder speed preset
    tune: str | None = None  # encoder tuning (x264/x265: zerolatency, film, ...)
    pix_fmt: str | None = None  # output pixel format; default keeps the input's depth/subsampling
    gop: int | None = None  # keyframe interval in frames
    frame_rate: Fraction | None = None  # only for inputs without timing (images, folders)
    container: str | None = None  # FFmpeg muxer name; default from the output extension
    image_quality: int | None = None  # JPEG/WebP quality 1-100 for image outputs

    def __post_init__(self) -> None:
        if self.crf is not None and not 0 <= self.crf <= 63:
            raise ConfigError(f"--crf must be within 0..63, got {self.crf}")
        if self.bitrate is not None and not MIN_BITRATE <= self.bitrate <= MAX_BITRATE:
            raise ConfigError(f"bitrate must be within {MIN_BITRATE} and {MAX_BITRATE} bits per second "
                              f"(10 kbit/s to 2 Gbit/s), got {self.bitrate}")
        if self.gop is not None and not 0 <= self.gop <= MAX_GOP:
            raise ConfigError(f"gop must be within 0..{MAX_GOP} frames (0: the encoder's default), got "
                              f"{self.gop}")
        if self.frame_rate is not None and self.frame_rate <= 0:
            raise ConfigError("frame rate must be positive")
        if self.image_quality is not None and not 1 <= self.image_quality <= 100:
            raise ConfigError("image quality must be within 1..100")


@dataclass(frozen=True)
class PipelineOptions:
    """Scheduling of the decode -> infer -> encode pipeline."""

    queue_frames: int = 4  # bound of each inter-stage queue, in frames
    scene_detection: bool = True  # reset recurrent state on hard cuts
    scene_threshold: float = 0.25  # histogram distance in [0, 1] that counts as a cut
    decode_threads: int = 0  # PyAV codec threads; 0 = automatic
    # Compiled colour conversion (media.kernels): "on", "off", or "auto" = when the backend is
    # compiled anyway or the input is long enough (COMPILE_COLOUR_FRAMES) to repay the compile.
    compile_colour: str = "auto"
    # A part of the input only (to try a model on a few seconds of a long video): from ``start``
    # seconds, for ``duration`` seconds and/or ``max_frames`` frames; the output starts at 0 s.
    start: float = 0.0
    duration: float | None = None
    max_frames: int | None = None

    @property
    def trimmed(self) -> bool:
        return self.start > 0 or self.duration is not None or self.max_frames is not None

    def __post_init__(self) -> None:
        if self.start < 0 or (self.duration is not None and self.duration <= 0):
            raise ConfigError("--start must not be negative and --duration must be positive")
        if self.max_frames is not None and self.max_frames < 1:
            raise ConfigError("--frames must be at least 1")
        if self.compile_colour not in ("auto", "on", "off"):
            raise ConfigError(f"compile_colour must be auto, on or off, not {self.compile_colour!r}")
        if self.queue_frames < 1:
            raise ConfigError("queue size must be at least 1")
        if not 0.0 < self.scene_threshold <= 1.0:
            raise ConfigError("scene threshold must be within (0, 1]")
