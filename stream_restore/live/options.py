"""Typed, frozen settings of a live session, and what an output URL or path means.

Outputs by form (the muxer and its options are decided here, once):

=========================  ==========  ===================================================
output                     muxer       notes
=========================  ==========  ===================================================
``rtsp://host/path``       rtsp        push (ANNOUNCE/RECORD) to an RTSP server, over TCP
``rtmp://host/app/key``    flv         push to an RTMP server
``udp://host:port``        mpegts      MPEG-TS in 1316-byte datagrams (7 TS packets), each
                                       frame sent at once
``rtp://host:port``        rtp_mpegts  MPEG-TS in RTP
``folder/name.m3u8``       hls         1 s segments, a rolling playlist of 6 (local only)
``rec.mkv|.ts|.mp4``       segment     a recording cut every ``segment_seconds`` into
                                       ``rec-00000.mkv``, ``rec-00001.mkv``... (local only)
=========================  ==========  ===================================================

Local outputs (HLS folders, recordings) are for the CLI only: a server request may name network
outputs only, and those must pass the operator's allow-list (:mod:`.allow`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..config import EncodeOptions
from ..errors import ConfigError, PermissionDeniedError

__all__ = ["BLOCK", "DROP", "IngestOptions", "LiveConfig", "OutputTarget", "parse_output"]

DROP, BLOCK = "drop", "block"
_HLS_SEGMENT_SECONDS = 1
_HLS_LIST_SIZE = 6
# Network outputs send each packet at once: the interleaver does not hold video back waiting for
# audio (measured on loopback: +100 ms glass-to-glass with audio), the last datagram of a frame is
# not kept for the next one, and a TS audio PES holds one frame, not 2930 bytes of them.
_PROMPT = (("max_interleave_delta", "1"), ("flush_packets", "1"))
_PROMPT_TS = (("omit_video_pes_length", "0"), ("pes_payload_size", "0"))
_RECORDING = {".mkv": "matroska", ".ts": "mpegts", ".mp4": "mp4", ".mov": "mov"}


@dataclass(frozen=True)
class IngestOptions:
    """How the source is read and how far behind it the session may fall."""

    transport: str = "tcp"  # RTSP lower transport: tcp or udp
    stall_timeout: float = 5.0  # seconds without a packet before the source counts as lost
    open_timeout: float = 10.0  # seconds one connection attempt may take
    policy: str = DROP  # DROP: keep latency under max_latency; BLOCK: never drop a frame
    max_latency: float = 1.0  # seconds from packet receipt to the output mux (DROP only)
    buffer_packets: int = 512  # packets held between the network reader and the decoder
    backoff_initial: float = 0.25  # seconds before the first reconnect attempt
    backoff_max: float = 8.0  # seconds: the longest wait between attempts

    def __post_init__(self) -> None:
        if self.transport not in ("tcp", "udp"):
            raise ConfigError(f"transport must be tcp or udp, not {self.transport!r}")
        if self.policy not in (DROP, BLOCK):
            raise ConfigError(f"policy must be drop or block, not {self.policy!r}")
        if not 0.1 <= self.stall_timeout <= 600 or not 0.1 <= self.open_timeout <= 600:
            raise ConfigError("stall and open timeouts must be within 0.1..600 s")
        if not 0.05 <= self.max_latency <= 600:
            raise ConfigError("max latency must be within 50 ms and 600 s")
        if not 16 <= self.buffer_packets <= 100_000:
            raise ConfigError("the source buffer must hold 16..100000 packets")
        if not 0 < self.backoff_initial <= self.backoff_max <= 600:
            raise ConfigError("backoff must satisfy 0 < initial <= max <= 600 s")


@dataclass(frozen=True)
class OutputTarget:
    """One place the restored stream is published: what to open, with which muxer and options."""

    url: str  # a URL, or a file name (pattern) for local outputs
    format: str  # FFmpeg muxer
    options: tuple[tuple[str, str], ...] = ()  # muxer options
    local: bool = False  # writes this machine's disk (CLI only)

    @property
    def label(self) -> str:
        return self.url


def parse_output(text: str, *, allow_local: bool, segment_seconds: float = 600.0) -> OutputTarget:
    """The :class:`OutputTarget` for an output URL or path (see the module's table).

    Anything but a network URL from a server request (``allow_local`` False) raises
    :class:`PermissionDeniedError` before it is looked at as a path; an output form that is not
    known raises :class:`ConfigError`.
    """
    spec = text.strip()
    if not spec:
        raise ConfigError("an output is empty")
    scheme = urlsplit(spec).scheme.lower() if "://" in spec else ""
    if scheme in ("rtsp", "rtsps"):
        return OutputTarget(spec, "rtsp", (("rtsp_transport", "tcp"), *_PROMPT))
    if scheme in ("rtmp", "rtmps"):
        return OutputTarget(spec, "flv", (("flvflags", "no_duration_filesize"), *_PROMPT))
    if scheme == "udp":
        url = spec if "pkt_size=" in spec else spec + ("&" if "?" in spec else "?") + "pkt_size=1316"
        return OutputTarget(url, "mpegts", (*_PROMPT_TS, *_PROMPT))
    if scheme == "rtp":
        return OutputTarget(spec, "rtp_mpegts", _PROMPT)
    if not allow_local:  # refused before the string is looked at as a path (nothing is touched)
        raise PermissionDeniedError(f"output {text!r}: {scheme + ':// is not' if scheme else 'not'} a "
                                    "network output; the server publishes to rtsp://, rtmp://, udp:// and "
                                    "rtp:// URLs only")
    if scheme or (":" in spec.split("/", 1)[0] and not Path(spec).exists()):
        raise ConfigError(f"output {text!r}: {scheme or spec.split(':', 1)[0]}: is not an output "
                          "protocol; use rtsp://, rtmp://, udp://, rtp://, a .m3u8 path or a "
                          "recording path (.mkv, .ts, .mp4)")
    path = Path(spec)
    if not path.parent.is_dir():
        raise ConfigError(f"output {text!r}: folder {path.parent} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".m3u8":
        segments = str(path.with_name(path.stem + "-%05d.ts"))
        return OutputTarget(str(path), "hls", (
            ("hls_time", str(_HLS_SEGMENT_SECONDS)), ("hls_list_size", str(_HLS_LIST_SIZE)),
            ("hls_flags", "delete_segments+independent_segments"),
            ("hls_segment_filename", segments),
        ), local=True)
    if suffix in _RECORDING:
        pattern = spec if "%" in path.name else str(path.with_name(f"{path.stem}-%05d{path.suffix}"))
        options = [("segment_time", f"{segment_seconds:g}"), ("segment_format", _RECORDING[suffix]),
                   ("reset_timestamps", "1")]
        if suffix in (".mp4", ".mov"):
            options.append(("segment_format_options", "movflags=+faststart"))
        return OutputTarget(pattern, "segment", tuple(options), local=True)
    raise ConfigError(f"output {text!r}: unknown output type {suffix or '(no extension)'!r}; use a URL, "
                      ".m3u8 (HLS) or .mkv/.ts/.mp4 (recording)")


@dataclass(frozen=True)
class LiveConfig:
    """Everything one live session needs, checked before anything is opened."""

    source: str
    outputs: tuple[OutputTarget, ...]
    model: str = "identity"
    backend: str = ""
    ingest: IngestOptions = field(default_factory=IngestOptions)
    encode: EncodeOptions = field(default_factory=EncodeOptions)
    local_source: bool = False  # ``source`` is a plain path the CLI's user typed

    def __post_init__(self) -> None:
        if not self.outputs:
            raise ConfigError("a live session needs at least one output")
        if len(self.outputs) > 8:
            raise ConfigError("a live session publishes to at most 8 outputs")
