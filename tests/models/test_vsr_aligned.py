"""The flow-aligned recurrent cell (vsr-x4, vsr-x2): warping, flow and the temporal path."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from stream_restore.models import get_spec
from stream_restore.models.flow import FlowEstimator, warp
from stream_restore.models.vsr_aligned import AlignedRecurrentSR

FLOW_WEIGHTS = (
    Path(__file__).resolve().parents[2]
    / "stream_restore"
    / "training"
    / "checkpoints"
    / "vsr-x4-flow.safetensors"
)


def _texture(h: int, w: int, seed: int = 0) -> torch.Tensor:
    """Random colour texture ``[1, 3, h, w]`` with detail at 8-32 px (a falling, image-like spectrum)."""
    g = torch.Generator().manual_seed(seed)
    out = torch.zeros(1, 3, h, w)
    for octave in (8, 16, 32):
        coarse = torch.rand(1, 3, h // octave + 4, w // octave + 4, generator=g)
        up = F.interpolate(coarse, scale_factor=octave, mode="bicubic", align_corners=False)
        out += up[..., octave : octave + h, octave : octave + w] / 3
    return ((out - out.mean()) * 2 + 0.5).clamp(0, 1)


def test_zero_flow_warp_is_identity() -> None:
    x = torch.rand(2, 5, 13, 11)
    torch.testing.assert_close(warp(x, torch.zeros(2, 2, 13, 11)), x, rtol=0, atol=1e-5)
    torch.testing.assert_close(warp(x, torch.zeros(2, 2, 13, 11), "zeros"), x, rtol=0, atol=1e-5)


def test_integer_flow_warp_shifts() -> None:
    x = torch.rand(1, 3, 12, 16)
    flow = torch.zeros(1, 2, 12, 16)
    flow[:, 0], flow[:, 1] = 2.0, -1.0  # pixel (i, j) of the target is (i - 1, j + 2) of the source
    out = warp(x, flow, "zeros")
    torch.testing.assert_close(out[..., 1:, :-2], x[..., :-1, 2:], rtol=0, atol=1e-5)
    assert out[..., 0, :].abs().max() == 0 and out[..., :, -2:].abs().max() == 0


def test_untrained_model_is_its_single_frame_twin() -> None:
    """Zero-initialised temporal path: the cell starts as sr-compact whatever the neighbours and
    state, exactly with the keep gate shut and within the gate's 1.8% start otherwise."""
    torch.manual_seed(0)
    model = AlignedRecurrentSR(2, channels=8, blocks=1, hidden=4).eval()
    torch.nn.init.normal_(model.head.weight, std=0.1)
    clip = torch.rand(1, 4, 3, 10, 12)
    with torch.no_grad():
        started = model.forward_clip(clip)
        torch.nn.init.constant_(model.gate.bias, -30.0)
        whole = model.forward_clip(clip)
        for i in range(4):
            alone = clip[:, [i, i, i]]
            y, _ = model(alone, model.initial_state(1, 10, 12))
            torch.testing.assert_close(whole[:, i], y, rtol=1e-5, atol=1e-6)
    assert (started - whole).abs().max() < 0.05  # 1.8% of |previous - estimate| (here up to ~1.5)


@pytest.mark.parametrize("keep", [0.0, 1.0])
def test_keep_gate_blends_the_warped_previous_output(keep: float) -> None:
    """Gate shut: this frame's estimate (here the bicubic upscale, head and temporal conv zero); gate
    open: the previous output, warped (zero flow: as it was), where the state is valid; and with no
    valid state the gate changes nothing."""
    model = AlignedRecurrentSR(2, channels=8, blocks=1, hidden=4).eval()  # untrained flow: zero
    torch.nn.init.constant_(model.gate.bias, 30.0 if keep else -30.0)
    frames = torch.rand(1, 3, 3, 8, 12)  # multiples of 4: the state has the frame's size
    previous = torch.rand(1, 3 * 2 * 2, 8, 12)
    bicubic = model.upsample(frames[:, 1])
    for valid in (1.0, 0.0):
        state = torch.cat([torch.zeros(1, 4, 8, 12), previous, torch.full((1, 1, 8, 12), valid)], dim=1)
        with torch.no_grad():
            y, new_state = model(frames, state)
        expected = F.pixel_shuffle(previous, 2) if keep and valid else bicubic
        torch.testing.assert_close(y, expected, rtol=0, atol=1e-5)
        fed_back = F.pixel_unshuffle(expected.clamp(0, 1), 2)
        torch.testing.assert_close(new_state[:, 4:-1], fed_back, rtol=0, atol=1e-5)


