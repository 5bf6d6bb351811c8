"""The restoration core: windows, sessions, the threaded decode -> infer -> encode loop, jobs.

Independent of protobuf and of the CLI; the server and the command both drive :func:`restore`
(whole inputs) or :class:`StreamSession` (frame by frame).
"""

from __future__ import annotations

from .job import RestoreJob, restore
from .runner import Progress, RunStats, run_pipeline
from .session import StreamSession
from .windows import WindowBuffer

__all__ = ["Progress", "RestoreJob", "RunStats", "StreamSession", "WindowBuffer", "restore", "run_pipeline"]
