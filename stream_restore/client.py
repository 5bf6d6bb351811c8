"""A small Python client for the stream-restore gRPC service.

    from stream_restore.client import RestoreClient

    with RestoreClient("127.0.0.1:50051", token="secret") as client:
        result = client.restore("in.ts", "out.mp4", model="bicubic-x2")
        print(result.summary.frames_out)

Inputs are sent as they are when they can be read from a pipe (MPEG-TS, Matroska/WebM, fragmented
or faststart MP4, FLV, raw H.264/HEVC); a classic MP4 with its index at the end is remuxed to
Matroska on the fly, and a URL or device (camera, RTSP, HTTP) is remuxed to MPEG-TS with PyAV as
packets arrive. Output chunks are written as soon as they arrive. Server errors are raised as the
project's own exceptions (see :func:`error_from_rpc`), so callers handle them like local ones.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
import grpc

from .errors import (
    ConfigError,
    InputError,
    OutputError,
    StreamRestoreError,
)
from .files import PartialFile
from .mp4_index import file_is_classic_mp4
from .status_codes import error_for_status
from .v1 import restore_pb2 as pb
from .v1 import restore_pb2_grpc as pb_grpc

__all__ = [
    "DEFAULT_PORT",
    "OUTPUT_CONTAINERS",
    "ChunkCollector",
    "RestoreClient",
    "RestoreResult",
    "error_from_rpc",
    "file_chunks",
    "frame_messages",
    "join_frames",
    "remux_chunks",
    "server_address",
    "source_chunks",
]

CHUNK_BYTES = 64 * 1024
OUTPUT_CONTAINERS = {".ts": "mpegts", ".m2ts": "mpegts", ".mkv": "matroska", ".mp4": "mp4", ".m4v": "mp4"}

DEFAULT_PORT = 50051  # what ``stream-restore serve`` listens on unless told otherwise


def server_address(target: str) -> str:
    """``HOST[:PORT]`` with the default port added (gRPC would otherwise try 443); a gRPC URI
    (``dns:``, ``unix:``, ``ipv4:``...) or a bracketed IPv6 address with a port passes unchanged."""
    target = target.strip()
    if not target:
        raise ConfigError("--server must be HOST[:PORT]")
    if "://" in target:
        raise ConfigError(f"--server takes HOST[:PORT], not a URL ({target})")
    if target.startswith(("dns:", "unix:", "ipv4:", "ipv6:", "unix-abstract:", "vsock:")):
        return target
    if target.startswith("["):
        return target if "]:" in target else f"{target}:{DEFAULT_PORT}"
    if target.count(":") > 1:  # a bare IPv6 address
        return f"[{target}]:{DEFAULT_PORT}"
    host, sep, port = target.partition(":")
    if sep and not port.isdigit():
        raise ConfigError(f"--server {target}: the port must be a number")
    return target if sep else f"{host}:{DEFAULT_PORT}"


def error_from_rpc(error: grpc.RpcError, target: str | None = None) -> StreamRestoreError:
    """The project's exception for a failed call (the server's message kept).

    Failures to connect get a line that says what to check instead of gRPC's text.
    """
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else str(error)
    if code == grpc.StatusCode.UNAVAILABLE and target is not None:
        text = details.lower()
        if "refused" in text:
            return ConfigError(
                f"nothing is listening at {target} (is 'stream-restore serve' running there, on that port?)"
            )
        if "socket closed" in text or "connection reset" in text or "ssl" in text or "handshake" in text:
            return ConfigError(
                f"{target} closed the connection: it may need TLS (--tls, --tls-ca) or a client "
                "certificate, or be no stream-restore server"
            )
        if "dns" in text or "resolv" in text or ("name" in text and "not known" in text):
            return ConfigError(f"cannot resolve the server name in {target}")
    kind = error_for_status(code)
    return kind(f"server: {details} ({code.name})")


# -- input byte streams --------------------------------------------------------------------------------


class ChunkCollector:
    """A write-only file object that keeps what a muxer writes until it is taken."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def remux_chunks(
    source: str,
    *,
    container: str = "mpegts",
    input_format: str | None = None,
    options: dict[str, str] | None = None,
) -> Iterator[bytes]:
    """Demux ``source`` (file, URL or device) with PyAV and remux its packets into ``container``,
    yielding the bytes as each packet is muxed (live sources stream with packet latency)."""
    try:
        # Container tags are text in no promised encoding: decoded with errors replaced, never raised.
        inp = av.open(
            source, format=input_format, options=options or {}, timeout=30.0, metadata_errors="replace"
        )
    except av.FFmpegError as exc:
        raise InputError(f"{source}: cannot open ({exc})") from None
    sink = ChunkCollector()
    options = {"flush_packets": "1"}
    # explicit PES lengths: the server demuxes each frame without waiting for the next
    if container == "mpegts":
        options["omit_video_pes_length"] = "0"
    out = av.open(sink, "w", format=container, options=options)
    try:
        mapping: dict[int, av.stream.Stream] = {}
        for stream in inp.streams:
            if stream.type not in ("video", "audio", "subtitle"):
                continue
            if stream.type == "video" and mapping and any(s.type == "video" for s in mapping.values()):
                continue
            try:
                mapping[stream.index] = out.add_stream_from_template(stream)
            except (ValueError, av.FFmpegError):
                continue
        if not any(s.type == "video" for s in mapping.values()):
            raise InputError(f"{source}: no video stream to send")
        sources = [inp.streams[i] for i in mapping]
        try:
            for packet in inp.demux(sources):
                if packet.dts is None and packet.pts is None:
                    continue
                packet.stream = mapping[packet.stream.index]
                out.mux(packet)
                data = sink.take()
                if data:
                    yield data
            out.close()
        except av.FFmpegError as exc:  # damaged input met while remuxing it here, before the server
            raise InputError(f"{source}: cannot read ({exc.strerror or exc})") from None
        data = sink.take()
        if data:
            yield data
    finally:
        inp.close()


