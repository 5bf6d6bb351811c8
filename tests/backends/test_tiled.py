"""TiledBackend: tiled output equals untiled output, per-tile recurrent state, memory budget."""

from __future__ import annotations

import pytest
import torch

from stream_restore.backends import BackendOptions, TiledBackend, TorchBackend, create_backend
from stream_restore.backends.base import Backend, InferenceResult
from stream_restore.errors import InputError, LimitExceededError
from stream_restore.models import get_spec, list_specs

from .test_export import _randomize
from .toy_models import TOY_SPECS

OPTIONS = BackendOptions(device="cpu", threads=2)


class BudgetBackend(Backend):
    """Wraps a backend and refuses any call above ``budget`` input pixels, as a full GPU would."""

    def __init__(self, inner: Backend, budget: int) -> None:
        super().__init__(inner.spec, inner.options)
        self.inner, self.budget, self.largest = inner, budget, 0
        self.name = f"budget-{inner.name}"

    def _load(self) -> None:
        self.inner.load()

    def _initial_state(self, batch: int, height: int, width: int) -> torch.Tensor:
        state = self.inner.initial_state(batch, height, width)
        assert state is not None
        return state

    def _infer(self, frames: torch.Tensor, state: torch.Tensor | None) -> InferenceResult:
        pixels = frames.shape[0] * frames.shape[-2] * frames.shape[-1]
        self.largest = max(self.largest, pixels)
        if pixels > self.budget:
            raise LimitExceededError(f"{pixels} pixels exceed the budget of {self.budget}")
        return self.inner.infer(frames, state)


# Registered models whose tiled output is not yet the untiled one, and why.
# strict: the test fails once a model tiles exactly, so that it is taken off this list.
_NOT_YET_EXACT: dict[str, str] = {}


_SLOW = {"vsr-x4", "sr-gan-x4", "sr-compact-x4"}  # 4-17 s each on 2 CPU cores


def test_listed_names_are_registered() -> None:
    assert (_NOT_YET_EXACT.keys() | _SLOW) <= _SPECS.keys()


def _registered_names() -> list[object]:
    """Every model of the registry and every toy model, by name: a name that is not registered fails
    (``get_spec`` raises), it is never skipped. Models with a large receptive field are slow."""
    params: list[object] = []
    for name in [spec.name for spec in list_specs()] + [spec.name for spec in TOY_SPECS]:
        marks = [pytest.mark.slow] if name in _SLOW or _SPECS[name].receptive_field > 16 else []
        if name in _NOT_YET_EXACT:
            marks.append(pytest.mark.xfail(strict=True, reason=_NOT_YET_EXACT[name]))
        params.append(pytest.param(name, marks=marks))
    return params


_SPECS = {spec.name: spec for spec in [*list_specs(), *TOY_SPECS]}


