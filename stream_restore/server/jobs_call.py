"""The Jobs service: converts messages and calls the jobs core (``jobs.service.JobsCore``).

Every path is checked against the configured roots in the core before anything is opened; the
options become the same :class:`~stream_restore.pipeline.RestoreJob` a Restore call builds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import TypeVar

import grpc

from ..errors import ConfigError
from ..jobs import JobState
from ..jobs.plan import DEFAULT_SEGMENT_SECONDS
from ..jobs.progress import JobProgress
from ..jobs.roots import relative_to_root
from ..jobs.service import JobsCore
from ..pipeline import RestoreJob
from ..v1 import jobs_pb2 as jpb
from ..v1 import jobs_pb2_grpc as jpb_grpc
from ..v1 import restore_pb2 as pb
from .messages import stream_request
from .state import ServerState

__all__ = ["JobsServicer"]

_STATES = {
    JobState.QUEUED: jpb.JOB_STATE_QUEUED,
    JobState.RUNNING: jpb.JOB_STATE_RUNNING,
    JobState.DONE: jpb.JOB_STATE_DONE,
    JobState.FAILED: jpb.JOB_STATE_FAILED,
    JobState.CANCELLED: jpb.JOB_STATE_CANCELLED,
}
_WATCH_POLL = 0.5  # seconds between looks at the store

T = TypeVar("T")


class JobsServicer(jpb_grpc.JobsServicer):
    def __init__(self, state: ServerState, core: JobsCore) -> None:
        self.state, self.core = state, core

    def job_for(self, request: jpb.SubmitJobRequest) -> RestoreJob:
        """The same job a Restore call with these options builds (container from the output name)."""
        output = pb.OutputOptions()
        output.CopyFrom(request.output)
        output.container = "matroska"  # a streamable container, to pass the Restore checks; not used
        job = stream_request(pb.RestoreConfig(model=request.model, output=output), self.state.config).job
        backend = job.backend or self.state.config.backend
        self.state.engines.check(job.model, job.backend)
        return replace(job, backend=backend, encode=replace(job.encode, container=None))

    def message(self, progress: JobProgress) -> jpb.Job:
        source, target = self.core.record(progress.job_id)
        return jpb.Job(
            id=progress.job_id, state=_STATES[progress.state],
            input=relative_to_root(self.core.roots.input, source),
            output=relative_to_root(self.core.roots.output, target),
            frames_done=progress.frames_done, frames_total=progress.frames_total,
            segments_done=progress.segments_done, segments=progress.segments, running=progress.running,
            fps=progress.fps, eta_seconds=-1.0 if progress.eta is None else progress.eta,
            error=progress.error or "",
        )

    async def _call(self, function: Callable[[], T]) -> T:
        """Run a store call in the worker threads (SQLite waits for locks; the loop must not)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.state.executor, function)

    def submit(self, request: jpb.SubmitJobRequest) -> list[jpb.Job]:
        """Check and store the jobs a request asks for (blocking: the store waits for locks)."""
        job = self.job_for(request)
        seconds = request.segment_seconds or DEFAULT_SEGMENT_SECONDS
        if seconds < 0:
            raise ConfigError("segment_seconds must not be negative")
        done = self.core.submit(list(request.inputs), request.output_dir, job, segment_seconds=seconds,
                                suffix=request.suffix or None)
        return [self.message(p) for p in done]

    async def SubmitJob(self, request: jpb.SubmitJobRequest, context: grpc.aio.ServicerContext
                        ) -> jpb.SubmitJobResponse:
        return jpb.SubmitJobResponse(jobs=await self._call(lambda: self.submit(request)))

    async def GetJob(self, request: jpb.JobRef, context: grpc.aio.ServicerContext) -> jpb.Job:
        return await self._call(lambda: self.message(self.core.get(request.id)))

    async def ListJobs(self, request: jpb.ListJobsRequest, context: grpc.aio.ServicerContext
                       ) -> jpb.ListJobsResponse:
        jobs = await self._call(lambda: [self.message(p) for p in self.core.list()])
        return jpb.ListJobsResponse(jobs=jobs)

    async def CancelJob(self, request: jpb.JobRef, context: grpc.aio.ServicerContext) -> jpb.Job:
        return await self._call(lambda: self.message(self.core.cancel(request.id)))

    async def ResumeJob(self, request: jpb.JobRef, context: grpc.aio.ServicerContext) -> jpb.Job:
        return await self._call(lambda: self.message(self.core.resume(request.id)))

    async def WatchJob(
        self, request: jpb.JobRef, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[jpb.Job]:
        last: jpb.Job | None = None
        while True:
            progress = await self._call(lambda: self.core.get(request.id))
            message = await self._call(lambda: self.message(progress))  # noqa: B023 (awaited at once)
            if message != last:
                yield message
                last = message
            if progress.finished:
                return
            await self._call(self.core.kick)
            await asyncio.sleep(_WATCH_POLL)
