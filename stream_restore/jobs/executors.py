"""Executors: who runs a store's workers. Both run the same segment code, so give identical output.

* :class:`LocalExecutor` (default): a pool of worker processes on this machine, one per device
  (``stream-restore jobs work``), each leasing segments from the store itself. Killing one loses
  only its segment in flight; ``jobs resume`` (or any other worker) takes it back.
* :class:`RayExecutor` (``pip install stream-restore[ray]``): one Ray actor per device, each
  loading its models once; this process leases segments from the store for them and renews the
  leases while they run. A dead actor is restarted by Ray and its call retried; a dead driver's
  leases expire and the segments return to the queue. The state directory (store and segment
  files) must be on storage every node sees.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .progress import JobProgress, job_progress
from .store import Lease, Store, worker_name
from .worker import Engines, Worker, failure_kind, segment_task

__all__ = ["ExecutorOptions", "LocalExecutor", "RayExecutor", "SegmentActor", "make_executor"]

log = logging.getLogger(__name__)

_POLL = 0.5  # seconds between looks at workers and the store


@dataclass(frozen=True)
class ExecutorOptions:
    state_dir: Path
    devices: tuple[str, ...] = ("cpu",)  # one worker per entry
    threads: int | None = None  # torch threads per worker (default: the cores this process may use)
    lease_seconds: float = 60.0
    max_attempts: int = 3
    journal: str = "wal"
    ray_address: str | None = None

    def __post_init__(self) -> None:
        if not self.devices:
            raise ConfigError("at least one worker device is needed")


Watcher = Callable[[list[JobProgress]], None]


def _report(store: Store, job_ids: Sequence[str], watch: Watcher | None) -> list[JobProgress]:
    progress = [job_progress(store.job(j)) for j in job_ids]
    if watch is not None:
        watch(progress)
    return progress


class LocalExecutor:
    """Worker processes on this machine; returns when they all exited (the queue is empty)."""

    def __init__(self, options: ExecutorOptions) -> None:
        self.options = options

    def command(self, device: str, job_id: str | None) -> list[str]:
        o = self.options
        command = [
            sys.executable,
            "-m",
            "stream_restore",
            "jobs",
            "work",
            "--state-dir",
            str(o.state_dir),
            "--device",
            device,
            "--lease-seconds",
            str(o.lease_seconds),
            "--max-attempts",
            str(o.max_attempts),
            "--journal",
            o.journal,
        ]
        if o.threads:
            command += ["--threads", str(o.threads)]
        return command + (["--job", job_id] if job_id else [])

    def run(self, store: Store, job_ids: Sequence[str], *, watch: Watcher | None = None) -> list[JobProgress]:
        job = job_ids[0] if len(job_ids) == 1 else None
        processes = [subprocess.Popen(self.command(device, job)) for device in self.options.devices]
        try:
            while any(p.poll() is None for p in processes):
                _report(store, job_ids, watch)
                time.sleep(_POLL)
        except BaseException:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait()
            raise
        died = [p.returncode for p in processes if p.returncode]
        if died:
            log.warning(
                "%d worker(s) stopped abnormally (exit %s); 'stream-restore jobs resume' finishes the job",
                len(died),
                ", ".join(map(str, died)),
            )
        return _report(store, job_ids, watch)


class SegmentActor:
    """A Ray actor on one device: restores segments with models it loads once (see RayExecutor)."""

    def __init__(self, device: str, threads: int | None) -> None:
        self.engines = Engines(device, threads)

    def pid(self) -> int:
        return os.getpid()

    def run(self, task: Any) -> Any:
        return self.engines.run(task)


class RayExecutor:
    """One Ray actor per device; this process leases segments for them and records the results."""

    def __init__(self, options: ExecutorOptions) -> None:
        self.options = options
        try:
            import ray
        except ImportError:
            raise ConfigError("--executor ray needs Ray: pip install 'stream-restore[ray]'") from None
        self.ray = ray
        if not ray.is_initialized():
            ray.init(address=options.ray_address, include_dashboard=False, log_to_driver=False)

    def run(self, store: Store, job_ids: Sequence[str], *, watch: Watcher | None = None) -> list[JobProgress]:
        ray = self.ray
        remote = ray.remote(
            max_restarts=self.options.max_attempts, max_task_retries=self.options.max_attempts
        )(SegmentActor)
        actors = [
            remote.options(num_cpus=1, num_gpus=1 if d.startswith("cuda") else 0).remote(
                d, self.options.threads
            )
            for d in self.options.devices
        ]
        owner = worker_name()
        idle = list(actors)
        running: dict[Any, tuple[Any, Lease, Any]] = {}
        stop = threading.Event()
        lock = threading.Lock()

        def renew() -> None:
            while not stop.wait(store.lease_seconds / 3):
                with lock:
                    leases = [lease for _, lease, _ in running.values()]
                for lease in leases:
                    store.renew(lease, 0, 0.0)

        heartbeat = threading.Thread(target=renew, name="stream-restore-ray-leases", daemon=True)
        heartbeat.start()
        try:
            for job_id in job_ids:
                while True:
                    while idle:
                        lease = store.lease(owner, job_id=job_id)
                        if lease is None:
                            break
                        task = segment_task(store, lease)
                        actor = idle.pop()
                        with lock:
                            running[actor.run.remote(task)] = (actor, lease, task)
                    if not running:
                        break
                    ready, _ = ray.wait(list(running), num_returns=1, timeout=_POLL)
                    _report(store, job_ids, watch)
                    for ref in ready:
                        with lock:
                            actor, lease, task = running.pop(ref)
                        idle.append(actor)
                        self._record(store, ref, lease, task)
                Worker(store, job_id=job_id, owner=owner).assemble_ready(job_id)
        finally:
            stop.set()
            heartbeat.join()
            for actor in actors:
                ray.kill(actor)
        return _report(store, job_ids, watch)

    def _record(self, store: Store, ref: Any, lease: Lease, task: Any) -> None:
        try:
            result = self.ray.get(ref)
        except Exception as exc:
            cause = getattr(exc, "cause", None) or exc
            kind, retry = failure_kind(cause)
            store.fail(lease, str(cause), kind=kind if cause is not exc else "worker-lost", retry=retry)
            return
        if not store.finish(lease, Path(task.output), result.checksum, result.frames, result.seconds):
            Path(task.output).unlink(missing_ok=True)


def make_executor(name: str, options: ExecutorOptions) -> LocalExecutor | RayExecutor:
    if name == "local":
        return LocalExecutor(options)
    if name == "ray":
        return RayExecutor(options)
    raise ConfigError(f"unknown executor {name!r}; use local or ray")
