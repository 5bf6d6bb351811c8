"""Synthetic video clips from still images: a crop window moves along a smooth random camera path.

The path combines pan (constant velocity plus acceleration), zoom and slight rotation, all with
sub-pixel motion, and is rendered with bicubic ``grid_sample`` from the still image. Rendering
``sub`` sub-frames per frame and averaging consecutive ones gives GoPro-style motion blur.
Units: positions and speeds in source-image pixels (per frame), angles in radians.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import ConfigError
from .degradations import uniform

__all__ = ["CameraPath", "random_path", "render_clip"]


@dataclass(frozen=True)
class CameraPath:
    """Window centre ``(cx, cy)``, velocity, acceleration (pixels/frame, /frame^2), zoom rate, spin."""

    cx: float
    cy: float
    vx: float
    vy: float
    ax: float
    ay: float
    zoom_rate: float  # log-zoom change per frame
    spin: float  # rotation per frame, radians
    angle0: float

    def at(self, t: float) -> tuple[float, float, float, float]:
        """(cx, cy, zoom, angle) at time ``t`` in frames."""
        return (
            self.cx + self.vx * t + 0.5 * self.ax * t * t,
            self.cy + self.vy * t + 0.5 * self.ay * t * t,
            math.exp(self.zoom_rate * t),
            self.angle0 + self.spin * t,
        )


def random_path(
    gen: torch.Generator, image_hw: tuple[int, int], window: int, frames: float, max_speed: float
) -> CameraPath:
    """A smooth path whose window (side ``window`` px) stays inside the image for ``frames`` frames."""
    h, w = image_hw
    speed = uniform(gen, 0.0, max_speed)
    heading = uniform(gen, 0.0, 2 * math.pi)
    vx, vy = speed * math.cos(heading), speed * math.sin(heading)
    ax, ay = uniform(gen, -0.05, 0.05) * max_speed, uniform(gen, -0.05, 0.05) * max_speed
    zoom_rate = uniform(gen, -0.01, 0.01)
    spin = uniform(gen, -0.004, 0.004)
    # Keep the rotated, zoomed window inside: margin = half diagonal at the largest zoom.
    travel_x = abs(vx) * frames + 0.5 * abs(ax) * frames**2
    travel_y = abs(vy) * frames + 0.5 * abs(ay) * frames**2
    half = 0.5 * window * math.sqrt(2) * math.exp(abs(zoom_rate) * frames)
    lo_x, hi_x = half + (travel_x if vx < 0 else 0), w - half - (travel_x if vx > 0 else 0)
    lo_y, hi_y = half + (travel_y if vy < 0 else 0), h - half - (travel_y if vy > 0 else 0)
    if hi_x < lo_x or hi_y < lo_y:  # too fast for this image: fall back to a centred, slower path
        return CameraPath(w / 2, h / 2, vx * 0.2, vy * 0.2, 0.0, 0.0, 0.0, 0.0, 0.0)
    return CameraPath(
        uniform(gen, lo_x, hi_x),
        uniform(gen, lo_y, hi_y),
        vx,
        vy,
        ax,
        ay,
        zoom_rate,
        spin,
        uniform(gen, -0.05, 0.05),
    )


def render_clip(image: torch.Tensor, path: CameraPath, times: list[float], window: int) -> torch.Tensor:
    """Render ``[len(times), 3, window, window]`` crops of ``image[3,H,W]`` along ``path`` (bicubic)."""
    if image.dim() != 3:
        raise ConfigError("render_clip expects one image [3, H, W]")
    _, h, w = image.shape
    r = torch.arange(window, dtype=torch.float64) - (window - 1) / 2
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    grids = []
    for t in times:
        cx, cy, zoom, angle = path.at(t)
        c, s = math.cos(angle), math.sin(angle)
        sx = cx + zoom * (c * xx - s * yy)
        sy = cy + zoom * (s * xx + c * yy)
        # align_corners=False: pixel i covers [i, i+1), centre at i + 0.5
        gx = (sx) / w * 2 - 1
        gy = (sy) / h * 2 - 1
        grids.append(torch.stack([gx, gy], dim=-1))
    grid = torch.stack(grids).float()
    src = image[None].expand(len(times), -1, -1, -1)
    out = F.grid_sample(src, grid, mode="bicubic", padding_mode="reflection", align_corners=False)
    return out.clamp(0.0, 1.0)
