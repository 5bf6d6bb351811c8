"""The gRPC target: every RPC of a real ``stream-restore serve`` process on a free port.

Invariants per call: a status a client fault may get (never INTERNAL, UNKNOWN, or UNAVAILABLE from a
dead server), no hang (a deadline per call), an OK answer that holds what it says (the restored
stream decodes to ``summary.frames_out`` frames), never OK for an input that names other resources
(playlists, concat lists, forbidden demuxers or muxers), RestoreFrames refusing an absurd frame
before it has buffered much of it. Between batches (:meth:`Server.check`): the process is alive,
printed no traceback, wrote no file next to itself, nobody connected to the harness's canary
listener, RSS stays under the bound, and a valid call of every kind still succeeds.
"""

from __future__ import annotations

import io
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import grpc

from stream_restore.v1 import restore_pb2 as pb
from stream_restore.v1 import restore_pb2_grpc as pb_grpc

from .cases import FRAME_FORMATS, Case
from .mutate import apply, chunk_sizes
from .outcome import Outcome
from .seeds import Seed

__all__ = ["CLIENT_FAULT_CODES", "CanaryListener", "Server", "run_grpc_case"]

REPO = Path(__file__).resolve().parents[2]
SERVICE = "/stream_restore.v1.Restorer/"
# What a call a client got wrong may end with. INTERNAL and UNKNOWN are server faults; UNAVAILABLE
# means the server went away; CANCELLED is only for calls the client cancelled (we never do).
CLIENT_FAULT_CODES = {"OK", "INVALID_ARGUMENT", "NOT_FOUND", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
                      "OUT_OF_RANGE", "PERMISSION_DENIED", "UNIMPLEMENTED", "DEADLINE_EXCEEDED", "UNAUTHENTICATED"}
FLOOD_LIMIT = 16 * 1024 * 1024  # bytes a refused frame may make the client push before the call ends
FLOOD_PART = 1024 * 1024
REFUSAL_SECONDS = 5.0  # an input that names other resources holds no media: refusing it takes no time


class CanaryListener:
    """A TCP port that no server call should ever connect to (the URLs in the playlist seeds)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.connections: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="fuzz-canary", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(1.0)
                try:
                    first = conn.recv(200).split(b"\r\n", 1)[0].decode("latin-1")
                except OSError:
                    first = "?"
                self.connections.append(first)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


class Server:
    """A ``stream-restore serve`` child process with default flags but a free port, a preloaded
    identity model, one inference thread and a short idle timeout."""

    def __init__(self, workdir: Path, *, rss_limit: int, max_streams: int = 4) -> None:
        self.workdir = workdir
        self.rss_limit = rss_limit
        self.max_streams = max_streams
        self.process: subprocess.Popen[str] | None = None
        self.address = ""
        self.stderr_lines: list[str] = []
        self.tracebacks = 0
        self._seen_tracebacks = 0
        self.starts = 0
        self.baseline: set[str] = set()
        self.samples: list[tuple[float, int, int, int]] = []  # (monotonic time, rss, threads, fds)
        self.peak_rss = 0
        self.channel: grpc.Channel | None = None
        self.stub: pb_grpc.RestorerStub | None = None
        self.t0 = time.monotonic()
        self.window_peak = 0
        self._sampling = threading.Event()
        self._log_mark = 0  # stderr lines already checked

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
        command = [sys.executable, "-m", "stream_restore", "serve", "--host", "127.0.0.1", "--port", "0",
                   "--preload", "identity", "--backend", "torch", "--threads", "1",
                   "--max-streams", str(self.max_streams), "--idle-timeout", "5", "--grace-period", "1"]
        self.process = subprocess.Popen(command, cwd=self.workdir, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, errors="replace")
        self.starts += 1
        self.stderr_lines = []
        self._log_mark = 0
        threading.Thread(target=self._read_stderr, args=(self.process,), daemon=True).start()
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = re.match(r"listening on (\S+)", line)
        if not match:
            self.process.kill()
            raise RuntimeError(f"the server did not start: {line!r} {''.join(self.stderr_lines[-20:])}")
        self.address = match.group(1)
        self.channel = grpc.insecure_channel(self.address, options=[("grpc.max_receive_message_length", 64 << 20),
                                                                   ("grpc.max_send_message_length", 64 << 20)])
        self.stub = pb_grpc.RestorerStub(self.channel)
        self.baseline = _tree(self.workdir)
        self._sampling.clear()
        threading.Thread(target=self._sample_loop, args=(self.process,), name="fuzz-rss", daemon=True).start()

    def _sample_loop(self, process: subprocess.Popen[str]) -> None:
        """Peak RSS between two checks, sampled every 0.2 s (a bomb frees its memory within a call)."""
        import psutil

        try:
            watched = psutil.Process(process.pid)
            while not self._sampling.wait(0.2) and process.poll() is None:
                self.window_peak = max(self.window_peak, int(watched.memory_info().rss))
        except psutil.Error:
            return

    def _read_stderr(self, process: subprocess.Popen[str]) -> None:
        """Keep the recent log lines; all of them go to ``server-stderr.log`` beside the server's folder."""
        assert process.stderr is not None
        with (self.workdir.parent / "server-stderr.log").open("a") as log:
            for line in process.stderr:
                log.write(line)
                if "Traceback (most recent call last)" in line:
                    self.tracebacks += 1
                self.stderr_lines.append(line)
                if len(self.stderr_lines) > 4000:
                    del self.stderr_lines[:2000]
                    self._log_mark = max(0, self._log_mark - 2000)

    @property
    def pid(self) -> int:
        return self.process.pid if self.process is not None else 0

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def sample(self) -> tuple[int, int, int]:
        """(RSS bytes, threads, open fds) of the server process now; recorded."""
        import psutil

        try:
            p = psutil.Process(self.pid)
            rss, threads, fds = int(p.memory_info().rss), p.num_threads(), p.num_fds()
        except psutil.Error:
            return 0, 0, 0
        self.samples.append((time.monotonic() - self.t0, rss, threads, fds))
        self.peak_rss = max(self.peak_rss, rss)
        return rss, threads, fds

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        self._sampling.set()
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def check(self, listener: CanaryListener, healthy: list[Seed], timeout: float) -> Outcome:
        """The checks between batches, as one outcome (target "server")."""
        outcome = Outcome(-1, "server", "ok")
        if not self.alive():
            code = self.process.returncode if self.process is not None else None
            outcome.violate("server crash", f"exit {code}; last stderr: {''.join(self.stderr_lines[-8:])[-600:]}")
            outcome.result = "crash"
            self.restart()
            return outcome
        if self.tracebacks > self._seen_tracebacks:
            for summary in _tracebacks(self.stderr_lines[self._log_mark :]):
                outcome.violate("server traceback", summary)
            self._seen_tracebacks = self.tracebacks
        self._log_mark = len(self.stderr_lines)
        added = _tree(self.workdir) - self.baseline
        if added:
            outcome.violate("server wrote files", f"new next to the server: {sorted(added)[:8]}")
            self.baseline |= added
        if listener.connections:
            outcome.violate("ssrf", f"the server connected to the canary listener: {listener.connections[:4]}")
            listener.connections.clear()
        rss, _, _ = self.sample()
        peak, self.window_peak = max(rss, self.window_peak), 0
        self.peak_rss = max(self.peak_rss, peak)
        if peak > self.rss_limit:
            outcome.violate("rss", f"server RSS reached {peak >> 20} MiB (now {rss >> 20} MiB), over the bound of "
                                   f"{self.rss_limit >> 20} MiB")
        self._check_calls(outcome, healthy, timeout)
        return outcome

    def _check_calls(self, outcome: Outcome, healthy: list[Seed], timeout: float) -> None:
        assert self.stub is not None
        try:
            info = self.stub.GetServerInfo(pb.GetServerInfoRequest(), timeout=timeout)
            models = self.stub.ListModels(pb.ListModelsRequest(), timeout=timeout).models
            if not info.version or not models:
                outcome.violate("server unhealthy", "GetServerInfo or ListModels came back empty")
            by_name = {s.name: s for s in healthy}
            video = by_name["ts-h264-aac"]
            frames, got = _restore(self.stub, pb.RestoreConfig(model=pb.ModelOptions(model="identity")),
                                   iter([video.data]), timeout)
            if frames != video.frames or got != video.frames:
                outcome.violate("server unhealthy", f"a valid Restore gave {frames} frames ({got} decoded), "
                                                    f"not {video.frames}")
            image = self.stub.RestoreImage(pb.ImageRequest(image=by_name["png-rgb"].data,
                                                           model=pb.ModelOptions(model="identity")), timeout=timeout)
            if (image.width, image.height) != (64, 48):
                outcome.violate("server unhealthy", f"a valid RestoreImage gave {image.width}x{image.height}")
        except grpc.RpcError as exc:
            outcome.violate("server unhealthy", f"a valid call failed: {exc.code().name} {exc.details()}")


