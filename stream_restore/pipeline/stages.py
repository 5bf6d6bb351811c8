"""The streaming loop: decode -> infer -> encode, overlapped in threads with bounded queues.

Decoding (and colour conversion) runs in one thread, inference in another, and encoding plus
muxing in the caller's thread. Queues hold at most ``queue_frames`` items each, so memory is
bounded whatever the clip length. Audio and subtitle packets travel through the same queues, in
demux order, and reach the muxer slightly ahead of the video they belong with; the muxer's
interleaver puts them in place.

Only inference uses torch's multi-threaded kernels: the decode and encode stages convert colour
with one intra-op thread. Several OpenMP teams spinning on the same two cores slowed the colour
conversion twentyfold (12.7 ms -> 264 ms per 720p frame, measured), and those passes are
memory-bound anyway.

Any stage failing, or the caller's ``cancel`` event, stops every stage promptly (each blocking
queue operation wakes up at least every 100 ms to look), and the first error is re-raised in the
caller's thread with its original type.
"""

from __future__ import annotations

import contextlib
import functools
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import torch

from ..errors import CancelledError
from ..frames import Frame, StreamInfo
from .session import StreamSession

__all__ = [
    "Discontinuity",
    "FrameSink",
    "FrameSource",
    "Progress",
    "RunStats",
    "run_pipeline",
    "set_intra_op_threads",
]

_POLL = 0.1  # seconds between checks of the stop flag while blocked on a queue


class FrameSource(Protocol):
    info: StreamInfo
    corrupt_packets: int
    warnings: list[str]  # what was wrong with the input, for the summary

    def __iter__(self) -> Iterator[object]: ...  # Frame or passthrough packet
    def close(self) -> None: ...


class FrameSink(Protocol):
    def write(self, frame: Frame) -> None: ...
    def write_packet(self, packet: object) -> None: ...
    def close(self) -> None: ...
    def abort(self) -> None: ...


@dataclass(frozen=True)
class Progress:
    frames_done: int
    frames_total: int | None
    elapsed: float  # seconds since start
    fps: float


@dataclass
class RunStats:
    """What one run did and where its time went (seconds of busy time per stage)."""

    frames_in: int = 0
    frames_out: int = 0
    packets_copied: int = 0
    wall_seconds: float = 0.0
    decode_seconds: float = 0.0
    infer_seconds: float = 0.0
    encode_seconds: float = 0.0
    segments: int = 0
    scene_cuts: int = 0
    size_changes: int = 0
    corrupt_packets: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.frames_out / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def shares(self) -> dict[str, float]:
        """Fraction of summed stage busy time spent in decode, inference and encode."""
        total = self.decode_seconds + self.infer_seconds + self.encode_seconds
        if total <= 0:
            return {"decode": 0.0, "infer": 0.0, "encode": 0.0}
        return {
            "decode": self.decode_seconds / total,
            "infer": self.infer_seconds / total,
            "encode": self.encode_seconds / total,
        }


class Discontinuity:
    """Yielded by a source where its content breaks (a client's reset, a live source reconnecting).

    The frames before it are finished with their own look-ahead, and the recurrent state starts
    afresh after it, as at a scene cut.
    """

    def __repr__(self) -> str:
        return "Discontinuity()"


class _End:
    """Marks the end of a queue's items."""


class _Stopped(Exception):
    """Raised inside a stage when another stage failed or the caller cancelled."""


class _Pipe:
    """Shared stop flag plus queue operations that give up when it is set."""

    def __init__(self, cancel: threading.Event | None) -> None:
        self.stop = threading.Event()
        self.cancel = cancel or threading.Event()
        self.error: BaseException | None = None
        self.lock = threading.Lock()

    def stopped(self) -> bool:
        return self.stop.is_set() or self.cancel.is_set()

    def fail(self, error: BaseException) -> None:
        with self.lock:
            if self.error is None:
                self.error = error
        self.stop.set()

    def put(self, q: queue.Queue[object], item: object) -> None:
        while True:
            if self.stopped():
                raise _Stopped
            try:
                q.put(item, timeout=_POLL)
                return
            except queue.Full:
                continue

    def get(self, q: queue.Queue[object]) -> object:
        while True:
            if self.stopped():
                raise _Stopped
            try:
                return q.get(timeout=_POLL)
            except queue.Empty:
                continue


def set_intra_op_threads(count: int) -> None:
    """Set torch's intra-op thread count for the calling thread, for good.

    PyTorch gives each thread its process-wide count lazily, at the thread's first parallel op
    (``at::internal::lazy_init_num_threads``), and ``set_num_threads`` also changes that
    process-wide count: so a thread that set its count before its first op took whatever count
    another thread set last. The inference stage ran on 1 thread instead of all cores whenever
    the encode stage set its 1 first, and its floats, and so its output, changed with that race
    (tests/jobs/test_seams.py caught a segment differing from the same frames restored in one
    run). Reading the count first makes that lazy initialisation happen now.
    """
    torch.get_num_threads()
    torch.set_num_threads(count)


@contextlib.contextmanager
def intra_op_threads(count: int | None) -> Iterator[None]:
    """Set torch's intra-op thread count for the calling thread only, restoring it afterwards."""
    if count is None:
        yield
        return
    previous = torch.get_num_threads()
    set_intra_op_threads(count)
    try:
        yield
    finally:
        set_intra_op_threads(previous)


