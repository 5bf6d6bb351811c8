"""Turn what a user names (files, folders, globs) into planned jobs in the store.

A folder becomes one job per video file under it, the output keeping the file's path relative to
the folder. Submitting an input and output that already have an unfinished job resumes that job
(the same plan is re-derived and compared) instead of starting over.
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, InputError
from ..media.codecs import VIDEO_CONTAINERS
from ..media.segments import index_video
from ..models.registry import get_spec
from ..pipeline import RestoreJob
from .assembly import bad_segments
from .options import job_from_json, job_to_json
from .plan import DEFAULT_SEGMENT_SECONDS, Plan, plan_segments, scene_check
from .store import JobState, Store

__all__ = ["VIDEO_SUFFIXES", "JobRequest", "expand_inputs", "plan_job", "resume", "submit"]

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = frozenset(
    {
        *VIDEO_CONTAINERS,
        ".avi",
        ".m4v",
        ".mts",
        ".m2ts",
        ".flv",
        ".wmv",
        ".mpg",
        ".mpeg",
        ".vob",
        ".ogv",
        ".3gp",
        ".dv",
        ".mxf",
        ".y4m",
    }
)
MAX_FILES = 100_000  # inputs one submission may expand to


@dataclass(frozen=True)
class JobRequest:
    input: Path
    output: Path


def _output_name(relative: Path, suffix: str | None) -> Path:
    if suffix:
        return relative.with_suffix(suffix)
    return relative if relative.suffix.lower() in VIDEO_CONTAINERS else relative.with_suffix(".mkv")


def expand_inputs(
    inputs: Sequence[str], output_dir: Path, *, suffix: str | None = None, globs: bool = True
) -> list[JobRequest]:
    """One request per video: files as given, folders walked (relative paths kept), globs expanded
    (unless ``globs`` is False: a remote caller's names are taken literally)."""
    if suffix is not None and suffix.lower() not in VIDEO_CONTAINERS:
        raise ConfigError(f"output suffix {suffix!r} is not one of {' '.join(sorted(VIDEO_CONTAINERS))}")
    requests: list[JobRequest] = []
    for name in inputs:
        matches = sorted(glob.glob(name, recursive=True)) if globs and glob.has_magic(name) else [name]
        if not matches:
            raise InputError(f"{name}: matches no file")
        for match in map(Path, matches):
            if match.is_dir():
                files = sorted(
                    p for p in match.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES
                )
                requests += [
                    JobRequest(p, output_dir / _output_name(p.relative_to(match), suffix)) for p in files
                ]
            elif match.is_file():
                requests.append(JobRequest(match, output_dir / _output_name(Path(match.name), suffix)))
            else:
                raise InputError(f"{match}: no such file or folder")
            if len(requests) > MAX_FILES:
                raise InputError(f"more than {MAX_FILES} input files in one submission")
    if not requests:
        raise InputError("no video file among the inputs")
    outputs = [r.output.resolve() for r in requests]
    if len(set(outputs)) != len(outputs):
        raise ConfigError("two inputs would write the same output file; give --suffix or separate folders")
    return requests


def plan_job(input: Path, job: RestoreJob, segment_seconds: float) -> Plan:
    """The deterministic plan of a job (keyframe index, scene cuts, warm-up)."""
    spec = get_spec(job.model)
    index = index_video(input)
    is_cut = (
        scene_check(input, index, job.pipeline.scene_threshold, job.limits)
        if job.pipeline.scene_detection
        else None
    )
    return plan_segments(index, spec, segment_seconds=segment_seconds, is_cut=is_cut)


def submit(
    store: Store,
    requests: Sequence[JobRequest],
    job: RestoreJob,
    *,
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS,
) -> list[str]:
    """Plan and record one job per request (or resume an unfinished one for the same files)."""
    ids = []
    options = job_to_json(job)
    for request in requests:
        input, output = request.input.resolve(), request.output.resolve()
        existing = store.find_job(str(input), str(output))
        if existing is not None and store.job(existing).options == options:
            log.info("%s: resuming job %s", input, existing)
            resume(store, existing)
            ids.append(existing)
            continue
        plan = plan_job(input, job, segment_seconds)
        output.parent.mkdir(parents=True, exist_ok=True)
        job_id = store.add_job(
            str(input), str(output), options, plan.digest, plan.time_base, segment_seconds, plan.segments
        )
        store.segment_dir(job_id).mkdir(parents=True, exist_ok=True)
        ids.append(job_id)
    return ids


def resume(store: Store, job_id: str, *, segment_seconds: float | None = None) -> None:
    """Queue a job again: the plan is re-derived and must match; finished segments are verified by
    checksum and only the others are (re)done. A finished job is left as it is."""
    record = store.job(job_id)
    if record.state is JobState.DONE:
        return
    job = job_from_json(record.options)
    plan = plan_job(Path(record.input), job, segment_seconds or store.segment_seconds(job_id))
    if plan.digest != record.plan_digest:
        store.set_job_state(
            job_id,
            JobState.FAILED,
            "the input changed since the job was planned "
            "(its keyframe index or plan differs); submit it again",
        )
        raise InputError(f"job {job_id}: the input changed since it was planned")
    store.requeue(job_id, bad_segments(store, job_id))
