"""The restoration core: windows, sessions, the threaded decode -> infer -> encode loop, jobs.

Independent of protobuf and of the CLI. Every entry point runs through :func:`drive` (a frame
source, a session, a frame sink, the limits); :func:`restore` opens files and byte streams for it.
"""

from __future__ import annotations

from .driver import Discontinuity, FrameGuard, RestoreJob, drive
from .job import StreamStart, restore
from .session import StreamSession
from .stages import Progress, RunStats, run_pipeline
from .windows import WindowBuffer

__all__ = [
    "Discontinuity",
    "FrameGuard",
    "Progress",
    "RestoreJob",
    "RunStats",
    "StreamSession",
    "StreamStart",
    "WindowBuffer",
    "drive",
    "restore",
    "run_pipeline",
]
