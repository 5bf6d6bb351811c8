"""Degradations as pure functions: same inputs and generator state give the same output.

Every random choice draws from an explicit ``torch.Generator`` (CPU) passed in by the caller, so a
training run is reproducible from its seed and resumable from a saved generator state. Images are
float ``[..., 3, H, W]`` in [0, 1]; kernels are float ``[k, k]`` summing to one, ``k`` odd, in pixels.
"""

from __future__ import annotations

import io
import math
from fractions import Fraction
from pathlib import Path

import torch
import torch.nn.functional as F

from ..errors import ConfigError
from .resize import imresize

__all__ = [
    "add_sensor_noise",
    "bicubic_downscale",
    "blur",
    "gaussian_kernel",
    "h264_roundtrip",
    "jpeg_roundtrip",
    "linear_to_srgb",
    "load_kernel_bank",
    "motion_kernel",
    "quantize",
    "random_resample",
    "srgb_to_linear",
    "uniform",
]


def uniform(gen: torch.Generator, low: float, high: float) -> float:
    """One float drawn uniformly from [low, high) with ``gen``."""
    return low + (high - low) * float(torch.rand((), generator=gen))


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Round to 8-bit levels and clamp to [0, 1], as saving an image would."""
    return x.clamp(0.0, 1.0).mul(255.0).round().div(255.0)


def bicubic_downscale(x: torch.Tensor, scale: int) -> torch.Tensor:
    """MATLAB ``imresize(x, 1/scale, 'bicubic')`` with antialiasing, quantised to 8 bits.

    This is the SR benchmarks' LR.
    """
    return quantize(imresize(x, 1.0 / scale))


def random_resample(x: torch.Tensor, scale: int, gen: torch.Generator) -> torch.Tensor:
    """Downscale by ``scale`` with a randomly chosen MATLAB kernel (bicubic, bilinear, lanczos3, box)."""
    kernels = ("bicubic", "bicubic", "linear", "lanczos3", "box")
    choice = kernels[int(torch.randint(len(kernels), (), generator=gen))]
    return imresize(x, 1.0 / scale, kernel=choice)


def gaussian_kernel(
    sigma_x: float, sigma_y: float = -1.0, angle: float = 0.0, size: int = 21
) -> torch.Tensor:
    """Anisotropic Gaussian ``[size, size]`` (sigmas in pixels, angle in radians), normalised to sum 1."""
    if size % 2 == 0 or size < 1:
        raise ConfigError(f"kernel size must be odd and positive, got {size}")
    sigma_y = sigma_x if sigma_y <= 0 else sigma_y
    r = torch.arange(size, dtype=torch.float64) - size // 2
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    c, s = math.cos(angle), math.sin(angle)
    u, v = c * xx + s * yy, -s * xx + c * yy
    k = torch.exp(-0.5 * ((u / sigma_x) ** 2 + (v / sigma_y) ** 2))
    return (k / k.sum()).float()


def motion_kernel(
    gen: torch.Generator, size: int = 25, length: float = 1.0, samples: int = 256
) -> torch.Tensor:
    """A random camera-shake trajectory rendered as a kernel ``[size, size]`` (Boracchi & Foi style).

    The trajectory is a random walk with inertia and occasional jerks; ``length`` in (0, 1] scales
    its extent relative to the kernel size. Positions are splatted bilinearly (sub-pixel).
    """
    if size % 2 == 0:
        raise ConfigError(f"kernel size must be odd, got {size}")
    velocity = torch.randn(2, generator=gen, dtype=torch.float64)
    velocity = velocity / velocity.norm().clamp_min(1e-6)
    pos = torch.zeros(2, dtype=torch.float64)
    path = [pos.clone()]
    centripetal, gaussian_term = (
        0.7 * float(torch.rand((), generator=gen)),
        10.0 * float(torch.rand((), generator=gen)),
    )
    jerk_prob = 0.05 * float(torch.rand((), generator=gen))
    for _ in range(samples - 1):
        jerk = float(torch.rand((), generator=gen)) < jerk_prob
        dv = gaussian_term * torch.randn(2, generator=gen, dtype=torch.float64) - centripetal * pos
        if jerk:
            dv = dv + 2.0 * velocity.norm() * (-velocity)
        velocity = velocity + dv / samples
        velocity = velocity / velocity.norm().clamp_min(1e-6)
        pos = pos + velocity / samples
        path.append(pos.clone())
    track = torch.stack(path)
    track = track - track.mean(dim=0)
    extent = track.abs().max().clamp_min(1e-6)
    track = track / extent * (size // 2 - 1) * length
    k = torch.zeros(size, size, dtype=torch.float64)
    x, y = track[:, 0] + size // 2, track[:, 1] + size // 2
    x0, y0 = x.floor().long().clamp(0, size - 2), y.floor().long().clamp(0, size - 2)
    fx, fy = (x - x0).clamp(0, 1), (y - y0).clamp(0, 1)
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            k.index_put_((y0 + dy, x0 + dx), wy * wx, accumulate=True)
    return (k / k.sum()).float()


def load_kernel_bank(path: Path, exclude: torch.Tensor | None = None) -> list[torch.Tensor]:
    """Kernels from a MATLAB v5 ``.mat`` cell array (e.g. kernels_12.mat), each normalised to sum 1.

    ``exclude`` (``[K, k, k]``) drops kernels that equal a held-out evaluation kernel up to
    flips/transposition, so e.g. Levin09's kernels never reach training. Needs scipy.
    """
    try:
        from scipy.io import loadmat
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError("reading .mat kernels needs scipy (pip install scipy)") from exc
    cells = loadmat(str(path))["kernels"].reshape(-1)
    out: list[torch.Tensor] = []
    for cell in cells:
        k = torch.as_tensor(cell, dtype=torch.float32)
        if k.shape[0] % 2 == 0:
            k = F.pad(k, (0, 1, 0, 1))
        k = k / k.sum()
        if exclude is not None and _matches_any(k, exclude):
            continue
        out.append(k)
    return out


def _trim(k: torch.Tensor, rel: float = 1e-3) -> torch.Tensor:
    """``k`` normalised and cropped to the bounding box of its taps above ``rel`` of the peak."""
    k = k / k.sum()
    mask = k > rel * k.max()
    rows, cols = mask.any(1).nonzero(), mask.any(0).nonzero()
    k = k[int(rows.min()) : int(rows.max()) + 1, int(cols.min()) : int(cols.max()) + 1]
    return k / k.sum()


def _matches_any(k: torch.Tensor, bank: torch.Tensor, tol: float = 0.1) -> bool:
    """True if ``k`` equals a kernel of ``bank`` (any size/padding, flips, transpose) within L1 ``tol``."""
    tk = _trim(k)
    for ref in bank:
        tr = _trim(ref)
        for cand in (tr, tr.flip(0), tr.flip(1), tr.flip(0, 1), tr.t(), tr.t().flip(0, 1)):
            if cand.shape == tk.shape and float((cand / cand.sum() - tk).abs().sum()) < tol:
                return True
    return False


def blur(x: torch.Tensor, kernel: torch.Tensor, valid: bool = False) -> torch.Tensor:
    """Convolve each channel of ``x[N,C,H,W]`` with ``kernel[k,k]`` (true convolution).

    ``valid=True`` returns only pixels whose whole footprint lies inside ``x`` (no border
    artefacts; output is ``k-1`` pixels smaller); otherwise borders are reflected.
    """
    c = x.shape[1]
    k = kernel.flip(0, 1).to(x)[None, None].expand(c, 1, -1, -1)
    pad = kernel.shape[-1] // 2
    src = x if valid else F.pad(x, (pad, pad, pad, pad), mode="reflect")
    return F.conv2d(src, k, groups=c)


def add_sensor_noise(
    x: torch.Tensor, gen: torch.Generator, sigma: float, poisson_scale: float = 0.0
) -> torch.Tensor:
    """Signal-dependent sensor noise: Gaussian read noise ``sigma`` plus shot noise
    ``poisson_scale * sqrt(x)``.

    Both in [0, 1] units; drawn with ``gen`` so the result is reproducible.
    """
    std = torch.sqrt(sigma**2 + (poisson_scale**2) * x.clamp_min(0.0))
    noise = torch.randn(x.shape, generator=gen, dtype=x.dtype) * std
    return x + noise


def srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    """sRGB-coded values in [0, 1] to linear light (IEC 61966-2-1): blur averages light, not codes."""
    x = x.clamp(0.0, 1.0)
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`srgb_to_linear`."""
    x = x.clamp(0.0, 1.0)
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp_min(0.0031308) ** (1 / 2.4) - 0.055)


