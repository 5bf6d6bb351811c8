"""Community families: SPAN checkpoints added and run like SPAN itself, and detection that never misfires.

The reference SPAN below is written here from the published architecture (train-time branches,
the inference conv recomputed from them on every call, the in-place SiLU), not imported from the
package, so a wrong name, fold or forward in ``models/community/span.py`` fails parity.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from stream_restore.cli import main
from stream_restore.models.community import FAMILIES, detect_family
from stream_restore.models.community.nafnet import NAFNet
from stream_restore.models.directory import add_model
from stream_restore.models.registry import unregister

from ..conftest import ClipSpec, make_clip
from .conftest import assert_restored_video, infer, randomise
from .test_directory import RefRRDBNet, RefSRVGG

# -- reference SPAN, as published ---------------------------------------------------------------------


class RefConv3XC(nn.Module):
    """A 1x1 skip plus 1x1 -> 3x3 -> 1x1 (gain 2), collapsed into ``eval_conv`` before every eval call."""

    def __init__(self, c_in: int, c_out: int, gain: int = 2) -> None:
        super().__init__()
        self.sk = nn.Conv2d(c_in, c_out, 1)
        self.conv = nn.Sequential(
            nn.Conv2d(c_in, c_in * gain, 1),
            nn.Conv2d(c_in * gain, c_out * gain, 3),
            nn.Conv2d(c_out * gain, c_out, 1),
        )
        self.eval_conv = nn.Conv2d(c_in, c_out, 3, padding=1)

    def update_params(self) -> None:
        """The published re-parameterisation: compose kernels by convolving them with each other."""
        w1, b1 = self.conv[0].weight, self.conv[0].bias
        w2, b2 = self.conv[1].weight, self.conv[1].bias
        w3, b3 = self.conv[2].weight, self.conv[2].bias
        w = F.conv2d(w1.flip(2, 3).permute(1, 0, 2, 3), w2, padding=2).flip(2, 3).permute(1, 0, 2, 3)
        b = (w2 * b1.reshape(1, -1, 1, 1)).sum((1, 2, 3)) + b2
        weight = F.conv2d(w.flip(2, 3).permute(1, 0, 2, 3), w3).flip(2, 3).permute(1, 0, 2, 3)
        bias = (w3 * b.reshape(1, -1, 1, 1)).sum((1, 2, 3)) + b3
        self.eval_conv.weight.data = (weight + F.pad(self.sk.weight, [1, 1, 1, 1])).contiguous()
        self.eval_conv.bias.data = (bias + self.sk.bias).contiguous()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.update_params()
        return self.eval_conv(x)


class RefSPAB(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.c1_r, self.c2_r, self.c3_r = RefConv3XC(c, c), RefConv3XC(c, c), RefConv3XC(c, c)
        self.act1 = nn.SiLU(inplace=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out1 = self.c1_r(x)
        out1_act = self.act1(out1)  # in place: out1 is activated too
        out3 = self.c3_r(self.act1(self.c2_r(out1_act)))
        att = torch.sigmoid(out3) - 0.5
        return (out3 + x) * att, out1


class RefSPAN(nn.Module):
    def __init__(self, channels: int = 3, feat: int = 8, upscale: int = 4, norm: bool = True) -> None:
        super().__init__()
        self.norm = norm
        if not norm:
            self.register_buffer("no_norm", torch.zeros(1))
        self.mean = torch.tensor([0.4488, 0.4371, 0.4040]).view(1, 3, 1, 1)
        self.conv_1 = RefConv3XC(channels, feat)
        self.block_1, self.block_2, self.block_3 = RefSPAB(feat), RefSPAB(feat), RefSPAB(feat)
        self.block_4, self.block_5, self.block_6 = RefSPAB(feat), RefSPAB(feat), RefSPAB(feat)
        self.conv_cat = nn.Conv2d(feat * 4, feat, 1)
        self.conv_2 = RefConv3XC(feat, feat)
        self.upsampler = nn.Sequential(
            nn.Conv2d(feat, channels * upscale**2, 3, padding=1), nn.PixelShuffle(upscale)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.norm:
            x = (x - self.mean) * 255.0
        f = self.conv_1(x)
        b1, _ = self.block_1(f)
        b2, _ = self.block_2(b1)
        b3, _ = self.block_3(b2)
        b4, _ = self.block_4(b3)
        b5, _ = self.block_5(b4)
        b6, b5_2 = self.block_6(b5)
        return self.upsampler(self.conv_cat(torch.cat([f, self.conv_2(b6), b1, b5_2], 1)))


def _span(upscale: int, norm: bool = True, seed: int = 1, channels: int = 3) -> RefSPAN:
    net = RefSPAN(channels=channels, upscale=upscale, norm=norm)
    randomise(net, seed)
    with torch.no_grad():  # weights that keep the x255 normalised features in a sane range
        for name, p in net.named_parameters():
            if name.endswith("weight") and p.dim() == 4:
                p.mul_(1.0 / max(1, p.shape[1] * p.shape[2] * p.shape[3]) ** 0.5)
    return net


def _state(net: nn.Module, keys: str) -> dict[str, torch.Tensor]:
    """The published file's keys: all of them, eval convs only, branches only, or stale eval convs."""
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, RefConv3XC):
                module.update_params()
    state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    if keys == "eval-only":
        state = {k: v for k, v in state.items() if ".sk." not in k and ".conv." not in k}
    elif keys == "branches-only":
        state = {k: v for k, v in state.items() if ".eval_conv." not in k}
    elif keys == "stale-eval":
        state = {k: (torch.randn_like(v) if ".eval_conv." in k else v) for k, v in state.items()}
    return state


