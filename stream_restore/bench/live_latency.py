"""Live latency on loopback: a stamped feed -> a live session -> a UDP viewer, figures per model.

    python -m stream_restore.bench.live_latency --model identity --model sr-fast-x2 --fps 30
    python -m stream_restore.bench.live_latency --serve http://127.0.0.1:8554/feed   # a test feed only

Per model, a :class:`~stream_restore.bench.live_feed.Feed` serves H.264 + AAC over HTTP in real
time, a :class:`~stream_restore.live.LiveSession` restores it (the default ``drop`` policy, the
given ``--max-latency``) and publishes MPEG-TS over UDP, and a viewer in this process decodes
that and reads the frame number stamped into each picture. Two figures, over ``--seconds`` after
``--warmup``: **per-frame latency** (the session's own: receipt of the frame's packet -> its
packets handed to the output mux) and **glass-to-glass** (the feed's capture of frame n -> the
viewer decoding frame n: feed encode, HTTP, demux, decode, pacing, model, encode, UDP, viewer
decode). Frames the drop policy left out have no glass-to-glass figure; they are counted. Every
part shares the same cores (feed, session, viewer), as a loopback test must. With audio, a muxer
holds each video frame until the AAC encoder's output (two 1024-sample frames behind its input)
reaches its timestamp: ``--no-audio`` shows the figures without that.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
from dataclasses import asdict, dataclass

import av

from ..backends import BackendOptions
from ..live import IngestOptions, LiveConfig, LiveSession, engine_lease, parse_output
from ..option_values import parse_size
from ..paths import cache_dir
from .live_feed import Feed, read_stamp

__all__ = ["LiveFigures", "main", "measure"]


@dataclass(frozen=True)
class LiveFigures:
    model: str
    size: str
    fps: int
    frames_sent: int
    frames_published: int
    dropped: int
    output_fps: float
    latency_p50_ms: float
    latency_p95_ms: float
    latency_max_ms: float
    glass_p50_ms: float
    glass_p95_ms: float
    glass_max_ms: float


class _Viewer:
    """Decodes the session's UDP output and notes when each stamped frame arrives."""

    def __init__(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            self.url = f"udp://127.0.0.1:{probe.getsockname()[1]}"
        self.seen: list[tuple[int, float]] = []  # (frame number, time.monotonic() decoded)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-viewer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with av.open(self.url + "?fifo_size=100000&overrun_nonfatal=1",
                         options={"timeout": "2000000", "flags": "low_delay"}, timeout=(120, 5)) as container:
                for frame in container.decode(video=0):
                    self.seen.append((read_stamp(frame.to_ndarray(format="gray")), time.monotonic()))
                    if self._stop.is_set():
                        return
        except (av.FFmpegError, OSError):
            return  # the read timeout once the session stopped sending

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)


