"""``stream-restore jobs ...``: stored, resumable archive jobs (see docs/jobs.md).

``submit`` plans one job per input video and runs it (unless ``--detach``); ``list``, ``status``
and ``watch`` read the store; ``resume`` re-queues and runs a job; ``cancel`` stops one; ``work``
runs one worker against the store (what the local executor starts, and what a machine joining
the work runs).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ..errors import ConfigError, InputError
from ..jobs import DEFAULT_SEGMENT_SECONDS, JobState, Store, Worker, default_state_dir, expand_inputs
from ..jobs import resume as resume_job
from ..jobs import submit as submit_jobs
from ..jobs.executors import ExecutorOptions, make_executor
from ..jobs.progress import JobProgress, job_progress
from ..jobs.store import DEFAULT_LEASE_SECONDS, DEFAULT_MAX_ATTEMPTS
from .progress import ProgressLine
from .restore import add_restore_options, build_job

__all__ = ["add_arguments", "run"]


def _store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="where the job store and segment files live (default $XDG_DATA_HOME/stream-restore)",
    )
    parser.add_argument(
        "--journal",
        choices=("wal", "delete"),
        default="wal",
        help="SQLite journal: wal (one host) or delete (a state dir on a network file system)",
    )
    parser.add_argument(
        "--lease-seconds",
        type=float,
        default=DEFAULT_LEASE_SECONDS,
        help=f"a segment lease not renewed for this long returns to the queue (default "
        f"{DEFAULT_LEASE_SECONDS:g})",
    )
    parser.add_argument(
        "--max-attempts",
        type=int,
        default=DEFAULT_MAX_ATTEMPTS,
        help=f"attempts per segment before its job fails (default {DEFAULT_MAX_ATTEMPTS})",
    )


def _executor_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="local worker processes (default) or a Ray cluster",
    )
    parser.add_argument("--ray-address", help="Ray cluster address (default: start a local one)")
    parser.add_argument("--workers", type=int, default=1, help="workers (one per device; default 1)")
    parser.add_argument(
        "--devices",
        help="comma-separated worker devices, e.g. cuda:0,cuda:1 (default: --workers times --device)",
    )
    parser.add_argument(
        "--detach", action="store_true", help="queue only; run 'jobs work' or 'jobs resume' later"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="jobs_command", metavar="ACTION", parser_class=type(parser))
    sub.required = True
    submit = sub.add_parser("submit", help="plan jobs for files, folders or globs and run them")
    submit.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="video files, folders (one job per video) or globs"
    )
    submit.add_argument(
        "output_dir", metavar="OUTPUT_DIR", help="folder for the outputs (relative paths kept)"
    )
    submit.add_argument(
        "--segment-seconds",
        type=float,
        default=DEFAULT_SEGMENT_SECONDS,
        help=f"segment length, cut at keyframes (default {DEFAULT_SEGMENT_SECONDS:g})",
    )
    submit.add_argument("--suffix", help="output container by extension, e.g. .mkv (default: the input's)")
    add_restore_options(submit)
    _store_options(submit)
    _executor_options(submit)
    listing = sub.add_parser("list", help="the jobs in the store")
    _store_options(listing)
    for name, text in (
        ("status", "one job's state and segments"),
        ("watch", "progress until the job ends"),
        ("cancel", "stop a job (finished segments are kept)"),
        ("resume", "verify finished segments and run the rest"),
    ):
        action = sub.add_parser(name, help=text)
        if name == "resume":
            action.add_argument(
                "job_ids", metavar="ID", nargs="*",
                help="jobs to resume (default: every job not done and not cancelled, e.g. a whole "
                "folder after a crash)",
            )
        else:
            action.add_argument("job_id", metavar="ID")
        _store_options(action)
        if name == "resume":
            _executor_options(action)
            action.add_argument("--device", default="cpu", help="worker device (default cpu)")
            action.add_argument("--threads", type=int, help="CPU threads per worker")
            action.add_argument("-q", "--quiet", action="store_true", help="no progress display")
        if name == "watch":
            action.add_argument("--interval", type=float, default=1.0, help="seconds between updates")
    work = sub.add_parser("work", help="run one worker against the store until the queue is empty")
    work.add_argument("--job", help="only this job's segments")
    work.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default cpu)")
    work.add_argument("--threads", type=int, help="CPU threads for inference")
    work.add_argument("--forever", action="store_true", help="keep waiting for new jobs")
    _store_options(work)


def _store(args: argparse.Namespace) -> Store:
    return Store(
        args.state_dir or default_state_dir(),
        journal=args.journal,
        lease_seconds=args.lease_seconds,
        max_attempts=args.max_attempts,
    )


def _devices(args: argparse.Namespace) -> tuple[str, ...]:
    if args.devices:
        return tuple(d.strip() for d in args.devices.split(",") if d.strip())
    if args.workers < 1:
        raise ConfigError("--workers must be at least 1")
    return (str(args.device),) * int(args.workers)


def _line(p: JobProgress) -> str:
    eta = "" if p.eta is None else f", ETA {int(p.eta) // 60}:{int(p.eta) % 60:02d}"
    text = (
        f"{p.job_id} {p.state}: {p.frames_done}/{p.frames_total} frames, {p.segments_done}/{p.segments} "
        f"segments, {p.running} running, {p.fps:.1f} fps{eta}"
    )
    return text + (f" ({p.error})" if p.error else "")


def _run(args: argparse.Namespace, store: Store, job_ids: Sequence[str]) -> int:
    if args.detach:
        for job_id in job_ids:
            print(job_id)
        return 0
    options = ExecutorOptions(
        store.state_dir,
        _devices(args),
        args.threads,
        args.lease_seconds,
        args.max_attempts,
        args.journal,
        args.ray_address,
    )
    bar = ProgressLine("jobs", enabled=not args.quiet and sys.stderr.isatty())

    def watch(progress: list[JobProgress]) -> None:
        done = sum(p.frames_done for p in progress)
        total = sum(p.frames_total for p in progress)
        bar.show(done, total, 0.0, sum(p.fps for p in progress))

    try:
        final = make_executor(args.executor, options).run(store, job_ids, watch=watch)
    finally:
        bar.finish()
    for p in final:
        print(_line(p))
    if all(p.state is JobState.DONE for p in final):
        return 0
    if any(p.state is JobState.FAILED for p in final):
        return 2  # the reasons are in the lines above and in 'jobs status'
    return 1  # a worker died: 'jobs resume' finishes the job


def _status(store: Store, job_id: str) -> int:
    record = store.job(job_id)
    print(_line(job_progress(record)))
    print(f"  {record.input} -> {record.output}")
    for s in store.segments(job_id):
        plan = s.plan
        extra = f" {s.error}" if s.error else ""
        print(
            f"  segment {plan.index}: {s.state} frames {plan.frames} (warm-up {plan.warmup}"
            f"{', scene cut' if plan.scene_cut else ''}) attempts {s.attempts}{extra}"
        )
    return 0


def _watch(store: Store, job_id: str, interval: float) -> int:
    terminal = sys.stderr.isatty()
    bar = ProgressLine(job_id, enabled=terminal)
    last = ""
    while True:
        progress = job_progress(store.job(job_id))
        bar.show(progress.frames_done, progress.frames_total, 0.0, progress.fps)
        line = _line(progress)
        if not terminal and line != last:
            print(line, flush=True)
            last = line
        if progress.finished:
            bar.finish()
            if terminal:
                print(line)
            return {JobState.DONE: 0, JobState.CANCELLED: 130}.get(progress.state, 2)
        time.sleep(interval)


def _resume(args: argparse.Namespace, store: Store) -> int:
    """Resume the named jobs, or every unfinished one (not done, not cancelled) when none is named."""
    unfinished = (JobState.QUEUED, JobState.RUNNING, JobState.FAILED)
    records = [store.job(i) for i in args.job_ids] or store.jobs(limit=None, states=unfinished)
    if not records:
        print("no unfinished jobs to resume", file=sys.stderr)
        return 0
    pending = []
    for record in records:
        if record.state is JobState.DONE:
            print(_line(job_progress(record)))
            continue
        resume_job(store, record.id)
        pending.append(record.id)
    if not pending:
        return 0
    args.detach = False
    return _run(args, store, pending)


def run(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        action = args.jobs_command
        if action == "submit":
            if args.segment_seconds <= 0:
                raise ConfigError("--segment-seconds must be positive")
            requests = expand_inputs(args.inputs, Path(args.output_dir), suffix=args.suffix)
            return _run(
                args,
                store,
                submit_jobs(store, requests, build_job(args), segment_seconds=args.segment_seconds),
            )
        if action == "list":
            for record in store.jobs():
                print(f"{_line(job_progress(record))}  {record.input}")
            return 0
        if action == "status":
            return _status(store, args.job_id)
        if action == "watch":
            return _watch(store, args.job_id, args.interval)
        if action == "cancel":
            print(_line(job_progress(store.cancel(args.job_id))))
            return 0
        if action == "resume":
            return _resume(args, store)
        if action == "work":
            done = Worker(store, device=args.device, threads=args.threads, job_id=args.job).run(
                until_idle=not args.forever
            )
            print(f"worker finished {done} segment(s)", file=sys.stderr)
            return 0
        raise InputError(f"unknown jobs action {action!r}")
    finally:
        store.close()
