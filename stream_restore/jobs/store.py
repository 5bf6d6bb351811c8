"""The job store: jobs, their planned segments, leases and failures in one SQLite file (WAL mode).

The store is the source of truth, not the executor. A job is planned into segments; a worker
*leases* a pending segment (a row update inside ``BEGIN IMMEDIATE``, so two workers never get the
same one), renews the lease while it works, and records the finished segment with the SHA-256 of
its file. A lease that is not renewed expires and the segment returns to the queue: a killed
worker loses only the segments it had in flight. Each lease counts as an attempt; a segment that
failed ``max_attempts`` times fails its job, with the reasons kept in ``failures``.

Every connection sets ``busy_timeout`` so concurrent workers wait for the write lock instead of
failing. WAL needs the processes to share one host's memory (its ``-shm`` file); on a network file
system give ``journal="delete"`` (slower, but safe across machines with working POSIX locks).
"""

from __future__ import annotations

import enum
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from ..errors import ConfigError, InputError

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "DEFAULT_MAX_ATTEMPTS",
    "JobRecord",
    "JobState",
    "Lease",
    "SegmentPlanRow",
    "SegmentRecord",
    "SegmentState",
    "Store",
    "default_state_dir",
    "worker_name",
]

DEFAULT_LEASE_SECONDS = 60.0  # a worker renews its lease every third of this
DEFAULT_MAX_ATTEMPTS = 3  # leases per segment before the job fails
BUSY_TIMEOUT_MS = 30_000  # how long a connection waits for another's write lock
MAX_REASON = 2000  # characters of a failure reason kept


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class SegmentState(enum.StrEnum):
    PENDING = "pending"
    LEASED = "leased"
    DONE = "done"
    FAILED = "failed"


