"""Build, start and stop the gRPC server: servicer, interceptors, health, reflection, TLS, metrics.

:class:`RestoreServer` is used by ``stream-restore serve`` (which adds signal handling) and by tests
and the demo, which run it in-process on a free port::

    server = RestoreServer(ServerConfig(port=0))
    port = await server.start()
    ...
    await server.stop()
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from ..backends import BackendOptions
from ..errors import ConfigError
from ..jobs.executors import ExecutorOptions
from ..jobs.roots import JobRoots
from ..jobs.service import JobsCore
from ..live import LiveManager, LiveSession, parse_rules
from ..v1 import jobs_pb2 as jobs_pb
from ..v1 import jobs_pb2_grpc as jobs_grpc
from ..v1 import live_pb2 as live_pb
from ..v1 import live_pb2_grpc as live_grpc
from ..v1 import restore_pb2 as pb
from ..v1 import restore_pb2_grpc as pb_grpc
from .config import ServerConfig, check_tls_files
from .engines import EnginePool
from .interceptors import AuthInterceptor, CallInterceptor
from .jobs_call import JobsServicer
from .live_call import LiveServicer
from .metrics import ServerMetrics
from .servicer import RestorerServicer
from .slots import StreamSlots
from .state import ServerState, worker_threads
from .tokens import BearerTokens
from .web import WebServer
from .web_api import WebApi

__all__ = ["JOBS_SERVICE_NAME", "LIVE_SERVICE_NAME", "SERVICE_NAME", "RestoreServer"]

log = logging.getLogger(__name__)

_DRAIN_SECONDS = 10.0  # after the grace period, how long ended calls get to release their threads

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Restorer"].full_name  # "stream_restore.v1.Restorer"
JOBS_SERVICE_NAME = jobs_pb.DESCRIPTOR.services_by_name["Jobs"].full_name  # "stream_restore.v1.Jobs"
LIVE_SERVICE_NAME = live_pb.DESCRIPTOR.services_by_name["Live"].full_name  # "stream_restore.v1.Live"


def _jobs_core(config: ServerConfig) -> JobsCore | None:
    """The archive-jobs core, when the operator configured both roots (else no Jobs service)."""
    if not config.jobs_input_root:
        return None
    if not config.state_dir:
        raise ConfigError("the Jobs service needs a state directory (state_dir)")
    roots = JobRoots(Path(config.jobs_input_root), Path(config.jobs_output_root))
    return JobsCore(roots, ExecutorOptions(Path(config.state_dir), devices=config.jobs_devices,
                                           threads=config.threads))


class RestoreServer:
    """One gRPC server with its engines, limits and metrics."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        if config.models_dir:
            from ..models.directory import load_directory

            load_directory(Path(config.models_dir))
        self.metrics = ServerMetrics()
        self._private_cache: tempfile.TemporaryDirectory[str] | None = None
        if config.engine_cache_dir:
            cache_dir = config.engine_cache_dir
        else:  # no folder configured: exports live as long as the server, in a folder of its own
            self._private_cache = tempfile.TemporaryDirectory(prefix="stream-restore-engines-")
            cache_dir = self._private_cache.name
        engines = EnginePool(
            BackendOptions(device=config.device, precision=config.precision, threads=config.threads,
                           cache_dir=cache_dir),
            config.backend,
            config.tile_max_pixels,
            allowed=config.allowed_backends,
            max_engines=config.max_engines,
        )
        self._executor = ThreadPoolExecutor(config.workers, thread_name_prefix="restore-worker")
        self.state = ServerState(
            config,
            engines,
            StreamSlots(config.max_streams),
            self.metrics,
            self._executor,
            StreamSlots(config.max_images, "concurrent image calls"),
        )
        self.live = LiveManager(
            parse_rules(config.live_allow),
            lambda model, backend: engines.for_stream(model, backend),
            output_rules=parse_rules(config.live_output_allow),
            admit=self.state.slots.acquire,
            limits=config.limits,
            on_start=self._watch_latency,
            on_forget=lambda session: self.metrics.live_latency.remove(session.id),
        )
        self.metrics.watch_live(lambda: [(s.id, s.counters.snapshot()) for s in self.live.sessions()])
        self.jobs = _jobs_core(config)
        if self.jobs is not None:
            self.metrics.watch_jobs(self.jobs.store.counts)
        self.port: int | None = None
        self.metrics_port: int | None = None
        self.web_port: int | None = None
        self._web: WebServer | None = None
        self._server: grpc.aio.Server | None = None
        self._health = health.aio.HealthServicer()
        self._http: Any = None

    def _watch_latency(self, session: LiveSession) -> None:
        session.counters.on_latency = self.metrics.live_latency.labels(session.id).observe

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> int:
        """Load the preloaded models, bind, start serving; returns the bound port."""
        config = self.config
        loop = asyncio.get_running_loop()
        for model in config.preload:
            await loop.run_in_executor(self._executor, self.state.engines.preload, model, "")
        size = config.max_message_bytes
        interceptors: list[grpc.aio.ServerInterceptor] = [CallInterceptor(self.metrics)]
        if config.tokens:
            interceptors.append(AuthInterceptor(config.tokens, self.metrics))
        server = grpc.aio.server(
            interceptors=interceptors,
            options=[
                ("grpc.max_receive_message_length", size),
                ("grpc.max_send_message_length", size),
                ("grpc.so_reuseport", 0),
            ],
        )
        pb_grpc.add_RestorerServicer_to_server(RestorerServicer(self.state), server)
        live_grpc.add_LiveServicer_to_server(LiveServicer(self.state, self.live), server)
        services = [SERVICE_NAME, LIVE_SERVICE_NAME]
        if self.jobs is not None:
            jobs_grpc.add_JobsServicer_to_server(JobsServicer(self.state, self.jobs), server)
            services.append(JOBS_SERVICE_NAME)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection(
            (
                *services,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ),
            server,
        )
        address = config.address
        try:
            if config.tls is not None:
                check_tls_files(config.tls)
                credentials = grpc.ssl_server_credentials(
                    [(config.tls.private_key, config.tls.certificate)],
                    root_certificates=config.tls.client_ca,
                    require_client_auth=config.tls.client_ca is not None,
                )
                port: int = server.add_secure_port(address, credentials)
            else:
                port = server.add_insecure_port(address)
        except RuntimeError:  # grpcio's "Failed to bind to address": the reason is only in its log
            port = 0
        if port == 0:
            raise ConfigError(f"cannot listen on {address} (in use, or not a local address)")
        if config.web_port is not None:
            self._web = self._web_page()  # binds now: a port in use fails before gRPC serves
            self.web_port = self._web.start()
        await server.start()
        self._server, self.port = server, port
        if config.metrics_port is not None:
            self._http = self.metrics.serve_http(config.metrics_host, config.metrics_port)
            self.metrics_port = int(self._http.server_port)
        await self._health.set("", health_pb2.HealthCheckResponse.SERVING)
        await self._health.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
        log.info("serving on %s:%d (%s)", config.host, port, "TLS" if config.tls else "plaintext")
        return port

    async def stop(self, grace: float | None = None) -> None:
        """Stop accepting calls, give running ones ``grace`` seconds (default from config), end the rest.

        Calls still running after the grace period end with UNAVAILABLE and a message saying why;
        this returns only once every thread that worked for a call has finished (at most
        ``_DRAIN_SECONDS`` more), so the process can exit without a native thread still running.
        """
        if self._server is None:
            return
        grace = self.config.grace_period if grace is None else grace
        state = self.state
        state.stopping = True
        await self._health.enter_graceful_shutdown()
        # gRPC refuses new calls from now on, and cancels what is left only after our own drain.
        stopping = asyncio.create_task(self._server.stop(grace + _DRAIN_SECONDS))
        loop = asyncio.get_running_loop()
        # Live sessions end now (trailers written, sockets closed): a live feed has no end to wait for.
        await loop.run_in_executor(None, self.live.stop_all)
        deadline = time.monotonic() + grace
        while state.calls and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if state.calls:
            log.warning("ending %d call(s) that outlived the %.1f s grace period", len(state.calls), grace)
            for call in list(state.calls):
                call.shut_down()
        drained = time.monotonic() + _DRAIN_SECONDS
        while (state.calls or state.slots.threads) and time.monotonic() < drained:
            await asyncio.sleep(0.05)
        await stopping
        self._server = None
        loop = asyncio.get_running_loop()
        if self._web is not None:  # after the grace period: the page's requests in flight finish
            await loop.run_in_executor(None, self._web.close)
            self._web = None
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        await loop.run_in_executor(None, self._executor.shutdown, True)  # image calls in flight finish
        await loop.run_in_executor(None, self.state.engines.close)
        if self.jobs is not None:
            await loop.run_in_executor(None, self.jobs.close)
        if self._private_cache is not None:
            self._private_cache.cleanup()
            self._private_cache = None
        if state.slots.threads:
            log.error("%d call thread(s) still running after shutdown", state.slots.threads)

    def _web_page(self) -> WebServer:
        """The web page's server (``--web-port``): the same tokens, and the same TLS, as the API."""
        config = self.config
        tls = check_tls_files(config.tls) if config.tls is not None else None
        kinds = ["token"] * bool(config.tokens) + ["mutual TLS"] * bool(config.tls and config.tls.client_ca)
        live = self.live if config.live_allow else None  # no allowed source: no live sessions to show
        api = WebApi(self.state, self.jobs, live=live, auth=" + ".join(kinds) or "none")
        return WebServer(api, BearerTokens(config.tokens), config.web_host, config.web_port or 0, tls,
                         config.max_image_bytes)

    async def wait_for_termination(self) -> None:
        if self._server is not None:
            await self._server.wait_for_termination()

    # -- introspection ----------------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        """The server's own counters: streams running and started, threads working for calls."""
        return {
            "active_streams": self.state.slots.active,
            "streams_started": self.state.slots.started,
            "call_threads": self.state.slots.threads,
            "worker_threads": worker_threads(),
        }
