"""Live tests: real sources and receivers on loopback (the stamped feed of ``bench.live_feed``)."""

from __future__ import annotations

import functools
import http.server
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import pytest

from stream_restore.bench.live_feed import read_stamp

WIDTH, HEIGHT, FPS = 160, 96, 30


def wait_for(condition: Callable[[], object], timeout: float = 60.0, what: str = "the condition") -> None:
    """Poll until ``condition()`` is true; generous timeouts (a busy 2-core machine), no timing asserts."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Decoded:
    """What a viewer of a published stream saw."""

    sizes: set[tuple[int, int]] = field(default_factory=set)
    pts: list[float] = field(default_factory=list)  # video presentation times, seconds, decode order
    stamps: list[int] = field(default_factory=list)
    audio_samples: int = 0
    rate: float | None = None


def decode(url: str, **options: str) -> Decoded:
    """Decode every frame of a finished output (a file or an HLS playlist)."""
    seen = Decoded()
    with av.open(url, options=options) as container:
        video = container.streams.video[0]
        seen.rate = float(video.average_rate) if video.average_rate else None
        for frame in container.decode(*container.streams.video, *container.streams.audio):
            if isinstance(frame, av.AudioFrame):
                seen.audio_samples += frame.samples
                continue
            seen.sizes.add((frame.width, frame.height))
            seen.pts.append(float(frame.pts * frame.time_base))
            seen.stamps.append(read_stamp(frame.to_ndarray(format="gray")))
    return seen


class Receiver:
    """A viewer of a UDP MPEG-TS output: binds the port at once, decodes in a thread until closed."""

    def __init__(self, port: int) -> None:
        self.url = f"udp://127.0.0.1:{port}"
        self.seen = Decoded()
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._opened = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with av.open(self.url + "?fifo_size=100000&overrun_nonfatal=1", options={"timeout": "2000000"},
                         timeout=(60, 5)) as container:
                self._opened.set()
                for frame in container.decode(*container.streams.video, *container.streams.audio):
                    if isinstance(frame, av.AudioFrame):
                        self.seen.audio_samples += frame.samples
                    else:
                        self.seen.sizes.add((frame.width, frame.height))
                        self.seen.stamps.append(read_stamp(frame.to_ndarray(format="gray")))
                    if self._stop.is_set():
                        return
        except (av.FFmpegError, OSError) as exc:  # the 5 s read timeout once the sender stopped
            self.error = exc

    def close(self) -> None:
        self._stop.set()
        self._thread.join(15)


@pytest.fixture
def hls_server(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """(folder, base URL): a local ``http.server`` serving ``folder`` (for HLS sources)."""
    folder = tmp_path / "www"
    folder.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=folder))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def live_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(("stream-restore-live", "live-feed"))]
