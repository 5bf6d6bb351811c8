"""Fuzz cases: what one input is (target, seed, mutations, options), drawn from ``(seed, index)`` alone.

A case depends only on the run's seed and its own index, never on the cases before it, so any case
of a long run can be replayed alone (``python -m tests.fuzz --seed S --replay I``) and two runs with
the same seed see the same inputs in any order and with any number of jobs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from .mutate import Mutation, choose_mutations
from .seeds import Seed

__all__ = ["FORBIDDEN_INPUT_FORMATS", "FORBIDDEN_OUTPUT_CONTAINERS", "PINNED_BASE", "TARGETS", "Case", "make_case",
           "pinned_cases"]

TARGETS = ("cli", "restore", "image", "frames", "wire")
GRPC_TARGETS = ("restore", "image", "frames", "wire")
# share of cases per target when a run covers several
_TARGET_WEIGHTS = {"cli": 0.48, "restore": 0.28, "image": 0.11, "frames": 0.09, "wire": 0.04}

# Demuxers that open other resources (files, URLs, devices, ports) or read no pipe: a call naming one
# must never succeed. Allowed ones read only the bytes the client sent.
FORBIDDEN_INPUT_FORMATS = ("hls", "dash", "concat", "sdp", "rtsp", "rtp", "image2", "lavfi", "imf",
                           "webm_dash_manifest", "v4l2", "x11grab", "fbdev", "kmsgrab", "tee", "data", "http", "file")
ALLOWED_INPUT_FORMATS = ("mpegts", "matroska", "webm", "flv", "h264", "hevc", "mov", "mp4")
# Muxers that write files of their own (next to the server) instead of the output stream.
FORBIDDEN_OUTPUT_CONTAINERS = ("image2", "segment", "tee", "hls", "dash", "stream_segment", "fifo")

MODELS = (("identity", 0.72), ("bicubic-x2", 0.2), ("nosuch-model", 0.04), ("", 0.04))
VIDEO_OUTPUTS = (".mp4", ".mkv", ".ts", ".mov", ".webm")
IMAGE_OUTPUTS = (".png", ".jpg", ".webp", ".bmp")
CLI_EXTRA_FLAGS = (
    ("--crf", "999"), ("--crf", "-5"), ("--preset", "bogus"), ("--bitrate", "1"), ("--bitrate", "9999G"),
    ("--fps", "30000/0"), ("--fps", "1e9"), ("--fps", "30000"), ("--gop", "-1"), ("--pix-fmt", "bogus"),
    ("--pix-fmt", "gray"), ("--codec", "mpeg2video"), ("--codec", "mjpeg"), ("--codec", "h264_nvenc"),
    ("--codec", "ffv1"), ("--codec", "hevc"), ("--max-size", "1x1"), ("--tile-max-pixels", "64"),
    ("--quality", "0"), ("--quality", "101"), ("--no-scene-detect",),
)
BIG = (1 << 62, (1 << 31) - 1, -1)
_OUTPUT_VALUES: dict[str, tuple[Any, ...]] = {
    "container": ("mpegts", "matroska", "mp4", "webm", "null", "bogus", *FORBIDDEN_OUTPUT_CONTAINERS),
    "codec": ("h264", "hevc", "vp9", "ffv1", "mpeg2video", "mjpeg", "h264_nvenc", "bogus", "png", "rawvideo"),
    "crf": (-5, 0, 51, 1000, (1 << 31) - 1),
    "bitrate": (1, 2, 1 << 62, -1),
    "preset": ("bogus", "ultrafast", "placebo"),
    "tune": ("bogus", "zerolatency"),
    "pix_fmt": ("bogus", "gray", "yuv444p", "rgb24", "yuv420p10le"),
    "gop": (-1, 1, (1 << 31) - 1),
}


@dataclass
class Case:
    index: int
    target: str
    seed: str  # name of the seed the input starts from ("" for frames cases)
    mutations: list[Mutation] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    refuse: bool = False  # the server must never answer OK (reads outside the call, writes files)

    def describe(self) -> str:
        muts = ", ".join(m.describe() for m in self.mutations) or "unmutated"
        return f"#{self.index} {self.target} {self.seed or '-'} [{muts}] {self.options}"


def _pick(rng: random.Random, weighted: tuple[tuple[Any, float], ...]) -> Any:
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights)[0]


def _maybe(rng: random.Random, p: float, choices: tuple[Any, ...], default: Any) -> Any:
    return rng.choice(choices) if rng.random() < p else default


PINNED_BASE = 1_000_000  # case numbers from here on are the pinned cases below, the same in every run


def _restore_options(**changes: Any) -> dict[str, Any]:
    options: dict[str, Any] = {"input_format": "", "output": {}, "model": {"model": "identity"}, "low_latency": False,
                               "progress_interval": 0, "chunks": 1}
    options.update(changes)
    return options


def _cli_options(out_suffix: str, in_suffix: str) -> dict[str, Any]:
    return {"in_suffix": in_suffix, "out_suffix": out_suffix, "model": "identity", "flags": []}


_NON_UTF8_APP = Mutation("ebml_set", (0x5741, "fill", 0xFF))  # WritingApp: bytes that are not UTF-8
_NON_UTF8_TAG = Mutation("ebml_set", (0x45A3, "fill", 0x96))  # TagName: a stream tag that is not UTF-8
_NON_UTF8_HANDLER = Mutation("mp4_set", ("hdlr", 24, 4, 0xFFFFFFFE))  # MOV handler names that are not UTF-8
_FIRST_SAMPLE_EMPTY = Mutation("mp4_set", ("stsz", 12, 4, 0, 1))  # the 2nd track's (AAC) first sample: 0 bytes
_FPS_30000 = (Mutation("ebml_set", (0x23E383, "uint", 33_333)), Mutation("ebml_set", (0x4489, "float", 1e6)))
_FLOOD = {"format": 1, "width": 64, "height": 48, "frames": 1, "model": "identity", "output_format": 0,
          "reset_every": 0, "mutations": [], "style": "flood"}


def pinned_cases() -> list[Case]:
    """One case per defect class of issue 10, so every run (the short one too) covers them all."""
    b = PINNED_BASE
    return [
        Case(b + 0, "image", "png-rgb", [Mutation("png_size", (8192, 4352, 1))], {**_IMAGE_DEFAULTS}),
        Case(b + 1, "image", "png-rgb", [Mutation("png_size", (65535, 65535, 0))], {**_IMAGE_DEFAULTS}),
        Case(b + 2, "frames", "", [], {**_FLOOD, "flood": "huge-declared"}),
        Case(b + 3, "frames", "", [], {**_FLOOD, "flood": "beyond-declared"}),
        Case(b + 4, "cli", "mp4-h264-classic", [Mutation("splice_with", ("mp4-h264-faststart", 500, 500))],
             _cli_options(".mp4", ".mp4")),
        Case(b + 5, "cli", "mp4-h264-faststart", [Mutation("splice_with", ("mp4-h264-classic", 300, 600))],
             _cli_options(".mkv", ".mp4")),
        Case(b + 6, "restore", "hls-local", [], _restore_options(input_format="hls"), refuse=True),
        Case(b + 7, "restore", "hls-url", [], _restore_options(input_format="hls"), refuse=True),
        Case(b + 8, "restore", "ffconcat", [], _restore_options(), refuse=True),
        Case(b + 9, "image", "ffconcat", [], {**_IMAGE_DEFAULTS}, refuse=True),
        Case(b + 10, "restore", "ts-h264-aac", [], _restore_options(output={"preset": "bogus"})),
        Case(b + 11, "restore", "ts-h264-aac", [], _restore_options(output={"bitrate": 1})),
        Case(b + 12, "restore", "ts-h264-aac", [], _restore_options(output={"codec": "mpeg2video"})),
        Case(b + 13, "restore", "ffmetadata", [], _restore_options(input_format="ffmetadata"), refuse=True),
        Case(b + 14, "restore", "mkv-h264-aac-srt", [_NON_UTF8_APP], _restore_options()),
        Case(b + 15, "cli", "mkv-h264-aac-srt", [_NON_UTF8_APP], _cli_options(".mkv", ".mkv")),
        Case(b + 16, "cli", "mkv-h264-aac-srt", list(_FPS_30000), _cli_options(".mkv", ".mkv")),
        Case(b + 17, "restore", "mkv-h264-aac-srt", list(_FPS_30000), _restore_options()),
        Case(b + 18, "restore", "ts-h264-aac", [], _restore_options(output={"container": "image2"}), refuse=True),
        Case(b + 19, "restore", "ts-h264-aac", [], _restore_options(model={"model": "identity",
                                                                           "backend": "onnxruntime"})),
        Case(b + 20, "wire", "", [], {"method": "RestoreImage", "how": "bad-utf8", "salt": 0}),
        Case(b + 21, "wire", "", [], {"method": "Restore", "how": "bad-utf8", "salt": 0}),
        Case(b + 22, "restore", "mp4-h264-classic", [], _restore_options()),
        Case(b + 23, "restore", "sdp", [], _restore_options(input_format="sdp"), refuse=True),
        Case(b + 24, "restore", "dash", [], _restore_options(input_format="dash"), refuse=True),
        Case(b + 25, "cli", "ts-h264-aac", [Mutation("truncate", (7,))], _cli_options(".mp4", ".ts")),
        Case(b + 26, "image", "mkv-h264-aac-srt", [_NON_UTF8_TAG], {**_IMAGE_DEFAULTS}),
        Case(b + 27, "restore", "mkv-h264-aac-srt", [_NON_UTF8_TAG], _restore_options()),
        Case(b + 28, "cli", "mkv-h264-aac-srt", [_NON_UTF8_TAG], _cli_options(".mkv", ".mkv")),
        Case(b + 29, "restore", "ts-h264-aac", [], _restore_options(output={"codec": "ffv1"})),
        Case(b + 30, "cli", "ts-h264-aac", [], {**_cli_options(".ts", ".ts"), "flags": ["--codec", "ffv1"]}),
        Case(b + 31, "image", "sdp", [], {**_IMAGE_DEFAULTS}, refuse=True),
        Case(b + 32, "restore", "sdp", [], _restore_options(), refuse=True),
        Case(b + 33, "image", "hls-url", [], {**_IMAGE_DEFAULTS}, refuse=True),
        Case(b + 34, "cli", "mov-h264", [Mutation("cut", (500,))],
             {**_cli_options(".ts", ".mov"), "command": "client"}),
        Case(b + 35, "restore", "mov-h264", [Mutation("cut", (500,))], {"model": {"model": "identity"},
                                                                         "via_client": ".ts"}),
        Case(b + 36, "restore", "mov-h264", [_NON_UTF8_HANDLER], {"model": {"model": "identity"}, "via_client": ".mkv"}),
        Case(b + 37, "cli", "mov-h264", [_NON_UTF8_HANDLER], {**_cli_options(".mkv", ".mov"), "command": "client"}),
        Case(b + 38, "restore", "mp4-h264-faststart", [_FIRST_SAMPLE_EMPTY], _restore_options()),
        Case(b + 39, "cli", "mp4-h264-faststart", [_FIRST_SAMPLE_EMPTY],
             {**_cli_options(".ts", ".mp4"), "command": "client"}),
    ]


_IMAGE_DEFAULTS: dict[str, Any] = {"model": "identity", "output_format": "", "quality": 0, "tile_max_pixels": 0}


def make_case(run_seed: int, index: int, targets: tuple[str, ...], seeds: list[Seed]) -> Case:
    """Case number ``index`` of the run ``run_seed`` over ``targets`` (a pinned case from PINNED_BASE on)."""
    if index >= PINNED_BASE:
        pinned = pinned_cases()
        if index - PINNED_BASE >= len(pinned):
            raise ValueError(f"there are {len(pinned)} pinned cases, numbered from {PINNED_BASE}")
        return pinned[index - PINNED_BASE]
    rng = random.Random(f"stream-restore-fuzz/{run_seed}/{index}")
    weights = tuple((t, _TARGET_WEIGHTS[t]) for t in targets)
    target = _pick(rng, weights)
    by_kind: dict[str, list[Seed]] = {}
    for s in seeds:
        by_kind.setdefault(s.kind, []).append(s)
    return {"cli": _cli_case, "restore": _restore_case, "image": _image_case, "frames": _frames_case,
            "wire": _wire_case}[target](rng, index, by_kind)


def _seed_of(rng: random.Random, by_kind: dict[str, list[Seed]], shares: tuple[tuple[str, float], ...]) -> Seed:
    kind = _pick(rng, tuple((k, w) for k, w in shares if by_kind.get(k)))
    return rng.choice(by_kind[kind])


def _cli_case(rng: random.Random, index: int, by_kind: dict[str, list[Seed]]) -> Case:
    seed = _seed_of(rng, by_kind, (("video", 0.78), ("image", 0.17), ("text", 0.05)))
    suffix = seed.suffix
    if rng.random() < 0.08:
        suffix = rng.choice((*VIDEO_OUTPUTS, ".flv", ".h264", ".png", ".bin"))
    if seed.kind == "image":
        out = rng.choice(IMAGE_OUTPUTS) if rng.random() < 0.85 else rng.choice(VIDEO_OUTPUTS)
    else:
        out = rng.choice(VIDEO_OUTPUTS)
    model = _pick(rng, MODELS) or "identity"
    flags = list(rng.choice(CLI_EXTRA_FLAGS)) if rng.random() < 0.15 else []
    options = {"in_suffix": suffix, "out_suffix": out, "model": model, "flags": flags}
    mutations = choose_mutations(rng, seed, bombs=False)
    # some video inputs go through `stream-restore client` to the fuzzed server instead (drawn apart,
    # so the draws above stay those of earlier versions of this module)
    side = random.Random(f"client-cli/{index}")
    if seed.kind == "video" and side.random() < 0.15:
        options.update(command="client", out_suffix=side.choice((".ts", ".mkv", ".mp4")), flags=[])
    return Case(index, "cli", seed.name, mutations, options)


def _restore_case(rng: random.Random, index: int, by_kind: dict[str, list[Seed]]) -> Case:
    seed = _seed_of(rng, by_kind, (("video", 0.8), ("image", 0.04), ("text", 0.16)))
    input_format = ""
    refuse = seed.kind == "text"
    r = rng.random()
    if r < 0.12:
        input_format = rng.choice(ALLOWED_INPUT_FORMATS)
    elif r < 0.24:
        input_format = rng.choice(FORBIDDEN_INPUT_FORMATS)
        refuse = True
    elif r < 0.26:
        input_format = rng.choice(("bogus", "ffmetadata", "tty", "mpjpeg", "rawvideo", "\udcff"))
    output: dict[str, Any] = {}
    if rng.random() < 0.3:
        key = rng.choice(("container", "codec", "crf", "bitrate", "preset", "tune", "pix_fmt", "gop"))
        output[key] = rng.choice(_OUTPUT_VALUES[key])
        if key == "container" and output[key] in FORBIDDEN_OUTPUT_CONTAINERS:
            refuse = True
    model: dict[str, Any] = {"model": _pick(rng, MODELS)}
    if rng.random() < 0.15:
        key = rng.choice(("backend", "tile_max_pixels", "tile_overlap", "disable_scene_detection"))
        model[key] = {"backend": rng.choice(("torch", "auto", "bogus", "onnxruntime", "tensorrt")),
                      "tile_max_pixels": rng.choice((-1, 1, 64, *BIG)),
                      "tile_overlap": rng.choice((-1, 0, (1 << 31) - 1)),
                      "disable_scene_detection": True}[key]
    options = {"input_format": input_format, "output": output, "model": model,
               "low_latency": rng.random() < 0.2, "progress_interval": _maybe(rng, 0.1, (1, -1, (1 << 31) - 1), 0),
               "chunks": rng.getrandbits(32)}
    mutations = choose_mutations(rng, seed)
    # a quarter of the video inputs go through RestoreClient.restore (file to file; classic MP4 remuxed
    # by the client), drawn apart so the draws above stay those of earlier versions of this module
    side = random.Random(f"client/{index}")
    if seed.kind == "video" and side.random() < 0.25:
        options = {"model": {"model": model["model"]}, "via_client": side.choice((".ts", ".mkv", ".mp4"))}
        refuse = False
    return Case(index, "restore", seed.name, mutations, options, refuse)


def _image_case(rng: random.Random, index: int, by_kind: dict[str, list[Seed]]) -> Case:
    seed = _seed_of(rng, by_kind, (("image", 0.82), ("video", 0.1), ("text", 0.08)))
    options = {"model": _pick(rng, MODELS),
               "output_format": _maybe(rng, 0.3, ("png", "jpeg", "webp", "bmp", "gif", "bogus"), ""),
               "quality": _maybe(rng, 0.15, (1, 100, 101, -1, (1 << 31) - 1), 0),
               "tile_max_pixels": _maybe(rng, 0.1, (-1, 64, 1 << 62), 0)}
    return Case(index, "image", seed.name, choose_mutations(rng, seed), options, seed.kind == "text")


FRAME_FORMATS = {1: "rgb24", 2: "rgb48", 3: "yuv420p", 4: "nv12"}


def _frames_case(rng: random.Random, index: int, by_kind: dict[str, list[Seed]]) -> Case:
    style = _pick(rng, (("valid", 0.25), ("mutated", 0.6), ("flood", 0.15)))
    fmt = rng.choice(tuple(FRAME_FORMATS))
    width, height = rng.choice(((64, 48), (63, 47), (2, 2), (1, 1), (96, 64)))
    options: dict[str, Any] = {"style": style, "format": fmt, "width": width, "height": height,
                               "frames": rng.randint(1, 4), "model": _pick(rng, MODELS[:2]),
                               "output_format": _maybe(rng, 0.2, (0, 1, 2, 3, 4, 99), 0),
                               "reset_every": _maybe(rng, 0.2, (1, 2), 0), "mutations": []}
    if style == "mutated":
        kinds = ("width", "height", "format", "data-short", "data-long", "data-empty", "time_base", "pts",
                 "color_matrix", "unfinished", "no-config", "two-configs", "size-change", "part-header")
        options["mutations"] = [(rng.choice(kinds), rng.getrandbits(32)) for _ in range(rng.randint(1, 3))]
    elif style == "flood":
        options["flood"] = rng.choice(("huge-declared", "beyond-declared"))
    return Case(index, "frames", "", [], options)


def _wire_case(rng: random.Random, index: int, by_kind: dict[str, list[Seed]]) -> Case:
    method = rng.choice(("Restore", "RestoreFrames", "RestoreImage", "ListModels", "GetServerInfo"))
    options = {"method": method, "how": rng.choice(("flip", "truncate", "insert", "bad-utf8", "unknown-field")),
               "salt": rng.getrandbits(32)}
    return Case(index, "wire", "", [], options)
