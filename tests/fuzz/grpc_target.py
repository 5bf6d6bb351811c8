"""The gRPC target: every RPC of a real server (:mod:`.server`), with invariants per call.

Invariants per call: a status a client fault may get (never INTERNAL, UNKNOWN, or UNAVAILABLE from a
dead server), no hang (a deadline per call), an OK answer that holds what it says (the restored
stream decodes to ``summary.frames_out`` frames, an image to its stated size, a raw frame to its
format's byte count), never OK (nor a slow refusal) for an input that names other resources
(playlists, concat lists, SDP, forbidden demuxers or muxers), RestoreFrames refusing an absurd frame
before it has buffered much of it, and RestoreClient raising only the project's errors and leaving
no output or partial file after a failure.
"""

from __future__ import annotations

import io
import random
import re
import time
from collections.abc import Iterator
from typing import Any

import av
import grpc

from stream_restore.v1 import restore_pb2 as pb
from stream_restore.v1 import restore_pb2_grpc as pb_grpc

from .cases import FRAME_FORMATS, Case
from .mutate import apply, chunk_sizes
from .outcome import Outcome
from .seeds import Seed
from .server import Server, restore_and_decode

__all__ = ["CLIENT_FAULT_CODES", "run_grpc_case"]

SERVICE = "/stream_restore.v1.Restorer/"
# What a call a client got wrong may end with. INTERNAL and UNKNOWN are server faults; UNAVAILABLE
# means the server went away; CANCELLED is only for calls the client cancelled (we never do).
CLIENT_FAULT_CODES = {"OK", "INVALID_ARGUMENT", "NOT_FOUND", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
                      "OUT_OF_RANGE", "PERMISSION_DENIED", "UNIMPLEMENTED", "DEADLINE_EXCEEDED", "UNAUTHENTICATED"}
FLOOD_PART = 1024 * 1024
FLOOD_PARTS = 64  # 64 MiB offered after the header of a frame the server must refuse
# What the client may have pushed before the refusal reaches it: flow-control windows and socket
# buffers, and on a loaded machine the refusal's own latency (18 MiB seen with 4 jobs on 2 busy
# cores). A server that refuses on the first part stays far below; one that buffers takes it all.
FLOOD_LIMIT = 48 * FLOOD_PART
REFUSAL_SECONDS = 5.0  # an input that names other resources holds no media: refusing it takes no time



# -- calls -------------------------------------------------------------------------------------------


def _status(exc: grpc.RpcError) -> tuple[str, str]:
    return exc.code().name, (exc.details() or "")[:300]  # type: ignore[attr-defined]


def _judge(outcome: Outcome, code: str, details: str, case: Case, timeout: float, *, own_requests: bool = True
           ) -> None:
    outcome.result, outcome.message = code, details
    if code == "DEADLINE_EXCEEDED" and outcome.seconds >= timeout - 0.5:
        outcome.result = "timeout"
        outcome.violate("hang", f"no answer within the {timeout:g} s deadline")
    elif code not in CLIENT_FAULT_CODES:
        outcome.violate(code, details or "(no details)")
    if "Traceback" in details:
        outcome.violate("traceback", details)
    if case.refuse and code == "OK":
        outcome.violate("forbidden read", "an input naming other resources (or a forbidden demuxer/muxer) was "
                                          "accepted")
    elif case.refuse and outcome.result != "timeout" and outcome.seconds > REFUSAL_SECONDS:  # it waited
        outcome.violate("forbidden read", f"refused only after {outcome.seconds:.1f} s ({details[:120]}): the server "
                                          "opened what the input names (a socket, a file, a URL) before refusing")
    if own_requests and "Exception iterating requests" in details:  # the harness's request generator failed
        outcome.violate("harness error", details)


def run_grpc_case(case: Case, seeds: dict[str, Seed], others: list[Seed], server: Server, timeout: float) -> Outcome:
    assert server.stub is not None
    outcome = Outcome(case.index, case.target, "?")
    start = time.monotonic()
    try:
        if case.target == "restore" and case.options.get("via_client"):
            _restore_via_client(case, seeds, others, server, timeout, outcome)
            return outcome
        if case.target == "restore":
            _restore_call(case, seeds, others, server.stub, timeout, outcome)
        elif case.target == "image":
            _image_call(case, seeds, others, server.stub, timeout, outcome)
        elif case.target == "frames":
            _frames_call(case, server.stub, timeout, outcome)
        else:
            _wire_call(case, server, timeout, outcome)
        outcome.seconds = time.monotonic() - start
        _judge(outcome, "OK", outcome.message, case, timeout)
    except grpc.RpcError as exc:
        outcome.seconds = time.monotonic() - start
        _judge(outcome, *_status(exc), case, timeout)
    return outcome