def _ms(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(model: str, *, width: int, height: int, fps: int, seconds: float, warmup: float,
            max_latency: float, backend: str = "auto", audio: bool = True,
            engine_dir: str | None = None) -> LiveFigures:
    viewer = _Viewer()
    latencies: list[tuple[float, float]] = []  # (time muxed, latency)
    with Feed("http://127.0.0.1:0/feed", width=width, height=height, fps=fps, audio=audio) as feed:
        config = LiveConfig(feed.url, (parse_output(viewer.url, allow_local=False),), model=model,
                            backend=backend, ingest=IngestOptions(max_latency=max_latency))
        options = BackendOptions(cache_dir=engine_dir) if engine_dir else BackendOptions()
        session = LiveSession(config, engine_lease(options))
        session.counters.on_latency = lambda value: latencies.append((time.monotonic(), value))
        session.start()
        deadline = time.monotonic() + 300
        while session.counters.frames_out == 0 and not session.done.is_set():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{model}: no frame published within 300 s")
            time.sleep(0.1)
        time.sleep(warmup)
        start, first_sent, before = time.monotonic(), feed.next_frame, session.counters.snapshot()
        time.sleep(seconds)
        end, last_sent, after = time.monotonic(), feed.next_frame, session.counters.snapshot()
        session.stop()
        viewer.close()
        sent = dict(feed.sent)
    if session.error is not None:
        raise session.error
    window = [value for when, value in latencies if start <= when < end]
    glass, last, odd = [], None, 0
    for number, when in viewer.seen:
        # Frames arrive in order, at most a few seconds of drops apart: a stamp that is not a little
        # after the last good one is a misread (a damaged picture), left out (unless five in a row
        # say the last good one was the misread).
        if last is not None and not 0 < number - last <= 3 * fps and odd < 5:
            odd += 1
            continue
        last, odd = number, 0
        if first_sent <= number < last_sent and number in sent:
            glass.append(when - sent[number])
    return LiveFigures(
        model=model, size=f"{width}x{height}", fps=fps, frames_sent=last_sent - first_sent,
        frames_published=after.frames_out - before.frames_out, dropped=after.dropped - before.dropped,
        output_fps=(after.frames_out - before.frames_out) / (end - start),
        latency_p50_ms=_ms(window, 0.5), latency_p95_ms=_ms(window, 0.95), latency_max_ms=_ms(window, 1.0),
        glass_p50_ms=_ms(glass, 0.5), glass_p95_ms=_ms(glass, 0.95), glass_max_ms=_ms(glass, 1.0),
    )


def _serve(url: str, width: int, height: int, fps: int, audio: bool) -> int:
    feed = Feed(url, width=width, height=height, fps=fps, audio=audio).start()
    sys.stdout.write(f"serving a {width}x{height} {fps} fps test feed at {feed.url} (Ctrl-C stops)\n")
    sys.stdout.flush()
    try:
        while feed.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        feed.stop()
    if feed.error is not None:
        sys.stderr.write(f"feed failed: {feed.error}\n")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stream_restore.bench.live_latency", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-m", "--model", action="append", help="model (repeatable; default identity)")
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--size", default="320x180", help="feed size WxH (default 320x180)")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per model (default 20)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds after the first frame, unmeasured")
    parser.add_argument("--max-latency", type=float, default=1000.0, metavar="MS", help="the drop bound (ms)")
    parser.add_argument("--json", action="store_true", help="one JSON object per model")
    parser.add_argument("--serve", metavar="URL", help="only serve a stamped test feed at this http:// or "
                                                       "udp:// URL or .m3u8 path, until Ctrl-C")
    parser.add_argument("--no-audio", action="store_true", help="a feed without audio")
    args = parser.parse_args(argv)
    width, height = parse_size(args.size)
    if args.serve:
        return _serve(args.serve, width, height, args.fps, not args.no_audio)
    rows = [measure(model, width=width, height=height, fps=args.fps, seconds=args.seconds, warmup=args.warmup,
                    max_latency=args.max_latency / 1000, backend=args.backend, audio=not args.no_audio,
                    engine_dir=str(cache_dir(os.environ) / "engines"))
            for model in args.model or ["identity"]]
    if args.json:
        for row in rows:
            print(json.dumps(asdict(row)))
        return 0
    print(f"{'model':<14} {'size':>9} {'fps':>4} {'sent':>5} {'out':>5} {'drop':>5} {'out fps':>7} "
          f"{'frame p50/p95/max ms':>22} {'glass p50/p95/max ms':>22}")
    for r in rows:
        print(f"{r.model:<14} {r.size:>9} {r.fps:>4} {r.frames_sent:>5} {r.frames_published:>5} "
              f"{r.dropped:>5} {r.output_fps:>7.1f} "
              f"{r.latency_p50_ms:>8.0f}/{r.latency_p95_ms:.0f}/{r.latency_max_ms:.0f}{'':>4}{r.glass_p50_ms:>8.0f}/{r.glass_p95_ms:.0f}/{r.glass_max_ms:.0f}")
    if any(r.dropped for r in rows):
        print("(drop: frames left out to keep latency under --max-latency; no glass-to-glass figure)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
