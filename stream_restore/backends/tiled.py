"""A backend wrapper that runs frames larger than a pixel budget as overlapping tiles.

:class:`TiledBackend` implements the same protocol as the backend it wraps, so the pipeline needs
no change: frames whose batch fits ``max_pixels`` pass straight through; larger ones are cut into
equal tiles (:func:`.tiles.plan_tiles`), the tiles run batched along N in
chunks of at most ``max_pixels`` input pixels per call, and each tile's valid interior is copied
into the output. Recurrent models keep one state per tile: the state tensor of a tiled stream is
the inner backend's state for ``N x tiles`` tile-sized frames, rows ordered stream-major.
"""

from __future__ import annotations

import torch

from ..errors import ConfigError, LimitExceededError
from .base import Backend, InferenceResult
from .tiles import TileGrid, plan_tiles

__all__ = ["TiledBackend", "balanced_chunk"]


def _replicate_pad(frames: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``frames[N, T, C, H, W]`` replicate-padded at the bottom and right to ``height x width``."""
    n, t, c, h, w = frames.shape
    flat = frames.reshape(n * t, c, h, w)
    padded = torch.nn.functional.pad(flat, (0, width - w, 0, height - h), mode="replicate")
    return padded.reshape(n, t, c, height, width)


def balanced_chunk(jobs: int, limit: int) -> int:
    """Tiles per call: as few calls as ``limit`` allows, with chunk sizes as equal as possible."""
    calls = -(-jobs // max(1, limit))
    return -(-jobs // calls)


class TiledBackend(Backend):
    """Wrap ``inner`` so no inference call sees more than ``max_pixels`` input pixels (N*H*W).

    ``overlap`` is the number of pixels neighbouring tiles share; the output equals the untiled
    output when ``overlap // 2`` covers the model's receptive field, so the default is twice
    ``spec.receptive_field``. Recurrent models whose state spreads information spatially from
    frame to frame (vsr: features at p depend on the previous state around p) have a receptive
    field that grows with every frame, so per-tile state cannot stay exact forever: with 2 x rf
    the first frame is exact and seams then drift (random-weight vsr-x2, max abs difference
    after 6 frames: 2e-1), with 4 x rf the first two are exact and they drift about 300x less
    (7e-4 after 6 frames, 3e-3 after 8). The default for recurrent models is 4 x rf.
    """

    def __init__(self, inner: Backend, max_pixels: int, overlap: int | None = None) -> None:
        super().__init__(inner.spec, inner.options)
        if max_pixels < 1:
            raise ConfigError(f"max_pixels must be positive, not {max_pixels}")
        self.inner = inner
        self.max_pixels = max_pixels
        factor = 4 if inner.spec.recurrent else 2
        self.overlap = factor * inner.spec.receptive_field if overlap is None else overlap
        if self.overlap < 0:
            raise ConfigError(f"tile overlap must not be negative, not {self.overlap}")
        self.name = f"tiled-{inner.name}"
        # Backends that specialise on input shapes get every chunk at the same batch size.
        self._fixed_batch = inner.options.compile or inner.options.cuda_graphs
        self._grids: dict[tuple[int, int], TileGrid] = {}

    # -- lifecycle -------------------------------------------------------------------------
    def _load(self) -> None:
        self.inner.load()

    def _close(self) -> None:
        self.inner.close()

    # -- geometry ----------------------------------------------------------------------------
    def grid(self, height: int, width: int) -> TileGrid:
        """The tiling used for frames of this size (cached; pure geometry). For models that need
        sizes that are multiples of ``size_multiple`` it tiles the frame replicate-padded to such
        multiples (as the model pads it), so that every tile starts on the model's grid."""
        multiple = max(1, self.spec.size_multiple)
        height, width = -(-height // multiple) * multiple, -(-width // multiple) * multiple
        key = (height, width)
        grid = self._grids.get(key)
        if grid is None:
            try:
                grid = plan_tiles(
                    height, width, self.max_pixels, self.overlap, max(1, self.spec.size_multiple)
                )
            except ValueError as exc:
                raise LimitExceededError(str(exc)) from None
            if len(self._grids) > 64:  # sizes change rarely; keep the cache bounded anyway
                self._grids.clear()
            self._grids[key] = grid
        return grid

    def _state_batch(self, frames: torch.Tensor) -> int:
        grid = self.grid(int(frames.shape[-2]), int(frames.shape[-1]))
        return int(frames.shape[0]) * grid.count

    def _initial_state(self, batch: int, height: int, width: int) -> torch.Tensor:
        grid = self.grid(height, width)
        state = self.inner.initial_state(batch * grid.count, grid.tile_h, grid.tile_w)
        assert state is not None  # recurrent models always have a state
        return state

    # -- inference ---------------------------------------------------------------------------
    def _infer(self, frames: torch.Tensor, state: torch.Tensor | None) -> InferenceResult:
        height, width = int(frames.shape[-2]), int(frames.shape[-1])
        grid = self.grid(height, width)
        if (grid.height, grid.width) != (height, width):  # padded to the model's size multiple
            out, new_state = self._infer_tiles(_replicate_pad(frames, grid.height, grid.width), state, grid)
            s = self.spec.scale
            return out[..., : height * s, : width * s], new_state
        return self._infer_tiles(frames, state, grid)

    def _infer_tiles(
        self, frames: torch.Tensor, state: torch.Tensor | None, grid: TileGrid
    ) -> InferenceResult:
        n, _, _, height, width = frames.shape
        count, s = grid.count, self.spec.scale
        jobs = [(i, k) for i in range(n) for k in range(count)]  # row i*count+k of the state
        per_call = balanced_chunk(len(jobs), max(1, self.max_pixels // grid.tile_pixels))
        out: torch.Tensor | None = None
        new_states: list[torch.Tensor] = []
        for start in range(0, len(jobs), per_call):
            chunk = jobs[start : start + per_call]
            if grid.is_trivial:
                batch = frames[chunk[0][0] : chunk[-1][0] + 1]
            else:
                batch = torch.stack([self._crop(frames[i], grid, k) for i, k in chunk])
            chunk_state = None if state is None else state[start : start + len(chunk)]
            pad = per_call - len(chunk) if self._fixed_batch and start else 0
            if pad:  # shape-specialised engines (compile, CUDA graphs): repeat the last tile, drop it after
                batch = torch.cat([batch, batch[-1:].expand(pad, *batch.shape[1:])])
                if chunk_state is not None:
                    chunk_state = torch.cat(
                        [chunk_state, chunk_state[-1:].expand(pad, *chunk_state.shape[1:])]
                    )
            y, new_state = self.inner.infer(batch, chunk_state)
            if pad and new_state is not None:
                new_state = new_state[: len(chunk)]
            if out is None:
                out = torch.empty((n, y.shape[1], height * s, width * s), dtype=y.dtype, device=y.device)
            for j, (i, k) in enumerate(chunk):
                tile = grid.tiles[k]
                top, left = (tile.keep_top - tile.y) * s, (tile.keep_left - tile.x) * s
                rows, cols = (tile.keep_bottom - tile.keep_top) * s, (tile.keep_right - tile.keep_left) * s
                out[
                    i, :, tile.keep_top * s : tile.keep_bottom * s, tile.keep_left * s : tile.keep_right * s
                ] = y[j, :, top : top + rows, left : left + cols]
            if new_state is not None:
                new_states.append(new_state)
        assert out is not None  # frames has at least one row (validated)
        return out, (torch.cat(new_states) if new_states else None)

    @staticmethod
    def _crop(frame: torch.Tensor, grid: TileGrid, k: int) -> torch.Tensor:
        tile = grid.tiles[k]
        return frame[..., tile.y : tile.y + grid.tile_h, tile.x : tile.x + grid.tile_w]
