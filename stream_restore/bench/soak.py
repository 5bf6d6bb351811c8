"""Soak the service: N concurrent real Restore streams for T minutes, every output decoded and checked.

    python -m stream_restore.bench.soak --streams 8 --minutes 10
    python -m stream_restore.bench.soak --streams 4 --minutes 2 --server 127.0.0.1:50051 --server-pid 1234

Without ``--server`` it starts its own ``stream-restore serve`` process on a free loopback port
(``--max-streams`` = the number of streams, the model preloaded), as it would run in production.
Each stream restores a generated MPEG-TS clip (H.264 + AAC) again and again; each output is decoded
and must hold the clip's frame count at the model's output size. Every ``--interval`` seconds it
prints the calls by status, the outputs checked, and the server's RSS, threads and open fds (psutil
on the server's pid); at the end a summary: RSS at start (model loaded, before the first call),
peak, and after 5 idle seconds, with threads and fds at the same points. Exits 1 if any call failed
or any output was wrong. Needs psutil (a dev dependency) for the server figures.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import grpc

__all__ = ["ServerProbe", "SoakResult", "main", "run_soak"]

IDLE_SECONDS = 5.0


class ServerProbe:
    """RSS, threads and open fds of the server process (None where psutil or the pid is missing)."""

    def __init__(self, pid: int | None) -> None:
        self.process: Any = None
        if pid is None:
            return
        try:
            import psutil

            self.process = psutil.Process(pid)
        except ImportError:
            sys.stderr.write("soak: psutil is not installed; no server RSS, thread or fd figures\n")
        except Exception as exc:  # psutil.NoSuchProcess and friends
            sys.stderr.write(f"soak: cannot watch server pid {pid}: {exc}\n")

    def sample(self) -> tuple[int, int, int] | None:
        """(RSS bytes, threads, open fds) now."""
        if self.process is None:
            return None
        try:
            return int(self.process.memory_info().rss), self.process.num_threads(), self.process.num_fds()
        except Exception:
            return None


def _pid_listening_on(port: int) -> int | None:
    """The local process listening on ``port`` (one of ours: psutil sees its sockets)."""
    try:
        import psutil

        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                return int(conn.pid)
    except Exception:
        return None
    return None


@dataclass
class SoakResult:
    streams: int
    seconds: float
    statuses: Counter[str] = field(default_factory=Counter)  # per call: OK or the gRPC status name
    outputs_checked: int = 0
    bad_outputs: list[str] = field(default_factory=list)
    frames_out: int = 0
    samples: list[tuple[float, int, int, int]] = field(default_factory=list)  # (t, rss, threads, fds)
    start: tuple[int, int, int] | None = None
    peak: tuple[int, int, int] | None = None  # max RSS, max threads, max fds (each its own maximum)
    idle: tuple[int, int, int] | None = None

    @property
    def failed(self) -> bool:
        return bool(self.bad_outputs) or any(code != "OK" for code in self.statuses) or not self.statuses

    def summary(self) -> str:
        calls = sum(self.statuses.values())
        lines = [f"soak: {self.streams} streams x {self.seconds:.0f} s: {calls} calls "
                 f"({', '.join(f'{k} {v}' for k, v in sorted(self.statuses.items()))}), "
                 f"{self.outputs_checked} outputs checked, {len(self.bad_outputs)} wrong, {self.frames_out} "
                 "frames"]
        if self.start and self.peak and self.idle:
            lines.append(
                f"server RSS: start {self.start[0] >> 20} MiB, peak {self.peak[0] >> 20} MiB, "
                f"after {IDLE_SECONDS:g} s idle {self.idle[0] >> 20} MiB; threads {self.start[1]} / "
                f"{self.peak[1]} / "
                f"{self.idle[1]}; fds {self.start[2]} / {self.peak[2]} / {self.idle[2]} (start / peak / "
                "idle)")
        for problem in self.bad_outputs[:5]:
            lines.append(f"  wrong output: {problem}")
        return "\n".join(lines)


def _start_server(streams: int, model: str, threads: int | None) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "stream_restore", "serve", "--host", "127.0.0.1", "--port", "0",
               "--max-streams", str(streams), "--preload", model, "--backend", "torch"]
    if threads:
        command += ["--threads", str(threads)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("listening on "):
        process.kill()
        raise RuntimeError(f"the server did not start: {line!r}")
    return process, line.split()[2]


def run_soak(
    *,
    streams: int,
    seconds: float,
    server: str | None = None,
    server_pid: int | None = None,
    model: str = "bicubic-x2",
    size: tuple[int, int] = (160, 96),
    frames: int = 50,
    interval: float = 10.0,
    threads: int | None = None,
    token: str | None = None,
    say: Any = print,
) -> SoakResult:
    """Run the soak and return its figures (``say`` gets the progress lines)."""
    from ..client import RestoreClient
    from ..media.samples import write_sample_clip

    process = None
    if server is None:
        process, server = _start_server(streams, model, threads)
        server_pid = process.pid
    elif server_pid is None:
        server_pid = _pid_listening_on(int(server.rsplit(":", 1)[1]))
    probe = ServerProbe(server_pid)
    result = SoakResult(streams, seconds)
    try:
        with tempfile.TemporaryDirectory(prefix="stream-restore-soak-") as tmp, \
                RestoreClient(server, token=token) as client:
            clip = write_sample_clip(Path(tmp) / "clip.ts", width=size[0], height=size[1], frames=frames)
            scale = next((m.scale for m in client.list_models() if m.name == model), 1) or 1
            expected = (size[0] * scale, size[1] * scale)
            result.start = probe.sample()
            say(f"soak: {streams} streams of {model} on {server} for {seconds:g} s; clip "
                f"{size[0]}x{size[1]}, {frames} frames -> {expected[0]}x{expected[1]}")
            calls = _Calls(server, token, model, clip, frames, expected, result)
            t0 = time.monotonic()
            workers = [
                threading.Thread(target=calls.loop, args=(n, t0 + seconds), name=f"soak-{n}", daemon=True)
                for n in range(streams)
            ]
            for worker in workers:
                worker.start()
            _watch(workers, probe, calls, t0, interval, say)
            result.seconds = time.monotonic() - t0
            time.sleep(IDLE_SECONDS)
            result.idle = probe.sample()
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return result


class _Calls:
    """The soak's Restore calls: each stream repeats the clip until the deadline; outcomes counted."""

    def __init__(
        self,
        server: str,
        token: str | None,
        model: str,
        clip: Path,
        frames: int,
        expected: tuple[int, int],
        result: SoakResult,
    ) -> None:
        self.server, self.model, self.clip = server, model, clip
        self.frames, self.expected, self.result = frames, expected, result
        self.metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self.lock = threading.Lock()

    def loop(self, number: int, deadline: float) -> None:
        from ..v1 import restore_pb2_grpc as pb_grpc

        # a connection per stream, as separate clients have (gRPC would share one subchannel)
        options = [("grpc.use_local_subchannel_pool", 1), ("grpc.max_receive_message_length", 64 << 20)]
        with grpc.insecure_channel(self.server, options=options) as channel:
            stub = pb_grpc.RestorerStub(channel)
            while time.monotonic() < deadline:
                if not self._call(number, stub, deadline - time.monotonic()):
                    time.sleep(0.5)  # a refused call: do not spin

    def _call(self, number: int, stub: Any, left: float) -> bool:
        """One Restore of the clip, its output checked; False when the call did not succeed."""
        from ..client import file_chunks
        from ..v1 import restore_pb2 as pb

        config = pb.RestoreConfig(model=pb.ModelOptions(model=self.model),
                                  output=pb.OutputOptions(container="mpegts", preset="veryfast"))
        chunks = (pb.RestoreRequest(chunk=c) for c in file_chunks(self.clip))
        requests = [pb.RestoreRequest(config=config), *chunks]
        out, summary = bytearray(), None
        try:
            for response in stub.Restore(iter(requests), timeout=max(60.0, 4 * left), metadata=self.metadata):
                kind = response.WhichOneof("kind")
                if kind == "chunk":
                    out += response.chunk
                elif kind == "summary":
                    summary = response.summary
            code = "OK"
        except grpc.RpcError as exc:
            code = exc.code().name
        with self.lock:
            self.result.statuses[code] += 1
            if code != "OK":
                return False
            if summary is None:
                problem: str | None = "no summary"
            else:
                problem = _check_output(bytes(out), self.frames, self.expected)
                self.result.frames_out += summary.frames_out
            self.result.outputs_checked += 1
            if problem:
                self.result.bad_outputs.append(f"stream {number}: {problem}")
        return True

    def report(self) -> str:
        with self.lock:
            calls = ", ".join(f"{k} {v}" for k, v in sorted(self.result.statuses.items())) or "none yet"
            return (f"calls: {calls}; outputs checked {self.result.outputs_checked}, "
                    f"wrong {len(self.result.bad_outputs)}")


