"""Every registered model exports to ONNX and ONNX Runtime reproduces PyTorch (fp32, <= 1e-4)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from stream_restore.backends.export import (
    FRAMES,
    OUTPUT,
    STATE,
    STATE_OUT,
    export_onnx,
    padded_size,
    weights_hash,
)
from stream_restore.errors import ConfigError
from stream_restore.models import get_spec, list_specs

from .toy_models import TOY_NAMES

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

MODEL_NAMES = [s.name for s in list_specs()] + TOY_NAMES
SIZES = [(1, 20, 28), (2, 33, 17)]  # (batch, height, width): odd sizes, batch above the traced one


def _randomize(module: torch.nn.Module) -> torch.nn.Module:
    """Seeded random weights: zero-initialised heads (untrained models) would hide a broken body."""
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for p in module.parameters():
            fan_in = max(1, p[0].numel()) if p.dim() > 1 else 1
            noise = torch.randn(p.shape, generator=g) / fan_in**0.5
            p.copy_(noise if p.dim() > 1 else p + 0.05 * noise)
    return module


def _reference(spec, module, x, state):  # the model's own calling convention, not the export wrapper
    if spec.recurrent:
        return module(x, state)
    if spec.window == 1:
        return module(x[:, 0]), None
    return module(x), None


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_onnx_runtime_matches_pytorch(name: str, tmp_path: Path) -> None:
    spec = get_spec(name)
    module = _randomize(spec.build(pretrained=True))
    # verify=False: this test is the check (export_onnx's own check would repeat it)
    result = export_onnx(spec, tmp_path / f"{name}.onnx", module=module, opset=17, verify=False)
    model = onnx.load(str(result.path))
    assert model.opset_import[0].version >= 17
    inputs = {i.name: i for i in model.graph.input}
    dims = [d.dim_param or d.dim_value for d in inputs[FRAMES].type.tensor_type.shape.dim]
    assert all(isinstance(d, str) for d in (dims[0], dims[3], dims[4])), f"batch/H/W not dynamic: {dims}"
    assert (STATE in inputs) == spec.recurrent
    assert {o.name for o in model.graph.output} == ({OUTPUT, STATE_OUT} if spec.recurrent else {OUTPUT})

    session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    g = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        for n, h0, w0 in SIZES:
            h, w = padded_size(spec, h0, w0)  # graphs take multiples of size_multiple; backends pad
            state = module.initial_state(n, h, w) if spec.recurrent else None
            ort_state = None if state is None else state.numpy()
            for _ in range(5 if spec.recurrent else 1):
                x = torch.rand(n, spec.window, 3, h, w, generator=g)
                feeds = {FRAMES: x.numpy()} | ({STATE: ort_state} if spec.recurrent else {})
                got = session.run(None, feeds)
                ref, state = _reference(spec, module, x, state)
                assert got[0].shape == (n, 3, h * spec.scale, w * spec.scale)
                assert (torch.from_numpy(got[0]) - ref).abs().max().item() <= 1e-4
                if spec.recurrent:
                    ort_state = got[1]
                    assert (torch.from_numpy(ort_state) - state).abs().max().item() <= 1e-4


def test_export_rejects_old_opset(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        export_onnx(get_spec("identity"), tmp_path / "x.onnx", opset=13)


def test_export_records_metadata(tmp_path: Path) -> None:
    spec = get_spec("test-toy-recurrent-x2")
    result = export_onnx(spec, tmp_path / "toy.onnx")
    meta = {p.key: p.value for p in onnx.load(str(result.path)).metadata_props}
    assert meta["stream_restore.model"] == spec.name
    assert meta["stream_restore.recurrent"] == "1"
    assert meta["stream_restore.weights_sha256"] == result.weights_sha256
    assert not list(tmp_path.glob("*.partial-*")), "temporary files left behind"


def test_weights_hash_covers_fixed_buffers() -> None:
    spec = get_spec("bicubic-x2")  # no parameters: its kernel is a non-persistent buffer
    a, b = spec.build(), spec.build()
    assert weights_hash(a) == weights_hash(b)
    b.kernel.mul_(1.01)
    assert weights_hash(a) != weights_hash(b)
    assert weights_hash(a) != weights_hash(get_spec("bicubic-x4").build())
