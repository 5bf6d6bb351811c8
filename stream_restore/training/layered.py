"""Synthetic clips with occlusions and exact optical flow: moving foreground layers over a moving camera.

Every layer maps window pixels to pixels of its source image by ``s = c(t) + z(t) R(a(t)) (x - p(t))``
(``x`` in window pixels relative to the window centre). The background is a camera path
(:class:`~.camera.CameraPath`, ``p = 0``); a foreground object is a soft ellipse cut from another
image that moves across the window (``p(t)``) with slight zoom and spin. Because every mapping is
an affine function of ``x``, the flow of every pixel to any other frame is exact: the layer that
shows the pixel in frame t maps it to its source point, and the same layer at the other time maps
that point back. Flow follows the convention of :mod:`stream_restore.models.flow` (target -> source,
in window pixels, x then y); occluded points keep the flow of their own layer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .camera import CameraPath
from .degradations import uniform

__all__ = ["Layer", "augment_flow", "random_layers", "render_layers"]


@dataclass(frozen=True)
class Layer:
    """One image layer: its source image, motion and (foreground only) elliptical alpha."""

    image: torch.Tensor  # [3, H, W]
    path: CameraPath  # source centre, zoom and angle over time (window-centre units)
    vx: float = 0.0  # window-position velocity p(t), window px per frame (foreground only)
    vy: float = 0.0
    px: float = 0.0
    py: float = 0.0
    radii: tuple[float, float] | None = None  # ellipse semi-axes in source px; None = opaque

    def position(self, t: float) -> tuple[float, float]:
        return self.px + self.vx * t, self.py + self.vy * t

    def source(self, t: float, xx: torch.Tensor, yy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Source-image coordinates of window pixels ``(xx, yy)`` (centred, float64) at time ``t``."""
        cx, cy, zoom, angle = self.path.at(t)
        px, py = self.position(t)
        c, s = math.cos(angle), math.sin(angle)
        dx, dy = xx - px, yy - py
        return cx + zoom * (c * dx - s * dy), cy + zoom * (s * dx + c * dy)

    def window(self, t: float, sx: torch.Tensor, sy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Inverse of :meth:`source`: window coordinates at time ``t`` of source points."""
        cx, cy, zoom, angle = self.path.at(t)
        px, py = self.position(t)
        c, s = math.cos(angle), math.sin(angle)
        dx, dy = (sx - cx) / zoom, (sy - cy) / zoom
        return px + c * dx + s * dy, py - s * dx + c * dy

    def alpha(self, sx: torch.Tensor, sy: torch.Tensor, edge: float = 1.5) -> torch.Tensor:
        """Coverage in [0, 1] with a soft edge of about ``edge`` source pixels."""
        if self.radii is None:
            return torch.ones_like(sx)
        cx, cy, _, _ = self.path.at(0.0)
        rx, ry = self.radii
        r = torch.sqrt(((sx - cx) / rx) ** 2 + ((sy - cy) / ry) ** 2)
        return ((1.0 - r) * min(rx, ry) / edge + 0.5).clamp(0.0, 1.0)


def _sample(image: torch.Tensor, sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
    """Bicubic samples of ``image[3,H,W]`` at source pixel coordinates (pixel i covers [i, i+1))."""
    h, w = image.shape[-2:]
    grid = torch.stack([sx / w * 2 - 1, sy / h * 2 - 1], dim=-1).float()[None]
    out = F.grid_sample(image[None], grid, mode="bicubic", padding_mode="reflection", align_corners=False)
    return out[0]


def render_layers(layers: Sequence[Layer], frames: int, window: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Composite ``layers`` (back to front) into ``[frames, 3, window, window]`` and its flow.

    The flow ``[frames, 2, window, window]`` of frame t points into frame t-1 (frame 0's is zero);
    each pixel takes the flow of the front-most layer covering it by more than half.
    """
    r = torch.arange(window, dtype=torch.float64) - (window - 1) / 2
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    clip, flows = [], []
    for t in range(frames):
        frame = torch.zeros(3, window, window)
        flow = torch.zeros(2, window, window, dtype=torch.float64)
        for layer in layers:
            sx, sy = layer.source(float(t), xx, yy)
            a = layer.alpha(sx, sy).float()
            frame = frame * (1 - a) + _sample(layer.image, sx, sy) * a
            if t > 0:
                qx, qy = layer.window(float(t - 1), sx, sy)
                front = a > 0.5
                flow[0] = torch.where(front, qx - xx, flow[0])
                flow[1] = torch.where(front, qy - yy, flow[1])
        clip.append(frame.clamp(0.0, 1.0))
        flows.append(flow.float())
    return torch.stack(clip), torch.stack(flows)


def _camera(
    gen: torch.Generator, hw: tuple[int, int], window: int, frames: int, max_speed: float
) -> CameraPath:
    """A background path whose window stays inside the image: speed limited to what the image allows."""
    h, w = hw
    zoom_rate, spin = uniform(gen, -0.01, 0.01), uniform(gen, -0.003, 0.003)
    angle0 = uniform(gen, -0.05, 0.05)
    steps = max(frames - 1, 1)
    # half extent of the window at its largest zoom and angle (plus 2 px for the bicubic taps)
    tilt = abs(angle0) + abs(spin) * steps
    half = 0.5 * window * math.exp(abs(zoom_rate) * steps) * (math.cos(tilt) + math.sin(tilt)) + 2
    heading = uniform(gen, 0.0, 2 * math.pi)
    hx, hy = math.cos(heading), math.sin(heading)
    room = min((w - 2 * half) / max(abs(hx), 1e-6), (h - 2 * half) / max(abs(hy), 1e-6)) / steps
    speed = uniform(gen, 0.0, max(0.0, min(max_speed, room)))
    vx, vy = speed * hx, speed * hy
    lo_x, hi_x = half + max(0.0, -vx * steps), w - half - max(0.0, vx * steps)
    lo_y, hi_y = half + max(0.0, -vy * steps), h - half - max(0.0, vy * steps)
    cx = uniform(gen, lo_x, hi_x) if hi_x > lo_x else w / 2
    cy = uniform(gen, lo_y, hi_y) if hi_y > lo_y else h / 2
    return CameraPath(cx, cy, vx, vy, 0.0, 0.0, zoom_rate, spin, angle0)


def random_layers(
    gen: torch.Generator,
    images: Sequence[torch.Tensor],
    window: int,
    frames: int,
    max_speed: float,
    max_objects: int = 2,
) -> list[Layer]:
    """A background camera path and 0..``max_objects`` moving objects (speeds in window px/frame)."""

    def pick() -> torch.Tensor:
        return images[int(torch.randint(len(images), (), generator=gen))]

    background = pick()
    hw = (background.shape[-2], background.shape[-1])
    layers = [Layer(background, _camera(gen, hw, window, frames, max_speed))]
    for _ in range(int(torch.randint(max_objects + 1, (), generator=gen))):
        image = pick()
        h, w = image.shape[-2:]
        rx = uniform(gen, 0.12, 0.35) * window
        ry = rx * uniform(gen, 0.5, 1.5)
        ex = uniform(gen, min(rx, w / 2), max(w - rx, w / 2))
        ey = uniform(gen, min(ry, h / 2), max(h - ry, h / 2))
        path = CameraPath(
            ex, ey, 0.0, 0.0, 0.0, 0.0, uniform(gen, -0.01, 0.01), uniform(gen, -0.02, 0.02), 0.0
        )
        speed, heading = uniform(gen, 0.0, max_speed), uniform(gen, 0.0, 2 * math.pi)
        half = window / 2
        layers.append(
            Layer(
                image,
                path,
                speed * math.cos(heading),
                speed * math.sin(heading),
                uniform(gen, -half, half),
                uniform(gen, -half, half),
                radii=(rx, ry),
            )
        )
    return layers


def augment_flow(flow: torch.Tensor, code: int) -> torch.Tensor:
    """The flip/transposition ``code`` of :func:`~.samplers.augment` applied to ``flow[..., 2, H, W]``."""
    fx, fy = flow[..., 0, :, :], flow[..., 1, :, :]
    if code & 1:
        fx, fy = -fx.flip(-1), fy.flip(-1)
    if code & 2:
        fx, fy = fx.flip(-2), -fy.flip(-2)
    if code & 4:
        fx, fy = fy.transpose(-1, -2), fx.transpose(-1, -2)
    return torch.stack([fx, fy], dim=-3)
