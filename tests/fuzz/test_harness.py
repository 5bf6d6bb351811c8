"""The fuzz harness itself: reproducible cases and mutations, mutators that find their fields, and
invariant checks that fail when they should (fast; no server, no CLI worker)."""

from __future__ import annotations

import random
import zlib
from pathlib import Path

import pytest

from .cases import PINNED_BASE, TARGETS, make_case, pinned_cases
from .cli_target import run_cli_case
from .fields import ebml_elements, mp4_boxes, nal_field
from .mutate import OPS, Mutation, apply
from .seeds import build_seeds, png_with_size


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory):
    return build_seeds(tmp_path_factory.mktemp("seeds"))


def test_every_container_and_image_is_seeded(seeds) -> None:
    suffixes = {s.suffix for s in seeds}
    assert {".mp4", ".mov", ".mkv", ".webm", ".ts", ".flv", ".h264", ".hevc", ".png", ".jpg", ".webp", ".bmp"} <= suffixes
    assert all(s.data for s in seeds)


def test_cases_and_mutations_are_reproducible(seeds) -> None:
    first = [make_case(7, i, TARGETS, seeds) for i in range(60)]
    again = [make_case(7, i, TARGETS, seeds) for i in reversed(range(60))][::-1]
    assert [c.describe() for c in first] == [c.describe() for c in again]
    assert {c.target for c in first} == set(TARGETS)
    by_name = {s.name: s for s in seeds}
    for case in first:
        if case.seed:
            assert apply(by_name[case.seed], case.mutations, seeds) == apply(by_name[case.seed], case.mutations, seeds)
    assert make_case(7, PINNED_BASE + 3, TARGETS, seeds).describe() == pinned_cases()[3].describe()


def test_structure_aware_mutators_find_their_fields(seeds) -> None:
    by_name = {s.name: s for s in seeds}
    assert {b[0] for b in mp4_boxes(by_name["mp4-h264-classic"].data)} >= {b"moov", b"mvhd", b"tkhd", b"stsz", b"avcC"}
    assert {b[0] for b in mp4_boxes(by_name["mp4-h264-fragmented"].data)} >= {b"moof", b"trun", b"tfdt"}
    ids = {e[0] for e in ebml_elements(by_name["mkv-h264-aac-srt"].data)}
    assert {0x2AD7B1, 0x23E383, 0xB0, 0xBA, 0xA3} <= ids
    for seed in seeds:  # every field mutation changes the bytes (or says why it could not)
        changed = 0
        for salt in range(12):
            data, notes = apply(seed, [Mutation("field", (salt,))], seeds)
            changed += data != seed.data
            assert notes and "no " not in notes[0].split(":")[0], (seed.name, notes)
        assert changed >= 6, seed.name


def test_png_header_mutations_keep_a_valid_crc(seeds) -> None:
    png = next(s for s in seeds if s.name == "png-rgb")
    for salt in range(30):
        data, notes = apply(png, [Mutation("field", (salt,))], seeds)
        if "IHDR" in notes[0]:
            assert zlib.crc32(data[12:29]).to_bytes(4, "big") == data[29:33]
    bomb = png_with_size(8192, 4352, full_data=True)
    assert len(bomb) < 200_000 and bomb[16:24] == (8192).to_bytes(4, "big") + (4352).to_bytes(4, "big")


def test_every_generic_operation_runs_on_every_seed(seeds) -> None:
    for seed in seeds:
        for op in OPS:
            args = (3, 0) if op == "bomb" else (3,)
            apply(seed, [Mutation(op, args)], seeds)


class _FakeWorker:
    """Stands in for the CLI worker: writes ``err`` as the command's stderr, leaves ``files``."""

    def __init__(self, rc: object, err: str, files: tuple[str, ...] = ()) -> None:
        self.rc, self.err, self.files = rc, err, files

    def run(self, argv: list[str], out: Path, timeout: float) -> tuple[object, float]:
        out.write_text(self.err)
        for name in self.files:
            (Path(argv[2]).parent / name).write_bytes(b"x")
        return self.rc, 0.1


@pytest.mark.parametrize(("rc", "err", "files", "kinds"), [
    (2, "stream-restore: error: input.mp4: truncated\n", (), set()),
    (1, "stream-restore: internal error: KeyError: 'x'\n", (), {"exit 1"}),
    (2, "Traceback (most recent call last):\n  File x\nValueError\nstream-restore: error: x\n", (),
     {"traceback", "stderr lines"}),
    (2, "a\nb\nc\nd\n", (), {"stderr lines"}),
    (2, "stream-restore: error: x\n", (".out.partial-abc.mp4",), {"partial output"}),
    ("timeout", "", (), {"hang"}),
    ("crash SIGSEGV", "", (), {"crash"}),
])
def test_cli_invariants_fail_when_they_should(seeds, tmp_path: Path, rc, err, files, kinds) -> None:
    case = make_case(1, PINNED_BASE + 25, TARGETS, seeds)
    by_name = {s.name: s for s in seeds}
    outcome = run_cli_case(case, by_name, seeds, _FakeWorker(rc, err, files), tmp_path, 5.0)  # type: ignore[arg-type]
    assert {v.kind for v in outcome.violations} == kinds


def test_field_mutators_survive_truncated_files(seeds) -> None:
    data = next(s for s in seeds if s.name == "mkv-h264-aac-srt").data
    for cut in range(1, len(data), max(1, len(data) // 300)):
        assert all(e[4] >= 0 for e in ebml_elements(data[:cut])), cut
    for name in ("webm-vp9-opus-vtt", "raw-h264"):  # seed 505 #8569, seed 707 #21746 used to raise
        seed = next(s for s in seeds if s.name == name)
        for salt in range(300):  # a truncation, then a field mutation
            apply(seed, [Mutation("truncate", (salt,)), Mutation("field", (salt,))], seeds)
    raw = next(s for s in seeds if s.name == "raw-h264")
    nal_field(bytearray(raw.data[:40] + b"\x00\x00\x01"), random.Random(0))  # a start code as the last bytes
