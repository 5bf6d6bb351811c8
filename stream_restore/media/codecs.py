"""Which encoder, settings, pixel format and container an output gets (policy, no I/O).

Defaults aim at archive quality that plays everywhere: H.264 CRF 18 in MP4/MKV/MOV/TS, VP9 in
WebM, FFV1 only on request (lossless, for measuring). Explicit options always win; an impossible
combination is a :class:`ConfigError`, never a silent substitution.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from ..config import EncodeOptions
from ..errors import ConfigError, UnsupportedError
from ..frames import ColorInfo

__all__ = [
    "IMAGE_EXTENSIONS",
    "OUTPUT_ENCODERS",
    "VIDEO_CONTAINERS",
    "EncoderSettings",
    "container_for",
    "nvenc_usable",
    "resolve_encoder",
]

# extension -> (FFmpeg muxer, default encoder)
VIDEO_CONTAINERS: dict[str, tuple[str, str]] = {
    ".mp4": ("mp4", "libx264"),
    ".m4v": ("mp4", "libx264"),
    ".mov": ("mov", "libx264"),
    ".mkv": ("matroska", "libx264"),
    ".webm": ("webm", "libvpx-vp9"),
    ".ts": ("mpegts", "libx264"),
    ".m2ts": ("mpegts", "libx264"),
}
IMAGE_EXTENSIONS: dict[str, str] = {
    ".png": "png",
    ".jpg": "mjpeg",
    ".jpeg": "mjpeg",
    ".webp": "libwebp",
    ".bmp": "bmp",
}

_ALIASES = {
    "h264": "libx264",
    "avc": "libx264",
    "x264": "libx264",
    "hevc": "libx265",
    "h265": "libx265",
    "x265": "libx265",
    "vp9": "libvpx-vp9",
    "av1": "libsvtav1",
    "svtav1": "libsvtav1",
    "nvenc": "h264_nvenc",
}

# encoder -> (quality option name, default quality, default preset or None)
_QUALITY: dict[str, tuple[str, int, str | None]] = {
    "libx264": ("crf", 18, "medium"),
    "libx265": ("crf", 20, "medium"),
    "libvpx-vp9": ("crf", 30, None),
    "libsvtav1": ("crf", 30, "8"),
    "h264_nvenc": ("cq", 21, "p5"),
    "hevc_nvenc": ("cq", 23, "p5"),
    "av1_nvenc": ("cq", 28, "p5"),
}
_LOSSLESS = {"ffv1"}
# What --codec / OutputOptions.codec may name (after aliases): the encoders this module configures.
OUTPUT_ENCODERS: frozenset[str] = frozenset(_QUALITY) | _LOSSLESS | {"rawvideo"}  # rawvideo: uncompressed

_X26X_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)
_NVENC_PRESETS = (
    "p1",
    "p2",
    "p3",
    "p4",
    "p5",
    "p6",
    "p7",
    "default",
    "slow",
    "medium",
    "fast",
    "hp",
    "hq",
    "bd",
    "ll",
    "llhq",
    "llhp",
    "lossless",
    "losslesshp",
)
# encoder -> accepted presets (VP9's preset is its cpu-used, SVT-AV1's a number)
_PRESETS: dict[str, tuple[str, ...]] = {
    "libx264": _X26X_PRESETS,
    "libx265": _X26X_PRESETS,
    "libvpx-vp9": tuple(str(n) for n in range(-8, 9)),
    "libsvtav1": tuple(str(n) for n in range(-2, 14)),
    **{name: _NVENC_PRESETS for name in ("h264_nvenc", "hevc_nvenc", "av1_nvenc")},
}
_TUNES: dict[str, frozenset[str]] = {
    "libx264": frozenset(
        {"film", "animation", "grain", "stillimage", "psnr", "ssim", "fastdecode", "zerolatency"}
    ),
    "libx265": frozenset({"psnr", "ssim", "grain", "zerolatency", "fastdecode", "animation"}),
}
_MAX_QUALITY = {"libx264": 51, "libx265": 51, "h264_nvenc": 51, "hevc_nvenc": 51, "av1_nvenc": 63,
                "libvpx-vp9": 63, "libsvtav1": 63}


# MPEG-TS has stream types for these video codecs only (FFmpeg's muxer writes others as private
# data no demuxer reads back as video); the muxer has no codec table to ask.
_MPEGTS_VIDEO = frozenset({"h264", "hevc"})


@functools.cache
def _muxer_codecs(container: str) -> frozenset[str]:
    """Codec names the muxer can signal (avformat_query_codec), empty where it cannot tell."""
    try:
        with av.open(io.BytesIO(), "w", format=container) as out:
            return frozenset(out.supported_codecs)
    except (av.FFmpegError, ValueError):
        return frozenset()


def _check_container(name: str, codec: av.Codec, container: str) -> None:
    """Refuse an encoder whose stream the container cannot signal (the output would hold no video)."""
    kind = codec.canonical_name
    takes = kind in _MPEGTS_VIDEO if container == "mpegts" else (kind in _muxer_codecs(container)
                                                                 or not _muxer_codecs(container))
    if not takes:
        raise ConfigError(f"codec: {name} cannot be stored in {container} (nothing could read the video "
                          "back); "
                          "choose another codec, or a container that takes it (.mkv takes all of them)")


@functools.cache
def nvenc_usable(name: str) -> bool:
    """Whether NVENC encoder ``name`` opens on this host (an NVIDIA GPU and driver); tried once."""
    try:
        ctx = av.CodecContext.create(name, "w")
        ctx.width, ctx.height, ctx.pix_fmt = 256, 256, "yuv420p"  # type: ignore[attr-defined]
        ctx.time_base = Fraction(1, 25)
        ctx.open()
    except (av.FFmpegError, ValueError, OSError):
        return False
    return True


@dataclass(frozen=True)
class EncoderSettings:
    """Resolved encoder configuration for one output video stream."""

    codec: str
    pix_fmt: str
    options: dict[str, str]
    bit_rate: int | None
    gop: int | None


def container_for(path: Path, explicit: str | None = None) -> str:
    """The FFmpeg muxer for an output path (by extension unless ``explicit``)."""
    if explicit:
        if explicit not in av.formats_available:
            raise UnsupportedError(f"unknown container format {explicit!r}")
        return explicit
    suffix = path.suffix.lower()
    if suffix in VIDEO_CONTAINERS:
        return VIDEO_CONTAINERS[suffix][0]
    known = " ".join(sorted({*VIDEO_CONTAINERS, *IMAGE_EXTENSIONS}))
    raise UnsupportedError(f"{path}: unknown output type {suffix or '(no extension)'!r}; use one of: {known}")


def _encoder(name: str) -> av.Codec:
    try:
        codec = av.Codec(name, "w")
    except (av.FFmpegError, ValueError):
        raise UnsupportedError(f"encoder {name!r} is not available in this FFmpeg build") from None
    if codec.type != "video":
        raise ConfigError(f"{name!r} is not a video encoder")
    return codec


def _default_pix_fmt(codec: av.Codec, source: ColorInfo) -> str:
    """Keep the source's bit depth and chroma subsampling where the encoder allows it."""
    supported = [f.name for f in codec.video_formats or []]
    if source.is_rgb and codec.name in _LOSSLESS:
        wanted = "gbrp" if source.bit_depth <= 8 else "gbrp16le"
        if wanted in supported:
            return wanted
    sub = {(2, 2): "420", (2, 1): "422", (1, 1): "444"}.get(source.chroma_subsampling, "420")
    if source.is_rgb:
        sub = "420"  # images into lossy video: the format every player takes
    depth = "" if source.bit_depth <= 8 else ("10le" if source.bit_depth <= 10 else "12le")
    candidates = [f"yuv{sub}p{depth}", f"yuv420p{depth}"]
    if depth == "10le":
        candidates.append("p010le")
    for name in candidates:
        if name in supported:
            return name
    if depth:
        raise ConfigError(
            f"encoder {codec.name} cannot write {source.bit_depth}-bit video; "
            "choose --pix-fmt yuv420p to write 8-bit, or a codec that can (libx264, libx265, libsvtav1, "
            "ffv1)"
        )
    if "yuv420p" in supported:
        return "yuv420p"
    if not supported:
        raise ConfigError(f"encoder {codec.name} lists no pixel formats; choose one with --pix-fmt")
    return supported[0]


