"""The fuzz corpus's seeds: tiny clips in every container and codec we read, still images, playlists.

Every medium comes from the generators in ``tests/conftest.py`` (``make_clip``, ``make_image``);
nothing is downloaded. Seeds are written once per corpus folder and read back as bytes; the
mutators in :mod:`.mutate` work on those bytes. Text seeds are inputs that must never be accepted
by the server: playlists and concat lists that name the canary files next to the server and a URL
of the harness's own listener (see :func:`server_canaries`).
"""

from __future__ import annotations

import hashlib
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from ..conftest import ClipSpec, make_clip, make_image

__all__ = ["FRAG_MP4", "Seed", "build_seeds", "corpus_digest", "png_with_size", "server_canaries"]

FRAG_MP4 = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}
_ONE_THREAD = {"threads": "1"}  # reproducible bitstreams

# name -> (file suffix, ClipSpec fields). Every container the service reads, each codec we decode.
VIDEO_SEEDS: dict[str, tuple[str, dict[str, object]]] = {
    "mp4-h264-classic": (".mp4", {"audio": ("aac",), "subtitles": True}),
    "mp4-h264-faststart": (".mp4", {"audio": ("aac",), "subtitles": True,
                                    "container_options": {"movflags": "+faststart"}}),
    "mp4-h264-fragmented": (".mp4", {"audio": ("aac",), "container_options": FRAG_MP4}),
    "mp4-hevc-fragmented": (".mp4", {"codec": "libx265", "container_options": FRAG_MP4}),
    "mp4-mpeg4-faststart": (".mp4", {"codec": "mpeg4", "container_options": {"movflags": "+faststart"}}),
    "mov-h264": (".mov", {"audio": ("aac",), "subtitles": True}),
    "mkv-h264-aac-srt": (".mkv", {"audio": ("aac",), "subtitles": True}),
    "mkv-hevc-opus": (".mkv", {"codec": "libx265", "audio": ("libopus",)}),
    "mkv-hevc-10bit": (".mkv", {"codec": "libx265", "pix_fmt": "yuv420p10le"}),
    "mkv-ffv1": (".mkv", {"codec": "ffv1"}),
    "mkv-mpeg4": (".mkv", {"codec": "mpeg4"}),
    "mkv-av1": (".mkv", {"codec": "libsvtav1"}),
    "mkv-h264-vfr": (".mkv", {"vfr": True}),
    "mkv-h264-444": (".mkv", {"pix_fmt": "yuv444p"}),
    "webm-vp9-opus-vtt": (".webm", {"codec": "libvpx-vp9", "audio": ("libopus",), "subtitles": True}),
    "webm-vp8": (".webm", {"codec": "libvpx"}),
    "ts-h264-aac": (".ts", {"audio": ("aac",)}),
    "ts-hevc": (".ts", {"codec": "libx265"}),
    "ts-mpeg4": (".ts", {"codec": "mpeg4"}),
    "flv-h264-aac": (".flv", {"audio": ("aac",)}),
    "raw-h264": (".h264", {}),
    "raw-hevc": (".hevc", {"codec": "libx265"}),
}
IMAGE_SEEDS: dict[str, tuple[str, str | None]] = {
    "png-rgb": (".png", None),
    "png-rgba": (".png", "rgba"),
    "png-gray": (".png", "gray"),
    "png-rgb48": (".png", "rgb48be"),
    "jpeg": (".jpg", None),
    "webp": (".webp", None),
    "bmp": (".bmp", None),
}
# Container -> what it streams from a pipe (the server takes these as they are).
PIPE_READABLE = {".ts", ".mkv", ".webm", ".flv", ".h264", ".hevc"}


@dataclass(frozen=True)
class Seed:
    name: str
    kind: str  # "video", "image" or "text" (text: must never be accepted by the server)
    suffix: str
    data: bytes
    frames: int = 0  # video frames in the seed (0 for text)
    tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def pipe_readable(self) -> bool:
        """Whether the server may read the bytes as they are (else the client remuxes them first)."""
        return self.suffix in PIPE_READABLE or "fragmented" in self.name


FRAMES = 8  # frames per seed clip: enough for a recurrent window and a GOP, small enough to be fast


def _spec(fields: dict[str, object]) -> ClipSpec:
    spec = ClipSpec(frames=FRAMES, width=64, height=64, **fields)  # type: ignore[arg-type]
    spec.container_options = {"fflags": "+bitexact", **spec.container_options}  # no random UIDs, no versions
    if spec.codec in ("libx264", "libx265", "mpeg4", "ffv1"):
        spec.options = {**_ONE_THREAD, **spec.options}
    return spec


def _encoder_available(name: str) -> bool:
    import av

    try:
        av.Codec(name, "w")
    except (av.FFmpegError, ValueError):  # av.codec.codec.UnknownCodecError is a ValueError
        return False
    return True