def _tracebacks(lines: list[str]) -> list[str]:
    """Each distinct traceback in the log lines: its exception line, then its innermost frames."""
    found: dict[str, None] = {}
    for i, line in enumerate(lines):
        if "Traceback (most recent call last)" not in line:
            continue
        block = [line]
        for following in lines[i + 1 :]:
            block.append(following)
            if not following.startswith((" ", "\t")):
                break
        frames = [x.strip() for x in block[1:-1] if x.strip().startswith("File ")]
        found[f"{block[-1].strip()} at " + " <- ".join(reversed(frames[-3:]))] = None
    return list(found) or ["(rotated out of the kept log)"]


def _restore(stub: pb_grpc.RestorerStub, config: pb.RestoreConfig, chunks: Iterator[bytes], timeout: float
             ) -> tuple[int, int]:
    """(summary.frames_out, frames decoded from the output) of a Restore call; raises grpc.RpcError."""
    requests = (pb.RestoreRequest(config=config), *(pb.RestoreRequest(chunk=c) for c in chunks))
    out = bytearray()
    summary = None
    for response in stub.Restore(iter(requests), timeout=timeout):
        kind = response.WhichOneof("kind")
        if kind == "chunk":
            out += response.chunk
        elif kind == "summary":
            summary = response.summary
    frames_out = summary.frames_out if summary is not None else -1
    return frames_out, _decoded_frames(bytes(out), config.output.container or "mpegts")


def _decoded_frames(data: bytes, container: str) -> int:
    if not data:
        return 0
    try:
        with av.open(io.BytesIO(data), format=container if container in ("mpegts", "matroska", "mp4") else None
                     ) as c:
            return sum(1 for _ in c.decode(video=0))
    except (av.FFmpegError, ValueError, IndexError):
        return -1


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
    frames_out, decoded = _restore(stub, config, iter(pieces), timeout)
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
    folder = server.workdir.parent / "scratch" / f"client-{case.index}"
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
        for _ in range(o["parts"]):
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
                            f"{requests.bytes >> 20} MiB of a refused frame ({case.options['flood']}) were taken "
                            f"before the call ended (bound {FLOOD_LIMIT >> 20} MiB)")
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
