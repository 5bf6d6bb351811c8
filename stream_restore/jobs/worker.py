"""A worker: lease a segment from the store, restore it, record it; assemble jobs that are complete.

One worker per device. It loads each model once and keeps it for every segment it restores; it
renews its lease from a heartbeat thread while the pipeline runs, and stops a segment whose lease
it lost (expired and taken by another worker, or the job cancelled). Errors the input causes fail
the segment at once (retrying cannot help); anything else is retried up to the store's attempts.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from ..backends import Backend, create_backend
from ..errors import CancelledError, InputError, LimitExceededError, ModelNotFoundError, StreamRestoreError
from ..media.codecs import container_for
from ..models.registry import get_spec
from ..pipeline import RestoreJob
from ..pipeline.stages import Progress, set_intra_op_threads
from .assembly import assemble_job
from .options import job_from_json
from .segment import SegmentResult, run_segment
from .store import JobState, Lease, SegmentPlanRow, Store, worker_name

__all__ = ["SegmentTask", "Worker", "failure_kind", "segment_task"]

log = logging.getLogger(__name__)

_IDLE_POLL = 1.0  # seconds between looks at the queue when waiting for work
_PROGRESS_SECONDS = 2.0  # at least this often a worker renews its lease and records its progress


def failure_kind(error: BaseException) -> tuple[str, bool]:
    """(metrics label, worth retrying) for an error a segment raised."""
    if isinstance(error, (InputError, LimitExceededError, ModelNotFoundError)):
        return "input", False
    if isinstance(error, StreamRestoreError):
        return type(error).__name__.removesuffix("Error").lower() or "error", True
    return "internal", True


@dataclass(frozen=True)
class SegmentTask:
    """Everything needed to restore one segment anywhere (plain data: it travels to Ray workers)."""

    job_id: str
    input: str
    options: str  # job_to_json
    plan: SegmentPlanRow
    output: str  # the segment file
    container: str
    keyframes: tuple[int, ...]


def segment_task(store: Store, lease: Lease) -> SegmentTask:
    record = store.job(lease.job_id)
    segments = store.segments(lease.job_id)
    plan = segments[lease.index].plan
    job = job_from_json(record.options)
    target = Path(record.output)
    container = container_for(target, job.encode.container)
    keys = tuple(
        sorted(
            {s.plan.seek_pts for s in segments if s.plan.seek_pts is not None}
            | {s.plan.first_pts for s in segments}
        )
    )
    path = store.segment_dir(lease.job_id) / f"{lease.index:05d}{target.suffix}"
    return SegmentTask(lease.job_id, record.input, record.options, plan, str(path), container, keys)


class Engines:
    """Loaded engines of one worker, by model and backend options (loaded once, closed at the end)."""

    def __init__(self, device: str, threads: int | None) -> None:
        self.device = device
        self.threads = threads or len(os.sched_getaffinity(0))
        self._engines: dict[tuple[str, str, str], Backend] = {}

    def job(self, options: str) -> RestoreJob:
        job = job_from_json(options)
        return replace(job, backend_options=replace(job.backend_options, device=self.device))

    def engine(self, job: RestoreJob) -> Backend:
        key = (job.model, job.backend, repr(job.backend_options))
        if key not in self._engines:
            set_intra_op_threads(self.threads)  # the same on every executor: the same floats
            engine = create_backend(get_spec(job.model), job.backend, job.backend_options)
            engine.load()
            self._engines[key] = engine
        return self._engines[key]

    def run(
        self,
        task: SegmentTask,
        *,
        cancel: threading.Event | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> SegmentResult:
        job = self.job(task.options)
        engine = self.engine(job)
        set_intra_op_threads(self.threads)
        return run_segment(
            Path(task.input),
            Path(task.output),
            job,
            task.plan,
            engine,
            container=task.container,
            keyframes=task.keyframes,
            progress=on_progress,
            cancel=cancel,
        )

    def close(self) -> None:
        for engine in self._engines.values():
            engine.close()
        self._engines.clear()


class _Heartbeat:
    """Renews a lease (and records progress) every 2 s or third of its length, whichever is shorter;
    sets ``cancel`` when the lease is lost."""

    def __init__(self, store: Store, lease: Lease) -> None:
        self.store, self.lease = store, lease
        self.cancel = threading.Event()
        self.frames = 0
        self.start = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stream-restore-lease", daemon=True)
        self._thread.start()

    def progress(self, update: Progress) -> None:
        self.frames = update.frames_done

    def _run(self) -> None:
        while not self._stop.wait(min(self.store.lease_seconds / 3, _PROGRESS_SECONDS)):
            try:
                alive = self.store.renew(self.lease, self.frames, time.monotonic() - self.start)
            except Exception:  # the store is busy or gone: keep working, the next renewal may succeed
                log.warning("renewing the lease of segment %d failed", self.lease.index, exc_info=True)
                continue
            if not alive:
                log.warning(
                    "lost the lease of job %s segment %d; stopping it", self.lease.job_id, self.lease.index
                )
                self.cancel.set()
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class Worker:
    """Works through the store's queue (one job's, or every job's) on one device."""

    def __init__(
        self,
        store: Store,
        *,
        device: str = "cpu",
        threads: int | None = None,
        job_id: str | None = None,
        owner: str | None = None,
    ) -> None:
        self.store, self.job_id = store, job_id
        self.owner = owner or worker_name()
        self.engines = Engines(device, threads)
        self.segments_done = 0

    def run(self, *, until_idle: bool = True, stop: threading.Event | None = None) -> int:
        """Restore segments until none is left (``until_idle``) or ``stop`` is set; returns how many."""
        stop = stop or threading.Event()
        try:
            while not stop.is_set():
                lease = self.store.lease(self.owner, job_id=self.job_id)
                if lease is None:
                    self.assemble_ready()
                    if until_idle:
                        break
                    stop.wait(_IDLE_POLL)
                    continue
                self.run_lease(lease)
                self.assemble_ready(lease.job_id)
        finally:
            self.engines.close()
        return self.segments_done

    def run_lease(self, lease: Lease) -> None:
        task = segment_task(self.store, lease)
        heartbeat = _Heartbeat(self.store, lease)
        try:
            result = self.engines.run(task, cancel=heartbeat.cancel, on_progress=heartbeat.progress)
        except CancelledError:
            log.info("job %s segment %d stopped (lease lost or job cancelled)", lease.job_id, lease.index)
            return
        except Exception as exc:
            kind, retry = failure_kind(exc)
            log.warning(
                "job %s segment %d attempt %d failed: %s", lease.job_id, lease.index, lease.attempt, exc
            )
            self.store.fail(
                lease,
                f"{type(exc).__name__}: {exc}" if kind == "internal" else str(exc),
                kind=kind,
                retry=retry,
            )
            return
        finally:
            heartbeat.stop()
        if self.store.finish(lease, Path(task.output), result.checksum, result.frames, result.seconds):
            self.segments_done += 1
        else:
            Path(task.output).unlink(missing_ok=True)

    def assemble_ready(self, job_id: str | None = None) -> None:
        """Assemble the jobs (this one, or any) whose segments are all done."""
        candidates = (
            [job_id]
            if job_id
            else [j.id for j in self.store.jobs() if j.state in (JobState.QUEUED, JobState.RUNNING)]
        )
        for candidate in candidates:
            if self.job_id is not None and candidate != self.job_id:
                continue
            if not self.store.claim_assembly(candidate, self.owner):
                continue
            try:
                assemble_job(self.store, candidate)
            except Exception as exc:
                log.warning("job %s: assembly failed: %s", candidate, exc)
                self.store.set_job_state(candidate, JobState.FAILED, f"assembly: {exc}")

