"""The spandrel route: architectures none of our families know, where the optional extra imports.

Spandrel needs a torchvision built for the installed torch, so on CPU-only machines (and CI) it
does not import: there the real-spandrel tests skip with the import error, and the glue is tested
against a small stand-in module with spandrel's API (``ModelLoader().load_from_state_dict``, a
descriptor with ``architecture.id``, ``purpose``, ``scale``, channels and ``size_requirements``).
The refusal message is tested everywhere, with spandrel switched off.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from stream_restore.errors import ConfigError
from stream_restore.models.community import via_spandrel
from stream_restore.models.directory import add_model, load_directory
from stream_restore.models.registry import get_spec, unregister

from .conftest import infer, randomise


def _save(state: dict[str, torch.Tensor], path: Path) -> Path:
    torch.save({"params_ema": state}, path)
    return path


# -- without spandrel ---------------------------------------------------------------------------------


def test_an_unknown_architecture_without_spandrel_names_every_way_on(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "spandrel", None)  # as where it is not installed
    path = _save(
        {"head.weight": torch.zeros(8, 3, 3, 3), "tail.weight": torch.zeros(12, 8, 3, 3)}, tmp_path / "x.pth"
    )
    with pytest.raises(ConfigError) as caught:
        add_model(path, models_dir)
    message = str(caught.value)
    assert (
        "x.pth: the architecture is not one stream-restore recognises (srvgg, rrdb, nafnet, span)" in message
    )
    assert "export the model to ONNX with dynamic height and width and add the .onnx file" in message
    assert "pip install 'stream-restore[spandrel]'" in message
    assert "torchvision" in message and "(spandrel here: ModuleNotFoundError: " in message
    assert not models_dir.exists()


# -- a stand-in with spandrel's API -------------------------------------------------------------------


class ToyNet(nn.Module):
    """An x2 network that, like many transformers, only accepts square inputs of 16+ multiples of 4."""

    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        self.head = nn.Conv2d(channels, 8, 3, padding=1)
        self.tail = nn.Conv2d(8, channels * 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h != w or h % 4 or h < 16:
            raise ValueError(f"ToyNet needs a square of 16+ multiples of 4, not {h}x{w}")
        return F.pixel_shuffle(self.tail(torch.relu(self.head(x))), 2) + F.interpolate(x, scale_factor=2)


def _fake_spandrel(
    purpose: str = "SR", out_channels: int = 3
) -> tuple[ModuleType, list[dict[str, torch.Tensor]]]:
    """A module with the parts of spandrel's API we use; records the state dicts it was handed."""
    seen: list[dict[str, torch.Tensor]] = []

    class UnsupportedModelError(Exception):
        pass

    class ModelLoader:
        def load_from_state_dict(self, state: dict[str, torch.Tensor]) -> SimpleNamespace:
            seen.append(state)
            if set(state) != {"head.weight", "head.bias", "tail.weight", "tail.bias"}:
                raise UnsupportedModelError("unknown")
            model = ToyNet(int(state["head.weight"].shape[1]))
            model.load_state_dict(state, strict=True)
            size = SimpleNamespace(minimum=16, multiple_of=4, square=True)
            return SimpleNamespace(
                model=model,
                architecture=SimpleNamespace(id="ToyNet"),
                purpose=purpose,
                scale=2,
                input_channels=int(state["head.weight"].shape[1]),
                output_channels=out_channels,
                size_requirements=size,
                supports_half=True,
                supports_bfloat16=False,
                tags=["8nf"],
            )

    module = ModuleType("spandrel")
    module.__dict__.update(
        ModelLoader=ModelLoader, UnsupportedModelError=UnsupportedModelError, __version__="0.4.9"
    )
    return module, seen