def _restore_call(case: Case, seeds: dict[str, Seed], others: list[Seed], stub: pb_grpc.RestorerStub,
                  timeout: float, outcome: Outcome) -> None:
    data, _ = apply(seeds[case.seed], case.mutations, others)
    o = case.options
    config = pb.RestoreConfig(input_format=o["input_format"].encode("utf-8", "surrogateescape").decode("utf-8", "replace"),
                              low_latency=o["low_latency"], progress_interval=o["progress_interval"])
    for key, value in o["model"].items():
        setattr(config.model, key, value)
    for key, value in o["output"].items():
        setattr(config.output, key, value)
    rng = random.Random(o["chunks"])
    pieces, at = [], 0
    for n in chunk_sizes(rng, len(data)):
        pieces.append(data[at : at + n])
        at += n
    frames_out, decoded = restore_and_decode(stub, config, iter(pieces), timeout)
    if frames_out < 0:
        outcome.violate("bad answer", "Restore ended OK without a summary")
    elif decoded != frames_out and (config.output.container or "mpegts") in ("mpegts", "matroska", "mp4"):
        outcome.violate("bad answer", f"summary.frames_out {frames_out} but the output decodes to {decoded} frames")
    outcome.message = f"{frames_out} frames"


def _restore_via_client(case: Case, seeds: dict[str, Seed], others: list[Seed], server: Server, timeout: float,
                        outcome: Outcome) -> None:
    """Restore through :class:`RestoreClient` (file in, file out): the client must raise only the
    project's errors and leave no output and no partial file after a failure."""
    import shutil

    from stream_restore.client import RestoreClient
    from stream_restore.errors import StreamRestoreError

    data, _ = apply(seeds[case.seed], case.mutations, others)
    folder = server.workdir.parent / "scratch" / f"client-{case.index}{case.options.get('scratch', '')}"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "out").mkdir(parents=True)
    source = folder / f"input{seeds[case.seed].suffix}"
    source.write_bytes(data)
    output = folder / "out" / f"out{case.options['via_client']}"
    o = case.options
    config = pb.RestoreConfig(model=pb.ModelOptions(**o["model"]))
    start = time.monotonic()
    code, details = "OK", ""
    try:
        with RestoreClient(server.address, max_message_bytes=64 << 20) as client:
            result = client.restore(source, output, config, timeout=timeout)
        details = f"{result.summary.frames_out if result.summary else -1} frames"
    except StreamRestoreError as exc:
        text = str(exc)
        match = re.search(r"\(([A-Z_]+)\)$", text)
        code, details = (match.group(1), text) if match else (f"client {type(exc).__name__}", text)
    except Exception as exc:  # anything else out of the client library is a bug
        code, details = "client exception", f"{type(exc).__name__}: {exc}"
        outcome.violate("client exception", details)
    outcome.seconds = time.monotonic() - start
    if code.startswith("client "):
        outcome.result, outcome.message = code, details[:300]
    else:
        _judge(outcome, code, details[:300], case, timeout, own_requests=False)  # the client's requests
    left = sorted(p.name for p in (folder / "out").iterdir())
    if code == "OK" and left != [output.name]:
        outcome.violate("partial output", f"OK left {left}")
    elif code != "OK" and left:
        outcome.violate("partial output", f"{code} left {left}")
    if not outcome.violations:
        shutil.rmtree(folder, ignore_errors=True)


def _image_call(case: Case, seeds: dict[str, Seed], others: list[Seed], stub: pb_grpc.RestorerStub,
                timeout: float, outcome: Outcome) -> None:
    data, _ = apply(seeds[case.seed], case.mutations, others)
    o = case.options
    request = pb.ImageRequest(image=data, model=pb.ModelOptions(model=o["model"], tile_max_pixels=o["tile_max_pixels"]),
                              output_format=o["output_format"], quality=o["quality"])
    response = stub.RestoreImage(request, timeout=timeout)
    try:
        with av.open(io.BytesIO(response.image)) as c:
            frame = next(c.decode(video=0))
        if (frame.width, frame.height) != (response.width, response.height):
            outcome.violate("bad answer", f"image says {response.width}x{response.height}, decodes to "
                                          f"{frame.width}x{frame.height}")
    except (av.FFmpegError, StopIteration, ValueError, IndexError) as exc:
        outcome.violate("bad answer", f"RestoreImage OK with an undecodable image: {exc}")
    outcome.message = f"{response.width}x{response.height} {response.mime_type}"


