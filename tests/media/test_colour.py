"""Colour conversion: exact round trips of flat colours and agreement with the standard matrices."""

from __future__ import annotations

import av
import numpy as np
import pytest
import torch

from stream_restore.frames import ColorInfo, ColorRange, Matrix
from stream_restore.media.colour import luma_coefficients, rgb_to_yuv, yuv_to_rgb
from stream_restore.media.convert import color_info_for, frame_to_tensor, plane_array, tensor_to_frame


@pytest.mark.parametrize("matrix", [Matrix.SMPTE170M, Matrix.BT709, Matrix.BT2020_NCL])
@pytest.mark.parametrize("value_range", [ColorRange.LIMITED, ColorRange.FULL])
@pytest.mark.parametrize("bits", [8, 10])
@pytest.mark.parametrize("subsampling", [(2, 2), (2, 1), (1, 1)])
def test_flat_colour_round_trips_exactly(matrix, value_range, bits, subsampling):
    color = ColorInfo(matrix=matrix, range=value_range, bit_depth=bits, chroma_subsampling=subsampling)
    unit = 1 << (bits - 8)
    y = torch.full((8, 12), 120 * unit, dtype=torch.int32)
    ch, cw = 8 // subsampling[1], 12 // subsampling[0]
    u = torch.full((ch, cw), 110 * unit, dtype=torch.int32)
    v = torch.full((ch, cw), 140 * unit, dtype=torch.int32)
    rgb = yuv_to_rgb(y, u, v, color)
    assert rgb.shape == (3, 8, 12)
    y2, u2, v2 = rgb_to_yuv(rgb, color)
    assert torch.equal(y2.int(), y) and torch.equal(u2.int(), u) and torch.equal(v2.int(), v)


def test_bt709_reference_values():
    # Limited-range BT.709 white, black and 100% red (ITU-R BT.709 colour bars) decode exactly.
    color = ColorInfo(matrix=Matrix.BT709, range=ColorRange.LIMITED, chroma_subsampling=(1, 1))
    y = torch.tensor([[235, 16, 63]])
    u = torch.tensor([[128, 128, 102]])
    v = torch.tensor([[128, 128, 240]])
    rgb = yuv_to_rgb(y, u, v, color)
    assert torch.allclose(rgb[:, 0, 0], torch.ones(3), atol=1e-6)
    assert torch.allclose(rgb[:, 0, 1], torch.zeros(3), atol=1e-6)
    assert torch.allclose(rgb[:, 0, 2], torch.tensor([1.0, 0.0, 0.0]), atol=0.005)


def test_matrix_matters():
    y, u, v = torch.tensor([[100]]), torch.tensor([[90]]), torch.tensor([[170]])
    rgb601 = yuv_to_rgb(y, u, v, ColorInfo(matrix=Matrix.SMPTE170M, chroma_subsampling=(1, 1)))
    rgb709 = yuv_to_rgb(y, u, v, ColorInfo(matrix=Matrix.BT709, chroma_subsampling=(1, 1)))
    assert (rgb601 - rgb709).abs().max() > 0.02


@pytest.mark.parametrize(
    "pix_fmt", ["yuv420p", "yuv420p10le", "nv12", "yuvj420p", "yuv444p", "gbrp", "rgb24"]
)
def test_frame_round_trip_through_pyav(pix_fmt):
    y, x = np.mgrid[0:48, 0:64]
    smooth = np.stack([40 + 2 * x, 60 + 2 * y, 200 - x - y], axis=-1).astype(np.uint8)
    frame = av.VideoFrame.from_ndarray(smooth, format="rgb24").reformat(format=pix_fmt)
    frame.colorspace = 1
    color = color_info_for(frame)
    rgb = frame_to_tensor(frame, color)
    back = tensor_to_frame(rgb, color, pix_fmt)
    assert back.format.name == pix_fmt
    again = frame_to_tensor(back, color)
    # A second round trip of smooth content is stable to within rounding (chroma is resampled again).
    assert (again - rgb).abs().max() < 3 / 255
    assert (again - rgb).abs().mean() < 0.5 / 255


