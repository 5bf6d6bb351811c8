"""A push server in a process of its own (``python push_server.py rtmp /live/key``): RTMP or RTSP.

Prints ``ready URL`` once it accepts, decodes the first push it gets until it ends (or 40 video
frames), then prints one JSON line: frames, audio samples, sizes. A relay in front drops
connections that send nothing (the publisher's reachability check) and hands the first real one to
FFmpeg's one-connection ``listen`` mode. A process of its own: PyAV holds the GIL while it opens an
output, so an in-process server written in Python could not answer the publisher's handshake.
"""

from __future__ import annotations

import json
import socket
import sys
import threading

import av


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        try:
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def _relay(front: socket.socket, inner_port: int) -> None:
    while True:
        client, _ = front.accept()
        first = client.recv(65536)
        if not first:
            client.close()
            continue
        inner = socket.create_connection(("127.0.0.1", inner_port))
        inner.sendall(first)
        for a, b in ((client, inner), (inner, client)):
            threading.Thread(target=_pump, args=(a, b), daemon=True).start()
        return


def main() -> None:
    scheme, path = sys.argv[1], sys.argv[2]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        inner_port = probe.getsockname()[1]
    front = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=_relay, args=(front, inner_port), daemon=True).start()
    # listen_timeout: the default (-1) overflows in the bundled FFmpeg (ERANGE at once)
    options = {"listen": "1"} if scheme == "rtmp" else {"rtsp_flags": "listen", "listen_timeout": "60"}
    result: dict[str, object] = {"frames": 0, "audio": 0, "sizes": []}
    print(f"ready {scheme}://127.0.0.1:{front.getsockname()[1]}{path}", flush=True)
    sizes = set()
    try:
        with av.open(f"{scheme}://127.0.0.1:{inner_port}{path}", options=options) as container:
            for frame in container.decode(*container.streams.video, *container.streams.audio):
                if isinstance(frame, av.AudioFrame):
                    result["audio"] = int(result["audio"]) + frame.samples  # type: ignore[call-overload]
                else:
                    sizes.add((frame.width, frame.height))
                    result["frames"] = int(result["frames"]) + 1  # type: ignore[call-overload]
                    if int(result["frames"]) >= 40 and int(result["audio"]) > 0:  # type: ignore[call-overload]
                        break
    except (av.FFmpegError, OSError) as exc:
        result["error"] = str(exc)
    result["sizes"] = sorted(sizes)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
