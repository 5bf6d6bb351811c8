"""The server's typed, frozen configuration, built once from flags and an optional config file.

A config file is JSON (``.json``) or TOML (``.toml``, read with :mod:`tomllib`) holding the same
keys as :class:`ServerConfig`'s fields (``max_streams = 4``, ``preload = ["bicubic-x2"]``); command
line flags override it. Nothing below this module reads files or the environment for settings.
"""

from __future__ import annotations

import json
import ssl
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ..config import Limits
from ..errors import ConfigError
from ..live.allow import parse_rules

__all__ = ["ServerConfig", "TlsConfig", "check_tls_files", "load_config_file", "merge_config"]


@dataclass(frozen=True)
class TlsConfig:
    """Server certificate chain and key (PEM bytes); a client CA turns on mutual TLS."""

    certificate: bytes
    private_key: bytes
    client_ca: bytes | None = None  # PEM roots; when set, clients must present a certificate


def check_tls_files(tls: TlsConfig) -> ssl.SSLContext:
    """Raise ConfigError unless the certificate, key and client CA load and the key fits the
    certificate (gRPC would only log its reason and fail to bind). Returns a server context of
    them (client certificates required when there is a client CA), for the web page's HTTPS."""
    import tempfile

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory(prefix="stream-restore-tls-") as folder:
        cert, key = Path(folder) / "cert.pem", Path(folder) / "key.pem"
        cert.write_bytes(tls.certificate)
        key.write_bytes(tls.private_key)
        try:
            context.load_cert_chain(cert, key)
        except (ssl.SSLError, ValueError) as exc:
            raise ConfigError(
                f"the TLS certificate and key do not load as a matching PEM pair ({exc})"
            ) from None
    if tls.client_ca is not None:
        try:
            context.load_verify_locations(cadata=tls.client_ca.decode("ascii", errors="replace"))
        except (ssl.SSLError, ValueError) as exc:
            raise ConfigError(f"the client CA is not a PEM certificate ({exc})") from None
        context.verify_mode = ssl.CERT_REQUIRED
    return context


@dataclass(frozen=True)
class ServerConfig:
    """Everything that decides how the server runs."""

    host: str = "127.0.0.1"
    port: int = 50051  # 0 picks a free port
    tls: TlsConfig | None = None
    tokens: frozenset[str] = frozenset()  # accepted bearer tokens; empty = no authentication
    max_streams: int = 4  # concurrent Restore + RestoreFrames calls
    limits: Limits = field(default_factory=Limits)
    max_message_bytes: int = 8 * 1024 * 1024  # per gRPC message, both directions
    max_image_bytes: int = 64 * 1024 * 1024  # encoded RestoreImage input
    input_buffer_bytes: int = 4 * 1024 * 1024  # input bytes held per stream before flow control pushes back
    output_buffer_chunks: int = 64  # encoded output writes held per stream before the encoder waits
    output_chunk_bytes: int = 256 * 1024  # writes are coalesced into messages of at most this size
    idle_timeout: float = 60.0  # seconds without a request message before a stream is dropped
    grace_period: float = 10.0  # seconds running streams get to finish on shutdown
    preload: tuple[str, ...] = ()  # models loaded at start
    device: str = "cpu"
    backend: str = "auto"
    precision: str = "fp32"
    threads: int | None = None  # intra-op CPU threads per engine
    tile_max_pixels: int | None = None  # server-wide tiling budget (input pixels per call)
    metrics_port: int | None = None  # Prometheus HTTP endpoint; None = off, 0 = a free port
    metrics_host: str = "127.0.0.1"  # the metrics endpoint has no auth: loopback unless the operator says
    workers: int = 8  # threads serving unary calls (images) and engine loading
    # Slow clients: each stream must average this many bytes per second over every window of
    # seconds spent waiting for its messages (time the server holds it back does not count).
    min_input_rate: float = 1024.0
    input_rate_window: float = 30.0
    max_call_seconds: float | None = None  # wall-clock budget of one stream call; None = unlimited
    max_raw_frame_bytes: int = 64 * 1024 * 1024  # one RestoreFrames frame (all its parts)
    max_images: int = 2  # concurrent RestoreImage calls
    max_image_pixels: int = 4096 * 4096  # decoded RestoreImage input, checked in the header first
    max_image_output_pixels: int = 4096 * 4096  # restored RestoreImage output
    image_tile_pixels: int = 1024 * 1024  # images are restored in tiles of at most this many input pixels
    # Engines: the backends a client may ask for (empty = only ``backend``), the most engines kept
    # loaded (least recently used idle ones are closed first), and where exports and TensorRT
    # engines are cached ("" = a private folder removed when the server stops).
    allowed_backends: tuple[str, ...] = ()
    max_engines: int = 4
    engine_cache_dir: str = ""
    # Models added by the operator (``stream-restore models add``), served by name beside the
    # shipped ones; "" = none. Clients select models by name only, never upload them.
    models_dir: str = ""
    # Archive jobs (the Jobs service, off unless both roots are set): the folders remote jobs read
    # and write (requests name paths relative to them), the job store's folder ("" = the user data
    # dir), and the worker processes run for them (one per entry, by device).
    jobs_input_root: str = ""
    jobs_output_root: str = ""
    state_dir: str = ""
    jobs_devices: tuple[str, ...] = ("cpu",)
    # The web page (``server/web.py``): off unless a port is given (0 = a free one); same auth as the API.
    web_port: int | None = None
    web_host: str = "127.0.0.1"
    # Live feeds (the Live service): the sources and the outputs a request may name, as
    # ``scheme://host-or-CIDR[:port]`` rules (live.allow); both empty = every StartLive refused.
    live_allow: tuple[str, ...] = ()
    live_output_allow: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be within 0..65535, got {self.port}")
        if self.max_streams < 1:
            raise ConfigError("max_streams must be at least 1")
        if self.max_message_bytes < 64 * 1024:
            raise ConfigError("max_message_bytes must be at least 64 KiB")
        if self.idle_timeout <= 0 or self.grace_period < 0:
            raise ConfigError("idle_timeout must be positive and grace_period not negative")
        if self.input_buffer_bytes < 1024 or self.output_buffer_chunks < 1 or self.output_chunk_bytes < 1024:
            raise ConfigError("stream buffers are too small")
        for name, number in (("metrics_port", self.metrics_port), ("web_port", self.web_port)):
            if number is not None and not 0 <= number <= 65535:
                raise ConfigError(f"{name} must be within 0..65535, got {number}")
        if self.min_input_rate < 0 or self.input_rate_window <= 0:
            raise ConfigError("min_input_rate must not be negative and input_rate_window must be positive")
        if self.max_call_seconds is not None and self.max_call_seconds <= 0:
            raise ConfigError("max_call_seconds must be positive")
        if min(self.max_images, self.max_engines) < 1:
            raise ConfigError("max_images and max_engines must be at least 1")
        if min(self.max_raw_frame_bytes, self.max_image_pixels, self.max_image_output_pixels) < 64:
            raise ConfigError("frame and image budgets are too small")
        if self.image_tile_pixels < 4096:
            raise ConfigError("image_tile_pixels must be at least 4096")
        if bool(self.jobs_input_root) != bool(self.jobs_output_root):
            raise ConfigError("the Jobs service needs both --jobs-input-root and --jobs-output-root")
        if self.jobs_input_root and not self.jobs_devices:
            raise ConfigError("jobs_devices must name at least one worker device")
        parse_rules(self.live_allow)  # ConfigError names a bad rule
        parse_rules(self.live_output_allow)

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") else self.host
        return f"{host}:{self.port}"