def _save(state: dict[str, torch.Tensor], path: Path) -> Path:
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        torch.save({"params_ema": state}, path)  # BasicSR / traiNNer's wrapper
    return path


# -- SPAN ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("upscale", "norm", "suffix", "keys"),
    [
        (4, True, ".pth", "all"),
        (2, True, ".safetensors", "all"),
        (4, True, ".pth", "eval-only"),
        (2, True, ".pth", "branches-only"),
        (4, True, ".safetensors", "stale-eval"),
        (1, False, ".pth", "all"),
    ],
    ids=["x4-pth", "x2-safetensors", "x4-eval-only", "x2-branches-only", "x4-stale-eval-conv", "x1-no-norm"],
)
def test_a_span_checkpoint_is_detected_and_runs_like_span(
    models_dir: Path, tmp_path: Path, upscale: int, norm: bool, suffix: str, keys: str
) -> None:
    reference = _span(upscale, norm)
    path = _save(_state(reference, keys), tmp_path / f"span{suffix}")
    sidecar = add_model(path, models_dir, name="span-mine")
    task = "sr" if upscale > 1 else "deblur"
    assert (sidecar.family, sidecar.scale, sidecar.task) == ("span", upscale, task)
    assert sidecar.params == {"in_channels": 3, "feature_channels": 8, "scale": upscale, "norm": norm}
    x = torch.rand(1, 1, 3, 19, 26)
    out = infer("span-mine", x)
    assert out.shape == (1, 3, 19 * upscale, 26 * upscale)
    with torch.no_grad():
        expected = reference(x[:, 0])
    assert expected.abs().mean() > 1e-3  # the comparison is not between two near-zero images
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)


def test_a_half_precision_span_file_runs_in_fp32(models_dir: Path, tmp_path: Path) -> None:
    reference = _span(2, seed=12)
    state = {k: v.half() for k, v in _state(reference, "all").items()}  # as trainers often export
    reference.load_state_dict({k: v.float() for k, v in state.items()})
    add_model(_save(state, tmp_path / "half.safetensors"), models_dir)
    x = torch.rand(1, 1, 3, 12, 15)
    with torch.no_grad():
        expected = reference(x[:, 0])
    torch.testing.assert_close(infer("half", x), expected, rtol=1e-4, atol=1e-4)