_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    input TEXT NOT NULL,
    output TEXT NOT NULL,
    options TEXT NOT NULL,
    plan_digest TEXT NOT NULL,
    time_base TEXT NOT NULL,
    segment_seconds REAL NOT NULL,
    frames INTEGER NOT NULL,
    state TEXT NOT NULL,
    error TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    assembling_owner TEXT
);
CREATE TABLE IF NOT EXISTS segments (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    seek_pts INTEGER,
    feed_pts INTEGER NOT NULL,
    first_pts INTEGER NOT NULL,
    last_pts INTEGER NOT NULL,
    frames INTEGER NOT NULL,
    warmup INTEGER NOT NULL,
    scene_cut INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    lease_expires REAL,
    frames_done INTEGER NOT NULL DEFAULT 0,
    seconds REAL NOT NULL DEFAULT 0,
    path TEXT,
    checksum TEXT,
    error TEXT,
    PRIMARY KEY (job_id, idx)
);
CREATE TABLE IF NOT EXISTS failures (
    job_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    owner TEXT,
    reason TEXT NOT NULL,
    kind TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS segments_state ON segments(state, job_id, idx);
"""


def default_state_dir() -> Path:
    """``$XDG_DATA_HOME/stream-restore`` (``~/.local/share/stream-restore``): read at the CLI edge only."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "stream-restore"


def worker_name() -> str:
    """``host:pid``: who holds a lease (a lease of a dead local process can be taken back at once)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_dead(owner: str | None) -> bool:
    """True when ``owner`` is a process on this host that no longer runs."""
    if not owner or owner.count(":") != 1:
        return False
    host, pid = owner.split(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass(frozen=True)
class SegmentPlanRow:
    """What the planner decided for one segment (timestamps in the video stream's time base)."""

    index: int
    seek_pts: int | None  # keyframe to seek to before decoding; None = from the start of the file
    feed_pts: int  # first frame fed to the model (warm-up frames start here)
    first_pts: int  # first frame written
    last_pts: int  # last frame written
    frames: int  # frames written
    warmup: int  # frames fed before first_pts, their output dropped
    scene_cut: bool  # the segment starts at a detected scene cut


@dataclass(frozen=True)
class JobRecord:
    id: str
    input: str
    output: str
    options: str
    plan_digest: str
    time_base: Fraction  # of the video stream's timestamps (segments' pts)
    frames: int
    state: JobState
    error: str | None
    created: float
    updated: float
    segments: int
    segments_done: int
    segments_failed: int
    frames_done: int
    busy_seconds: float  # worker seconds spent on finished and running segments
    leased: int  # segments being worked on now


@dataclass(frozen=True)
class SegmentRecord:
    job_id: str
    plan: SegmentPlanRow
    state: SegmentState
    attempts: int
    owner: str | None
    lease_expires: float | None
    frames_done: int
    seconds: float
    path: str | None
    checksum: str | None
    error: str | None


@dataclass(frozen=True)
class Lease:
    job_id: str
    index: int
    owner: str
    attempt: int


class Store:
    """One process's connection to the store (thread-safe: calls are serialised by a lock)."""

    def __init__(
        self,
        state_dir: Path,
        *,
        journal: str = "wal",
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        if journal not in ("wal", "delete"):
            raise ConfigError(f"journal mode must be wal or delete, not {journal!r}")
        if lease_seconds <= 0 or max_attempts < 1:
            raise ConfigError("lease seconds must be positive and attempts at least 1")
        self.state_dir = state_dir
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                state_dir / "jobs.sqlite3",
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._db.execute(f"PRAGMA journal_mode = {journal}")
            self._db.execute(
                "PRAGMA synchronous = NORMAL" if journal == "wal" else "PRAGMA synchronous = FULL"
            )
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"job store in {state_dir}: {exc}") from None
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def segment_dir(self, job_id: str) -> Path:
        return self.state_dir / "segments" / job_id

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with the write lock up front (no lock upgrade deadlocks)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- jobs -----------------------------------------------------------------------------------
    def add_job(
        self,
        input: str,
        output: str,
        options: str,
        plan_digest: str,
        time_base: Fraction,
        segment_seconds: float,
        segments: Sequence[SegmentPlanRow],
    ) -> str:
        """Record a planned job; returns its id (12 hex digits)."""
        job_id = uuid.uuid4().hex[:12]
        now = time.time()
        with self._write() as db:
            db.execute(
                "INSERT INTO jobs (id, input, output, options, plan_digest, time_base, segment_seconds, "
                "frames, state, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    input,
                    output,
                    options,
                    plan_digest,
                    str(time_base),
                    segment_seconds,
                    sum(s.frames for s in segments),
                    JobState.QUEUED,
                    now,
                    now,
                ),
            )
            db.executemany(
                "INSERT INTO segments (job_id, idx, seek_pts, feed_pts, first_pts, last_pts, frames, warmup, "
                "scene_cut, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        job_id,
                        s.index,
                        s.seek_pts,
                        s.feed_pts,
                        s.first_pts,
                        s.last_pts,
                        s.frames,
                        s.warmup,
                        int(s.scene_cut),
                        SegmentState.PENDING,
                    )
                    for s in segments
                ],
            )
        return job_id

    def find_job(self, input: str, output: str) -> str | None:
        """The newest job writing ``output`` from ``input`` that is not done (for re-submission)."""
        with self._lock:
            row = self._db.execute(
                "SELECT id FROM jobs WHERE input = ? AND output = ? AND state != ? "
                "ORDER BY created DESC LIMIT 1",
                (input, output, JobState.DONE),
            ).fetchone()
        return None if row is None else str(row[0])

    def segment_seconds(self, job_id: str) -> float:
        """The segment length the job was planned with (a resume re-plans with it)."""
        with self._lock:
            row = self._db.execute("SELECT segment_seconds FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise InputError(f"no job {job_id!r} in the store")
        return float(row[0])

    def job(self, job_id: str) -> JobRecord:
        records = self._jobs("WHERE j.id = ?", (job_id,))
        if not records:
            raise InputError(f"no job {job_id!r} in the store")
        return records[0]

    def jobs(self, *, limit: int | None = 1000, states: tuple[JobState, ...] = ()) -> list[JobRecord]:
        """Jobs oldest first, at most ``limit`` (None: all); only those in ``states`` when given."""
        if not states:
            return self._jobs("", (), limit=limit)
        marks = ", ".join("?" * len(states))
        return self._jobs(f"WHERE j.state IN ({marks})", tuple(str(s) for s in states), limit=limit)

    def _jobs(self, where: str, args: tuple[object, ...], *, limit: int | None = 1000) -> list[JobRecord]:
        query = (
            "SELECT j.id, j.input, j.output, j.options, j.plan_digest, j.time_base, j.frames, j.state, "
            "j.error, j.created, j.updated, COUNT(s.idx), SUM(s.state = 'done'), SUM(s.state = 'failed'), "
            "COALESCE(SUM(CASE WHEN s.state = 'done' THEN s.frames "
            "ELSE MIN(s.frames_done, s.frames) END), 0), "
            "COALESCE(SUM(s.seconds), 0), SUM(s.state = 'leased') "
            f"FROM jobs j LEFT JOIN segments s ON s.job_id = j.id {where} GROUP BY j.id "
            "ORDER BY j.created LIMIT ?"
        )
        with self._lock:
            rows = self._db.execute(query, (*args, -1 if limit is None else limit)).fetchall()  # -1: no limit
        return [
            JobRecord(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                Fraction(r[5]),
                r[6],
                JobState(r[7]),
                r[8],
                r[9],
                r[10],
                r[11],
                int(r[12] or 0),
                int(r[13] or 0),
                int(r[14] or 0),
                float(r[15] or 0),
                int(r[16] or 0),
            )
            for r in rows
        ]

    def segments(self, job_id: str) -> list[SegmentRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT job_id, idx, seek_pts, feed_pts, first_pts, last_pts, frames, warmup, scene_cut, "
                "state, "
                "attempts, owner, lease_expires, frames_done, seconds, path, checksum, error FROM segments "
                "WHERE job_id = ? ORDER BY idx",
                (job_id,),
            ).fetchall()
        return [
            SegmentRecord(
                r[0],
                SegmentPlanRow(r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8])),
                SegmentState(r[9]),
                r[10],
                r[11],
                r[12],
                r[13],
                r[14],
                r[15],
                r[16],
                r[17],
            )
            for r in rows
        ]

    def failures(self, job_id: str) -> list[tuple[int, int, str, str]]:
        """(segment, attempt, kind, reason) of every failed attempt, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT idx, attempt, kind, reason FROM failures WHERE job_id = ? ORDER BY at", (job_id,)
            ).fetchall()
        return [(int(r[0]), int(r[1]), str(r[2]), str(r[3])) for r in rows]

    def counts(self) -> dict[str, dict[str, int]]:
        """Jobs by state, segments by state and failed attempts by kind (for metrics)."""
        with self._lock:
            jobs = self._db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()
            segments = self._db.execute("SELECT state, COUNT(*) FROM segments GROUP BY state").fetchall()
            failures = self._db.execute("SELECT kind, COUNT(*) FROM failures GROUP BY kind").fetchall()
        return {
            "jobs": {str(k): int(n) for k, n in jobs},
            "segments": {str(k): int(n) for k, n in segments},
            "failures": {str(k): int(n) for k, n in failures},
        }

    def set_job_state(self, job_id: str, state: JobState, error: str | None = None) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE jobs SET state = ?, error = ?, updated = ?, assembling_owner = NULL WHERE id = ?",
                (state, error, time.time(), job_id),
            )

    def cancel(self, job_id: str) -> JobRecord:
        """Stop handing out the job's segments; workers drop leases they hold at their next renewal."""
        self.job(job_id)
        with self._write() as db:
            db.execute(
                "UPDATE jobs SET state = ?, updated = ? WHERE id = ? AND state IN (?, ?)",
                (JobState.CANCELLED, time.time(), job_id, JobState.QUEUED, JobState.RUNNING),
            )
            db.execute(
                "UPDATE segments SET state = ?, owner = NULL, lease_expires = NULL WHERE job_id = ? "
                "AND state = ?",
                (SegmentState.PENDING, job_id, SegmentState.LEASED),
            )
        return self.job(job_id)

    def requeue(self, job_id: str, redo: Sequence[int]) -> None:
        """Queue the job again: failed segments (and ``redo``, finished ones whose file is bad) pending,
        with fresh attempts; leases of dead local workers taken back."""
        with self._write() as db:
            db.execute(
                "UPDATE jobs SET state = ?, error = NULL, updated = ?, assembling_owner = NULL "
                "WHERE id = ? AND state != ?",
                (JobState.QUEUED, time.time(), job_id, JobState.DONE),
            )
            db.execute(
                "UPDATE segments SET state = ?, attempts = 0, error = NULL, frames_done = 0 "
                "WHERE job_id = ? AND state = ?",
                (SegmentState.PENDING, job_id, SegmentState.FAILED),
            )
            db.executemany(
                "UPDATE segments SET state = ?, attempts = 0, path = NULL, checksum = NULL, "
                "frames_done = 0 WHERE job_id = ? AND idx = ?",
                [(SegmentState.PENDING, job_id, i) for i in redo],
            )
            self._reclaim(db, dead_only=True, job_id=job_id)

    # -- leases ---------------------------------------------------------------------------------
    def _reclaim(self, db: sqlite3.Connection, *, dead_only: bool, job_id: str | None = None) -> None:
        """Leases that expired (or whose local owner process is gone) go back to the queue."""
        now = time.time()
        rows = db.execute(
            "SELECT job_id, idx, owner, lease_expires, attempts FROM segments WHERE state = ?"
            + (" AND job_id = ?" if job_id else ""),
            (SegmentState.LEASED, job_id) if job_id else (SegmentState.LEASED,),
        ).fetchall()
        for job, idx, owner, expires, attempts in rows:
            dead = _owner_dead(owner)
            if not dead and (dead_only or (expires is not None and expires > now)):
                continue
            reason = (
                f"worker {owner} {'died' if dead else 'stopped renewing its lease'} during attempt {attempts}"
            )
            db.execute(
                "INSERT INTO failures VALUES (?, ?, ?, ?, ?, ?, ?)",
                (job, idx, attempts, owner, reason, "lease-lost", now),
            )
            state = SegmentState.PENDING if attempts < self.max_attempts else SegmentState.FAILED
            db.execute(
                "UPDATE segments SET state = ?, owner = NULL, lease_expires = NULL, frames_done = 0, "
                "error = ? WHERE job_id = ? AND idx = ?",
                (state, reason, job, idx),
            )
            if state is SegmentState.FAILED:
                self._fail_job(db, job, f"segment {idx}: {reason}")

    def _fail_job(self, db: sqlite3.Connection, job_id: str, reason: str) -> None:
        """Keep the first failure's reason; the job fails once its other segments are done (their work
        is kept for a resume: one damaged segment does not stop the rest)."""
        db.execute("UPDATE jobs SET error = COALESCE(error, ?), updated = ? WHERE id = ?",
                   (reason, time.time(), job_id))
        self._settle(db, job_id)

    def _settle(self, db: sqlite3.Connection, job_id: str) -> None:
        """A job with a failed segment and nothing else left to run is failed."""
        left, failed = db.execute("SELECT SUM(state IN ('pending', 'leased')), SUM(state = 'failed') FROM "
                                  "segments WHERE job_id = ?", (job_id,)).fetchone()
        if not left and failed:
            db.execute("UPDATE jobs SET state = ?, updated = ? WHERE id = ? AND state IN (?, ?)",
                       (JobState.FAILED, time.time(), job_id, JobState.QUEUED, JobState.RUNNING))

    def lease(self, owner: str, *, job_id: str | None = None) -> Lease | None:
        """Take the next pending segment (oldest job first), or None when nothing is left to do now."""
        with self._write() as db:
            self._reclaim(db, dead_only=False)
            row = db.execute(
                "SELECT s.job_id, s.idx, s.attempts FROM segments s JOIN jobs j ON j.id = s.job_id "
                "WHERE s.state = ? AND j.state IN (?, ?)"
                + (" AND j.id = ?" if job_id else "")
                + " ORDER BY j.created, s.idx LIMIT 1",
                (SegmentState.PENDING, JobState.QUEUED, JobState.RUNNING, *([job_id] if job_id else [])),
            ).fetchone()
            if row is None:
                return None
            job, idx, attempts = row
            db.execute(
                "UPDATE segments SET state = ?, owner = ?, lease_expires = ?, attempts = ?, "
                "frames_done = 0, seconds = 0 WHERE job_id = ? AND idx = ?",
                (SegmentState.LEASED, owner, time.time() + self.lease_seconds, attempts + 1, job, idx),
            )
            db.execute(
                "UPDATE jobs SET state = ?, updated = ? WHERE id = ? AND state = ?",
                (JobState.RUNNING, time.time(), job, JobState.QUEUED),
            )
        return Lease(job, idx, owner, attempts + 1)

    def renew(self, lease: Lease, frames_done: int, seconds: float) -> bool:
        """Extend the lease and record progress; False when the lease is no longer this worker's
        (expired and taken by another, or the job was cancelled): the worker stops the segment."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE segments SET lease_expires = ?, frames_done = ?, seconds = ? "
                "WHERE job_id = ? AND idx = ? "
                "AND owner = ? AND attempts = ? AND state = ?",
                (
                    time.time() + self.lease_seconds,
                    frames_done,
                    seconds,
                    lease.job_id,
                    lease.index,
                    lease.owner,
                    lease.attempt,
                    SegmentState.LEASED,
                ),
            )
            return cursor.rowcount == 1

    def finish(self, lease: Lease, path: Path, checksum: str, frames: int, seconds: float) -> bool:
        """Record a finished segment file; False when the lease was lost meanwhile (the file is the
        caller's to remove)."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE segments SET state = ?, owner = NULL, lease_expires = NULL, path = ?, checksum = ?, "
                "frames_done = ?, seconds = ?, error = NULL WHERE job_id = ? AND idx = ? AND owner = ? "
                "AND attempts = ? AND state = ?",
                (
                    SegmentState.DONE,
                    str(path),
                    checksum,
                    frames,
                    seconds,
                    lease.job_id,
                    lease.index,
                    lease.owner,
                    lease.attempt,
                    SegmentState.LEASED,
                ),
            )
            return cursor.rowcount == 1

    def fail(self, lease: Lease, reason: str, *, kind: str, retry: bool) -> None:
        """Record a failed attempt: back to the queue while attempts remain (and ``retry``), else the
        segment fails and so does its job (the other segments still run: their work is kept)."""
        reason = reason[:MAX_REASON]
        with self._write() as db:
            db.execute(
                "INSERT INTO failures VALUES (?, ?, ?, ?, ?, ?, ?)",
                (lease.job_id, lease.index, lease.attempt, lease.owner, reason, kind, time.time()),
            )
            final = not retry or lease.attempt >= self.max_attempts
            cursor = db.execute(
                "UPDATE segments SET state = ?, owner = NULL, lease_expires = NULL, error = ?, "
                "frames_done = 0 "
                "WHERE job_id = ? AND idx = ? AND owner = ? AND attempts = ? AND state = ?",
                (
                    SegmentState.FAILED if final else SegmentState.PENDING,
                    reason,
                    lease.job_id,
                    lease.index,
                    lease.owner,
                    lease.attempt,
                    SegmentState.LEASED,
                ),
            )
            if final and cursor.rowcount == 1:
                self._fail_job(db, lease.job_id, f"segment {lease.index}: {reason}")

    # -- assembly -------------------------------------------------------------------------------
    def claim_assembly(self, job_id: str, owner: str) -> bool:
        """True for the one worker that assembles a job whose segments are all done (others skip it)."""
        with self._write() as db:
            row = db.execute(
                "SELECT state, assembling_owner, (SELECT COUNT(*) FROM segments WHERE job_id = ? "
                "AND state != 'done') FROM jobs WHERE id = ?",
                (job_id, job_id),
            ).fetchone()
            if row is None or row[0] not in (JobState.QUEUED, JobState.RUNNING) or row[2]:
                if row is not None:
                    self._settle(db, job_id)
                return False
            if row[1] is not None and not _owner_dead(row[1]) and row[1] != owner:
                return False
            db.execute(
                "UPDATE jobs SET assembling_owner = ?, state = ? WHERE id = ?",
                (owner, JobState.RUNNING, job_id),
            )
            return True
