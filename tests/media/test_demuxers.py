"""Security: bytes a client sends, and local files, are read only by demuxers that read nothing else.

Every refused class is fed with a real target behind it (a loopback HTTP server, a secret media file
in the working directory): the test fails if anything is fetched or read, not only on the error.
"""

from __future__ import annotations

import http.server
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from stream_restore.errors import InputError, UnsupportedError
from stream_restore.media.decode import VideoReader
from stream_restore.media.demuxers import CLIENT_STREAM, LOCAL_FILE, STREAM_DEMUXERS
from tests.conftest import make_clip


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []
    pages: ClassVar[dict[str, bytes]] = {}  # path -> body served; anything else is a 404

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        body = type(self).pages.get(self.path)
        self.send_response(404 if body is None else 200)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[tuple[str, list[str], dict[str, bytes]]]:
    """A loopback HTTP server: its base URL, the paths it was asked for, the pages it serves."""
    handler = type("Handler", (_Recorder,), {"requests": [], "pages": {}})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.requests, handler.pages
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A readable clip in the working directory, the file a concat script or playlist would name."""
    monkeypatch.chdir(tmp_path)
    return make_clip(tmp_path / "secret.ts")


def _refused_inputs(base: str, secret: Path) -> dict[str, bytes]:
    return {
        "hls": (f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n"
                f"#EXT-X-KEY:METHOD=AES-128,URI=\"{base}/key\"\n"
                f"#EXTINF:2.0,\n{base}/a.ts\n#EXTINF:2.0,\nfile://{secret}\n#EXTINF:2.0,\n{secret}\n"
                f"#EXTINF:2.0,\nsecret.ts\n#EXT-X-ENDLIST\n").encode(),
        "hls-master": f"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\n{base}/v.m3u8\n".encode(),
        "dash": (f'<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
                 f'mediaPresentationDuration="PT2S"><Period><AdaptationSet><Representation id="1" '
                 f'bandwidth="1000"><BaseURL>{base}/d.mp4</BaseURL></Representation></AdaptationSet>'
                 f'</Period></MPD>').encode(),
        "concat": b"ffconcat version 1.0\nfile secret.ts\n",
        "concat-absolute": f"ffconcat version 1.0\nfile '{secret}'\n".encode(),
        "sdp": (b"v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\n"
                b"m=video 5004 RTP/AVP 96\na=rtpmap:96 H264/90000\n"),
        "ffmetadata": b";FFMETADATA1\ntitle=\xff\xfe caf\xe9\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=10\n",
    }


@pytest.mark.parametrize(
    "kind", ["hls", "hls-master", "dash", "concat", "concat-absolute", "sdp", "ffmetadata"]
)
def test_client_bytes_of_a_referencing_format_are_refused_unread(kind, http_server, secret):
    base, requests, _ = http_server
    data = _refused_inputs(base, secret)[kind]
    with pytest.raises(InputError) as caught:
        VideoReader(io.BytesIO(data))
    assert "\n" not in str(caught.value)
    assert requests == [], f"the server fetched {requests}"


@pytest.mark.parametrize("fmt", ["hls", "concat", "sdp", "rtsp", "image2", "lavfi", "ffmetadata", "tty",
                                 "video4linux2", "mpegtsraw", "no-such-demuxer"])
def test_client_cannot_name_a_demuxer_outside_the_allow_list(fmt, http_server, secret):
    base, requests, _ = http_server
    payloads = {
        "lavfi": b"movie=secret.ts",
        "image2": b"secret.%02d.png",
        "hls": _refused_inputs(base, secret)["hls"],
    }
    with pytest.raises(UnsupportedError, match="not accepted from a client stream"):
        VideoReader(io.BytesIO(payloads.get(fmt, b"ffconcat version 1.0\nfile secret.ts\n")), format=fmt)
    assert requests == []


def test_local_file_disguised_as_video_does_not_pull_other_files(secret, tmp_path, http_server):
    base, requests, _ = http_server
    for kind, data in _refused_inputs(base, secret).items():
        disguised = tmp_path / f"{kind}.mp4"
        disguised.write_bytes(data)
        with pytest.raises(InputError):
            VideoReader(disguised)
    assert requests == []


def test_a_local_playlist_is_read_only_when_asked_for(secret, tmp_path):
    playlist = tmp_path / "list.ffconcat"
    playlist.write_bytes(b"ffconcat version 1.0\nfile secret.ts\n")
    with pytest.raises(UnsupportedError, match="concat"):
        VideoReader(playlist)
    with VideoReader(playlist, format="concat") as reader:  # the CLI user named the demuxer
        assert reader.info.width == 64


@pytest.mark.parametrize(("name", "codec"), [
    ("in.ts", "libx264"), ("in.mkv", "libx264"), ("in.webm", "libvpx-vp9"), ("in.mp4", "libx264"),
    ("in.flv", "libx264"), ("in.h264", "libx264"), ("in.hevc", "libx265"), ("in.ivf", "libvpx-vp9"),
    ("in.nut", "libx264"),
])
def test_every_allowed_container_is_read_from_a_byte_stream(tmp_path, name, codec):
    path = make_clip(
        tmp_path / name, codec=codec, options={"x265-params": "log-level=error"} if "265" in codec else {}
    )
    with VideoReader(io.BytesIO(path.read_bytes())) as reader:
        assert (reader.info.width, reader.info.height) == (64, 48)
        assert reader.info.codec in ("h264", "hevc", "vp9")


def test_policies_name_what_they_allow():
    assert {"hls", "concat", "image2", "lavfi", "sdp"}.isdisjoint(CLIENT_STREAM.demuxers())
    assert set(CLIENT_STREAM.demuxers()) == STREAM_DEMUXERS
    local = LOCAL_FILE.demuxers()
    assert (
        "avi" in local and "mpegts" in local and not {"hls", "concat", "image2", "lavfi", "sdp"} & set(local)
    )
    assert CLIENT_STREAM.open_options(None)["protocol_whitelist"] == ""


def test_a_remote_playlist_cannot_name_local_files(http_server, secret):
    """An operator's URL may be HLS, but the playlist it serves reaches no file on this machine."""
    base, requests, handler_pages = http_server
    handler_pages["/list.m3u8"] = (f"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nfile://{secret}\n"
                                   f"#EXTINF:2.0,\n{secret}\n#EXT-X-ENDLIST\n").encode()
    with pytest.raises(InputError):  # the secret is a readable clip: opening would have succeeded
        VideoReader(f"{base}/list.m3u8")
    assert requests[0] == "/list.m3u8"  # a bare path resolves against the playlist's host, not the disk
    handler_pages["/good.m3u8"] = (
        f"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n{base}/seg.ts\n#EXT-X-ENDLIST\n".encode()
    )
    handler_pages["/seg.ts"] = secret.read_bytes()
    with VideoReader(f"{base}/good.m3u8") as reader:  # segments over the network are fine
        assert reader.info.width == 64
