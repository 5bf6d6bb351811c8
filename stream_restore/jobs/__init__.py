"""Archive jobs: long videos restored in stored, resumable, seam-free segments, on one or many workers.

A job is planned (:mod:`.plan`) into keyframe-aligned segments recorded in the SQLite job store
(:mod:`.store`, the source of truth); workers (:mod:`.worker`, run by the local or Ray executor of
:mod:`.executors`) lease segments, restore each through the one pipeline driver into its own
video-only file (:mod:`.segment`), and the worker that finishes last assembles the output with the
source's other streams (:mod:`.assembly`). ``docs/jobs.md`` describes the design.
"""

from __future__ import annotations

from .plan import DEFAULT_SEGMENT_SECONDS, Plan, plan_segments
from .store import JobRecord, JobState, SegmentRecord, SegmentState, Store, default_state_dir
from .submit import JobRequest, expand_inputs, resume, submit
from .worker import Worker

__all__ = [
    "DEFAULT_SEGMENT_SECONDS",
    "JobRecord",
    "JobRequest",
    "JobState",
    "Plan",
    "SegmentRecord",
    "SegmentState",
    "Store",
    "Worker",
    "default_state_dir",
    "expand_inputs",
    "plan_segments",
    "resume",
    "submit",
]