def file_chunks(path: Path, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The bytes of a file, in chunks."""
    with path.open("rb") as fh:
        while chunk := fh.read(chunk_bytes):
            yield chunk


def source_chunks(source: str | Path | BinaryIO, *, input_format: str | None = None) -> Iterator[bytes]:
    """Bytes to send for ``source``: a file as is (remuxed if it is a classic MP4), a URL or device
    remuxed to MPEG-TS, or a readable binary stream as is."""
    if not isinstance(source, (str, Path)):
        return iter(lambda: source.read(CHUNK_BYTES), b"")
    text = str(source)
    if "://" in text or input_format:
        return remux_chunks(text, input_format=input_format)
    path = Path(source)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if file_is_classic_mp4(path):
        return remux_chunks(text, container="matroska")
    return file_chunks(path)


# -- raw frames ------------------------------------------------------------------------------------------


def frame_messages(
    data: bytes,
    fmt: int,
    width: int,
    height: int,
    pts: int,
    time_base: tuple[int, int],
    *,
    part_bytes: int = 4 * 1024 * 1024,
) -> list[pb.FramesRequest]:
    """A raw frame as RestoreFrames requests, split into parts of at most ``part_bytes`` bytes."""
    parts = [data[i : i + part_bytes] for i in range(0, len(data), part_bytes)] or [b""]
    messages = []
    for i, part in enumerate(parts):
        raw = pb.RawFrame(data=part, more_parts=i < len(parts) - 1)
        if i == 0:
            raw.format, raw.width, raw.height, raw.pts = fmt, width, height, pts  # type: ignore[assignment]
            raw.time_base.num, raw.time_base.den = time_base
        messages.append(pb.FramesRequest(frame=raw))
    return messages


def join_frames(responses: Iterable[pb.FramesResponse]) -> Iterator[tuple[pb.RawFrame, bytes]]:
    """Reassemble restored frames split over several responses: yields (first part, all data)."""
    head: pb.RawFrame | None = None
    parts: list[bytes] = []
    for response in responses:
        if response.WhichOneof("kind") != "frame":
            continue
        if head is None:
            head, parts = response.frame, []
        parts.append(response.frame.data)
        if not response.frame.more_parts:
            yield head, b"".join(parts)
            head = None


# -- results ---------------------------------------------------------------------------------------------


@dataclass
class RestoreResult:
    header: pb.StreamHeader | None
    summary: pb.Summary | None
    bytes_out: int


ProgressCallback = Callable[[pb.Progress], None]


def _take_response(
    response: pb.RestoreResponse, target: BinaryIO, result: RestoreResult, progress: ProgressCallback | None
) -> None:
    """Write an output chunk, or keep the header, progress or summary a Restore response carries."""
    kind = response.WhichOneof("kind")
    if kind == "chunk":
        target.write(response.chunk)
        result.bytes_out += len(response.chunk)
    elif kind == "header":
        result.header = response.header
    elif kind == "progress" and progress is not None:
        progress(response.progress)
    elif kind == "summary":
        result.summary = response.summary


class RestoreClient:
    """A connection to a stream-restore server (a gRPC channel; thread-safe)."""

    def __init__(
        self,
        target: str,
        *,
        tls_ca: bytes | None = None,
        tls: bool = False,
        client_cert: bytes | None = None,
        client_key: bytes | None = None,
        token: str | None = None,
        server_name: str | None = None,
        max_message_bytes: int = 8 * 1024 * 1024,
    ) -> None:
        if (client_cert is None) != (client_key is None):
            raise ConfigError("a client certificate and its key go together (--tls-cert and --tls-key)")
        for pem, what in (
            (tls_ca, "CA certificate"),
            (client_cert, "client certificate"),
            (client_key, "client key"),
        ):
            if pem is not None and b"-----BEGIN" not in pem:
                raise ConfigError(f"the {what} is not PEM (no '-----BEGIN' line)")
        target = server_address(target)
        self.target = target
        options: list[tuple[str, object]] = [
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
        ]
        if server_name:
            options.append(("grpc.ssl_target_name_override", server_name))
        if tls or tls_ca is not None or client_cert is not None:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=tls_ca, private_key=client_key, certificate_chain=client_cert
            )
            self.channel = grpc.secure_channel(target, credentials, options=options)
        else:
            self.channel = grpc.insecure_channel(target, options=options)
        self.stub = pb_grpc.RestorerStub(self.channel)
        self.metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self.max_message_bytes = max_message_bytes

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> RestoreClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- Restore --------------------------------------------------------------------------------------
    def stream(
        self, config: pb.RestoreConfig, chunks: Iterable[bytes], *, timeout: float | None = None
    ) -> grpc.Call:
        """The raw bidirectional call: yields RestoreResponse messages (cancel() stops it)."""
        limit = self.max_message_bytes - 1024

        def requests() -> Iterator[pb.RestoreRequest]:
            yield pb.RestoreRequest(config=config)
            for chunk in chunks:
                for i in range(0, len(chunk), limit):
                    yield pb.RestoreRequest(chunk=chunk[i : i + limit])

        return self.stub.Restore(requests(), timeout=timeout, metadata=self.metadata)

    def restore(
        self,
        source: str | Path | BinaryIO,
        output: str | Path | BinaryIO,
        config: pb.RestoreConfig | None = None,
        *,
        model: str | None = None,
        input_format: str | None = None,
        progress: ProgressCallback | None = None,
        timeout: float | None = None,
    ) -> RestoreResult:
        """Restore ``source`` into ``output`` (a path written atomically, "-" for stdout, or a writable
        binary stream). ``config`` defaults to the output's container and the server's defaults."""
        config = pb.RestoreConfig() if config is None else config
        if model:
            config.model.model = model
        if not config.output.container:
            config.output.container = _container_for_output(output)
        if input_format and "://" not in str(source):
            config.input_format = input_format
        chunks = source_chunks(source, input_format=input_format if "://" in str(source) else None)
        # A fault reading the input here (it is remuxed as it is sent) is raised as itself, not as
        # the UNKNOWN status gRPC makes of an exception in a request iterator; the call is cancelled.
        failure: list[StreamRestoreError] = []
        calls: list[grpc.Call] = []

        def guarded() -> Iterator[bytes]:
            try:
                yield from chunks
            except StreamRestoreError as exc:
                failure.append(exc)
                if calls:
                    calls[0].cancel()

        target, finish, discard = _open_output(output)
        result = RestoreResult(None, None, 0)
        try:
            call = self.stream(config, guarded(), timeout=timeout)
            calls.append(call)
            for response in call:
                _take_response(response, target, result, progress)
        except grpc.RpcError as exc:
            discard()
            if failure:
                raise failure[0] from None
            raise error_from_rpc(exc, self.target) from None
        except BaseException:
            discard()
            raise
        if failure:  # the input ended early here: the server's answer covers only part of it
            discard()
            raise failure[0]
        finish()
        return result

    # -- other calls -------------------------------------------------------------------------------
    def restore_frames(
        self, config: pb.FramesConfig, frames: Iterable[pb.FramesRequest], *, timeout: float | None = None
    ) -> Iterator[pb.FramesResponse]:
        """Raw RestoreFrames call; ``frames`` yields frame or reset requests (config is sent first)."""

        def requests() -> Iterator[pb.FramesRequest]:
            yield pb.FramesRequest(config=config)
            yield from frames

        try:
            yield from self.stub.RestoreFrames(requests(), timeout=timeout, metadata=self.metadata)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, self.target) from None

    def restore_image(
        self,
        image: bytes,
        model: str,
        *,
        output_format: str = "",
        quality: int = 0,
        tile_max_pixels: int = 0,
        timeout: float | None = None,
    ) -> pb.ImageResponse:
        request = pb.ImageRequest(
            image=image,
            model=pb.ModelOptions(model=model, tile_max_pixels=tile_max_pixels),
            output_format=output_format,
            quality=quality,
        )
        try:
            response: pb.ImageResponse = self.stub.RestoreImage(
                request, timeout=timeout, metadata=self.metadata
            )
            return response
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, self.target) from None

    def list_models(self, *, timeout: float | None = 10.0) -> list[pb.ModelInfo]:
        try:
            return list(
                self.stub.ListModels(pb.ListModelsRequest(), timeout=timeout, metadata=self.metadata).models
            )
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, self.target) from None

    def server_info(self, *, timeout: float | None = 10.0) -> pb.ServerInfo:
        try:
            info: pb.ServerInfo = self.stub.GetServerInfo(
                pb.GetServerInfoRequest(), timeout=timeout, metadata=self.metadata
            )
            return info
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, self.target) from None


def _container_for_output(output: str | Path | BinaryIO) -> str:
    if not isinstance(output, (str, Path)) or str(output) == "-":
        return "mpegts"
    suffix = Path(output).suffix.lower()
    if suffix not in OUTPUT_CONTAINERS:
        raise ConfigError(
            f"{output}: the output must be .ts, .mkv or .mp4 (streamable containers), or - for stdout"
        )
    return OUTPUT_CONTAINERS[suffix]


def _open_output(output: str | Path | BinaryIO) -> tuple[BinaryIO, Callable[[], None], Callable[[], None]]:
    """(writable, finish, discard) for an output path (atomic), "-" (stdout) or a stream."""
    if not isinstance(output, (str, Path)):
        return output, lambda: None, lambda: None
    if str(output) == "-":
        out = sys.stdout.buffer
        return out, out.flush, out.flush
    path = Path(output)
    try:
        partial = PartialFile(path, mode=0o644)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    lock = threading.Lock()

    def finish() -> None:
        with lock:
            partial.commit()

    def discard() -> None:
        with lock:
            partial.discard()

    return partial.file, finish, discard
