"""Added models: community checkpoints and ONNX files detected, checked and served like shipped ones.

The reference networks below are written here from the published architectures (not imported
from the package), so a wrong parameter name or forward in ``models/community`` fails parity.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from stream_restore.backends import BackendOptions, create_backend
from stream_restore.cli import main
from stream_restore.errors import ConfigError
from stream_restore.models.directory import add_model, load_directory, read_checkpoint, remove_model
from stream_restore.models.registry import get_spec, unregister

from ..conftest import ClipSpec, make_clip
from .conftest import assert_restored_video, infer, randomise

# -- reference networks, as published ---------------------------------------------------------------


class RefSRVGG(nn.Module):
    """Real-ESRGAN's SRVGGNetCompact."""

    def __init__(self, num_feat: int = 8, num_conv: int = 3, upscale: int = 4) -> None:
        super().__init__()
        self.upscale = upscale
        self.body = nn.ModuleList([nn.Conv2d(3, num_feat, 3, 1, 1), nn.PReLU(num_parameters=num_feat)])
        for _ in range(num_conv):
            self.body.append(nn.Conv2d(num_feat, num_feat, 3, 1, 1))
            self.body.append(nn.PReLU(num_parameters=num_feat))
        self.body.append(nn.Conv2d(num_feat, 3 * upscale * upscale, 3, 1, 1))
        self.upsampler = nn.PixelShuffle(upscale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for layer in self.body:
            out = layer(out)
        return self.upsampler(out) + F.interpolate(x, scale_factor=self.upscale, mode="nearest")


class RefRDB(nn.Module):
    def __init__(self, nf: int, gc: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(nf, gc, 3, 1, 1)
        self.conv2 = nn.Conv2d(nf + gc, gc, 3, 1, 1)
        self.conv3 = nn.Conv2d(nf + 2 * gc, gc, 3, 1, 1)
        self.conv4 = nn.Conv2d(nf + 3 * gc, gc, 3, 1, 1)
        self.conv5 = nn.Conv2d(nf + 4 * gc, nf, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        return self.conv5(torch.cat((x, x1, x2, x3, x4), 1)) * 0.2 + x


class RefRRDB(nn.Module):
    def __init__(self, nf: int, gc: int) -> None:
        super().__init__()
        self.rdb1, self.rdb2, self.rdb3 = RefRDB(nf, gc), RefRDB(nf, gc), RefRDB(nf, gc)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RefRRDBNet(nn.Module):
    """BasicSR's RRDBNet (ESRGAN / Real-ESRGAN x4plus, x2plus with pixel-unshuffle)."""

    def __init__(self, scale: int = 4, nf: int = 8, nb: int = 2, gc: int = 4) -> None:
        super().__init__()
        self.scale = scale
        fold = {4: 1, 2: 2, 1: 4}[scale]
        self.conv_first = nn.Conv2d(3 * fold * fold, nf, 3, 1, 1)
        self.body = nn.Sequential(*[RefRRDB(nf, gc) for _ in range(nb)])
        self.conv_body = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_hr = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_last = nn.Conv2d(nf, 3, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fold = {4: 1, 2: 2, 1: 4}[self.scale]
        feat = F.pixel_unshuffle(x, fold) if fold > 1 else x
        feat = self.conv_first(feat)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))


def _old_esrgan_layout(state: dict[str, torch.Tensor], blocks: int) -> dict[str, torch.Tensor]:
    """The same weights under the original ESRGAN repository's names."""
    tail = {"conv_first": "model.0", "conv_body": f"model.1.sub.{blocks}", "conv_up1": "model.3",
            "conv_up2": "model.6", "conv_hr": "model.8", "conv_last": "model.10"}
    out = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "body":
            out[f"model.1.sub.{parts[1]}.RDB{parts[2][3:]}.{parts[3]}.0.{parts[4]}"] = value
        else:
            out[f"{tail[parts[0]]}.{parts[1]}"] = value
    return out


# -- checkpoints ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "suffix", "convert"),
    [
        (RefSRVGG(upscale=4), ".pth", None),
        (RefSRVGG(upscale=2), ".safetensors", None),
        (RefRRDBNet(scale=4), ".pth", None),
        (RefRRDBNet(scale=2), ".safetensors", None),
        (RefRRDBNet(scale=4), ".pth", "old-esrgan"),
    ],
    ids=["srvgg-x4-pth", "srvgg-x2-safetensors", "rrdb-x4-pth", "rrdb-x2-safetensors", "rrdb-x4-old-names"],
)
def test_a_community_checkpoint_is_detected_and_runs_like_its_architecture(
    models_dir: Path, tmp_path: Path, reference: nn.Module, suffix: str, convert: str | None
) -> None:
    reference = randomise(reference, 1)
    state = reference.state_dict()
    if convert:
        state = _old_esrgan_layout(state, 2)
    path = tmp_path / f"net{suffix}"
    if suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        torch.save({"params_ema": state}, path)  # BasicSR's wrapper
    sidecar = add_model(path, models_dir, name="mine")
    scale = reference.upscale if isinstance(reference, RefSRVGG) else reference.scale
    assert (sidecar.family, sidecar.scale, sidecar.task) == (
        "srvgg" if isinstance(reference, RefSRVGG) else "rrdb",
        scale,
        "sr",
    )
    x = torch.rand(1, 1, 3, 21, 27)  # odd sizes: an x2 RRDB needs even ones, padded and cropped
    out = infer("mine", x)
    assert out.shape == (1, 3, 21 * scale, 27 * scale)
    if scale == 2 and isinstance(reference, RefRRDBNet):
        padded = F.pad(x[:, 0], (0, 1, 0, 1), mode="replicate")
        expected = reference(padded)[..., : 21 * scale, : 27 * scale]
    else:
        expected = reference(x[:, 0])
    torch.testing.assert_close(out, expected.detach(), rtol=1e-4, atol=1e-5)


def test_a_nafnet_checkpoint_is_a_deblurring_model_with_its_size_multiple(
    models_dir: Path, tmp_path: Path
) -> None:
    from stream_restore.models.community.nafnet import NAFNet

    net = randomise(NAFNet(width=8, middle_blk_num=1, enc_blk_nums=(1, 1), dec_blk_nums=(1, 1)), 2)
    torch.save(net.state_dict(), tmp_path / "nafnet.pth")
    sidecar = add_model(tmp_path / "nafnet.pth", models_dir)
    assert (sidecar.name, sidecar.family, sidecar.task, sidecar.scale, sidecar.size_multiple) == (
        "nafnet",
        "nafnet",
        "deblur",
        1,
        4,
    )
    x = torch.rand(1, 1, 3, 19, 23)
    torch.testing.assert_close(infer("nafnet", x), net(x[:, 0]).detach(), rtol=1e-4, atol=1e-5)


def test_a_checkpoint_that_would_run_code_is_refused_and_nothing_runs(
    models_dir: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    torch.save({"params": {"w": torch.zeros(1)}, "hook": Payload()}, tmp_path / "evil.pth")
    with pytest.raises(ConfigError, match="pickled code"):
        read_checkpoint(tmp_path / "evil.pth")
    with pytest.raises(ConfigError, match="pickled code"):
        add_model(tmp_path / "evil.pth", models_dir)
    assert not marker.exists()
    assert not models_dir.exists() or not any(models_dir.iterdir())


def test_unknown_architectures_contradicting_options_and_shipped_names_are_refused(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "spandrel", None)  # the message where spandrel is not installed
    torch.save({"conv.weight": torch.zeros(4, 3, 3, 3)}, tmp_path / "odd.pth")
    with pytest.raises(ConfigError, match="not one stream-restore recognises"):
        add_model(tmp_path / "odd.pth", models_dir)
    torch.save(randomise(RefSRVGG(upscale=4), 3).state_dict(), tmp_path / "x4.pth")
    with pytest.raises(ConfigError, match="x4 srvgg model, not x2"):
        add_model(tmp_path / "x4.pth", models_dir, scale=2)
    with pytest.raises(ConfigError, match="shipped model"):
        add_model(tmp_path / "x4.pth", models_dir, name="sr-compact-x4")
    with pytest.raises(ConfigError, match="model name"):
        add_model(tmp_path / "x4.pth", models_dir, name="../escape")


def test_a_model_file_replaced_behind_its_sidecar_is_refused(models_dir: Path, tmp_path: Path) -> None:
    torch.save(randomise(RefSRVGG(upscale=2), 4).state_dict(), tmp_path / "a.pth")
    add_model(tmp_path / "a.pth", models_dir, name="a")
    torch.save(randomise(RefSRVGG(upscale=2), 5).state_dict(), models_dir / "a.pth")
    with pytest.raises(Exception, match="checksum"):
        infer("a", torch.rand(1, 1, 3, 8, 8))


def test_the_directory_registers_at_start_and_a_broken_sidecar_is_skipped(
    models_dir: Path, tmp_path: Path
) -> None:
    torch.save(randomise(RefSRVGG(upscale=2), 6).state_dict(), tmp_path / "b.pth")
    add_model(tmp_path / "b.pth", models_dir, name="b")
    unregister("b")
    (models_dir / "broken.toml").write_text("name = ")
    specs = load_directory(models_dir)
    assert [s.name for s in specs] == ["b"]
    assert get_spec("b").external is not None
    remove_model("b", models_dir)
    assert not (models_dir / "b.pth").exists()


# -- ONNX files -------------------------------------------------------------------------------------


class _Stacked(nn.Module):
    """A 3-frame model taking its window stacked on channels: x2 upscale of the mean frame."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        mean = x.reshape(n, c // 3, 3, h, w).mean(1)
        return F.interpolate(mean, scale_factor=2, mode="nearest")


def _export(module: nn.Module, path: Path, shape: tuple[int, ...], dynamic: bool) -> Path:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    axes = {"input": {0: "n", 2: "h", 3: "w"}, "output": {0: "n", 2: "oh", 3: "ow"}} if dynamic else None
    torch.onnx.export(
        module.eval(),
        (torch.rand(*shape),),
        str(path),
        input_names=["input"],
        output_names=["output"],
        dynamic_axes=axes,
        opset_version=17,
        dynamo=False,
    )
    return path


def test_an_onnx_file_with_dynamic_shapes_runs_on_onnxruntime_with_parity(
    models_dir: Path, tmp_path: Path
) -> None:
    from stream_restore.backends.onnx_file import inspect

    reference = randomise(RefSRVGG(upscale=2), 7)
    path = _export(reference, tmp_path / "srvgg.onnx", (1, 3, 32, 32), dynamic=True)
    facts = inspect(path)
    assert (facts.scale, facts.frames, facts.layout, facts.size_multiple) == (2, 1, "single", 1)
    add_model(path, models_dir, name="srvgg-onnx", onnx=facts)
    x = torch.rand(1, 1, 3, 17, 29)
    torch.testing.assert_close(
        infer("srvgg-onnx", x, "auto"), reference(x[:, 0]).detach(), rtol=1e-4, atol=1e-4
    )
    with pytest.raises(ConfigError, match="onnxruntime backend"):
        create_backend(get_spec("srvgg-onnx"), "torch", BackendOptions())


def test_a_fixed_shape_onnx_file_is_refused_with_what_to_re_export(tmp_path: Path) -> None:
    from stream_restore.backends.onnx_file import inspect

    path = _export(randomise(RefSRVGG(upscale=2), 8), tmp_path / "fixed.onnx", (1, 3, 32, 32), dynamic=False)
    with pytest.raises(ConfigError, match="fixed size 32x32; re-export it with dynamic"):
        inspect(path)


def test_a_multi_frame_onnx_file_stacked_on_channels_gets_its_window(
    models_dir: Path, tmp_path: Path
) -> None:
    from stream_restore.backends.onnx_file import inspect

    path = _export(_Stacked(), tmp_path / "stack.onnx", (1, 9, 16, 16), dynamic=True)
    sidecar = add_model(path, models_dir, name="stack", onnx=inspect(path))
    spec = get_spec("stack")
    assert (sidecar.layout, spec.window, spec.past_frames, spec.task.value) == ("channels", 3, 1, "vsr")
    x = torch.rand(2, 3, 3, 10, 12)
    torch.testing.assert_close(
        infer("stack", x, "onnxruntime"), F.interpolate(x.mean(1), scale_factor=2), rtol=1e-5, atol=1e-5
    )


# -- end to end -------------------------------------------------------------------------------------


def test_models_add_then_restore_a_clip_with_audio_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "models"
    torch.save(randomise(RefSRVGG(upscale=2), 9).state_dict(), tmp_path / "compact.pth")
    try:
        assert (
            main(
                [
                    "models",
                    "--models-dir",
                    str(folder),
                    "add",
                    str(tmp_path / "compact.pth"),
                    "--name",
                    "compact",
                ]
            )
            == 0
        )
        assert "added compact: srvgg x2 sr" in capsys.readouterr().out
        assert main(["--models-dir", str(folder), "models", "--json"]) == 0
        assert '"name": "compact"' in capsys.readouterr().out
        clip = make_clip(tmp_path / "in.mp4", ClipSpec(frames=6, width=48, height=32, audio=("aac",)))
        out = tmp_path / "out.mp4"
        assert (
            main(
                ["restore", str(clip), str(out), "--model", "compact", "--models-dir", str(folder), "--quiet"]
            )
            == 0
        )
        assert_restored_video(out, (96, 64), 6)
    finally:
        unregister("compact")


def test_the_server_lists_and_serves_an_added_model_and_an_unknown_name_is_not_found(tmp_path: Path) -> None:
    from stream_restore.errors import ModelNotFoundError
    from stream_restore.server import ServerConfig
    from stream_restore.server.background import server_in_thread

    folder = tmp_path / "models"
    torch.save(randomise(RefSRVGG(upscale=2), 10).state_dict(), tmp_path / "srv.pth")
    add_model(tmp_path / "srv.pth", folder, name="served")
    unregister("served")  # the server registers it from its directory
    clip = make_clip(tmp_path / "in.ts", ClipSpec(frames=4, width=32, height=24, audio=("aac",)))
    config = ServerConfig(port=0, backend="torch", threads=1, models_dir=str(folder), grace_period=0.5)
    from stream_restore.client import RestoreClient

    try:
        with server_in_thread(config) as server, RestoreClient(f"127.0.0.1:{server.port}") as client:
            assert "served" in {m.name for m in client.list_models()}
            result = client.restore(clip, tmp_path / "out.ts", model="served")
            assert result.summary is not None and result.summary.frames_out == 4
            with pytest.raises(ModelNotFoundError, match="NOT_FOUND"):
                client.restore(clip, tmp_path / "nope.ts", model="not-added")
            assert not (tmp_path / "nope.ts").exists()
    finally:
        unregister("served")


class _TimeAxis(nn.Module):
    """A 3-frame model with a time axis [N,T,C,H,W]: the centre frame minus half the mean motion."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 1] - 0.5 * (x[:, 2] - x[:, 0])


def test_a_multi_frame_onnx_file_with_a_time_axis_gets_its_window(models_dir: Path, tmp_path: Path) -> None:
    from stream_restore.backends.onnx_file import inspect

    pytest.importorskip("onnxruntime")
    path = tmp_path / "time.onnx"
    axes = {"input": {0: "n", 3: "h", 4: "w"}, "output": {0: "n", 2: "oh", 3: "ow"}}
    torch.onnx.export(_TimeAxis(), (torch.rand(1, 3, 3, 16, 16),), str(path), input_names=["input"],
                      output_names=["output"], dynamic_axes=axes, opset_version=17, dynamo=False)
    facts = inspect(path)
    assert (facts.layout, facts.frames, facts.scale) == ("time", 3, 1)
    add_model(path, models_dir, name="time", onnx=facts)
    assert get_spec("time").task.value == "vdeblur"
    x = torch.rand(1, 3, 3, 9, 11)
    expected = x[:, 1] - 0.5 * (x[:, 2] - x[:, 0])
    torch.testing.assert_close(infer("time", x, "auto"), expected, rtol=1e-5, atol=1e-5)


class _Folded(nn.Module):
    """An x2 model that works on 8x8 blocks (pixel-unshuffle by 8): inputs must be multiples of 8."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3 * 64, 3 * 256, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(self.conv(F.pixel_unshuffle(x, 8)), 16)


def test_an_onnx_model_that_needs_multiples_of_8_runs_on_odd_sizes(models_dir: Path, tmp_path: Path) -> None:
    from stream_restore.backends.onnx_file import inspect

    model = randomise(_Folded(), 11)
    path = _export(model, tmp_path / "folded.onnx", (1, 3, 32, 32), dynamic=True)
    facts = inspect(path)
    assert (facts.scale, facts.size_multiple) == (2, 8)
    add_model(path, models_dir, name="folded", onnx=facts)
    x = torch.rand(1, 1, 3, 21, 30)
    padded = F.pad(x[:, 0], (0, 2, 0, 3), mode="replicate")
    expected = model(padded)[..., :42, :60].detach()
    torch.testing.assert_close(infer("folded", x, "onnxruntime"), expected, rtol=1e-4, atol=1e-4)