def _watch(
    workers: list[threading.Thread], probe: ServerProbe, calls: _Calls, t0: float, interval: float, say: Any
) -> None:
    """Sample the server while the streams run: peak figures kept, a line every ``interval`` s."""
    result = calls.result
    peak = list(result.start or (0, 0, 0))
    next_report = t0 + interval
    while any(w.is_alive() for w in workers):
        time.sleep(0.25)
        sample = probe.sample()
        now = time.monotonic()
        if sample:
            peak = [max(a, b) for a, b in zip(peak, sample, strict=True)]
            result.samples.append((now - t0, *sample))
        if now >= next_report:
            next_report += interval
            figures = (f"server RSS {sample[0] >> 20} MiB, threads {sample[1]}, fds {sample[2]}"
                       if sample else "no server figures")
            say(f"[{now - t0:6.0f} s] {calls.report()}; {figures}")
    if result.start:
        result.peak = (peak[0], peak[1], peak[2])


def _check_output(data: bytes, frames: int, size: tuple[int, int]) -> str | None:
    """Why a restored MPEG-TS stream is wrong, or None: it must decode to ``frames`` frames of ``size``."""
    try:
        with av.open(io.BytesIO(data), mode="r", format="mpegts") as container:
            decoded = [(f.width, f.height) for f in container.decode(video=0)]
    except (av.FFmpegError, ValueError, IndexError) as exc:
        return f"undecodable ({exc})"
    if len(decoded) != frames:
        return f"{len(decoded)} frames, not {frames}"
    wrong = {d for d in decoded if d != size}
    return f"frames of {sorted(wrong)}, not {size[0]}x{size[1]}" if wrong else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stream_restore.bench.soak", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--streams", type=int, default=8, help="concurrent Restore streams (default 8)")
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to keep them running (default "
                                                                    "10)")
    parser.add_argument("--server", help="HOST:PORT of a running server (default: start one)")
    parser.add_argument("--server-pid", type=int, help="pid of that server, for RSS/threads/fds (else found "
                                                       "by port)")
    parser.add_argument("-m", "--model", default="bicubic-x2", help="model (default bicubic-x2)")
    parser.add_argument("--size", default="160x96", help="clip size WxH (default 160x96)")
    parser.add_argument("--frames", type=int, default=50, help="clip frames (default 50, 2 s)")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between progress lines "
                                                                     "(default 10)")
    parser.add_argument("--threads", type=int, help="inference threads of the server it starts")
    parser.add_argument("--token", help="bearer token for --server")
    args = parser.parse_args(argv)
    if args.streams < 1 or args.minutes <= 0:
        parser.error("--streams must be at least 1 and --minutes positive")
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        parser.error(f"invalid --size {args.size!r} (expected WxH)")
    result = run_soak(
        streams=args.streams,
        seconds=args.minutes * 60,
        server=args.server,
        server_pid=args.server_pid,
        model=args.model,
        size=(width, height),
        frames=args.frames,
        interval=args.interval,
        threads=args.threads,
        token=args.token,
        say=lambda line: print(line, flush=True),
    )
    print(result.summary(), flush=True)
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
