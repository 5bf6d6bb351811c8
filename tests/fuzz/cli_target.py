"""The CLI target: ``stream-restore restore IN OUT --quiet`` on each input, in a worker process.

Invariants per input: an exit status of 0 or 2 (1 is an internal error, a signal a crash), no
traceback, at most 3 lines on stderr, no hang (the worker is killed after the timeout), and a
clean output folder: after a failure it is empty (no ``.partial`` files, no output), after a
success it holds the output alone and the output decodes.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import av

from .cases import Case
from .mutate import apply
from .outcome import Outcome
from .seeds import Seed

__all__ = ["CliWorker", "cli_argv", "run_cli_case"]

REPO = Path(__file__).resolve().parents[2]
MAX_QUIET_LINES = 3


class CliWorker:
    """A ``tests.fuzz.cli_worker`` child; restarted after a hang or a crash. With ``fresh`` every
    command is its own ``python -m stream_restore`` process instead (the real entry point, ~3 s each)."""

    def __init__(self, workdir: Path, *, fresh: bool = False) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[str] | None = None
        self.restarts = 0
        self.fresh = fresh

    def _start(self) -> subprocess.Popen[str]:
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
        process = subprocess.Popen([sys.executable, "-m", "tests.fuzz.cli_worker"], cwd=self.workdir, env=env,
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                   text=True, start_new_session=True)
        line = _readline(process, 180.0)
        if line is None or "ready" not in line:
            process.kill()
            raise RuntimeError(f"the CLI worker did not start: {line!r}")
        return process

    def run(self, argv: list[str], out: Path, timeout: float) -> tuple[str | int, float]:
        """(exit status, or "timeout" / "crash SIGNAME"; seconds) of one command."""
        if self.fresh:
            return self._run_fresh(argv, out, timeout)
        if self.process is None or self.process.poll() is not None:
            self.process = self._start()
        process = self.process
        start = time.monotonic()
        assert process.stdin is not None
        process.stdin.write(json.dumps({"argv": argv, "out": str(out)}) + "\n")
        process.stdin.flush()
        line = _readline(process, timeout)
        seconds = time.monotonic() - start
        if line is not None:
            rc = json.loads(line)["rc"]
            return rc, seconds
        if process.poll() is not None:
            code = process.returncode
            self.process = None
            self.restarts += 1
            name = signal.Signals(-code).name if code < 0 and -code in signal.Signals._value2member_map_ else code
            return f"crash {name}", seconds
        self.kill()
        return "timeout", seconds

    def _run_fresh(self, argv: list[str], out: Path, timeout: float) -> tuple[str | int, float]:
        start = time.monotonic()
        with out.open("wb") as log:
            process = subprocess.Popen([sys.executable, "-m", "stream_restore", *argv], cwd=self.workdir,
                                       stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
            self.process = process  # type: ignore[assignment]
            try:
                code = process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return "timeout", time.monotonic() - start
        self.process = None
        if code < 0:
            return f"crash {signal.Signals(-code).name}", time.monotonic() - start
        return code, time.monotonic() - start

    def memory(self) -> int:
        """Resident bytes of the worker (0 when none runs)."""
        import psutil

        if self.process is None or self.process.poll() is not None:
            return 0
        try:
            return int(psutil.Process(self.process.pid).memory_info().rss)
        except psutil.Error:
            return 0

    def kill(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        self.restarts += 1
        try:
            os.killpg(process.pid, signal.SIGTERM)  # the CLI's own clean-up first
            process.wait(3)
        except (subprocess.TimeoutExpired, ProcessLookupError, PermissionError):
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            process.wait(10)

    def close(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            assert process.stdin is not None
            process.stdin.close()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _readline(process: subprocess.Popen[str], timeout: float) -> str | None:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([process.stdout], [], [], min(left, 1.0))
        if ready:
            line = process.stdout.readline()
            return line or None
        if process.poll() is not None:
            return None


def cli_argv(case: Case, source: Path, output: Path, server: str = "", timeout: float = 30.0) -> list[str]:
    """``restore IN OUT --quiet ...``, or ``client IN OUT --server ADDR --quiet`` for the client cases."""
    if case.options.get("command") == "client" and server:
        return ["client", str(source), str(output), "--server", server, "--quiet", "-m", case.options["model"],
                "--timeout", f"{timeout:g}"]
    return ["restore", str(source), str(output), "--quiet", "-m", case.options["model"], "--backend", "torch",
            "--threads", "1", "--cache-dir", str(output.parent.parent / "cache"), *case.options["flags"]]


def _frames_in(path: Path) -> int:
    # MPEG-TS named: FFmpeg's probe gives up with "End of file" on some valid TS files of 10 packets
    with av.open(str(path), format="mpegts" if path.suffix == ".ts" else None) as container:
        return sum(1 for _ in container.decode(video=0))


def run_cli_case(case: Case, seeds: dict[str, Seed], others: list[Seed], worker: CliWorker, scratch: Path,
                 timeout: float, server: str = "") -> Outcome:
    data, _ = apply(seeds[case.seed], case.mutations, others)
    folder = scratch / f"cli-{case.index}{case.options.get('scratch', '')}"
    _remove(folder)  # a replay starts clean (stale files of a killed run are the CLI's business)
    in_dir, out_dir = folder / "in", folder / "out"
    in_dir.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    source = in_dir / f"input{case.options['in_suffix']}"
    source.write_bytes(data)
    output = out_dir / f"out{case.options['out_suffix']}"
    log = folder / "stderr.txt"
    client = case.options.get("command") == "client" and bool(server)
    # the client command has its own --timeout: give it time to say so before calling it a hang
    rc, seconds = worker.run(cli_argv(case, source, output, server, timeout), log, timeout + 5 if client else timeout)
    err = log.read_text(errors="replace") if log.is_file() else ""
    lines = [line for line in err.splitlines() if line.strip()]
    outcome = Outcome(case.index, "cli", f"exit {rc}" if isinstance(rc, int) else str(rc), seconds,
                      lines[-1][:200] if lines else "")
    if rc == "timeout":
        outcome.violate("hang", f"no exit within {timeout:g} s; stderr: {err[-300:]!r}")
    elif isinstance(rc, str):
        outcome.violate("crash", f"{rc}; stderr: {err[-300:]!r}")
    elif rc not in (0, 2):
        outcome.violate(f"exit {rc}", lines[-1] if lines else "(no message)")
    if "Traceback (most recent call last)" in err:
        outcome.violate("traceback", err[err.index("Traceback") :][-600:])
    if len(lines) > MAX_QUIET_LINES and rc != "timeout":
        outcome.violate("stderr lines", f"{len(lines)} lines in --quiet: {lines[:4]!r}")
    left = sorted(p.name for p in out_dir.iterdir())
    if rc == 0:
        if left != [output.name]:
            outcome.violate("partial output", f"exit 0 left {left}")
        elif output.suffix not in (".png", ".jpg", ".webp", ".bmp"):
            try:
                if _frames_in(output) < 1:
                    outcome.violate("bad output", "exit 0 with an output of no frames")
            except (av.FFmpegError, OSError, ValueError, IndexError) as exc:  # IndexError: no video stream
                outcome.violate("bad output", f"exit 0 with an undecodable output: {exc}")
    elif isinstance(rc, int) and left:
        outcome.violate("partial output", f"exit {rc} left {left}")
    if not outcome.violations:
        _remove(folder)
    return outcome


def _remove(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