def run_pipeline(
    source: FrameSource,
    session: StreamSession,
    sink: FrameSink,
    *,
    queue_frames: int = 4,
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    inference_threads: int | None = None,
    check: Callable[[Frame], None] | None = None,
) -> RunStats:
    """Restore everything ``source`` yields into ``sink``. The sink is finished or aborted here.

    ``inference_threads`` is torch's intra-op thread count for the inference stage (default: what
    the calling thread has, normally all cores). ``check`` sees every input frame before it is
    queued and may raise to stop the run (the driver's limits). A :class:`Discontinuity` from the
    source resets the session (look-ahead flushed, fresh recurrent state).
    """
    run = _Run(source, session, sink, queue_frames, progress, cancel, check)
    threads = [
        threading.Thread(target=run.guarded(run.decode_stage), name="stream-restore-decode", daemon=True),
        threading.Thread(
            target=run.guarded(run.infer_stage, inference_threads or torch.get_num_threads()),
            name="stream-restore-infer",
            daemon=True,
        ),
    ]
    for thread in threads:
        thread.start()
    finished = False
    try:
        with intra_op_threads(1):
            finished = run.guarded(run.encode_stage)()
    finally:
        run.pipe.stop.set()
        for thread in threads:
            thread.join()
        if not finished:
            sink.abort()
    if run.pipe.error is not None:
        raise run.pipe.error
    if run.pipe.cancel.is_set() and not finished:
        raise CancelledError("cancelled")
    return run.summary()


class _Run:
    """One run's three stages (decode and infer in threads, encode in the caller's) and their stats.

    Items flow source -> ``decoded`` -> session -> ``restored`` -> sink through bounded queues;
    passthrough packets skip the session; every stage gives up as soon as another one failed.
    """

    def __init__(
        self,
        source: FrameSource,
        session: StreamSession,
        sink: FrameSink,
        queue_frames: int,
        progress: Callable[[Progress], None] | None,
        cancel: threading.Event | None,
        check: Callable[[Frame], None] | None,
    ) -> None:
        self.source, self.session, self.sink = source, session, sink
        self.progress, self.check = progress, check
        self.stats = RunStats()
        self.pipe = _Pipe(cancel)
        self.decoded: queue.Queue[object] = queue.Queue(maxsize=queue_frames)
        self.restored: queue.Queue[object] = queue.Queue(maxsize=queue_frames)
        self.start = time.perf_counter()

    def guarded(self, stage: Callable[[], bool], threads: int = 1) -> Callable[[], bool]:
        """``stage`` with ``threads`` intra-op threads; False when it stopped or failed (recorded)."""

        def run() -> bool:
            set_intra_op_threads(threads)
            try:
                return stage()
            except _Stopped:
                return False
            except BaseException as exc:
                self.pipe.fail(exc)
                return False

        return run

    def decode_stage(self) -> bool:
        stats, iterator = self.stats, iter(self.source)
        while True:
            t0 = time.perf_counter()
            item = next(iterator, _End)
            stats.decode_seconds += time.perf_counter() - t0
            if item is _End:
                break
            if isinstance(item, Frame):
                if self.check is not None:
                    self.check(item)
                stats.frames_in += 1
            self.pipe.put(self.decoded, item)
        self.pipe.put(self.decoded, _End())
        return True

    def infer_stage(self) -> bool:
        session = self.session
        while True:
            item = self.pipe.get(self.decoded)
            if isinstance(item, _End):
                break
            if isinstance(item, Discontinuity):
                self._restored(session.reset)
            elif isinstance(item, Frame):
                self._restored(functools.partial(session.push, item))
            else:
                self.pipe.put(self.restored, item)
        self._restored(session.flush)
        self.pipe.put(self.restored, _End())
        return True

    def _restored(self, work: Callable[[], list[Frame]]) -> None:
        """Run one inference step, timed, and queue what it restored."""
        t0 = time.perf_counter()
        outputs = work()
        self.stats.infer_seconds += time.perf_counter() - t0
        for out in outputs:
            self.pipe.put(self.restored, out)

    def encode_stage(self) -> bool:
        """True when the sink was finished."""
        stats, sink = self.stats, self.sink
        while True:
            item = self.pipe.get(self.restored)
            if isinstance(item, _End):
                break
            t0 = time.perf_counter()
            if isinstance(item, Frame):
                sink.write(item)
                stats.frames_out += 1
                self._report()
            else:
                sink.write_packet(item)
                stats.packets_copied += 1
            stats.encode_seconds += time.perf_counter() - t0
        t0 = time.perf_counter()
        sink.close()
        stats.encode_seconds += time.perf_counter() - t0
        return True

    def _report(self) -> None:
        if self.progress is not None:
            elapsed = time.perf_counter() - self.start
            fps = self.stats.frames_out / max(elapsed, 1e-9)
            self.progress(Progress(self.stats.frames_out, self.source.info.expected_frames, elapsed, fps))

    def summary(self) -> RunStats:
        stats, session, source = self.stats, self.session, self.source
        stats.wall_seconds = time.perf_counter() - self.start
        stats.segments = session.segments
        stats.scene_cuts = session.scene_cuts
        stats.size_changes = session.size_changes
        stats.corrupt_packets = source.corrupt_packets
        stats.warnings.extend(source.warnings)
        return stats
