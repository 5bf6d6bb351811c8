"""The jobs core the server exposes: submit under the configured roots, read progress, cancel,
resume, and keep local worker processes running while there is work. Never sees protobuf.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence

from ..errors import InputError
from ..pipeline import RestoreJob
from .executors import ExecutorOptions, LocalExecutor
from .progress import JobProgress, job_progress
from .roots import JobRoots, path_under
from .store import JobState, Store
from .submit import JobRequest, expand_inputs, resume, submit

__all__ = ["JobsCore"]

log = logging.getLogger(__name__)

MAX_INPUTS = 1000  # inputs one request may name
_WATCH_POLL = 0.5  # seconds between looks at the store while watching


class JobsCore:
    """Jobs under ``roots``, stored in ``options.state_dir``, run by local worker processes."""

    def __init__(self, roots: JobRoots, options: ExecutorOptions) -> None:
        self.roots = roots
        self.store = Store(options.state_dir, journal=options.journal, lease_seconds=options.lease_seconds,
                           max_attempts=options.max_attempts)
        self.executor = LocalExecutor(options)
        self.options = options
        self._workers: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()
        self.closed = False

    # -- requests ---------------------------------------------------------------------------------
    def requests(self, inputs: Sequence[str], output_dir: str, suffix: str | None) -> list[JobRequest]:
        """Every input checked under the input root, the output folder under the output root, and
        every file a folder expands to checked again (a symlink inside a folder may lead out)."""
        if not inputs or len(inputs) > MAX_INPUTS:
            raise InputError(f"name between 1 and {MAX_INPUTS} inputs")
        out = path_under(self.roots.output, output_dir or ".", "output")
        paths = [path_under(self.roots.input, name, "input") for name in inputs]
        for path in paths:
            if not path.exists():
                raise InputError(f"input {path.name!r} does not exist")
        requests = expand_inputs([str(p) for p in paths], out, suffix=suffix, globs=False)
        for request in requests:
            path_under(self.roots.input, str(request.input), "input")
            path_under(self.roots.output, str(request.output), "output")
        return requests

    def submit(self, inputs: Sequence[str], output_dir: str, job: RestoreJob, *, segment_seconds: float,
               suffix: str | None) -> list[JobProgress]:
        requests = self.requests(inputs, output_dir, suffix)
        ids = submit(self.store, requests, job, segment_seconds=segment_seconds)
        self.kick()
        return [self.get(i) for i in ids]

    def get(self, job_id: str) -> JobProgress:
        return job_progress(self.store.job(job_id))

    def record(self, job_id: str) -> tuple[str, str]:
        record = self.store.job(job_id)
        return record.input, record.output

    def list(self) -> list[JobProgress]:
        return [job_progress(r) for r in self.store.jobs()]

    def cancel(self, job_id: str) -> JobProgress:
        return job_progress(self.store.cancel(job_id))

    def resume(self, job_id: str) -> JobProgress:
        resume(self.store, job_id)
        self.kick()
        return self.get(job_id)

    def watch(self, job_id: str, stop: threading.Event) -> Iterator[JobProgress]:
        """Progress on every change until the job ends (or ``stop`` is set)."""
        last: JobProgress | None = None
        while not stop.is_set() and not self.closed:
            progress = self.get(job_id)
            if progress != last:
                yield progress
                last = progress
            if progress.finished:
                return
            if progress.state in (JobState.QUEUED, JobState.RUNNING):
                self.kick()
            stop.wait(_WATCH_POLL)

    # -- workers ----------------------------------------------------------------------------------
    def kick(self) -> None:
        """Start the worker processes unless they run (they exit once the queue is empty)."""
        with self._lock:
            if self.closed:
                return
            self._workers = [w for w in self._workers if w.poll() is None]
            if self._workers:
                return
            self._workers = [subprocess.Popen(self.executor.command(device, None))
                             for device in self.options.devices]

    def close(self) -> None:
        """Stop the workers (their segments in flight go back to the queue) and the store."""
        with self._lock:
            self.closed = True
            for worker in self._workers:
                worker.terminate()
            deadline = time.monotonic() + 10
            for worker in self._workers:
                try:
                    worker.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    worker.kill()
            self._workers = []
        self.store.close()
