"""Degradations and samplers are pure functions of their inputs and generator state."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from stream_restore.errors import ConfigError
from stream_restore.training import degradations as D
from stream_restore.training.camera import CameraPath, random_path, render_clip
from stream_restore.training.samplers import (
    DeblurSampler,
    LayeredVideoSRSampler,
    SRSampler,
    VideoDeblurSampler,
)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _images() -> list[torch.Tensor]:
    g = _gen(123)
    base = torch.rand(3, 24, 24, generator=g)
    return [torch.nn.functional.interpolate(base[None], size=(96, 112), mode="bilinear")[0] for _ in range(2)]


def test_motion_kernel_deterministic_normalised() -> None:
    a, b, c = D.motion_kernel(_gen(0), 15), D.motion_kernel(_gen(0), 15), D.motion_kernel(_gen(1), 15)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == (15, 15) and abs(float(a.sum()) - 1) < 1e-5 and float(a.min()) >= 0


def test_gaussian_kernel_and_blur_preserve_mean() -> None:
    k = D.gaussian_kernel(1.5, 0.7, 0.3, size=9)
    assert abs(float(k.sum()) - 1) < 1e-5
    x = torch.full((1, 3, 20, 20), 0.4)
    torch.testing.assert_close(D.blur(x, k), x)
    assert D.blur(x, k, valid=True).shape == (1, 3, 12, 12)


def test_noise_and_resample_deterministic() -> None:
    x = torch.rand(1, 3, 32, 32, generator=_gen(5))
    assert torch.equal(D.add_sensor_noise(x, _gen(3), 0.02, 0.01), D.add_sensor_noise(x, _gen(3), 0.02, 0.01))
    assert not torch.equal(D.add_sensor_noise(x, _gen(3), 0.02), D.add_sensor_noise(x, _gen(4), 0.02))
    assert torch.equal(D.random_resample(x, 2, _gen(7)), D.random_resample(x, 2, _gen(7)))
    assert D.bicubic_downscale(x, 4).shape == (1, 3, 8, 8)


def test_jpeg_and_h264_roundtrips() -> None:
    x = torch.rand(2, 3, 16, 16, generator=_gen(0))
    j = D.jpeg_roundtrip(x, 30)
    assert j.shape == x.shape and torch.equal(j, D.jpeg_roundtrip(x, 30))
    clip = torch.rand(3, 3, 32, 32, generator=_gen(1))
    h = D.h264_roundtrip(clip, crf=30)
    assert h.shape == clip.shape and torch.equal(h, D.h264_roundtrip(clip, crf=30))
    assert float((h - clip).abs().mean()) > 0.001  # lossy


def test_static_camera_path_gives_still_frames() -> None:
    image = _images()[0]
    still = CameraPath(56.0, 48.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    clip = render_clip(image, still, [0.0, 1.0, 2.0], 32)
    assert clip.shape == (3, 3, 32, 32)
    torch.testing.assert_close(clip[0], clip[2])
    path = random_path(_gen(2), (96, 112), 32, 5, 3.0)
    assert path == random_path(_gen(2), (96, 112), 32, 5, 3.0)


@pytest.mark.parametrize(
    "make",
    [
        lambda im: SRSampler(im, 2, 12, 2),
        lambda im: LayeredVideoSRSampler(im, 2, 8, 2, 3),
        lambda im: LayeredVideoSRSampler(im, 2, 8, 2, 3, compress=1.0),
        lambda im: DeblurSampler(im, 16, 2, kernel_size=9),
        lambda im: VideoDeblurSampler(im, 16, 1, 3, sub=3),
        lambda im: DeblurSampler(
            im, 16, 2, kernel_size=9, linear_light=0.5, shake_sizes=(3, 9), max_shot_noise=0.02
        ),
        lambda im: VideoDeblurSampler(im, 16, 1, 3, sub_range=(3, 5), linear_light=1.0),
    ],
    ids=["sr", "vsr", "vsr-h264", "deblur", "vdeblur", "deblur-linear", "vdeblur-linear"],
)
def test_samplers_deterministic_under_seed(make) -> None:  # type: ignore[no-untyped-def]
    sampler = make(_images())
    x1, y1, *_ = sampler(_gen(9))
    x2, y2, *_ = sampler(_gen(9))
    x3, *_ = sampler(_gen(10))
    assert torch.equal(x1, x2) and torch.equal(y1, y2) and not torch.equal(x1, x3)
    assert float(x1.min()) >= 0 and float(x1.max()) <= 1


def test_vsr_sampler_compresses_the_lr_clip_only() -> None:
    images = _images()
    clean_lr, clean_hr, clean_flow = LayeredVideoSRSampler(images, 2, 8, 2, 3)(_gen(4))

    def coded(crf: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return LayeredVideoSRSampler(images, 2, 8, 2, 3, compress=1.0, crf_range=(crf, crf))(_gen(4))

    (mild_lr, mild_hr, mild_flow), (harsh_lr, _, _) = coded(18), coded(40)
    assert torch.equal(mild_hr, clean_hr)  # the ground truth is never coded
    assert torch.equal(mild_flow, clean_flow)  # nor is the flow of the synthetic motion
    assert mild_lr.shape == clean_lr.shape
    # 4:2:0 and rounding alone change these noise-textured test clips; CRF 40 changes them more
    mild = float((mild_lr - clean_lr).abs().mean())
    assert 0.0 < mild < float((harsh_lr - clean_lr).abs().mean())


def test_vsr_sampler_refuses_odd_lr_size_for_h264() -> None:
    with pytest.raises(ConfigError, match="even LR size"):
        LayeredVideoSRSampler(_images(), 2, 9, 2, 3, compress=0.5)


def test_linear_light_roundtrip_and_averaging() -> None:
    from stream_restore.training.degradations import linear_to_srgb, srgb_to_linear

    x = torch.linspace(0, 1, 101)
    torch.testing.assert_close(linear_to_srgb(srgb_to_linear(x)), x, rtol=0, atol=1e-5)
    # half black, half white averaged as light is brighter than the average of the codes
    mixed = linear_to_srgb(srgb_to_linear(torch.tensor([0.0, 1.0])).mean())
    assert abs(float(mixed) - 0.7354) < 1e-3


def test_deblur_sampler_rejects_even_or_oversized_shake() -> None:
    with pytest.raises(ConfigError):
        DeblurSampler(_images(), 16, 1, kernel_size=9, shake_sizes=(4, 9))
    with pytest.raises(ConfigError):
        DeblurSampler(_images(), 16, 1, kernel_size=9, shake_sizes=(3, 11))


def test_recipe_blur_model_reaches_the_samplers(tmp_path: Path) -> None:
    from dataclasses import replace

    from stream_restore.training.recipe import BlurModel, Recipe, make_sampler

    np = pytest.importorskip("numpy")
    image_module = pytest.importorskip("PIL.Image")
    scipy_io = pytest.importorskip("scipy.io")
    g = _gen(1)
    for folder in ("T91", "BSDS200"):  # real image files: make_sampler loads them like the shared data
        (tmp_path / "train" / folder).mkdir(parents=True)
        pixels = (torch.rand(96, 96, 3, generator=g) * 255).byte().numpy()
        image_module.fromarray(pixels).save(tmp_path / "train" / folder / "0.png")
    (tmp_path / "deblur" / "kernels").mkdir(parents=True)
    cells = np.empty((1, 1), dtype=object)
    cells[0, 0] = np.ones((5, 5))
    scipy_io.savemat(str(tmp_path / "deblur" / "kernels" / "kernels_12.mat"), {"kernels": cells})
    blur = BlurModel(
        linear_light=0.5, kernel_size=15, shake_sizes=(5, 11), max_noise=0.002, max_shot_noise=0.01
    )
    recipe = Recipe(model="deblur", kind="deblur", steps=1, batch=2, patch=16, blur=blur)
    still = make_sampler(recipe, 1, tmp_path)
    assert isinstance(still, DeblurSampler)
    assert (still.linear_light, still.kernel_size, still.shake_sizes) == (0.5, 15, (5, 11))
    assert (still.max_noise, still.max_shot_noise) == (0.002, 0.01)
    x, y = still(_gen(3))
    assert x.shape == y.shape == (2, 3, 16, 16)
    clip_blur = BlurModel(sub_range=(7, 13), max_speed=30)
    video = replace(recipe, model="vdeblur", kind="vdeblur", frames=3, blur=clip_blur)
    clips = make_sampler(video, 1, tmp_path)
    assert isinstance(clips, VideoDeblurSampler)
    assert clips.sub_range == (7, 13) and clips.max_speed == 30
    assert clips.max_noise == VideoDeblurSampler.max_noise  # None keeps the sampler's default


def test_deblur_sampler_blurs_a_share_of_patches_in_linear_light(monkeypatch: pytest.MonkeyPatch) -> None:
    from stream_restore.training import samplers

    # A 1-px black/white checkerboard under a 9-tap box: averaged codes give 0.5, averaged light
    # gives sRGB(0.5) = 0.735, so each patch's mean says in which space it was blurred.
    yy, xx = torch.meshgrid(torch.arange(48), torch.arange(48), indexing="ij")
    board = ((yy + xx) % 2).float().expand(3, 48, 48)
    box = torch.nn.functional.pad(torch.full((1, 9), 1 / 9), (0, 0, 4, 4))
    monkeypatch.setattr(samplers, "_random_kernel", lambda *args: box)

    def in_light(share: float) -> set[bool]:
        sampler = DeblurSampler([board], 16, 16, kernel_size=9, linear_light=share, max_noise=0.0)
        means = sampler(_gen(5))[0].mean(dim=(1, 2, 3))
        assert all(abs(float(m) - 0.5) < 0.03 or abs(float(m) - 0.735) < 0.03 for m in means)
        return {bool(m > 0.6) for m in means}

    assert in_light(0.0) == {False} and in_light(1.0) == {True}
    assert in_light(0.5) == {False, True}


@pytest.mark.parametrize("bad", [{"linear_light": 1.5}, {"linear_light": -0.1}, {"kernel_size": 30}])
def test_blur_model_refuses_impossible_settings(bad: dict[str, float]) -> None:
    from stream_restore.training.recipe import BlurModel

    with pytest.raises(ConfigError, match="blur"):
        BlurModel(**bad)  # type: ignore[arg-type]
