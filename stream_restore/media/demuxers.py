"""Which FFmpeg demuxers and protocols may read an input, by where the input comes from.

Some demuxers open more than the input they are given: a playlist (``hls``), a concat script
(``concat``/ffconcat), an SDP file (``sdp``, ``rtp``), an image pattern (``image2``), a filter
graph (``lavfi``), a capture device. Fed bytes a client sent, they made the server read its own
files and fetch URLs for the client; fed a local file with another file's extension, they make the
CLI silently read files the user did not name. So every open states its origin:

================  ===========================================  ======================  ==========
origin            auto-probing may choose                      an explicit format      protocols
================  ===========================================  ======================  ==========
client stream     :data:`STREAM_DEMUXERS` only                 one of those only       none
local file        any demuxer that reads only its input        any demuxer (the user   ``file``
                  (not :data:`REFERENCING_DEMUXERS`, devices)  named it on purpose)
URL (operator)    also hls, dash, rtsp (a URL's usual media)   any demuxer             network only
================  ===========================================  ======================  ==========

FFmpeg enforces the table: ``format_whitelist`` refuses a probed demuxer that is not listed before
it reads anything (probing itself only looks at the bytes already read), and
``protocol_whitelist`` applies to every nested open (an empty one refuses them all; a client
stream is read through PyAV's own I/O context, not a protocol).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av

from ..errors import UnsupportedError
from .errors import LibavLine

__all__ = [
    "CLIENT_STREAM",
    "DEVICE_DEMUXERS",
    "LOCAL_FILE",
    "REFERENCING_DEMUXERS",
    "STREAM_DEMUXERS",
    "URL",
    "DemuxPolicy",
    "policy_for",
    "refused_demuxer",
]

# Demuxers that read nothing but the bytes they are given, in one pass (no seeking needed):
# MPEG-TS; Matroska/WebM; MP4/MOV (fragmented or with the index first; its external data
# references are off by default and need a protocol anyway); FLV; raw H.264 and HEVC (Annex B);
# IVF (VP8/VP9/AV1 behind a 32-byte header) and NUT (FFmpeg's own streamable container), both as
# self-contained as MPEG-TS. Names are FFmpeg's; "webm" and "mp4" are names of the same demuxers
# as "matroska" and "mov".
STREAM_DEMUXERS: frozenset[str] = frozenset(
    {"mpegts", "matroska", "webm", "mov", "mp4", "flv", "h264", "hevc", "ivf", "nut"}
)

# Demuxers that open other files, URLs or programs than their input, or read no input at all.
REFERENCING_DEMUXERS: frozenset[str] = frozenset({
    "hls", "applehttp", "dash", "webm_dash_manifest", "concat", "imf",  # playlists and manifests
    "sdp", "rtp", "rtsp", "sap",  # session descriptions: open network endpoints
    "image2", "lavfi", "ffmetadata",  # file patterns, filter graphs (movie=, amovie=), metadata
    "avisynth", "vapoursynth", "dvdvideo", "bluray",  # scripts that run code; disc structures
})
DEVICE_DEMUXERS: frozenset[str] = frozenset({
    "alsa", "fbdev", "kmsgrab", "oss", "video4linux2", "v4l2", "x11grab", "xcbgrab", "pulse", "jack",
    "openal", "sndio", "dshow", "gdigrab", "avfoundation", "decklink", "android_camera", "iec61883",
    "libcdio", "libdc1394",
})
# What an operator's URL may still use beyond a local file's demuxers: a URL's usual streaming media.
_URL_EXTRA: frozenset[str] = frozenset({"hls", "applehttp", "dash", "rtsp", "rtp"})
# Network protocols for operator URLs: never "file" (a remote playlist must not name local files).
_URL_PROTOCOLS = ",".join(sorted({
    "http", "https", "tcp", "tls", "udp", "udplite", "rtp", "srtp", "rtsp", "rtsps", "rtmp", "rtmps",
    "rtmpt", "rtmpts", "rtmpe", "rtmpte", "srt", "hls", "crypto", "httpproxy", "data",
}))


@functools.cache
def _input_demuxers() -> tuple[str, ...]:
    """Names of every demuxer in this FFmpeg build (aliases like "matroska,webm" included)."""
    names = []
    for name in sorted(av.formats_available):
        try:
            if av.ContainerFormat(name).is_input:
                names.append(name)
        except ValueError:
            continue
    return tuple(names)


def _components(name: str) -> set[str]:
    return {part.strip().lower() for part in name.split(",") if part.strip()}


@dataclass(frozen=True)
class DemuxPolicy:
    """The demuxers and protocols allowed for inputs of one origin (see the module's table)."""

    origin: str  # words for messages: "a client stream", "a local file", "a URL"
    refused: frozenset[str]  # demuxers auto-probing may not choose (when ``allowed`` is None)
    allowed: frozenset[str] | None = None  # the only demuxers probing may choose, if set
    explicit_any: bool = False  # an explicit format may name any demuxer FFmpeg has
    protocols: str | None = None  # FFmpeg protocol_whitelist: "" none, None FFmpeg's default

    def demuxers(self) -> list[str]:
        """The names probing may choose among, for FFmpeg's ``format_whitelist``."""
        if self.allowed is not None:
            return sorted(self.allowed)
        return [name for name in _input_demuxers() if not _components(name) & self.refused]

    def check_format(self, input_format: str | None) -> str | None:
        """The FFmpeg demuxer name for an explicit input format, or None to probe.

        Raises :class:`UnsupportedError` (a caller error: INVALID_ARGUMENT, CLI exit 2) for a
        format this origin may not name or this FFmpeg build does not have.
        """
        if input_format is None or not input_format.strip():
            return None
        name = input_format.strip().lower()
        if self.allowed is not None and not self.explicit_any and name not in self.allowed:
            raise UnsupportedError(
                f"input format {input_format!r} is not accepted from {self.origin}; "
                f"use one of: {', '.join(sorted(self.allowed))}"
            )
        if not any(name in _components(known) for known in _input_demuxers()):
            raise UnsupportedError(f"unknown input format {input_format!r}")
        return name

    def open_options(self, input_format: str | None) -> dict[str, str]:
        """The AVFormatContext options that enforce this policy (``container_options`` of ``av.open``)."""
        options: dict[str, str] = {}
        explicit = self.check_format(input_format)
        if explicit is None or not self.explicit_any:
            options["format_whitelist"] = ",".join(self.demuxers())
        if self.protocols is not None and (explicit is None or not self.explicit_any):
            options["protocol_whitelist"] = self.protocols
        return options


CLIENT_STREAM = DemuxPolicy("a client stream", refused=frozenset(), allowed=STREAM_DEMUXERS, protocols="")
LOCAL_FILE = DemuxPolicy("a local file", refused=REFERENCING_DEMUXERS | DEVICE_DEMUXERS, explicit_any=True,
                         protocols="file")
URL = DemuxPolicy("a URL", refused=(REFERENCING_DEMUXERS | DEVICE_DEMUXERS) - _URL_EXTRA, explicit_any=True,
                  protocols=_URL_PROTOCOLS)


def policy_for(source: str | Path | BinaryIO) -> DemuxPolicy:
    """The policy of a source by its kind: byte streams come from clients, paths are local files."""
    if isinstance(source, Path):
        return LOCAL_FILE
    if isinstance(source, str):
        return URL if "://" in source else LOCAL_FILE
    return CLIENT_STREAM


def refused_demuxer(logs: Sequence[LibavLine]) -> str | None:
    """The demuxer FFmpeg probed and then refused by ``format_whitelist``, from its log lines."""
    for _, component, message in logs:
        if "not on whitelist" in message and message.lstrip().lower().startswith("format"):
            return component or "unknown"
    return None
