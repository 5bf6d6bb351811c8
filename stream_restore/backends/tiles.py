"""Tile geometry: split a frame into equal, overlapping tiles and say which part of each to keep.

Pure functions over integers (pixels); no tensors, no models. A frame of ``height x width`` input
pixels is covered by ``rows x cols`` tiles of one size ``tile_h x tile_w`` (so a batch of tiles is
one tensor), spread evenly so neighbours share at least ``overlap`` pixels. Each tile contributes
only its *valid* region: the seam between two neighbours lies in the middle of their shared strip,
so every kept pixel has at least ``overlap // 2`` pixels of real context on each side that borders
another tile. Tiled output therefore equals untiled output exactly when ``overlap // 2`` is at
least the model's receptive field (pixels of context per side).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Tile", "TileGrid", "axis_spans", "plan_tiles"]


@dataclass(frozen=True)
class Tile:
    """One tile: the input region it reads and the sub-region whose output it keeps (input pixels).

    ``y, x``: top-left of the region read, of the grid's tile size. ``keep_top .. keep_bottom`` and
    ``keep_left .. keep_right`` (end-exclusive, absolute frame coordinates) are what it keeps.
    """

    y: int
    x: int
    keep_top: int
    keep_bottom: int
    keep_left: int
    keep_right: int


@dataclass(frozen=True)
class TileGrid:
    """A frame's tiling: tile size and the tiles in row-major order."""

    height: int
    width: int
    tile_h: int
    tile_w: int
    rows: int
    cols: int
    tiles: tuple[Tile, ...]

    @property
    def count(self) -> int:
        return len(self.tiles)

    @property
    def tile_pixels(self) -> int:
        return self.tile_h * self.tile_w

    @property
    def is_trivial(self) -> bool:
        """One tile covering the whole frame: no tiling needed."""
        return self.count == 1


def axis_spans(length: int, tile: int, count: int, multiple: int = 1) -> list[tuple[int, int, int]]:
    """``count`` tiles of size ``tile`` spread evenly over ``length``: (start, keep_from, keep_to).

    Starts go from 0 to ``length - tile``, rounded down to multiples of ``multiple`` (all of them
    aligned when ``length`` and ``tile`` are multiples); the seam between neighbours is the midpoint
    of their overlap, so kept ranges partition ``[0, length)``.
    """
    if not 1 <= tile <= length:
        raise ValueError(f"tile size {tile} must be between 1 and {length}")
    if count < 1 or (count - 1) * tile + tile < length:
        raise ValueError(f"{count} tiles of {tile} cannot cover {length}")
    if count == 1:
        if tile != length:
            raise ValueError("a single tile must span the whole axis")
        return [(0, 0, length)]
    starts = [(i * (length - tile)) // (count - 1) // multiple * multiple for i in range(count - 1)]
    starts.append(length - tile)
    seams = [(starts[i + 1] + starts[i] + tile) // 2 for i in range(count - 1)]
    edges = [0, *seams, length]
    return [(starts[i], edges[i], edges[i + 1]) for i in range(count)]


def _axis_count(length: int, tile: int, overlap: int) -> int:
    """Fewest tiles of size ``tile`` covering ``length`` with at least ``overlap`` shared pixels."""
    if tile >= length:
        return 1
    step = tile - overlap
    return 1 + -(-(length - tile) // step)


def _tile_for(length: int, count: int, overlap: int, multiple: int) -> int:
    """Smallest tile size (a multiple of ``multiple`` unless that exceeds ``length``) for ``count`` tiles."""
    if count == 1:
        return length
    size = -(-(length + (count - 1) * overlap) // count)
    # Integer starts may be one pixel further apart than the mean step: grow until every gap fits.
    while size < length and size - -(-(length - size) // (count - 1)) < overlap:
        size += 1
    size = -(-size // multiple) * multiple
    return min(size, length)


def plan_tiles(height: int, width: int, max_pixels: int, overlap: int, multiple: int = 1) -> TileGrid:
    """Tile a ``height x width`` frame so each tile has at most ``max_pixels`` input pixels.

    Among the grids that fit, the one computing the fewest pixels in total (least overlap waste)
    wins. ``multiple`` rounds tile sides up and puts tile starts on multiples of it (for models
    that need sizes that are multiples of it and see a grid of that pitch, such as a U-Net's pixel
    unshuffle; the starts are all aligned when the frame sides are multiples too). Raises
    ValueError when no tile can both fit the budget and exceed twice the overlap.
    """
    if height < 1 or width < 1:
        raise ValueError(f"frame size must be positive, got {width}x{height}")
    if overlap < 0 or multiple < 1:
        raise ValueError("overlap must be >= 0 and multiple >= 1")
    if height * width <= max_pixels:
        return TileGrid(height, width, height, width, 1, 1, (Tile(0, 0, 0, height, 0, width),))
    shared = overlap + multiple - 1  # aligned starts may move up to multiple - 1 pixels apart
    best: tuple[int, int, int, int, int] | None = None  # (total pixels, rows, cols, tile_h, tile_w)
    for rows in range(1, height + 1):
        tile_h = _tile_for(height, rows, shared, multiple)
        if rows > 1 and tile_h <= shared:
            break
        max_w = max_pixels // tile_h
        if max_w <= shared and max_w < width:
            continue
        if max_w >= width:
            cols, tile_w = 1, width
        else:
            max_w = max_w // multiple * multiple
            if max_w <= shared:
                continue
            cols = _axis_count(width, max_w, shared)
            tile_w = _tile_for(width, cols, shared, multiple)
            if tile_w * tile_h > max_pixels:
                continue
        if _axis_count(height, tile_h, shared) > rows:
            continue
        total = rows * cols * tile_h * tile_w
        if best is None or total < best[0]:
            best = (total, rows, cols, tile_h, tile_w)
        if cols == 1:
            break  # more rows only add overlap
    if best is None:
        raise ValueError(
            f"cannot tile {width}x{height} into tiles of at most {max_pixels} pixels with {overlap} px of "
            "overlap; raise the pixel budget or lower the overlap"
        )
    _, rows, cols, tile_h, tile_w = best
    ys = axis_spans(height, tile_h, rows, multiple)
    xs = axis_spans(width, tile_w, cols, multiple)
    tiles = tuple(Tile(y, x, y0, y1, x0, x1) for (y, y0, y1) in ys for (x, x0, x1) in xs)
    return TileGrid(height, width, tile_h, tile_w, rows, cols, tiles)
