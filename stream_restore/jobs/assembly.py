"""Assemble a job whose segments are all done: verify each segment file against its checksum, remux
them with the source's other streams into a temporary file, rename it over the output.

A segment whose file is missing or does not match its checksum is put back in the queue (the job
goes on once it is redone); the output appears only complete.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..files import discard, temporary_sibling
from ..media.codecs import container_for
from ..media.remux import SegmentFile, assemble
from .options import job_from_json
from .segment import sha256_file
from .store import JobState, SegmentState, Store

__all__ = ["assemble_job", "bad_segments"]

log = logging.getLogger(__name__)


def bad_segments(store: Store, job_id: str) -> list[int]:
    """Finished segments whose file is gone or does not match the checksum recorded for it."""
    bad = []
    for segment in store.segments(job_id):
        if segment.state is not SegmentState.DONE:
            continue
        path = Path(segment.path or "")
        if not path.is_file() or sha256_file(path) != segment.checksum:
            log.warning(
                "job %s: segment %d's file %s is missing or changed; it is redone",
                job_id,
                segment.plan.index,
                path,
            )
            bad.append(segment.plan.index)
    return bad


def assemble_job(store: Store, job_id: str) -> bool:
    """Assemble the job's output; True when it is done, False when segments had to be queued again."""
    record = store.job(job_id)
    bad = bad_segments(store, job_id)
    if bad:
        store.requeue(job_id, bad)
        return False
    job = job_from_json(record.options)
    output = Path(record.output)
    container = container_for(output, job.encode.container)
    tb = record.time_base
    files = [
        SegmentFile(Path(s.path or ""), s.plan.frames, s.plan.first_pts * tb, s.plan.last_pts * tb)
        for s in store.segments(job_id)
    ]
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary: Path | None = temporary_sibling(output)
    try:
        assert temporary is not None
        stats = assemble(Path(record.input), files, temporary, container=container)
        os.replace(temporary, output)
        temporary = None
    finally:
        if temporary is not None:
            discard(temporary)
    for warning in stats.warnings:
        log.warning("%s: %s", output, warning)
    store.set_job_state(job_id, JobState.DONE)
    for file in files:
        file.path.unlink(missing_ok=True)
    try:
        store.segment_dir(job_id).rmdir()
    except OSError:
        pass
    return True