def build_seeds(folder: Path) -> list[Seed]:
    """Write (once) and read the video and image seeds under ``folder``; returns them in a fixed order."""
    folder.mkdir(parents=True, exist_ok=True)
    seeds: list[Seed] = []
    for name, (suffix, fields) in VIDEO_SEEDS.items():
        path = folder / f"{name}{suffix}"
        if not _encoder_available(str(fields.get("codec", "libx264"))):
            continue  # a PyAV build without this encoder: the other seeds still cover the container
        if not path.is_file():
            tmp = folder / f".{name}.tmp{suffix}"
            make_clip(tmp, _spec(dict(fields)))
            os.replace(tmp, path)
        tags = {"audio"} if fields.get("audio") else set()
        seeds.append(Seed(name, "video", suffix, path.read_bytes(), FRAMES, frozenset(tags)))
    for name, (suffix, pix_fmt) in IMAGE_SEEDS.items():
        path = folder / f"{name}{suffix}"
        if not path.is_file():
            make_image(path, pix_fmt=pix_fmt)
        seeds.append(Seed(name, "image", suffix, path.read_bytes(), 1))
    return seeds


def text_seeds(canary_dir: Path, listener_url: str) -> list[Seed]:
    """Inputs that name other resources: playlists, concat lists, SDP, DASH, ffmetadata.

    ``canary_dir`` is the server's working directory (holding ``secret.ts``), ``listener_url`` an
    HTTP URL of the harness's own listener: a server that opens either has read outside the call.
    """
    abs_ts = canary_dir / "secret.ts"
    host_port = listener_url.split("//", 1)[1].split("/", 1)[0]
    port = host_port.rsplit(":", 1)[1]
    texts = {
        "ffconcat": f"ffconcat version 1.0\nfile secret.ts\nfile sub/secret.ts\nfile '{abs_ts}'\n",
        "hls-local": (f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nsecret.ts\n"
                      f"#EXTINF:1.0,\nfile://{abs_ts}\n#EXTINF:1.0,\n{abs_ts}\n#EXT-X-ENDLIST\n"),
        "hls-url": (f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-KEY:METHOD=AES-128,URI=\"{listener_url}key\"\n"
                    f"#EXTINF:1.0,\n{listener_url}seg.ts\n#EXT-X-ENDLIST\n"),
        "dash": (f'<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
                 f'mediaPresentationDuration="PT1S" profiles="urn:mpeg:dash:profile:isoff-live:2011">'
                 f'<Period><AdaptationSet mimeType="video/mp4"><Representation id="v" bandwidth="1000">'
                 f'<BaseURL>{listener_url}</BaseURL><SegmentTemplate initialization="init.mp4" '
                 f'media="seg$Number$.m4s" duration="1" startNumber="1"/></Representation>'
                 f'</AdaptationSet></Period></MPD>\n'),
        "sdp": (f"v=0\no=- 0 0 IN IP4 127.0.0.1\ns=fuzz\nc=IN IP4 127.0.0.1\nt=0 0\n"
                f"m=video {port} RTP/AVP 96\na=rtpmap:96 H264/90000\n"),
        "ffmetadata": ";FFMETADATA1\ntitle=caf\xe9 \udcff\n[CHAPTER]\nTIMEBASE=1/0\nSTART=0\nEND=-1\n",
    }
    seeds = []
    for name, text in texts.items():
        data = text.encode("utf-8", "surrogateescape")
        seeds.append(Seed(name, "text", ".txt", data, 0, frozenset({"refuse"})))
    return seeds


def server_canaries(folder: Path, seeds: list[Seed]) -> None:
    """Files next to the server that no call may read: ``secret.ts`` (also in ``sub/``), ``secret.png``."""
    by_name = {s.name: s for s in seeds}
    (folder / "sub").mkdir(parents=True, exist_ok=True)
    for target in (folder / "secret.ts", folder / "sub" / "secret.ts"):
        target.write_bytes(by_name["ts-h264-aac"].data)
    (folder / "secret.png").write_bytes(by_name["png-rgb"].data)


def corpus_digest(seeds: list[Seed]) -> str:
    """A short digest of the corpus, printed with a run so two runs can be compared."""
    h = hashlib.sha256()
    for seed in seeds:
        h.update(seed.name.encode())
        h.update(seed.data)
    return h.hexdigest()[:12]


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return len(payload).to_bytes(4, "big") + kind + payload + zlib.crc32(kind + payload).to_bytes(4, "big")


_BOMBS: dict[tuple[int, int, int], bytes] = {}


def png_with_size(width: int, height: int, *, full_data: bool) -> bytes:
    """An RGB PNG declaring ``width`` x ``height``; with ``full_data`` its pixels are all zero and
    present (a decompression bomb: a few hundred KB that decode to width*height*3 bytes), else
    the header alone with one tiny IDAT (the declared size is a lie)."""
    key = (width, height, int(full_data))
    if key in _BOMBS:
        return _BOMBS[key]
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    if full_data:
        z = zlib.compressobj(9)
        row = bytes(1 + 3 * width)
        rows_per_piece = max(1, (1 << 20) // len(row))
        parts = []
        done = 0
        while done < height:
            n = min(rows_per_piece, height - done)
            parts.append(z.compress(row * n))
            done += n
        parts.append(z.flush())
        idat = b"".join(parts)
    else:
        idat = zlib.compress(bytes(1 + 3 * min(width, 64)))
    data = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
    _BOMBS[key] = data
    return data
