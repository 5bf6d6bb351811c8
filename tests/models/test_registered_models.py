"""Every registered model, parametrized over ``list_specs()`` so new models are tested for free."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from stream_restore.models import list_specs
from stream_restore.models.registry import ModelSpec, file_sha256

SPECS = list_specs()
IDS = [s.name for s in SPECS]
TRAINABLE = [s for s in SPECS if s.parameter_count() > 0]
CARDS = Path(__file__).resolve().parents[2] / "stream_restore" / "models" / "cards"

# Issue 3's compute budgets, GFLOP per input megapixel (per frame for video models).
BUDGETS = {"sr-fast-": 80.0, "sr-compact-": 400.0, "vsr-": 400.0}


def _inputs(spec: ModelSpec, h: int, w: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    if spec.window == 1 and not spec.recurrent:
        return (torch.rand(1, 3, h, w, generator=g),)
    return (torch.rand(1, spec.window, 3, h, w, generator=g),)


def _run(spec: ModelSpec, module: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    if spec.recurrent:
        y, _ = module(x, module.initial_state(x.shape[0], x.shape[-2], x.shape[-1]))
        return y
    return module(x)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_output_shape_for_odd_sizes(spec: ModelSpec) -> None:
    module = spec.build(pretrained=False)
    with torch.no_grad():
        for h, w in ((13, 11), (7, 20)):
            y = _run(spec, module, *_inputs(spec, h, w))
            assert y.shape == (1, 3, h * spec.scale, w * spec.scale)
            assert torch.isfinite(y).all()


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_deterministic(spec: ModelSpec) -> None:
    torch.manual_seed(0)
    a = spec.build(pretrained=False)
    torch.manual_seed(0)
    b = spec.build(pretrained=False)
    (x,) = _inputs(spec, 12, 10)
    with torch.no_grad():
        ya, yb, ya2 = _run(spec, a, x), _run(spec, b, x), _run(spec, a, x)
    assert torch.equal(ya, yb) and torch.equal(ya, ya2)


@pytest.mark.parametrize("spec", [s for s in SPECS if s.recurrent], ids=lambda s: s.name)
def test_streaming_state_equals_clip(spec: ModelSpec) -> None:
    """Feeding windows one by one with the carried state equals ``forward_clip`` on the whole clip."""
    torch.manual_seed(1)
    module = spec.build(pretrained=False)
    for p in module.parameters():  # non-zero heads so the state actually matters
        p.data.add_(0.05 * torch.randn_like(p))
    clip = torch.rand(1, 5, 3, 9, 11, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        whole = module.forward_clip(clip)
        state = module.initial_state(1, 9, 11)
        t = clip.shape[1]
        for i in range(t):
            window = clip[:, [max(i - 1, 0), i, min(i + 1, t - 1)]]
            y, state = module(window, state)
            torch.testing.assert_close(y, whole[:, i], rtol=1e-5, atol=1e-6)
        # the state matters: restarting from zero at the last frame changes the output
        fresh, _ = module(clip[:, [t - 2, t - 1, t - 1]], module.initial_state(1, 9, 11))
    assert not torch.allclose(fresh, whole[:, -1], atol=1e-6)


@pytest.mark.parametrize("spec", TRAINABLE, ids=lambda s: s.name)
def test_gradient_step_changes_weights(spec: ModelSpec) -> None:
    torch.manual_seed(0)
    module = spec.builder().train()
    before = [p.detach().clone() for p in module.parameters()]
    opt = torch.optim.Adam(module.parameters(), lr=1e-3)
    (x,) = _inputs(spec, 16, 16)
    target = torch.rand(1, 3, 16 * spec.scale, 16 * spec.scale)
    loss = (_run(spec, module, x) - target).abs().mean()
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)
    assert any(not torch.equal(a, p) for a, p in zip(before, module.parameters(), strict=True))


@pytest.mark.parametrize("spec", [s for s in SPECS if s.weights is not None], ids=lambda s: s.name)
def test_weights_load_and_match_checksum(spec: ModelSpec) -> None:
    assert spec.weights is not None
    assert file_sha256(spec.weights.path()) == spec.weights.sha256
    module = spec.build(pretrained=True)
    with torch.no_grad():
        y = _run(spec, module, *_inputs(spec, 9, 9))
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("spec", [s for s in SPECS if s.card is not None], ids=lambda s: s.name)
def test_carded_models_ship_weights_and_card(spec: ModelSpec) -> None:
    """A model with a card is a trained model: its weights and card must both be in the package."""
    assert spec.weights is not None, f"{spec.name} has no exported weights"
    assert (CARDS / str(spec.card)).is_file()
    assert spec.weights.path().stat().st_size < 8 * 2**20


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_compute_budget(spec: ModelSpec) -> None:
    for prefix, budget in BUDGETS.items():
        if spec.name.startswith(prefix):
            assert spec.gflop_per_megapixel() <= budget
    assert spec.future_frames <= 1


@pytest.mark.parametrize("spec", [s for s in SPECS if s.recurrent], ids=lambda s: s.name)
def test_recurrent_models_export_to_onnx(spec: ModelSpec, tmp_path: Path) -> None:
    """No deformable or other non-exportable ops: the step exports and ONNX Runtime matches torch."""
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    module = spec.build(pretrained=False)
    x = torch.rand(1, 3, 3, 16, 16)
    state = module.initial_state(1, 16, 16)
    path = tmp_path / "m.onnx"
    torch.onnx.export(
        module,
        (x, state),
        str(path),
        dynamo=False,
        opset_version=17,
        input_names=["frames", "state"],
        output_names=["y", "new_state"],
    )
    onnx.checker.check_model(str(path))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    y_ort, _ = session.run(None, {"frames": x.numpy(), "state": state.numpy()})
    with torch.no_grad():
        y, _ = module(x, state)
    torch.testing.assert_close(torch.from_numpy(y_ort), y, rtol=1e-4, atol=1e-4)
