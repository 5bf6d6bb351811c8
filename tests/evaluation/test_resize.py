"""MATLAB ``imresize`` semantics: sizes, kernels, borders, gradients, and the published LR files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from stream_restore.errors import ConfigError, InputError
from stream_restore.evaluation.benchmark_images import read_image
from stream_restore.models.bicubic import BicubicUpsample
from stream_restore.training.resize import KERNELS, imresize, resize_matrix


def _rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_upscale_matches_the_bicubic_model(scale: int) -> None:
    """The registered bicubic models are MATLAB's imresize exactly, borders included."""
    x = _rand(2, 3, 13, 17)
    model = BicubicUpsample(scale).double()
    assert torch.allclose(imresize(x, scale=scale), model(x), atol=1e-12)
    assert not torch.allclose(imresize(x, scale=scale, border="symmetric"), model(x), atol=1e-6)


@pytest.mark.parametrize(
    ("shape", "scale", "expected"),
    [
        ((32, 48), 0.5, (16, 24)),
        ((256, 256), 1 / 3, (86, 86)),
        ((10, 10), 0.25, (3, 3)),
        ((5, 7), 2, (10, 14)),
    ],
)
def test_output_size_is_ceil_of_input_times_scale(
    shape: tuple[int, int], scale: float, expected: tuple[int, int]
) -> None:
    assert tuple(imresize(torch.zeros(3, *shape), scale=scale).shape[-2:]) == expected


def test_explicit_size() -> None:
    assert imresize(torch.zeros(1, 3, 720, 1280), size=(360, 640)).shape == (1, 3, 360, 640)


@pytest.mark.parametrize("kernel", sorted(KERNELS))
@pytest.mark.parametrize("scale", [0.25, 1 / 3, 0.5, 1.5, 3.0])
def test_every_kernel_keeps_a_constant_image_constant(kernel: str, scale: float) -> None:
    x = torch.full((3, 19, 23), 0.7, dtype=torch.float64)
    assert torch.allclose(
        imresize(x, scale=scale, kernel=kernel), torch.full_like(imresize(x, scale=scale), 0.7)
    )


@pytest.mark.parametrize("kernel", ["cubic", "linear", "lanczos3"])
def test_downscale_by_two_samples_a_ramp_between_pixels(kernel: str) -> None:
    """Output o (0-based) of a /2 resize sits at input 2o + 0.5; these kernels reproduce a ramp there."""
    ramp = torch.arange(40, dtype=torch.float64).expand(1, 40, 40)
    y = imresize(ramp, scale=0.5, kernel=kernel)[0, 10]
    interior = torch.arange(3, 17)
    assert torch.allclose(y[interior], 2 * interior.double() + 0.5, atol=1e-9)


@pytest.mark.parametrize("border", ["replicate", "symmetric"])
def test_matrix_rows_sum_to_one_and_respect_mirror_symmetry(border: str) -> None:
    m = resize_matrix(10, 5, 0.5, "cubic", True, border)
    assert torch.allclose(m.sum(dim=1), torch.ones(5, dtype=torch.float64))
    # Both border rules commute with flipping the signal.
    x = torch.tensor([1.0, 4, 2, 8, 5, 5, 8, 2, 4, 1], dtype=torch.float64)
    y = m @ x
    assert torch.allclose(y, y.flip(0))


def test_replicate_border_puts_outside_weight_on_the_edge_sample() -> None:
    """Upscaling x4, output 0 samples input -0.375 (0-based): taps -2, -1, 0, 1.

    MATLAB clamps taps -2 and -1 onto sample 0; mirroring sends -1 to 0 and -2 to 1.
    """

    def keys(t: float) -> float:  # Keys cubic, a = -0.5
        t = abs(t)
        return 1.5 * t**3 - 2.5 * t**2 + 1 if t <= 1 else -0.5 * t**3 + 2.5 * t**2 - 4 * t + 2

    w = {tap: keys(-0.375 - tap) for tap in (-2, -1, 0, 1)}  # already sums to 1
    replicate = resize_matrix(8, 32, 4.0, "cubic", True, "replicate")[0]
    symmetric = resize_matrix(8, 32, 4.0, "cubic", True, "symmetric")[0]
    assert replicate[0].item() == pytest.approx(w[-2] + w[-1] + w[0])
    assert replicate[1].item() == pytest.approx(w[1])
    assert symmetric[0].item() == pytest.approx(w[-1] + w[0])
    assert symmetric[1].item() == pytest.approx(w[1] + w[-2])
    assert replicate[2:].abs().sum() == 0 and symmetric[2:].abs().sum() == 0


def test_antialias_off_uses_the_narrow_kernel() -> None:
    wide = resize_matrix(64, 16, 0.25, "cubic", True)
    narrow = resize_matrix(64, 16, 0.25, "cubic", False)
    assert (wide[8] != 0).sum() == 16 and (narrow[8] != 0).sum() == 4


def test_resize_is_differentiable_and_deterministic() -> None:
    x = _rand(1, 1, 9, 7, seed=1).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: imresize(t, scale=0.5), (x,))
    assert torch.equal(imresize(x, scale=1 / 3).detach(), imresize(x, scale=1 / 3).detach())


def test_float32_and_half_inputs_keep_their_dtype() -> None:
    x = _rand(3, 12, 12).float()
    assert imresize(x, scale=0.5).dtype == torch.float32
    assert imresize(x.half(), scale=0.5).dtype == torch.float16
    assert torch.allclose(imresize(x, scale=0.5).double(), imresize(x.double(), scale=0.5), atol=1e-6)


def test_invalid_arguments_raise_project_errors() -> None:
    x = torch.zeros(3, 8, 8)
    with pytest.raises(ConfigError):
        imresize(x)
    with pytest.raises(ConfigError):
        imresize(x, scale=0.5, size=(4, 4))
    with pytest.raises(ConfigError):
        imresize(x, scale=0.5, kernel="mitchell")
    with pytest.raises(ConfigError):
        imresize(x, scale=-1.0)
    with pytest.raises(ConfigError):
        imresize(x, scale=0.5, border="circular")
    with pytest.raises(InputError):
        imresize(torch.zeros(3, 8, 8, dtype=torch.uint8), scale=0.5)


@pytest.mark.data
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_downscale_reproduces_the_published_lr_images(data_dir: Path, scale: int) -> None:
    """The benchmark LR files were made by MATLAB from uint8 images (rounded after each axis,
    border indices clamped): with ``emulate_uint8`` every pixel is bit-exact. The float path
    (no intermediate rounding) is within a fraction of a code value on average."""
    exact = total = 0
    abs_error = 0.0
    for dataset in ("Set5", "Set14"):
        for hr_path in sorted((data_dir / "sisr" / dataset / f"image_SRF_{scale}").glob("*_HR.png")):
            hr = read_image(hr_path).double() / 255.0
            lr = read_image(hr_path.with_name(hr_path.name.replace("_HR", "_LR"))).double()
            emulated = torch.floor(imresize(hr, scale=1 / scale, emulate_uint8=True) * 255.0 + 0.5)
            assert torch.equal(emulated, lr), hr_path.name
            plain = torch.floor(imresize(hr, scale=1 / scale).clamp(0, 1) * 255.0 + 0.5)
            abs_error += float((plain - lr).abs().sum())
            exact += int((plain == lr).sum())
            total += lr.numel()
    assert abs_error / total < 0.5
    assert exact / total > 0.8