def test_flow_depends_on_nothing_beyond_its_reach() -> None:
    """With weights that drive most of the flow to its clamp (the widest warps), changing every pixel
    farther than REACH from a point leaves the flow there unchanged, and changing the point itself
    does not: the bound that vsr-x4's receptive field, and so exact tiling, rely on."""
    torch.manual_seed(0)
    flow = FlowEstimator().eval()
    for level in (flow.coarse, flow.fine):
        for layer in level.net:
            if isinstance(layer, torch.nn.Conv2d):
                torch.nn.init.normal_(layer.weight, std=0.2)
    reach = FlowEstimator.REACH
    size = 4 * reach + 8
    a, b = torch.rand(2, 1, 3, size, size).unbind(0)
    with torch.no_grad():
        ref = flow(a, b)
    saturated = (ref.abs() >= flow.max_flow - 1e-4).any(dim=1)[0]
    assert saturated.float().mean() > 0.5
    free = torch.nonzero(~saturated[reach : size - reach, reach : size - reach])
    y, x = (int(v) + reach for v in free[len(free) // 2])  # a point whose flow can still move
    far = torch.ones(1, 1, size, size, dtype=torch.bool)
    far[..., y - reach : y + reach + 1, x - reach : x + reach + 1] = False
    point = torch.zeros_like(far)
    point[..., y, x] = True
    with torch.no_grad():
        changed = flow(torch.where(far, torch.rand_like(a), a), torch.where(far, torch.rand_like(b), b))
        touched = flow(torch.where(point, 1.0 - a, a), b)
    torch.testing.assert_close(changed[..., y, x], ref[..., y, x], rtol=0, atol=1e-4)
    assert (touched[..., y, x] - ref[..., y, x]).abs().max() > 1e-3


def test_state_is_bounded_and_marks_validity() -> None:
    spec = get_spec("vsr-x4")
    model = spec.build(pretrained=False)
    for p in model.parameters():
        p.data.add_(0.2 * torch.randn_like(p))
    state = model.initial_state(1, 9, 10)
    with torch.no_grad():
        for _ in range(3):
            _, state = model(torch.rand(1, 3, 3, 9, 10), state)
    assert state.shape == (1, model.state_channels, 12, 12)  # padded to the flow's grid of 4 px
    assert state.abs().max() <= 1.0
    assert torch.all(state[:, -1] >= 0)


@pytest.mark.skipif(not FLOW_WEIGHTS.is_file(), reason="flow pre-training weights not committed yet")
@pytest.mark.parametrize("shift", [(1.5, -0.75), (-2.5, 1.25), (-3.0, 2.25), (0.5, 0.0)])
def test_flow_estimator_recovers_translation(shift: tuple[float, float]) -> None:
    """Pre-trained flow on a translated texture: the mean interior flow within 0.25 px of the truth."""
    from safetensors.torch import load_file

    estimator = FlowEstimator()
    estimator.load_state_dict(load_file(str(FLOW_WEIGHTS)))
    # two crops of one smooth texture, 4 * shift apart at 4x resolution, then box-downscaled:
    # an exact sub-pixel translation, target(x) = source(x + shift)
    hr = _texture(4 * 80, 4 * 88)
    dx, dy = round(4 * shift[0]), round(4 * shift[1])
    source = F.avg_pool2d(hr[..., 32 : 32 + 256, 32 : 32 + 288], 4)
    target = F.avg_pool2d(hr[..., 32 + dy : 32 + dy + 256, 32 + dx : 32 + dx + 288], 4)
    with torch.no_grad():
        flow = estimator(target, source)
    interior = flow[..., 8:-8, 8:-8].mean(dim=(-1, -2))[0]
    assert (interior - torch.tensor(shift)).abs().max() < 0.25, interior


def test_the_fed_back_output_moves_by_output_pixels_not_input_cells() -> None:
    """A quarter-input-pixel move of a x4 output is one output pixel: the fed-back output must land
    exactly there (warping the folded tensor at input resolution blurs it across 4 output pixels)."""
    torch.manual_seed(3)
    model = AlignedRecurrentSR(4)
    hr = torch.rand(1, 3, 64, 96)  # full of single-pixel detail
    flow = torch.full((1, 2, 16, 24), 0.25)  # t -> t-1: sample a quarter input pixel right and down
    moved = F.pixel_shuffle(model.warp_output(F.pixel_unshuffle(hr, 4), flow), 4)
    expected = hr[:, :, 1:, 1:]
    assert torch.allclose(moved[:, :, :-1, :-1], expected, atol=1e-5)
    naive = F.pixel_shuffle(warp(F.pixel_unshuffle(hr, 4), flow, padding_mode="zeros"), 4)
    assert (naive[:, :, 4:-4, 4:-4] - expected[:, :, 4:-3, 4:-3]).abs().mean() > 0.1


@pytest.mark.xfail(
    strict=True,
    reason="measured 2026-12-06: 0.11 px mean (0.67 max) here, 0.13-0.15 on the held-out clips; at x4 "
    "that misplaces the fed-back output by about half an output pixel, which is why vsr-x4 learned to "
    "keep its keep gate shut (bench/vsr_feedback.py); issue 12's closing note",
)
def test_shipped_flow_is_still_on_identical_frames() -> None:
    """Two identical frames have zero motion: the shipped flow estimator should say so to within
    0.05 px mean, or the previous output is warped off its place on every still scene."""
    model = get_spec("vsr-x4").build(pretrained=True)
    frame = _texture(96, 128)
    with torch.no_grad():
        flow = model.flow(frame, frame)
    assert flow.abs().mean() < 0.05