def _check_options(name: str, options: EncodeOptions) -> None:
    """Refuse, naming the field, what the encoder would only reject once frames arrive."""
    if name not in OUTPUT_ENCODERS:
        choices = "h264, hevc, vp9, av1, ffv1, rawvideo, h264_nvenc, hevc_nvenc, av1_nvenc"
        raise ConfigError(f"codec: {options.codec or name!r} is not an output codec stream-restore writes; "
                          f"use one of: {choices}")
    if options.preset:
        presets = _PRESETS.get(name)
        if presets is None:
            raise ConfigError(f"preset: encoder {name} has no presets")
        if options.preset not in presets:
            raise ConfigError(f"preset: {options.preset!r} is not a preset of {name}; use one of: "
                              f"{' '.join(presets)}")
    if options.tune:
        tunes = _TUNES.get(name)
        if tunes is None:
            raise ConfigError(f"tune: encoder {name} has no tunings (tune applies to libx264 and libx265)")
        wanted = [part.strip() for part in options.tune.split(",")]
        if not all(part in tunes for part in wanted):
            raise ConfigError(f"tune: {options.tune!r} is not a tuning of {name}; use one of: "
                              f"{' '.join(sorted(tunes))}")
    top = _MAX_QUALITY.get(name)
    if options.crf is not None and top is not None and options.crf > top:
        raise ConfigError(f"crf: {name} takes 0..{top}, got {options.crf}")
    if name.endswith("_nvenc") and not nvenc_usable(name):
        raise ConfigError(f"codec: {name} needs an NVIDIA GPU with NVENC, and none is usable on this host; "
                          "use h264, hevc or av1")