def test_an_architecture_spandrel_knows_is_added_built_from_the_verified_file_and_padded(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, seen = _fake_spandrel()
    monkeypatch.setitem(sys.modules, "spandrel", fake)
    reference = randomise(ToyNet(), 5)
    path = _save(reference.state_dict(), tmp_path / "toy.pth")
    sidecar = add_model(path, models_dir)
    assert (sidecar.family, sidecar.scale, sidecar.task, sidecar.size_multiple, sidecar.exact_tiles) == (
        "spandrel",
        2,
        "sr",
        4,
        False,
    )
    assert sidecar.params == {
        "architecture": "ToyNet",
        "purpose": "SR",
        "in_channels": 3,
        "min_size": 16,
        "square": True,
        "supports_half": True,
        "supports_bfloat16": False,
        "tags": "8nf",
    }
    assert sidecar.parameters == sum(p.numel() for p in reference.parameters())
    assert all(isinstance(v, torch.Tensor) for v in seen[0].values())  # tensors, never the file
    x = torch.rand(1, 1, 3, 10, 13)  # neither square, nor 16, nor a multiple of 4
    padded = F.pad(x[:, 0], (0, 3, 0, 6), mode="replicate")  # to 16x16
    with torch.no_grad():
        expected = reference(padded)[..., :20, :26]
    unregister("toy")
    assert [s.name for s in load_directory(models_dir)] == ["toy"]  # the sidecar alone registers it
    torch.testing.assert_close(infer("toy", x), expected, rtol=1e-5, atol=1e-5)
    randomise(reference, 6)
    _save(reference.state_dict(), models_dir / "toy.pth")  # replaced behind the sidecar's back
    with pytest.raises(Exception, match="checksum"):
        infer("toy", x)


def test_a_model_added_through_spandrel_says_so_where_spandrel_is_gone(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "spandrel", _fake_spandrel()[0])
    add_model(_save(randomise(ToyNet(), 7).state_dict(), tmp_path / "toy.pth"), models_dir, name="toy")
    monkeypatch.setitem(sys.modules, "spandrel", None)
    with pytest.raises(
        ConfigError, match=r"added through spandrel, which does not import here .*stream-restore\[spandrel\]"
    ):
        get_spec("toy").build()


@pytest.mark.parametrize(
    ("purpose", "out_channels", "message"),
    [("FaceSR", 3, "'FaceSR' model"), ("SR", 4, "maps 3 to 4 channels")],
)
def test_spandrel_models_that_cannot_restore_video_frames_are_refused(
    models_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    purpose: str,
    out_channels: int,
    message: str,
) -> None:
    monkeypatch.setitem(sys.modules, "spandrel", _fake_spandrel(purpose, out_channels)[0])
    with pytest.raises(ConfigError, match=message):
        add_model(_save(randomise(ToyNet(), 8).state_dict(), tmp_path / "toy.pth"), models_dir)


def test_an_architecture_neither_knows_is_refused_naming_both(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "spandrel", _fake_spandrel()[0])
    path = _save({"odd.weight": torch.zeros(4, 3, 3, 3)}, tmp_path / "odd.pth")
    with pytest.raises(
        ConfigError,
        match=r"neither stream-restore's own families \(srvgg, rrdb, nafnet, span\) "
        r"nor spandrel 0\.4\.9 recognise",
    ):
        add_model(path, models_dir)


def test_native_families_are_tried_before_spandrel(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .test_directory import RefSRVGG

    fake, seen = _fake_spandrel()
    monkeypatch.setitem(sys.modules, "spandrel", fake)
    sidecar = add_model(_save(randomise(RefSRVGG(upscale=2), 9).state_dict(), tmp_path / "c.pth"), models_dir)
    assert sidecar.family == "srvgg" and seen == []


# -- the real spandrel (where it imports: CUDA torch with its torchvision) ------------------------------


def _real_spandrel() -> ModuleType:
    reason = via_spandrel.unavailable_reason()
    if reason is not None:
        pytest.skip(f"spandrel does not import here (needs torchvision built for this torch): {reason}")
    import spandrel

    return spandrel


def test_a_real_spandrel_architecture_runs_like_spandrels_own_model(models_dir: Path, tmp_path: Path) -> None:
    spandrel = _real_spandrel()
    from spandrel.architectures.SAFMN import SAFMN

    net = randomise(SAFMN(dim=8, n_blocks=1, ffn_scale=2.0, upscaling_factor=2), 10)
    path = _save(net.state_dict(), tmp_path / "safmn.pth")
    sidecar = add_model(path, models_dir)
    assert (sidecar.family, sidecar.params["architecture"], sidecar.scale) == ("spandrel", "SAFMN", 2)
    descriptor = spandrel.ModelLoader().load_from_state_dict(dict(net.state_dict()))
    x = torch.rand(1, 1, 3, 32, 32)  # meets any size requirement SAFMN has: spandrel pads nothing either
    torch.testing.assert_close(infer("safmn", x).clamp(0, 1), descriptor(x[:, 0]), rtol=1e-4, atol=1e-4)


def test_our_span_matches_spandrels_span(models_dir: Path, tmp_path: Path) -> None:
    spandrel = _real_spandrel()
    from spandrel.architectures.SPAN import SPAN

    net = randomise(SPAN(num_in_ch=3, num_out_ch=3, feature_channels=8, upscale=2), 11)
    state = {k: v for k, v in net.state_dict().items()}
    sidecar = add_model(_save(state, tmp_path / "span.pth"), models_dir)
    assert sidecar.family == "span"  # native, not through spandrel
    descriptor = spandrel.ModelLoader().load_from_state_dict(dict(state))
    x = torch.rand(1, 1, 3, 24, 24)
    torch.testing.assert_close(infer("span", x).clamp(0, 1), descriptor(x[:, 0]), rtol=1e-4, atol=1e-4)
