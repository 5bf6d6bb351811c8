"""A procedural scene for the demo: detail a restoration visibly recovers, with its ground truth.

A landscape drawn once per size from a fixed seed (sky with clouds, hills, grass, a brick house, a
fence of thin posts, lettering), then panned one low-resolution pixel a frame:
:func:`scene_original` is a frame at full resolution (the reference), :func:`scene_frame` the same
frame as a camera ``scale`` times coarser sees it (bicubic with antialiasing, the usual
super-resolution degradation, applied once to the whole landscape). Fractal value noise stands in
for natural texture; nothing is downloaded.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["scene_frame", "scene_original"]

_SEED = 20251206


def _noise(height: int, width: int, cell: int, gen: torch.Generator) -> torch.Tensor:
    """Smooth value noise in [0, 1], (height, width): random values every ``cell`` pixels, bicubic between."""
    grid = torch.rand(1, 1, height // cell + 3, width // cell + 3, generator=gen)
    if cell == 1:
        return grid[0, 0, :height, :width]
    up = F.interpolate(grid, scale_factor=cell, mode="bilinear", align_corners=False)
    return up[0, 0, :height, :width]


def _fractal(height: int, width: int, gen: torch.Generator, cells: tuple[int, ...]) -> torch.Tensor:
    layers = [_noise(height, width, c, gen) * (0.5**i) for i, c in enumerate(cells)]
    total = torch.stack(layers).sum(0)
    return (total - total.min()) / (total.max() - total.min() + 1e-6)


def _mix(base: torch.Tensor, colour: tuple[float, float, float], mask: torch.Tensor) -> torch.Tensor:
    tint = torch.tensor(colour).view(3, 1, 1) / 255.0
    return base * (1 - mask) + tint * mask


def _bricks(canvas: torch.Tensor, top: int, left: int, h: int, w: int, gen: torch.Generator) -> None:
    """A wall of 24x10 px bricks (per-brick shade, 2 px mortar), drawn in place."""
    y, x = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    row = y // 10
    shifted = x + (row % 2) * 12
    brick = (shifted // 24) + row * 1000
    shade = torch.rand(int(brick.max()) + 1, generator=gen)[brick] * 0.25 + 0.75
    mortar = ((y % 10) < 2) | ((shifted % 24) < 2)
    wall = torch.stack([0.62 * shade, 0.30 * shade, 0.22 * shade])
    wall = torch.where(mortar, torch.tensor([0.80, 0.78, 0.72]).view(3, 1, 1), wall)
    canvas[:, top : top + h, left : left + w] = wall


@functools.lru_cache(maxsize=2)
def _canvas(height: int, width: int) -> np.ndarray:
    """The landscape, (height, 1.5 * width, 3) uint8; frames are windows of it (wrapping around)."""
    gen = torch.Generator().manual_seed(_SEED)
    h, w = height, _wide(width)
    y = torch.linspace(0, 1, h).view(h, 1).expand(h, w)
    xs = torch.linspace(0, 4 * np.pi, w)
    img = torch.stack([0.35 + 0.3 * y, 0.55 + 0.25 * y, 0.95 - 0.1 * y])  # sky
    clouds = _fractal(h, w, gen, (64, 32, 16, 8)).clamp(0.45, 1) - 0.45
    img = _mix(img, (250, 250, 252), (clouds * 1.8 * (0.5 - y).clamp(0, 0.1) * 10).clamp(0, 1))
    hills = 0.42 + 0.06 * torch.sin(xs * 1.0) + 0.03 * torch.sin(xs * 3.7 + 1)
    texture = _fractal(h, w, gen, (16, 8, 4, 2))
    far = (y > hills.view(1, w)).float()
    img = _mix(img, (70, 105, 80), far * (0.7 + 0.3 * texture))
    ground = (y > 0.62 + 0.02 * torch.sin(xs * 2.3).view(1, w)).float()
    grass = _fractal(h, w, gen, (4, 2, 1))
    blades = torch.stack([0.18 + 0.25 * grass, 0.38 + 0.35 * grass, 0.10 + 0.12 * grass])
    img = img * (1 - ground) + blades * ground
    top, left, wall_h, wall_w = int(h * 0.45), int(w * 0.3), h // 3, w // 8  # the house, in the first frame
    _bricks(img, top, left, wall_h, wall_w, gen)
    img[:, top - h // 12 : top, left - 6 : left + wall_w + 6] = torch.tensor([0.35, 0.16, 0.14]).view(3, 1, 1)
    posts = ((torch.arange(w) % 14) < 2).view(1, w) & (y > 0.66) & (y < 0.80)
    rails = ((torch.arange(h) % 12) < 2).view(h, 1) & (y > 0.66) & (y < 0.80)
    img = _mix(img, (235, 230, 215), (posts | rails).float())
    codes = (img.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(1, 2, 0).numpy()
    return _letters(np.ascontiguousarray(codes), height)


def _letters(canvas: np.ndarray, height: int) -> np.ndarray:
    """Draw lettering of several sizes over the sky (fine strokes are what upscaling blurs first)."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    top = 8
    for size in (max(8, height // 9), max(8, height // 18), max(6, height // 30)):
        try:
            font: ImageFont.ImageFont | ImageFont.FreeTypeFont = ImageFont.load_default(size=size)
        except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
            font = ImageFont.load_default()
        draw.text((20, top), "stream-restore  0123456789  the quick brown fox jumps over the lazy dog",
                  fill=(20, 24, 40), font=font)
        top += int(size * 1.3)
    return np.array(image)


def scene_original(index: int, width: int, height: int, *, scale: int = 2) -> np.ndarray:
    """Frame ``index`` at full resolution, ``(height, width, 3)`` uint8 RGB: the reference of
    :func:`scene_frame` at ``width // scale`` x ``height // scale`` (the view moves ``scale`` pixels
    a frame)."""
    return _window(_canvas(height, width), index * scale, width)


def scene_frame(index: int, width: int, height: int, *, scale: int = 2) -> np.ndarray:
    """Frame ``index`` as a camera ``scale`` times coarser sees it, ``(height, width, 3)`` uint8: the
    landscape at ``scale`` x the size, downscaled (bicubic, antialiased), moving a pixel a frame."""
    return _window(_small_canvas(height, width, scale), index, width)


def _wide(width: int) -> int:
    return width + width // 2


def _window(canvas: np.ndarray, left: int, width: int) -> np.ndarray:
    left %= canvas.shape[1]
    if left + width <= canvas.shape[1]:
        return np.ascontiguousarray(canvas[:, left : left + width])
    columns = (np.arange(width) + left) % canvas.shape[1]  # past the end: wrap around
    return np.ascontiguousarray(canvas[:, columns])


@functools.lru_cache(maxsize=2)
def _small_canvas(height: int, width: int, scale: int) -> np.ndarray:
    original = _canvas(height * scale, width * scale)
    if scale == 1:
        return original
    x = torch.from_numpy(original).permute(2, 0, 1)[None].float()
    small = F.interpolate(x, size=(height, _wide(width)), mode="bicubic", antialias=True, align_corners=False)
    return np.ascontiguousarray(small[0].permute(1, 2, 0).clamp(0, 255).round().to(torch.uint8).numpy())
