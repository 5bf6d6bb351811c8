"""Batch samplers: turn preloaded images into (input, target) training batches on the fly.

Each sampler draws every random choice from the ``torch.Generator`` it is called with, so the
stream of batches is a pure function of the generator state (saved in checkpoints for exact
resume). Shapes: single-frame ``x[N,3,p,p] -> y[N,3,sp,sp]``; clips ``x[N,L,3,p,p] -> y[N,L,3,sp,sp]``
with ``p`` the input patch side in pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..errors import ConfigError
from .camera import random_path, render_clip
from .degradations import (
    add_sensor_noise,
    blur,
    gaussian_kernel,
    h264_roundtrip,
    linear_to_srgb,
    motion_kernel,
    quantize,
    srgb_to_linear,
    uniform,
)
from .layered import augment_flow, random_layers, render_layers
from .resize import imresize

__all__ = [
    "DeblurSampler",
    "LayeredVideoSRSampler",
    "SRSampler",
    "VideoDeblurSampler",
    "augment",
]

Batch = tuple[torch.Tensor, torch.Tensor]
_MARGIN = 2  # LR pixels of context cropped away after downscaling (bicubic footprint)


def _randint(gen: torch.Generator, high: int) -> int:
    return int(torch.randint(max(high, 1), (), generator=gen))


def _draw(gen: torch.Generator, share: float) -> bool:
    """True with probability ``share``; shares of 0 and 1 draw nothing (the stream stays as it was)."""
    if share <= 0.0 or share >= 1.0:
        return share >= 1.0
    return uniform(gen, 0.0, 1.0) < share


def augment(x: torch.Tensor, code: int) -> torch.Tensor:
    """One of the 8 flips/rotations of the square patch(es) ``x[..., H, W]``, chosen by ``code``."""
    if code & 1:
        x = x.flip(-1)
    if code & 2:
        x = x.flip(-2)
    if code & 4:
        x = x.transpose(-1, -2)
    return x


def _crop(image: torch.Tensor, side: int, gen: torch.Generator) -> torch.Tensor:
    _, h, w = image.shape
    top, left = _randint(gen, h - side + 1), _randint(gen, w - side + 1)
    return image[:, top : top + side, left : left + side]


@dataclass
class SRSampler:
    """Bicubic (MATLAB, antialiased, 8-bit) SR pairs from random crops of still images."""

    images: Sequence[torch.Tensor]
    scale: int
    patch: int
    batch: int

    def __call__(self, gen: torch.Generator) -> Batch:
        s, side = self.scale, (self.patch + 2 * _MARGIN) * self.scale
        crops = []
        for _ in range(self.batch):
            image = self.images[_randint(gen, len(self.images))]
            crops.append(augment(_crop(image, side, gen), _randint(gen, 8)))
        hr = torch.stack(crops)
        lr = quantize(imresize(hr, 1.0 / s))
        m = _MARGIN
        return lr[..., m:-m, m:-m], hr[..., m * s : -m * s, m * s : -m * s]


@dataclass
class LayeredVideoSRSampler:
    """Clips of moving foreground objects over a moving camera, with their exact LR optical flow.

    Returns ``(lr[N,L,3,p,p], hr[N,L,3,sp,sp], flow[N,L,2,p,p])``: ``flow[:, t]`` maps LR frame t
    into frame t-1 in LR pixels (zero for t = 0), the flow of the front-most layer at each pixel
    (see :mod:`.layered`), averaged over each LR pixel's footprint. ``max_speed`` is in LR pixels per
    frame for the camera and for each object. A fraction ``compress`` of the LR clips go through
    libx264 at a CRF drawn from ``crf_range``: streamed and archived sources are compressed, and a
    model trained only on clean bicubic LR sharpens blocking and ringing (below bicubic at CRF 30,
    measured); the ground truth and the flow stay those of the clean synthetic motion. A fraction
    ``real_fraction`` of the clips are crops of real footage (``real``, uint8 ``[T, 3, H, W]``,
    every frame or every other one): their flow is unknown and given as NaN.
    """

    images: Sequence[torch.Tensor]
    scale: int
    patch: int
    batch: int
    frames: int
    max_speed: float = 4.0
    max_objects: int = 2
    compress: float = 0.0
    crf_range: tuple[int, int] = (18, 35)
    real: Sequence[torch.Tensor] = ()
    real_fraction: float = 0.0

    def __post_init__(self) -> None:
        if self.compress > 0 and (self.patch + 2 * _MARGIN) % 2:
            raise ConfigError(
                f"H.264 training clips need an even LR size; patch {self.patch} gives an odd one"
            )

    def _real_clip(self, gen: torch.Generator, side: int) -> torch.Tensor:
        clip = self.real[_randint(gen, len(self.real))]
        stride = 1 + _randint(gen, 2)
        start = _randint(gen, clip.shape[0] - stride * (self.frames - 1))
        frames = clip[start : start + stride * (self.frames - 1) + 1 : stride]
        crop: torch.Tensor = _crop(frames.flatten(0, 1), side, gen)
        clip_crop: torch.Tensor = crop.unflatten(0, (self.frames, 3)).float() / 255.0
        return clip_crop

    def __call__(self, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        s, side = self.scale, (self.patch + 2 * _MARGIN) * self.scale
        clips, flows = [], []
        for _ in range(self.batch):
            if self.real and uniform(gen, 0.0, 1.0) < self.real_fraction:
                code = _randint(gen, 8)
                clips.append(augment(self._real_clip(gen, side), code))
                flows.append(torch.full((self.frames, 2, side, side), float("nan")))
                continue
            layers = random_layers(gen, self.images, side, self.frames, self.max_speed * s, self.max_objects)
            clip, flow = render_layers(layers, self.frames, side)
            code = _randint(gen, 8)
            clips.append(augment(clip, code))
            flows.append(augment_flow(flow, code))
        hr = quantize(torch.stack(clips))  # [N, L, 3, S, S]
        lr = quantize(imresize(hr, 1.0 / s))
        flow = torch.stack(flows)
        n, t = flow.shape[:2]
        lr_flow = torch.nn.functional.avg_pool2d(flow.flatten(0, 1), s).unflatten(0, (n, t)) / s
        for i in range(n):
            if self.compress > 0 and uniform(gen, 0.0, 1.0) < self.compress:
                low, high = self.crf_range
                lr[i] = h264_roundtrip(lr[i], low + _randint(gen, high - low + 1))
        m = _MARGIN
        return lr[..., m:-m, m:-m], hr[..., m * s : -m * s, m * s : -m * s], lr_flow[..., m:-m, m:-m]


def _random_kernel(
    gen: torch.Generator, bank: Sequence[torch.Tensor], size: int, shake_sizes: tuple[int, int] | None = None
) -> torch.Tensor:
    """Camera-shake trajectory (50%), a bank kernel (25%, if any) or an anisotropic Gaussian.

    ``shake_sizes`` (odd, at most ``size``) draws the trajectory's own extent in that range of pixels.
    """
    u = uniform(gen, 0.0, 1.0)
    if u < 0.5 or (u < 0.75 and not bank):
        if shake_sizes is not None:
            low, high = shake_sizes
            size = low + 2 * _randint(gen, (high - low) // 2 + 1)
        return motion_kernel(gen, size=size, length=uniform(gen, 0.3, 1.0))
    if u < 0.75:
        k = bank[_randint(gen, len(bank))]
        return augment(k, _randint(gen, 8))
    return gaussian_kernel(
        uniform(gen, 0.3, 3.0), uniform(gen, 0.3, 3.0), uniform(gen, 0.0, 3.1416), size=size
    )


@dataclass
class DeblurSampler:
    """Blurred+noisy / sharp pairs: random shake trajectories, bank kernels and Gaussians."""

    images: Sequence[torch.Tensor]
    patch: int
    batch: int
    kernel_bank: Sequence[torch.Tensor] = ()
    kernel_size: int = 25
    max_noise: float = 0.01
    # Real blur integrates light: this share of the patches is blurred in linear light and coded back
    # to sRGB, the rest on sRGB codes (as Levin09 and most published benchmarks are made).
    linear_light: float = 0.0
    # Odd (min, max) extent of the shake trajectories in pixels (None: always ``kernel_size``).
    shake_sizes: tuple[int, int] | None = None
    max_shot_noise: float = 0.0  # Poisson-like shot noise scale, drawn per patch, after the blur

    def __post_init__(self) -> None:
        if self.shake_sizes is not None and (
            self.shake_sizes[0] % 2 == 0 or self.shake_sizes[1] > self.kernel_size or self.shake_sizes[0] < 3
        ):
            raise ConfigError(f"shake_sizes {self.shake_sizes} must be odd, >= 3 and at most kernel_size")

    def __call__(self, gen: torch.Generator) -> Batch:
        pad = self.kernel_size // 2
        blurred, sharp = [], []
        for _ in range(self.batch):
            image = self.images[_randint(gen, len(self.images))]
            crop = augment(_crop(image, self.patch + 2 * pad, gen), _randint(gen, 8))
            k = _random_kernel(gen, self.kernel_bank, self.kernel_size, self.shake_sizes)
            kp = (self.kernel_size - k.shape[-1]) // 2
            if kp > 0:
                k = torch.nn.functional.pad(k, (kp, kp, kp, kp))
            linear = _draw(gen, self.linear_light)
            source = srgb_to_linear(crop) if linear else crop
            b = blur(source[None], k, valid=True)[0]
            b = linear_to_srgb(b) if linear else b
            # noise after the blur, as a sensor adds it to the integrated light
            shot = uniform(gen, 0.0, self.max_shot_noise) if self.max_shot_noise > 0 else 0.0
            b = add_sensor_noise(b, gen, uniform(gen, 0.0, self.max_noise), shot)
            blurred.append(quantize(b))
            sharp.append(crop[:, pad:-pad, pad:-pad])
        return torch.stack(blurred), torch.stack(sharp)


@dataclass
class VideoDeblurSampler:
    """GoPro-style blurred clips: each frame averages ``sub`` sub-frames of a faster synthetic clip.

    The sharp target of a frame is its middle sub-frame. Exposure (how many of the ``sub``
    sub-frames are averaged) varies per clip, so blur length varies. With ``sub_range`` the number
    of sub-frames per frame interval is drawn per clip (odd, e.g. 7-13); in a share ``linear_light``
    of the clips the sub-frames are averaged as light (sRGB decoded, averaged, re-encoded), as a
    sensor integrates.
    """

    images: Sequence[torch.Tensor]
    patch: int
    batch: int
    frames: int
    sub: int = 7
    max_speed: float = 12.0  # pixels per frame
    sub_range: tuple[int, int] | None = None
    linear_light: float = 0.0
    max_noise: float = 0.005
    max_shot_noise: float = 0.0  # shot noise scale, drawn per batch, after the blur

    def __call__(self, gen: torch.Generator) -> Batch:
        blurred, sharp = [], []
        for _ in range(self.batch):
            image = self.images[_randint(gen, len(self.images))]
            path = random_path(
                gen, (image.shape[-2], image.shape[-1]), self.patch, self.frames, self.max_speed
            )
            n_sub = self.sub
            if self.sub_range is not None:
                n_sub = self.sub_range[0] + 2 * _randint(
                    gen, (self.sub_range[1] - self.sub_range[0]) // 2 + 1
                )
            exposure = 1 + 2 * _randint(gen, n_sub // 2 + 1)  # odd count of averaged sub-frames
            times = [t + (j - n_sub // 2) / n_sub for t in range(self.frames) for j in range(n_sub)]
            sub = render_clip(image, path, times, self.patch).reshape(
                self.frames, n_sub, 3, self.patch, self.patch
            )
            lo = n_sub // 2 - exposure // 2
            code = _randint(gen, 8)
            exposed = sub[:, lo : lo + exposure]
            mean = (
                linear_to_srgb(srgb_to_linear(exposed).mean(dim=1))
                if _draw(gen, self.linear_light)
                else exposed.mean(dim=1)
            )
            blurred.append(augment(mean, code))
            sharp.append(augment(sub[:, n_sub // 2], code))
        b = torch.stack(blurred)
        shot = uniform(gen, 0.0, self.max_shot_noise) if self.max_shot_noise > 0 else 0.0
        b = add_sensor_noise(b, gen, uniform(gen, 0.0, self.max_noise), shot)
        return quantize(b), quantize(torch.stack(sharp))