def test_span_detection_reads_channels_scale_and_normalisation() -> None:
    from stream_restore.models.community import span

    for upscale, norm, feat in ((4, True, 8), (3, False, 12), (1, True, 16)):
        net = RefSPAN(feat=feat, upscale=upscale, norm=norm)
        found = detect_family(FAMILIES, _state(net, "all"))
        assert found is not None
        family, detected = found
        assert family is span.FAMILY
        assert detected.params == {"in_channels": 3, "feature_channels": feat, "scale": upscale, "norm": norm}
        assert (detected.scale, detected.size_multiple, detected.exact_tiles) == (upscale, 1, True)
    gray = RefSPAN(channels=1, upscale=2, norm=False)
    found = detect_family(FAMILIES, _state(gray, "eval-only"))
    assert found is not None and found[1].params["in_channels"] == 1


def test_an_incomplete_or_extended_span_is_not_taken_for_span() -> None:
    state = _state(_span(2), "all")
    missing = {k: v for k, v in state.items() if not k.startswith("block_6.")}
    assert detect_family(FAMILIES, missing) is None
    extended = {**state, "block_7.c1_r.eval_conv.weight": state["block_6.c1_r.eval_conv.weight"]}
    assert detect_family(FAMILIES, extended) is None
    mismatched = {**state, "block_3.c2_r.conv.1.weight": torch.zeros(5, 5, 3, 3)}  # branches do not chain
    assert detect_family(FAMILIES, mismatched) is None


def test_a_one_channel_span_restores_each_colour_channel(models_dir: Path, tmp_path: Path) -> None:
    reference = _span(2, norm=False, channels=1, seed=4)
    add_model(_save(_state(reference, "all"), tmp_path / "gray.pth"), models_dir)
    x = torch.rand(1, 1, 3, 11, 14)
    with torch.no_grad():
        expected = reference(x[0, 0].unsqueeze(1)).reshape(1, 3, 22, 28)
    torch.testing.assert_close(infer("gray", x), expected, rtol=1e-4, atol=1e-4)


# -- detection round trip over every family ---------------------------------------------------------


def _published_states() -> dict[str, dict[str, torch.Tensor]]:
    """One tiny checkpoint per family and key layout, as its authors' code saves it."""
    from .test_directory import _old_esrgan_layout

    rrdb = randomise(RefRRDBNet(scale=2), 2).state_dict()
    nafnet = NAFNet(width=8, middle_blk_num=1, enc_blk_nums=(1, 1), dec_blk_nums=(1, 1))
    return {
        "srvgg": randomise(RefSRVGG(upscale=4), 1).state_dict(),
        "rrdb": rrdb,
        "rrdb-old-names": _old_esrgan_layout(rrdb, 2),
        "nafnet": randomise(nafnet, 3).state_dict(),
        "span": _state(_span(4), "all"),
        "span-eval-only": _state(_span(2), "eval-only"),
        "span-no-norm": _state(_span(1, norm=False), "branches-only"),
    }


@pytest.mark.parametrize("layout", list(_published_states()))
def test_each_familys_weights_are_recognised_by_that_family_alone(layout: str) -> None:
    state = _published_states()[layout]
    expected = layout.split("-")[0]
    claimed = [f.name for f in FAMILIES if f.detect(f.convert(state)) is not None]
    assert claimed == [expected]
    found = detect_family(FAMILIES, state)
    assert found is not None
    family, detected = found
    family.build(**detected.params).load_state_dict(family.convert(state), strict=True)


# -- end to end ---------------------------------------------------------------------------------------


def test_models_add_span_then_restore_a_clip_with_audio_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "models"
    reference = _span(2, seed=9)
    path = _save(_state(reference, "all"), tmp_path / "2x_span.safetensors")
    try:
        assert main(["models", "--models-dir", str(folder), "add", str(path), "--name", "span2"]) == 0
        assert "added span2: span x2 sr" in capsys.readouterr().out
        clip = make_clip(tmp_path / "in.mp4", ClipSpec(frames=5, width=40, height=24, audio=("aac",)))
        out = tmp_path / "out.mp4"
        args = ["restore", str(clip), str(out), "--model", "span2", "--models-dir", str(folder), "--quiet"]
        assert main(args) == 0
        assert_restored_video(out, (80, 48), 5)
    finally:
        unregister("span2")
