"""Run a :class:`RestoreServer` in a background thread with its own event loop (demo, tests, benches)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from .app import RestoreServer
from .config import ServerConfig

__all__ = ["server_in_thread"]


async def _stop(server: RestoreServer, grace: float) -> None:
    """Stop the server, then let cancelled calls finish their clean-up before the loop stops."""
    await server.stop(grace)
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    if others:
        await asyncio.wait(others, timeout=5.0)


@contextlib.contextmanager
def server_in_thread(
    config: ServerConfig, *, grace: float = 0.5, start_timeout: float = 120.0
) -> Iterator[RestoreServer]:
    """Start the server (``server.port`` is bound when this yields); stop it on exit."""
    loop = asyncio.new_event_loop()
    server = RestoreServer(config)
    ready = threading.Event()
    failure: list[BaseException] = []

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.start())
        except BaseException as exc:
            failure.append(exc)
            return
        finally:
            ready.set()
        loop.run_forever()

    thread = threading.Thread(target=main, name="restore-server-loop", daemon=True)
    thread.start()
    ready.wait(start_timeout)
    if failure:
        thread.join(5)
        loop.close()
        raise failure[0]
    if server.port is None:
        raise TimeoutError(f"the server did not start within {start_timeout:g} s")
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(_stop(server, grace), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