def frame_size(fmt: int, width: int, height: int) -> int:
    cw, ch = (width + 1) // 2, (height + 1) // 2
    return {1: 3 * width * height, 2: 6 * width * height, 3: width * height + 2 * cw * ch,
            4: width * height + 2 * cw * ch}.get(fmt, 3 * width * height)


class _Counted:
    """Requests of a call, counting the bytes the server has pulled."""

    def __init__(self, messages: Iterator[pb.FramesRequest]) -> None:
        self.messages = messages
        self.bytes = 0

    def __iter__(self) -> Iterator[pb.FramesRequest]:
        for message in self.messages:
            self.bytes += message.ByteSize()
            yield message


def _frame_messages(case: Case) -> Iterator[pb.FramesRequest]:
    o = case.options
    rng = random.Random(case.index)
    muts = dict(o["mutations"])
    config = pb.FramesRequest(config=pb.FramesConfig(model=pb.ModelOptions(model=o["model"]),
                                                     output_format=o["output_format"]))  # type: ignore[arg-type]
    if "no-config" not in muts:
        yield config
    if "two-configs" in muts:
        yield config
    fmt, width, height = o["format"], o["width"], o["height"]
    if o["style"] == "flood":
        declared = (fmt, (1 << 31) - 1, (1 << 31) - 1) if o["flood"] == "huge-declared" else (fmt, width, height)
        head = pb.RawFrame(format=declared[0], width=declared[1], height=declared[2], pts=0,  # type: ignore[arg-type]
                           data=bytes(FLOOD_PART), more_parts=True)
        head.time_base.num, head.time_base.den = 1, 25
        yield pb.FramesRequest(frame=head)
        for _ in range(FLOOD_PARTS):
            yield pb.FramesRequest(frame=pb.RawFrame(data=bytes(FLOOD_PART), more_parts=True))
        return
    for i in range(o["frames"]):
        w, h, f = width, height, fmt
        if "size-change" in muts and i > 0:
            w, h = width * 2, height + 2
        size = frame_size(f, w, h)
        data = rng.randbytes(size)
        raw = pb.RawFrame(format=f, width=w, height=h, pts=i * 40, data=data)  # type: ignore[arg-type]
        raw.time_base.num, raw.time_base.den = 1, 1000
        for kind, salt in o["mutations"]:
            r = random.Random(salt + i)
            if kind == "width":
                raw.width = r.choice((0, -1, -64, 1, 65536, (1 << 31) - 1))
            elif kind == "height":
                raw.height = r.choice((0, -1, 1, 65536, (1 << 31) - 1))
            elif kind == "format":
                raw.format = r.choice((0, 5, 99, -1))  # type: ignore[assignment]
            elif kind == "data-short":
                raw.data = data[: r.randrange(max(1, size))]
            elif kind == "data-long":
                raw.data = data + r.randbytes(r.choice((1, 3, size)))
            elif kind == "data-empty":
                raw.data = b""
            elif kind == "time_base":
                raw.time_base.num, raw.time_base.den = r.choice(((1, 0), (0, 0), (-1, 25), (1, -1), (1 << 62, 1)))
            elif kind == "pts":
                raw.pts = r.choice((-1, -(1 << 62), (1 << 63) - 1, 0))
            elif kind == "color_matrix":
                raw.color_matrix, raw.full_range = r.choice((2, 99, -1, 1 << 30)), r.random() < 0.5
        if "part-header" in muts and len(raw.data) > 2:  # split in two, the second part with a header too
            first = pb.RawFrame()
            first.CopyFrom(raw)
            first.data, first.more_parts = raw.data[: len(raw.data) // 2], True
            second = pb.RawFrame()
            second.CopyFrom(raw)
            second.data = raw.data[len(raw.data) // 2 :]
            second.width = (raw.width + 2) if raw.width < (1 << 31) - 2 else 64
            yield pb.FramesRequest(frame=first)
            yield pb.FramesRequest(frame=second)
        else:
            if "unfinished" in muts and i == o["frames"] - 1:
                raw.more_parts = True
            yield pb.FramesRequest(frame=raw)
        if o["reset_every"] and (i + 1) % o["reset_every"] == 0:
            yield pb.FramesRequest(reset=pb.Reset())


def _frames_call(case: Case, stub: pb_grpc.RestorerStub, timeout: float, outcome: Outcome) -> None:
    requests = _Counted(_frame_messages(case))
    frames = 0
    parts: list[pb.RawFrame] = []
    try:
        for response in stub.RestoreFrames(iter(requests), timeout=timeout):
            if response.WhichOneof("kind") != "frame":
                continue
            parts.append(response.frame)
            if not response.frame.more_parts:
                head, data = parts[0], b"".join(p.data for p in parts)
                parts = []
                frames += 1
                expected = frame_size(head.format, head.width, head.height)
                if head.format not in FRAME_FORMATS or len(data) != expected:
                    outcome.violate("bad answer", f"restored frame {head.width}x{head.height} format {head.format} "
                                                  f"holds {len(data)} bytes, not {expected}")
    finally:
        if case.options["style"] == "flood" and requests.bytes > FLOOD_LIMIT:
            outcome.violate("unbounded buffering",
                            f"{requests.bytes >> 20} of {FLOOD_PARTS + 1} MiB of a refused frame "
                            f"({case.options['flood']}) were taken before the call ended (bound {FLOOD_LIMIT >> 20} MiB)")
    outcome.message = f"{frames} frames"


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (payloads under 128 bytes)."""
    return bytes([(number << 3) | 2, len(payload)]) + payload


def _wire_call(case: Case, server: Server, timeout: float, outcome: Outcome) -> None:
    """Mutated protobuf bytes straight onto the wire (what a buggy or hostile client in any language sends)."""
    assert server.channel is not None
    o = case.options
    rng = random.Random(o["salt"])
    config_model = pb.ModelOptions(model="identity")
    valid: dict[str, Any] = {
        "Restore": pb.RestoreRequest(config=pb.RestoreConfig(model=config_model)),
        "RestoreFrames": pb.FramesRequest(config=pb.FramesConfig(model=config_model)),
        "RestoreImage": pb.ImageRequest(image=b"\x89PNG\r\n\x1a\n", model=config_model),
        "ListModels": pb.ListModelsRequest(),
        "GetServerInfo": pb.GetServerInfoRequest(),
    }
    message = bytearray(valid[o["method"]].SerializeToString())
    how = o["how"]
    if how == "flip" and message:
        for _ in range(rng.randint(1, 4)):
            message[rng.randrange(len(message))] ^= 1 << rng.randrange(8)
    elif how == "truncate" and message:
        del message[rng.randrange(len(message)) :]
    elif how == "insert":
        at = rng.randrange(len(message) + 1)
        message[at:at] = rng.randbytes(rng.choice((1, 3, 16)))
    elif how == "bad-utf8":  # the model name (a proto3 string) is not UTF-8
        model = b"\x0a\x02\xff\xfe"  # ModelOptions.model
        if o["method"] in ("Restore", "RestoreFrames"):  # request.config.model.model
            message = bytearray(_field(1, _field(1, model)))
        elif o["method"] == "RestoreImage":  # request.model.model, request.output_format
            message = bytearray(_field(2, model) + b"\x1a\x02\xff\xfe")
        else:
            message = bytearray(_field(9, b"\xff\xfe"))
    else:  # unknown fields of every wire type
        message += b"\xf8\x07\x01" + b"\x81\x08" + bytes(8) + b"\x8a\x08\x03abc" + b"\x95\x08" + bytes(4)
    identity = (lambda b: b)  # noqa: E731
    data = bytes(message)
    if o["method"] in ("Restore", "RestoreFrames"):
        call = server.channel.stream_stream(SERVICE + o["method"], request_serializer=identity,
                                            response_deserializer=identity)
        tail = pb.RestoreRequest(chunk=b"\x47" + bytes(187)).SerializeToString() if o["method"] == "Restore" else b""
        for _ in call(iter([data, tail] if tail else [data]), timeout=timeout):
            pass
    else:
        call_unary = server.channel.unary_unary(SERVICE + o["method"], request_serializer=identity,
                                                response_deserializer=identity)
        call_unary(data, timeout=timeout)
    outcome.message = f"{o['method']} {how}"