def jpeg_roundtrip(x: torch.Tensor, quality: int) -> torch.Tensor:
    """Encode each image of ``x[N,3,H,W]`` to JPEG at ``quality`` (1-95) with Pillow and decode it."""
    import numpy as np
    from PIL import Image

    out = []
    for img in quantize(x):
        arr = img.mul(255).round().byte().permute(1, 2, 0).numpy()
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="JPEG", quality=int(quality))
        buf.seek(0)
        with Image.open(buf) as im:
            dec = np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
        out.append(torch.from_numpy(dec).permute(2, 0, 1).float() / 255.0)
    return torch.stack(out).to(x.dtype)


_MIN_CODED = 64  # pixels: h264_roundtrip codes smaller clips edge-padded to this


def h264_roundtrip(clip: torch.Tensor, crf: int, preset: str = "veryfast") -> torch.Tensor:
    """Encode a clip ``[T,3,H,W]`` (even H and W) with libx264 at ``crf`` through PyAV and decode it.

    Runs in memory and reproducibly: one encoder thread, set on the codec context (a ``threads``
    entry in the options was overridden by PyAV's automatic threading), frames built by the
    project's own BT.709 conversion (``media.convert``), which own their memory, and small clips
    edge-padded. Before these, about one call in ten gave a different result.
    """
    import av

    from ..frames import ColorInfo
    from ..media.convert import frame_to_tensor, tensor_to_frame

    t, _, h, w = clip.shape
    if h % 2 or w % 2:
        raise ConfigError(f"h264_roundtrip needs even frame sizes, got {h}x{w}")
    # x264 is not reproducible on frames of a few macroblocks (about 1 run in 200 differed at
    # 32x32, none in 1,500 at 64x64): smaller clips are coded edge-padded to 64 and cropped back.
    ph, pw = max(0, _MIN_CODED - h), max(0, _MIN_CODED - w)
    coded = F.pad(clip, (0, pw, 0, ph), mode="replicate") if ph or pw else clip
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = w + pw, h + ph, "yuv420p"
        stream.options = {"crf": str(int(crf)), "preset": preset}
        stream.codec_context.thread_count = 1
        stream.codec_context.thread_type = "NONE"
        for index, frame in enumerate(quantize(coded)):
            picture = tensor_to_frame(frame, ColorInfo(), "yuv420p")
            picture.pts, picture.time_base = index, Fraction(1, 30)
            for packet in stream.encode(picture):
                container.mux(packet)
        for packet in stream.encode():  # flush
            container.mux(packet)
    buf.seek(0)
    frames = []
    with av.open(buf, mode="r") as container:
        container.streams.video[0].thread_type = "NONE"
        for frame in container.decode(video=0):
            frames.append(quantize(frame_to_tensor(frame, ColorInfo()))[:, :h, :w])
    if len(frames) != t:
        raise ConfigError(f"h264_roundtrip decoded {len(frames)} of {t} frames")
    return torch.stack(frames).to(clip.dtype)
