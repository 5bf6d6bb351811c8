"""The server the gRPC target calls: a ``stream-restore serve`` child process, and its checks.

:class:`Server` starts it on a free loopback port (default flags otherwise, a preloaded identity
model, one inference thread, a short idle timeout), keeps its log, samples its RSS every 0.2 s and
runs the checks between batches (:meth:`Server.check`): the process is alive, printed no traceback,
wrote no file next to itself, nobody connected to the harness's canary listener, RSS stays under
the bound, and valid GetServerInfo, ListModels, Restore and RestoreImage calls still succeed.
"""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import av
import grpc

from stream_restore.v1 import restore_pb2 as pb
from stream_restore.v1 import restore_pb2_grpc as pb_grpc

from .outcome import Outcome
from .seeds import Seed

__all__ = ["CanaryListener", "Server", "decoded_frames", "restore_and_decode"]

REPO = Path(__file__).resolve().parents[2]


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
        outcome.message = f"peak RSS {peak >> 20} MiB"
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
            frames, got = restore_and_decode(self.stub, pb.RestoreConfig(model=pb.ModelOptions(model="identity")),
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


def restore_and_decode(stub: pb_grpc.RestorerStub, config: pb.RestoreConfig, chunks: Iterator[bytes], timeout: float
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
    return frames_out, decoded_frames(bytes(out), config.output.container or "mpegts")


def decoded_frames(data: bytes, container: str) -> int:
    if not data:
        return 0
    try:
        with av.open(io.BytesIO(data), format=container if container in ("mpegts", "matroska", "mp4") else None
                     ) as c:
            return sum(1 for _ in c.decode(video=0))
    except (av.FFmpegError, ValueError, IndexError):
        return -1
