"""A job's progress from the store: frames, segments, throughput and ETA summed over segments."""

from __future__ import annotations

from dataclasses import dataclass

from .store import JobRecord, JobState

__all__ = ["JobProgress", "job_progress"]


@dataclass(frozen=True)
class JobProgress:
    job_id: str
    state: JobState
    frames_done: int
    frames_total: int
    segments_done: int
    segments: int
    running: int  # segments leased now
    fps: float  # frames per second of all workers together (per-worker rate x workers busy)
    eta: float | None  # seconds, None when unknown
    error: str | None

    @property
    def finished(self) -> bool:
        return self.state in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


def job_progress(record: JobRecord) -> JobProgress:
    """Throughput: frames per busy worker-second over the job's segments, times the workers busy now."""
    per_worker = record.frames_done / record.busy_seconds if record.busy_seconds > 0 else 0.0
    fps = per_worker * max(1, record.leased)
    left = max(record.frames - record.frames_done, 0)
    eta = left / fps if fps > 0 and not record.state == JobState.DONE else (0.0 if left == 0 else None)
    return JobProgress(
        record.id,
        record.state,
        record.frames_done,
        record.frames,
        record.segments_done,
        record.segments,
        record.leased,
        fps,
        eta,
        record.error,
    )