def test_unspecified_matrix_is_guessed_by_height():
    sd = av.VideoFrame(640, 480, "yuv420p")
    hd = av.VideoFrame(1280, 720, "yuv420p")
    assert color_info_for(sd).matrix == Matrix.SMPTE170M
    assert color_info_for(hd).matrix == Matrix.BT709


def test_plane_array_skips_line_padding():
    frame = av.VideoFrame(33, 17, "yuv420p")
    arr = plane_array(frame.planes[0], np.dtype(np.uint8), 17, 33)
    assert arr.shape == (17, 33)
    assert frame.planes[0].line_size >= 33


@pytest.mark.parametrize("size", [(8, 12), (9, 13), (2, 2), (16, 6)])
@pytest.mark.parametrize("full_range", [False, True])
def test_chroma_resampling_is_perfect_reconstruction(size, full_range):
    from stream_restore.media.colour import _cosited_horizontal, _downsample_chroma, _upsample_chroma

    color = ColorInfo(range=ColorRange.FULL if full_range else ColorRange.LIMITED, chroma_subsampling=(2, 2))
    h, w = size
    chroma = torch.rand(2, (h + 1) // 2, (w + 1) // 2, dtype=torch.float64)
    cosited = _cosited_horizontal(color)
    back = _downsample_chroma(_upsample_chroma(chroma, 2, 2, cosited, h, w), 2, 2, cosited)
    # Centred siting (vertical; horizontal for full-range JPEG-style chroma) only approximately
    # recovers the last chroma line of an odd-sized frame: its second sample does not exist.
    if h % 2:
        back, chroma = back[:, :-1], chroma[:, :-1]
    if w % 2 and full_range:
        back, chroma = back[..., :-1], chroma[..., :-1]
    assert torch.allclose(back, chroma, atol=1e-12)


def test_random_yuv420_survives_identity_round_trip_bit_exactly():
    g = torch.Generator().manual_seed(0)
    color = ColorInfo(matrix=Matrix.BT709, range=ColorRange.LIMITED, chroma_subsampling=(2, 2))
    y = torch.randint(16, 236, (24, 32), generator=g)
    u = torch.randint(16, 241, (12, 16), generator=g)
    v = torch.randint(16, 241, (12, 16), generator=g)
    y2, u2, v2 = rgb_to_yuv(yuv_to_rgb(y, u, v, color), color)
    assert torch.equal(y2.long(), y) and torch.equal(u2.long(), u) and torch.equal(v2.long(), v)


# -- the matrices are the published ones ------------------------------------------------------------
# ITU-R BT.709-6 item 3.2-3.3, BT.601-7 item 2.5.1-2.5.2, BT.2020-2 table 4, SMPTE 240M: Kr, Kg, Kb
# and the chroma divisors 2 (1 - Kb), 2 (1 - Kr) as printed in the standards (not derived here).
_PUBLISHED = {
    Matrix.BT709: ((0.2126, 0.7152, 0.0722), 1.8556, 1.5748),
    Matrix.SMPTE170M: ((0.299, 0.587, 0.114), 1.772, 1.402),
    Matrix.BT470BG: ((0.299, 0.587, 0.114), 1.772, 1.402),
    Matrix.BT2020_NCL: ((0.2627, 0.6780, 0.0593), 1.8814, 1.4746),
    Matrix.SMPTE240M: ((0.212, 0.701, 0.087), 1.826, 1.576),
}


@pytest.mark.parametrize("matrix", list(_PUBLISHED))
def test_luma_coefficients_are_the_published_ones(matrix):
    assert luma_coefficients(matrix) == pytest.approx(_PUBLISHED[matrix][0], abs=1e-12)


def _published_codes(rgb: np.ndarray, matrix: Matrix, bits: int) -> np.ndarray:
    """The standard's own equations in float64: E'Y, E'Cb, E'Cr -> limited-range integer codes."""
    (kr, kg, kb), cb_div, cr_div = _PUBLISHED[matrix]
    luma = kr * rgb[0] + kg * rgb[1] + kb * rgb[2]
    unit = 1 << (bits - 8)
    return np.stack([
        np.round((219 * luma + 16) * unit),
        np.round((224 * (rgb[2] - luma) / cb_div + 128) * unit),
        np.round((224 * (rgb[0] - luma) / cr_div + 128) * unit),
    ])


@pytest.mark.parametrize("matrix", [Matrix.BT709, Matrix.SMPTE170M, Matrix.BT2020_NCL])
def test_rgb_to_yuv_follows_the_published_equations(matrix):
    """10-bit codes of random RGB equal the standard's to the code (float32 ties aside)."""
    rgb = np.random.default_rng(1).random((3, 64, 64))
    color = ColorInfo(matrix=matrix, range=ColorRange.LIMITED, bit_depth=10, chroma_subsampling=(1, 1))
    ours = np.stack([p.numpy() for p in rgb_to_yuv(torch.from_numpy(rgb).float(), color)])
    expected = _published_codes(rgb, matrix, 10)
    assert np.abs(ours - expected).max() <= 1
    assert (ours != expected).mean() < 0.001  # a Kb off by 0.0003 moves about 10% of the codes


@pytest.mark.parametrize("matrix", [Matrix.BT709, Matrix.SMPTE170M, Matrix.BT2020_NCL])
def test_yuv_to_rgb_inverts_the_published_equations(matrix):
    """Random 10-bit codes decode to the RGB whose published Y'CbCr they are (to 1e-5)."""
    gen = torch.Generator().manual_seed(2)
    y = torch.randint(64, 941, (32, 32), generator=gen)
    u, v = (torch.randint(64, 961, (32, 32), generator=gen) for _ in range(2))
    color = ColorInfo(matrix=matrix, range=ColorRange.LIMITED, bit_depth=10, chroma_subsampling=(1, 1))
    rgb = yuv_to_rgb(y, u, v, color).double().numpy()
    (kr, kg, kb), cb_div, cr_div = _PUBLISHED[matrix]
    luma = kr * rgb[0] + kg * rgb[1] + kb * rgb[2]
    np.testing.assert_allclose((luma * 219 + 16) * 4, y.numpy(), atol=4e-3)
    np.testing.assert_allclose(((rgb[2] - luma) / cb_div * 224 + 128) * 4, u.numpy(), atol=4e-3)
    np.testing.assert_allclose(((rgb[0] - luma) / cr_div * 224 + 128) * 4, v.numpy(), atol=4e-3)


def test_bt709_agrees_with_swscale():
    """An independent implementation, FFmpeg's swscale through PyAV, gives the same 10-bit BT.709
    codes to within one (it rounds through fixed point): about 3% of each plane's codes differ by
    one, against 9% of the luma with a Kb off by 0.0003."""
    rgb = np.random.default_rng(3).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
        format="yuv444p10le", src_colorspace="ITU709", dst_colorspace="ITU709", dst_color_range="MPEG"
    )
    swscale = np.stack([
        np.frombuffer(bytes(p), dtype=np.uint16).reshape(64, -1)[:, :64] for p in frame.planes
    ]).astype(np.int64)
    color = ColorInfo(matrix=Matrix.BT709, range=ColorRange.LIMITED, bit_depth=10, chroma_subsampling=(1, 1))
    ours = np.stack([p.numpy() for p in rgb_to_yuv(torch.from_numpy(rgb).permute(2, 0, 1) / 255.0, color)])
    assert np.abs(ours - swscale).max() <= 1
    assert (ours != swscale).mean(axis=(1, 2)).max() < 0.05