@pytest.mark.parametrize("name", _registered_names())
def test_tiled_equals_untiled(name: str) -> None:
    """Tiles with 2 x rf overlap give the untiled output (recurrent models: their first frame, from
    the initial state; later frames differ as the state spreads, see TiledBackend)."""
    spec = get_spec(name)
    rf = spec.receptive_field
    h, w = 6 * rf + 30, 9 * rf + 40  # big enough for tiles with 2 x rf overlap, small enough to be fast
    plain = TorchBackend(spec, OPTIONS).load()
    inner = TorchBackend(spec, OPTIONS).load()
    assert plain.module is not None and inner.module is not None
    _randomize(plain.module)  # untrained zero-initialised heads would make the test trivial
    inner.module.load_state_dict(plain.module.state_dict())
    tiled = TiledBackend(inner, max_pixels=h * w // 3, overlap=2 * rf).load()
    x = torch.rand(1, spec.window, 3, h, w, generator=torch.Generator().manual_seed(3))
    ref, _ = plain.infer(x, plain.initial_state(1, h, w))
    got, _ = tiled.infer(x, tiled.initial_state(1, h, w))
    assert tiled.grid(h, w).count > 1
    assert got.shape == ref.shape
    # relative to the output's scale: grid_sample's coordinates are normalised by the frame (or
    # tile) size, so float32 rounds them differently in a tile (random weights give outputs of ~5)
    assert (got - ref).abs().max().item() <= 1e-5 * max(1.0, ref.abs().max().item())


def test_too_little_overlap_shows_seams() -> None:
    spec = get_spec("bicubic-x2")
    plain = TorchBackend(spec, OPTIONS).load()
    tiled = TiledBackend(TorchBackend(spec, OPTIONS), max_pixels=600, overlap=0).load()
    x = torch.rand(1, 1, 3, 40, 50)
    assert (tiled.infer(x)[0] - plain.infer(x)[0]).abs().max().item() > 1e-3  # the test can fail


def test_recurrent_tiles_keep_their_own_state() -> None:
    spec = get_spec("test-toy-recurrent-x2")
    plain = TorchBackend(spec, OPTIONS).load()
    tiled = TiledBackend(TorchBackend(spec, OPTIONS), max_pixels=900, overlap=2 * spec.receptive_field).load()
    n, h, w = 2, 40, 52
    grid = tiled.grid(h, w)
    state_p = plain.initial_state(n, h, w)
    state_t = tiled.initial_state(n, h, w)
    assert state_t is not None and state_t.shape[0] == n * grid.count
    assert tuple(state_t.shape[-2:]) == (grid.tile_h, grid.tile_w)
    g = torch.Generator().manual_seed(5)
    for _ in range(5):
        x = torch.rand(n, 1, 3, h, w, generator=g)
        ref, state_p = plain.infer(x, state_p)
        got, state_t = tiled.infer(x, state_t)
        assert (got - ref).abs().max().item() <= 1e-5
    with pytest.raises(InputError):
        tiled.infer(x, state_p)  # an untiled state does not fit a tiled stream


@pytest.mark.slow
def test_4k_frame_runs_within_a_budget_that_untiled_exceeds() -> None:
    spec = get_spec("bicubic-x2")
    budget = 1 << 20  # input pixels per call: a quarter of a 4K frame
    x = torch.rand(1, 1, 3, 2160, 3840)
    with pytest.raises(LimitExceededError):
        BudgetBackend(TorchBackend(spec, OPTIONS), budget).load().infer(x)
    guarded = BudgetBackend(TorchBackend(spec, OPTIONS), budget)
    tiled = TiledBackend(guarded, max_pixels=budget).load()
    out, _ = tiled.infer(x)
    assert out.shape == (1, 3, 4320, 7680)
    assert 0 < guarded.largest <= budget
    with torch.inference_mode():  # exact against the model itself, on a strip across the seams
        ref = spec.build()(x[:, 0, :, 1000:1200, :])
    assert (out[..., 2000 + 8 : 2400 - 8, :] - ref[..., 8:-8, :]).abs().max().item() <= 1e-5


def test_create_backend_wraps_when_budget_set() -> None:
    spec = get_spec("identity")
    backend = create_backend(spec, "torch", BackendOptions(tile_max_pixels=4096))
    assert isinstance(backend, TiledBackend)
    with backend:
        x = torch.rand(1, 1, 3, 100, 90)
        assert torch.equal(backend.infer(x)[0], x[:, 0])


def test_registered_recurrent_model_tiles_with_one_state_per_tile() -> None:
    """The default overlap of a recurrent model is 4 x rf (its state spreads, see TiledBackend) and
    the tiled stream carries one state per tile; exactness is test_tiled_equals_untiled's."""
    spec = get_spec("vsr-x2")  # fails, never skips, if the name goes
    rf = spec.receptive_field
    h, w = 10 * rf + 30, 12 * rf + 40
    tiled = TiledBackend(TorchBackend(spec, OPTIONS), max_pixels=h * w // 2).load()
    assert tiled.overlap == 4 * rf
    grid = tiled.grid(h, w)
    state = tiled.initial_state(1, h, w)
    assert grid.count > 1 and state is not None and state.shape[0] == grid.count
    assert tuple(state.shape[-2:]) == (grid.tile_h, grid.tile_w)


def test_chunks_are_balanced_and_shape_specialised_backends_see_one_batch_size() -> None:
    from stream_restore.backends.tiled import balanced_chunk

    assert [balanced_chunk(j, lim) for j, lim in [(8, 3), (9, 3), (8, 100), (1, 1), (7, 2)]] == [
        3,
        3,
        8,
        1,
        2,
    ]
    spec = get_spec("bicubic-x2")
    seen: list[int] = []

    class Recording(TorchBackend):
        def _infer(self, frames: torch.Tensor, state: torch.Tensor | None) -> InferenceResult:
            seen.append(int(frames.shape[0]))
            return super()._infer(frames, state)

    # 5 streams of 20x30 with room for 2 frames per call: calls of 2, 2 and (padded) 1
    tiled = TiledBackend(Recording(spec, OPTIONS), max_pixels=2 * 20 * 30, overlap=4).load()
    assert not tiled._fixed_batch
    tiled._fixed_batch = True  # what compile=True or cuda_graphs=True set (without compiling here)
    x = torch.rand(5, 1, 3, 20, 30)
    got, _ = tiled.infer(x)
    assert seen == [2, 2, 2]  # the last call padded to the same batch size
    ref, _ = TorchBackend(spec, OPTIONS).load().infer(x)
    assert (got - ref).abs().max().item() <= 1e-5
