"""A stamped live feed on loopback, and a reader of stamps: the test source of live sessions.

:class:`Feed` encodes a moving pattern (H.264 ultrafast/zerolatency, 1 s GOP, an AAC tone) in real
time and serves it the way a camera or encoder would: an ``http://`` URL in listen mode (an HTTP
server of its own streaming MPEG-TS; after a viewer leaves, the feed waits for the next),
``udp://`` pushed as MPEG-TS datagrams, or a ``.m3u8`` path written as rolling HLS segments (serve
the folder with any web server). PyAV 18 passes no protocol options to the output it opens
(``avio_open``), so FFmpeg's own ``listen`` mode cannot be used from it: the HTTP server is ours.

Every frame carries its number in a strip of 16 black/white blocks at the bottom (:func:`read_stamp`
reads it back at any scale), so glass-to-glass latency is the time between
:attr:`Feed.sent` of that number and the moment a viewer decodes it.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlsplit

import av
import numpy as np

from ..media.samples import sample_frame

__all__ = ["STAMP_BITS", "Feed", "read_stamp", "stamp"]

log = logging.getLogger(__name__)

STAMP_BITS = 16  # frame numbers up to 65535 (36 minutes at 30 fps)
_AUDIO_RATE = 44100  # Hz: not the session's 48 kHz, so its resampler is exercised
_LISTEN_POLL = 0.5  # seconds one accept waits before looking at the stop flag again
_TS_OPTIONS = {"flush_packets": "1", "omit_video_pes_length": "0", "pes_payload_size": "0",
               "max_interleave_delta": "1"}  # each frame leaves at once (no wait for the AAC encoder)


def stamp(image: np.ndarray, number: int) -> np.ndarray:
    """``image`` (H, W, 3 uint8) with ``number`` in the bottom strip (1/6 of the height, 16 blocks)."""
    height, width = image.shape[:2]
    strip = max(4, height // 6)
    out = image.copy()
    for bit in range(STAMP_BITS):
        x0, x1 = bit * width // STAMP_BITS, (bit + 1) * width // STAMP_BITS
        out[height - strip:, x0:x1] = 255 if number >> bit & 1 else 0
    return out


def read_stamp(gray: np.ndarray) -> int:
    """The number :func:`stamp` put into a (possibly scaled, compressed) frame's luma ``gray`` (H, W)."""
    height, width = gray.shape[:2]
    y = height - max(2, height // 12)
    number = 0
    for bit in range(STAMP_BITS):
        x = (2 * bit + 1) * width // (2 * STAMP_BITS)
        if int(gray[y, x]) > 128:
            number |= 1 << bit
    return number


class _SocketWriter:
    """What PyAV writes a live container into: a connected socket (no seeking)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def write(self, data: bytes) -> int:
        self.sock.sendall(data)
        return len(data)


class Feed:
    """A live source served at :attr:`url` until :meth:`stop` (see the module docstring).

    ``target``: ``http://127.0.0.1:PORT/PATH`` (PORT 0 picks a free port; :attr:`url` has the one
    taken), ``udp://HOST:PORT`` or a ``.m3u8`` path. ``sent[n]`` is the ``time.monotonic()`` at which
    frame ``n`` was captured (just before it was encoded); ``connections`` counts the viewers served
    (HTTP). ``frames`` ends the feed after that many frames (None: until stopped).
    """

    def __init__(self, target: str, *, width: int = 160, height: int = 96, fps: int = 30, audio: bool = True,
                 frames: int | None = None, pattern: Callable[[int, int, int], np.ndarray] = sample_frame
                 ) -> None:
        self.width, self.height, self.fps, self.audio = width, height, fps, audio
        self.frames, self.pattern = frames, pattern
        self.sent: dict[int, float] = {}
        self.connections = 0
        self.next_frame = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._interrupt = threading.Event()
        self._listener: socket.socket | None = None
        parts = urlsplit(target) if "://" in target else None
        self.scheme = parts.scheme.lower() if parts else ""
        if parts is not None and self.scheme == "http":
            host, port = parts.hostname or "127.0.0.1", 80 if parts.port is None else parts.port
            self._listener = socket.create_server((host, port))
            self._listener.settimeout(_LISTEN_POLL)
            port = self._listener.getsockname()[1]
            self.path = parts.path or "/"
            self.url = f"http://{host}:{port}{self.path}"
        elif (parts is None and target.endswith(".m3u8")) or self.scheme == "udp":
            self.url = target
        else:
            raise ValueError(f"a feed is served over http://, udp:// or into a .m3u8 path, not {target}")
        self._thread = threading.Thread(target=self._run, name="live-feed", daemon=True)

    def start(self) -> Feed:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        if self._listener is not None:
            self._listener.close()

    def interrupt(self) -> None:
        """Drop the current viewer (the feed goes on listening): a source that goes away and comes back."""
        self._interrupt.set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> Feed:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- serving ----------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            if self._listener is None:
                self._push()
                return
            while not self._stop.is_set():
                viewer = self._accept()
                if viewer is None:
                    continue
                with viewer:
                    self.connections += 1
                    self._interrupt.clear()
                    try:
                        out = av.open(_SocketWriter(viewer), "w", format="mpegts", options=_TS_OPTIONS)
                        if self._serve(out):
                            out.close()
                            self._linger(viewer)
                            return
                    except (av.FFmpegError, OSError) as exc:  # the viewer went away
                        log.debug("feed %s: viewer gone (%s)", self.url, exc)
        except BaseException as exc:
            self.error = exc
            raise

    def _accept(self) -> socket.socket | None:
        """The next viewer that asked for our path (answered with the HTTP header), or None."""
        assert self._listener is not None
        try:
            viewer, _ = self._listener.accept()
        except TimeoutError:
            return None
        viewer.settimeout(10.0)
        request = b""
        try:
            while b"\r\n\r\n" not in request and len(request) < 65536:
                chunk = viewer.recv(4096)
                if not chunk:
                    break
                request += chunk
            line = request.split(b"\r\n", 1)[0].decode("latin-1").split()
            if len(line) < 2 or line[0] != "GET" or line[1].split("?")[0] != self.path:
                viewer.sendall(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                viewer.close()
                return None
            viewer.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: video/mp2t\r\nCache-Control: no-cache\r\n\r\n")
        except OSError:
            viewer.close()
            return None
        return viewer

    def _linger(self, viewer: socket.socket) -> None:
        """End the stream gracefully: FIN after the last byte, then wait (up to a minute) for the viewer
        to read it all and hang up (closing at once could reset the connection and lose the tail)."""
        viewer.shutdown(socket.SHUT_WR)
        viewer.settimeout(_LISTEN_POLL)
        deadline = time.monotonic() + 60
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                if not viewer.recv(4096):
                    return
            except TimeoutError:
                continue

    def _push(self) -> None:
        if self.scheme == "udp":
            url = self.url if "pkt_size" in self.url else self.url + ("&" if "?" in self.url else "?") + \
                "pkt_size=1316"
            out = av.open(url, "w", format="mpegts", options=_TS_OPTIONS)
        else:
            name = Path(self.url)
            out = av.open(self.url, "w", format="hls", options={
                "hls_time": "1", "hls_list_size": "6", "hls_flags": "delete_segments",
                "hls_segment_filename": str(name.with_name(name.stem + "-%05d.ts"))})
        try:
            self._serve(out)
        finally:
            out.close()

    def _serve(self, out: av.container.OutputContainer) -> bool:
        """Send frames in real time until stopped, interrupted or done; True when the feed is over."""
        video = out.add_stream("libx264", rate=self.fps, options={
            "preset": "ultrafast", "tune": "zerolatency", "g": str(self.fps), "bf": "0"})
        video.width, video.height, video.pix_fmt = self.width, self.height, "yuv420p"
        video.codec_context.time_base = Fraction(1, self.fps)
        sound = None
        if self.audio:
            sound = out.add_stream("aac", rate=_AUDIO_RATE)
            sound.codec_context.layout = "mono"
        start = time.monotonic()
        first = self.next_frame
        samples = 0
        while not self._stop.is_set() and not self._interrupt.is_set():
            if self.frames is not None and self.next_frame >= self.frames:
                return True
            index = self.next_frame
            delay = start + (index - first) / self.fps - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            image = stamp(self.pattern(index, self.width, self.height), index)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
            frame.pts = index - first
            self.sent[index] = time.monotonic()
            out.mux(video.encode(frame))
            if sound is not None:
                samples = _tone(out, sound, samples, (index - first + 1) * _AUDIO_RATE // self.fps)
            self.next_frame = index + 1
        return self._stop.is_set()


def _tone(out: av.container.OutputContainer, sound: av.audio.stream.AudioStream, done: int,
          until: int) -> int:
    """Encode a 440 Hz tone from sample ``done`` up to ``until``; returns the new count."""
    count = until - done
    if count <= 0:
        return done
    t = (np.arange(done, until) / _AUDIO_RATE).astype(np.float32)
    chunk = av.AudioFrame.from_ndarray((0.2 * np.sin(2 * np.pi * 440 * t))[None, :], format="fltp",
                                       layout="mono")
    chunk.sample_rate, chunk.pts = _AUDIO_RATE, done
    out.mux(sound.encode(chunk))
    return until
