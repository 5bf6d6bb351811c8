"""Live sessions: one thread each running the pipeline driver from a live source to the publisher.

:class:`LiveSession` is one session: ``drive(LiveSource, Publisher, engine, job)`` in its own thread
(``stream-restore-live-N``), counters for its status, and a clean stop: :meth:`LiveSession.stop`
ends the source's iteration, so the pipeline flushes, every output writes its trailer and every
thread and socket of the session is released before ``stop`` returns. :class:`LiveManager` holds
the sessions of a server: it checks a request against the operator's allow-list *before*
anything is opened, takes a stream slot for each session, and stops them all at shutdown.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace

from ..backends import Backend, BackendOptions, create_backend
from ..config import Limits, PipelineOptions
from ..errors import (
    CancelledError,
    ConfigError,
    ModelNotFoundError,
    PermissionDeniedError,
    StreamRestoreError,
)
from ..media.codecs import resolve_encoder
from ..models.registry import get_spec
from ..pipeline import RestoreJob, drive
from .allow import AllowRule, Resolver, check_url, system_resolver
from .counters import Ledger, LiveCounters, LiveStatus
from .options import LiveConfig
from .publish import Publisher
from .source import LiveSource

__all__ = ["EngineLease", "LiveManager", "LiveSession", "SessionInfo", "SessionNotFoundError", "engine_lease"]

log = logging.getLogger(__name__)

EngineLease = Callable[[str, str], AbstractContextManager[Backend]]  # (model, backend) -> a loaded engine
_ENDED_KEPT = 16  # ended sessions a manager still lists (their final status), oldest forgotten first
_LIVE_PRESETS = {"libx264": "veryfast", "libx265": "ultrafast"}  # when the user named no preset
_STOP_SECONDS = 15.0  # how long a stop waits for the session to finish cleanly before cancelling it


@dataclass(frozen=True)
class SessionInfo:
    id: str
    source: str
    outputs: tuple[str, ...]
    model: str
    started: float  # wall-clock seconds (time.time())
    status: LiveStatus


class LiveSession:
    """One live session (see the module docstring)."""

    def __init__(self, config: LiveConfig, engines: EngineLease, *, limits: Limits | None = None,
                 number: int = 1) -> None:
        self.config = config
        self.id = f"live-{number}-{secrets.token_hex(4)}"
        self.number = number
        self.counters = LiveCounters()
        self.ledger = Ledger()
        self.engines = engines
        self.limits = replace(limits or Limits(), max_duration=None)  # a live feed has no end
        self.started = time.time()
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._cancel = threading.Event()
        self.done = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, on_end: Callable[[LiveSession], None] | None = None) -> LiveSession:
        def run() -> None:
            try:
                self._run()
            finally:
                self.done.set()
                if on_end is not None:
                    on_end(self)

        self._thread = threading.Thread(target=run, name=f"stream-restore-live-{self.number}", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        config, counters = self.config, self.counters
        try:
            with self.engines(config.model, config.backend) as engine:
                source = LiveSource(config.source, config.ingest, counters, self.ledger, self._stop,
                                    local=config.local_source, limits=self.limits)
                source.lookahead = engine.spec.future_frames
                try:
                    info, scale = source.info, engine.spec.scale
                    out = info.with_size(info.width * scale, info.height * scale)
                    settings = resolve_encoder(config.encode, "mpegts", info.color)
                    if not config.encode.preset and settings.codec in _LIVE_PRESETS:  # medium is too slow
                        encode = replace(config.encode, preset=_LIVE_PRESETS[settings.codec])
                        settings = resolve_encoder(encode, "mpegts", info.color)
                    publisher = Publisher(config.outputs, settings, out, counters, self.ledger,
                                          audio=source.has_audio)
                    job = RestoreJob(model=config.model, encode=config.encode, limits=self.limits,
                                     pipeline=PipelineOptions(queue_frames=1, compile_colour="off"))
                    drive(source, publisher, engine, job, name=config.source, cancel=self._cancel)
                finally:
                    source.close()
            counters.state = "stopped"
        except CancelledError:
            counters.state = "stopped"
        except BaseException as exc:
            self.error = exc
            counters.state, counters.last_error = "failed", str(exc)
            if not isinstance(exc, StreamRestoreError):
                log.exception("live session %s failed", self.id)

    def stop(self, timeout: float = _STOP_SECONDS) -> None:
        """End the session cleanly (trailers written) and wait for its threads; cancel if it hangs."""
        if not self.done.is_set():
            self.counters.state = "stopping"
        self._stop.set()
        if not self.done.wait(timeout):
            self._cancel.set()
            self.done.wait(5.0)
        if self._thread is not None:
            self._thread.join(1.0)

    def info(self) -> SessionInfo:
        return SessionInfo(self.id, self.config.source, tuple(o.url for o in self.config.outputs),
                           self.config.model, self.started, self.counters.snapshot())


class LiveManager:
    """The sessions of one server: admission, the allow-list, listing, stopping (see the module)."""

    def __init__(self, rules: tuple[AllowRule, ...], engines: EngineLease, *,
                 output_rules: tuple[AllowRule, ...] = (),
                 admit: Callable[[], AbstractContextManager[int]] | None = None, limits: Limits | None = None,
                 resolve: Resolver = system_resolver,
                 on_start: Callable[[LiveSession], None] | None = None,
                 on_forget: Callable[[LiveSession], None] | None = None) -> None:
        """``rules``: what a source may be; ``output_rules``: what an output may be (both empty:
        nothing is allowed); ``admit``: a slot per session (raises when none is free); ``on_start``
        sees each session before it starts (the server hooks its metrics in), ``on_forget`` each
        ended session the manager stops listing (the server drops its metrics)."""
        self.rules, self.output_rules, self.engines, self.limits = rules, output_rules, engines, limits
        self.resolve, self._on_start, self._on_forget = resolve, on_start, on_forget
        self._admit = admit or _unlimited
        self._sessions: dict[str, LiveSession] = {}
        self._slots: dict[str, contextlib.ExitStack] = {}
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self.closed = False

    def check(self, config: LiveConfig) -> None:
        """Raise PermissionDeniedError unless the source and every output are allowed (nothing opens)."""
        if config.local_source:
            raise PermissionDeniedError("a server session reads no local files; give a network URL")
        check_url(config.source, self.rules, what="source", resolve=self.resolve)
        for output in config.outputs:
            if output.local:
                raise PermissionDeniedError(f"output {output.url!r}: the server writes no local files")
            check_url(output.url, self.output_rules, what="output", resolve=self.resolve,
                      flag="--live-output-allow")

    def start(self, config: LiveConfig) -> LiveSession:
        self.check(config)
        get_spec(config.model)  # NOT_FOUND before a slot is taken
        if self.closed:
            raise ConfigError("the server is shutting down")
        slot = contextlib.ExitStack()
        number = slot.enter_context(self._admit())
        try:
            session = LiveSession(config, self.engines, limits=self.limits,
                                  number=number or next(self._numbers))
            if self._on_start is not None:
                self._on_start(session)
            with self._lock:
                if self.closed:  # under the lock: stop_all sees every session registered before it
                    raise ConfigError("the server is shutting down")
                self._forget_ended()
                self._sessions[session.id] = session
                self._slots[session.id] = slot
            session.start(on_end=self._ended)
        except BaseException:
            slot.close()
            raise
        log.info("live session %s: %s -> %s", session.id, config.source,
                 ", ".join(o.url for o in config.outputs))
        return session

    def _ended(self, session: LiveSession) -> None:
        with self._lock:
            slot = self._slots.pop(session.id, None)
        if slot is not None:
            slot.close()

    def _forget_ended(self) -> None:
        ended = [s for s in self._sessions.values() if s.done.is_set()]
        for session in ended[: max(0, len(ended) - _ENDED_KEPT + 1)]:
            self._sessions.pop(session.id, None)
            if self._on_forget is not None:
                self._on_forget(session)

    def get(self, session_id: str) -> LiveSession:
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None:
            raise _not_found(session_id)
        return session

    def sessions(self) -> list[LiveSession]:
        with self._lock:
            return list(self._sessions.values())

    def stop(self, session_id: str) -> LiveSession:
        session = self.get(session_id)
        session.stop()
        return session

    def stop_all(self, timeout: float = _STOP_SECONDS) -> None:
        """Stop every session at once (server shutdown) and wait for them."""
        with self._lock:
            self.closed = True
        running = [s for s in self.sessions() if not s.done.is_set()]
        threads = [threading.Thread(target=s.stop, args=(timeout,), daemon=True) for s in running]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout + 6.0)


class SessionNotFoundError(ModelNotFoundError):
    """No live session of that id (NOT_FOUND: the code of ModelNotFoundError, whose class this borrows)."""


def _not_found(session_id: str) -> StreamRestoreError:
    return SessionNotFoundError(f"no live session {session_id!r}")


@contextlib.contextmanager
def _unlimited() -> Iterator[int]:
    yield 0


def engine_lease(options: BackendOptions | None = None) -> EngineLease:
    """Engines for a process of its own (the CLI, benchmarks): created, loaded and closed per session."""

    @contextlib.contextmanager
    def lease(model: str, backend: str) -> Iterator[Backend]:
        engine = create_backend(get_spec(model), backend or "auto", options or BackendOptions()).load()
        try:
            yield engine
        finally:
            engine.close()

    return lease