_LIMIT_KEYS = {"max_width", "max_height", "max_pixels", "max_duration"}
_PATH_KEYS = {"tls_cert", "tls_key", "tls_client_ca", "token_file"}


def load_config_file(path: Path) -> dict[str, Any]:
    """The settings of a JSON or TOML file as a flat dict (validated by :func:`merge_config`)."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror or exc})") from None
    try:
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(text.decode())
        elif path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            raise ConfigError(f"{path}: config files must end in .json or .toml")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid config file ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config file must hold a table of settings")
    base = path.parent
    for key in _PATH_KEYS & data.keys():  # relative paths are relative to the file
        data[key] = str(base / str(data[key]))
    return data


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{what} {path}: {exc.strerror or exc}") from None


def read_tokens(path: str) -> frozenset[str]:
    """Bearer tokens from a file: one per line; blank lines and ``#`` comments are ignored."""
    lines = _read(path, "token file").decode(errors="replace").splitlines()
    tokens = frozenset(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))
    if not tokens:
        raise ConfigError(f"token file {path} holds no token")
    return tokens


def merge_config(settings: dict[str, Any]) -> ServerConfig:
    """A validated :class:`ServerConfig` from flat settings (file values overridden by flags).

    Besides the field names, accepts ``max_width``/``max_height``/``max_pixels``/``max_duration``
    (input limits), ``tls_cert``/``tls_key``/``tls_client_ca`` and ``token_file`` (paths).
    """
    names = {f.name for f in fields(ServerConfig)} - {"tls", "limits", "tokens"}
    unknown = set(settings) - names - _LIMIT_KEYS - _PATH_KEYS - {"tokens", "allow_insecure"}
    if unknown:
        raise ConfigError(f"unknown server settings: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {k: v for k, v in settings.items() if k in names and v is not None}
    for key in ("preload", "allowed_backends", "jobs_devices", "live_allow", "live_output_allow"):
        if key in values:
            listed = values[key]
            values[key] = tuple([listed] if isinstance(listed, str) else listed)
    limits = {k: settings[k] for k in _LIMIT_KEYS if settings.get(k) is not None}
    if "max_width" in limits or "max_height" in limits:
        limits.setdefault("max_pixels", limits.get("max_width", 8192) * limits.get("max_height", 8192))
    tokens = set(settings.get("tokens") or ())
    if settings.get("token_file"):
        tokens |= read_tokens(settings["token_file"])
    tls = None
    if settings.get("tls_cert") or settings.get("tls_key"):
        if not (settings.get("tls_cert") and settings.get("tls_key")):
            raise ConfigError("TLS needs both a certificate and a key")
        tls = TlsConfig(
            certificate=_read(settings["tls_cert"], "TLS certificate"),
            private_key=_read(settings["tls_key"], "TLS key"),
            client_ca=_read(settings["tls_client_ca"], "client CA")
            if settings.get("tls_client_ca")
            else None,
        )
    elif settings.get("tls_client_ca"):
        raise ConfigError("mutual TLS (a client CA) needs a server certificate and key")
    try:
        config = ServerConfig(**values, limits=Limits(**limits), tokens=frozenset(tokens), tls=tls)
    except TypeError as exc:
        raise ConfigError(f"invalid server settings: {exc}") from None
    return replace(config)
