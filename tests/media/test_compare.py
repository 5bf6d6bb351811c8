"""Before/after images: the input bicubic-upscaled beside the restored frame, labelled."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stream_restore.cli import main
from stream_restore.media.compare import psnr, side_by_side
from tests.conftest import ClipSpec, make_clip


def test_psnr_of_identical_and_offset_images() -> None:
    a = np.full((4, 4, 3), 100, np.uint8)
    assert psnr(a, a) == math.inf
    assert psnr(a, a + 1) == pytest.approx(20 * math.log10(255), abs=1e-9)


def test_the_halves_are_the_upscaled_input_and_the_output_with_labels() -> None:
    before = np.full((30, 40, 3), 200, np.uint8)
    after = np.zeros((60, 80, 3), np.uint8)
    after[:, :, 1] = 255
    picture = side_by_side(before, after, ("input", "model"), reference=after)
    assert picture.shape == (60, 2 * 80 + 8, 3)
    assert (picture[-1, :80] == 200).all() and (picture[-1, 88:] == (0, 255, 0)).all()
    assert (picture[5:8, 2:6] == 0).all()  # the label's box drawn over the image


def test_restore_compare_writes_the_image_of_the_chosen_frame(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "in.mp4", ClipSpec(frames=30, width=48, height=32))
    out, picture = tmp_path / "out.mp4", tmp_path / "cmp.png"
    assert (
        main(
            [
                "restore",
                str(clip),
                str(out),
                "--model",
                "bicubic-x2",
                "--start",
                "0.4",
                "--compare",
                str(picture),
                "--compare-at",
                "0.2",
                "--quiet",
            ]
        )
        == 0
    )
    with Image.open(picture) as image:
        assert image.size == (2 * 96 + 8, 64)
    assert (
        main(["restore", str(clip), str(tmp_path / "o2.mp4"), "--compare", str(tmp_path / "cmp.jpg"), "-q"])
        == 2
    )
