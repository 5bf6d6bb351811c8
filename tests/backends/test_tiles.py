"""Tile geometry: tiles fit the budget, keep regions partition the frame, seams have context."""

from __future__ import annotations

import random

import pytest

from stream_restore.backends.tiles import axis_spans, plan_tiles


def _check(height: int, width: int, max_pixels: int, overlap: int, multiple: int = 1) -> None:
    grid = plan_tiles(height, width, max_pixels, overlap, multiple)
    assert grid.count == grid.rows * grid.cols
    if height * width > max_pixels:
        assert grid.tile_pixels <= max_pixels
    covered = [[0] * width for _ in range(height)]
    for tile in grid.tiles:
        assert 0 <= tile.y and tile.y + grid.tile_h <= height
        assert 0 <= tile.x and tile.x + grid.tile_w <= width
        assert tile.y <= tile.keep_top < tile.keep_bottom <= tile.y + grid.tile_h
        assert tile.x <= tile.keep_left < tile.keep_right <= tile.x + grid.tile_w
        # Every kept pixel next to a seam has overlap // 2 pixels of real context beyond it.
        if tile.keep_top > 0:
            assert tile.keep_top - tile.y >= overlap // 2
        if tile.keep_left > 0:
            assert tile.keep_left - tile.x >= overlap // 2
        if tile.keep_bottom < height:
            assert tile.y + grid.tile_h - tile.keep_bottom >= overlap // 2
        if tile.keep_right < width:
            assert tile.x + grid.tile_w - tile.keep_right >= overlap // 2
        for y in range(tile.keep_top, tile.keep_bottom):
            for x in range(tile.keep_left, tile.keep_right):
                covered[y][x] += 1
    assert all(c == 1 for row in covered for c in row), "kept regions must partition the frame"


def test_small_frame_is_one_tile() -> None:
    grid = plan_tiles(90, 160, 90 * 160, 8)
    assert grid.is_trivial and (grid.tile_h, grid.tile_w) == (90, 160)


def test_4k_frame_fits_a_megapixel_budget() -> None:
    grid = plan_tiles(2160, 3840, 1 << 20, 24)
    assert grid.tile_pixels <= 1 << 20
    assert grid.count * grid.tile_pixels < 1.1 * 2160 * 3840  # overlap waste stays small


@pytest.mark.parametrize("seed", range(4))
def test_random_geometries(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(150):
        h, w = rng.randint(1, 70), rng.randint(1, 70)
        overlap, multiple = rng.randint(0, 10), rng.choice([1, 1, 2, 4])
        budget = rng.randint(64, 3000)
        try:
            _check(h, w, budget, overlap, multiple)
        except ValueError:
            assert budget < 4 * (overlap + 1) ** 2 or budget < 64 * multiple  # only hopeless budgets fail


def test_axis_spans_validate() -> None:
    assert axis_spans(10, 10, 1) == [(0, 0, 10)]
    with pytest.raises(ValueError):
        axis_spans(10, 4, 2)  # two tiles of 4 cannot cover 10
    with pytest.raises(ValueError):
        plan_tiles(100, 100, 100, 40)  # tiles of 100 px cannot exceed 40 px of overlap


@pytest.mark.parametrize("multiple", [2, 4, 8])
def test_tiles_start_on_the_models_grid(multiple: int) -> None:
    """With sides that are multiples, every tile starts on a multiple (a U-Net's pixel unshuffle
    sees the same grid in every tile), and the seams keep overlap // 2 px of context."""
    rng = random.Random(multiple)
    for _ in range(50):
        h, w = multiple * rng.randint(8, 80), multiple * rng.randint(8, 120)
        overlap = rng.randint(0, 24)
        budget = rng.randint(h * w // 9 + 1, h * w - 1)
        try:
            grid = plan_tiles(h, w, budget, overlap, multiple)
        except ValueError:
            continue
        assert all(t.y % multiple == 0 and t.x % multiple == 0 for t in grid.tiles)
        assert grid.tile_h % multiple == 0 and grid.tile_w % multiple == 0
        _check(h, w, budget, overlap, multiple)