def resolve_encoder(options: EncodeOptions, container: str, source: ColorInfo) -> EncoderSettings:
    """Encoder name, pixel format and private options for ``options`` writing into ``container``.

    Every option is checked here, before any frame is encoded: ConfigError names the field.
    """
    default = next((enc for fmt, enc in VIDEO_CONTAINERS.values() if fmt == container), "libx264")
    name = _ALIASES.get((options.codec or default).lower(), (options.codec or default).lower())
    codec = _encoder(name)
    _check_options(name, options)
    _check_container(name, codec, container)
    supported = {f.name for f in codec.video_formats or []}
    if options.pix_fmt:
        if supported and options.pix_fmt not in supported:
            raise ConfigError(f"encoder {name} cannot write pixel format {options.pix_fmt}; it takes: "
                              f"{' '.join(sorted(supported))}")
        pix_fmt = options.pix_fmt
    else:
        pix_fmt = _default_pix_fmt(codec, source)
    private: dict[str, str] = {}
    if name in _QUALITY:
        key, default_q, default_preset = _QUALITY[name]
        if options.bitrate is None:
            private[key] = str(options.crf if options.crf is not None else default_q)
        preset = options.preset or default_preset
        if preset is not None:
            private["preset"] = preset
        if name == "libvpx-vp9":
            private.update({"row-mt": "1", "deadline": "good", "cpu-used": options.preset or "4"})
            private.pop("preset", None)
            if options.bitrate is None:
                private["b"] = "0"  # constant quality mode
        if name.endswith("_nvenc") and options.bitrate is None:
            private["rc"] = "vbr"
    elif name in _LOSSLESS:
        private.update({"level": "3", "slicecrc": "1", "slices": "4", "g": "1"})
    if options.tune:
        private["tune"] = options.tune
    if name == "libx265":
        private["x265-params"] = "log-level=error"
    return EncoderSettings(
        codec=name, pix_fmt=pix_fmt, options=private, bit_rate=options.bitrate, gop=options.gop
    )


# Encoders that reject odd frame sizes when chroma is subsampled.
_EVEN_SIZE_ENCODERS = {"libx264", "libx265", "libsvtav1", "h264_nvenc", "hevc_nvenc", "av1_nvenc"}


def check_encodable_size(settings: EncoderSettings, width: int, height: int) -> None:
    """Refuse, before any encoding, a frame size the encoder would reject with a cryptic error."""
    subsampled_x = settings.pix_fmt.startswith(("yuv420", "yuv422", "nv12", "p010", "yuvj420", "yuvj422"))
    subsampled_y = settings.pix_fmt.startswith(("yuv420", "nv12", "p010", "yuvj420"))
    if settings.codec in _EVEN_SIZE_ENCODERS and (
        (subsampled_x and width % 2) or (subsampled_y and height % 2)
    ):
        raise ConfigError(
            f"{settings.codec} with {settings.pix_fmt} needs even width and height, but the output is "
            f"{width}x{height}; use --pix-fmt yuv444p, --codec ffv1, or a model scale that makes it even"
        )
