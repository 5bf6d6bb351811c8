"""``stream-restore eval --plot FILE.png``: the tables as one picture (matplotlib, an optional extra).

The top panel is a bar chart of PSNR-Y per dataset and model (baseline first in each group, the
value on each bar). Each video dataset adds a row: PSNR-Y of every frame and the flicker (tDiff)
of every frame step, one line per model, clips one after the other with their boundaries marked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..files import atomic_path
from .datasets import DATASETS
from .runner import EvalResult

__all__ = ["PLOT_EXTRA", "Table", "check_plot_target", "write_plot"]

PLOT_EXTRA = "pip install 'stream-restore[plot]'"
Table = tuple[str, int, list[EvalResult]]  # dataset, scale, results (baseline first)


def _pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend, or the one-line error naming the extra."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError(f"eval --plot needs matplotlib: {PLOT_EXTRA}") from None
    return plt


def check_plot_target(path: Path) -> None:
    """Fail before any scoring: a PNG name, and matplotlib importable."""
    if path.suffix.lower() != ".png":
        raise ConfigError(f"--plot writes a PNG: {path} should end in .png")
    _pyplot()


def _label(dataset: str, scale: int) -> str:
    return f"{dataset} x{scale}" if DATASETS[dataset].kind == "sr" else dataset


def _bars(axes: Any, tables: Sequence[Table]) -> None:
    models = list(dict.fromkeys(r.model for _, _, results in tables for r in results))
    width = 0.8 / max(1, len(models))
    for i, model in enumerate(models):
        xs, heights = [], []
        for group, (_, _, results) in enumerate(tables):
            for r in results:
                if r.model == model and math.isfinite(r.psnr_y):
                    xs.append(group - 0.4 + width * (i + 0.5))
                    heights.append(r.psnr_y)
        bars = axes.bar(xs, heights, width, label=model)
        axes.bar_label(bars, fmt="%.2f", fontsize=7, rotation=90, padding=2)
    finite = [r.psnr_y for _, _, results in tables for r in results if math.isfinite(r.psnr_y)]
    if finite:
        axes.set_ylim(min(finite) - 2.0, max(finite) + 2.5)  # differences of tenths of a dB stay visible
    axes.set_xticks(range(len(tables)), [_label(d, s) for d, s, _ in tables])
    axes.set_ylabel("PSNR-Y (dB)")
    axes.set_title("PSNR-Y per dataset and model (baseline first)")
    axes.legend(fontsize=8, ncols=min(4, len(models)))
    axes.grid(axis="y", alpha=0.3)


def _frames(psnr_axes: Any, flicker_axes: Any, dataset: str, scale: int, results: list[EvalResult]) -> None:
    for r in results:
        psnr_axes.plot(range(len(r.psnr_y_frames)), r.psnr_y_frames, label=r.model, linewidth=1)
        # step t-1 -> t of each clip is drawn at frame t of the clip
        xs: list[int] = []
        start = 0
        for frames in r.clip_frames:
            xs += range(start + 1, start + frames)
            start += frames
        flicker_axes.plot(xs[: len(r.temporal_steps)], r.temporal_steps, label=r.model, linewidth=1)
    edges: list[float] = []
    start = 0
    for frames in results[0].clip_frames[:-1] if results else ():
        start += frames
        edges.append(start - 0.5)
    for axes in (psnr_axes, flicker_axes):
        for edge in edges:
            axes.axvline(edge, color="grey", linestyle=":", linewidth=1)
        axes.set_xlabel("frame (clips one after the other)")
        axes.grid(alpha=0.3)
    psnr_axes.set_ylabel("PSNR-Y (dB)")
    psnr_axes.set_title(f"{_label(dataset, scale)}: PSNR-Y per frame", fontsize=10)
    flicker_axes.set_ylabel("tDiff (0..255)")
    flicker_axes.set_title(f"{_label(dataset, scale)}: flicker per frame step (lower = steadier)",
                           fontsize=10)
    psnr_axes.legend(fontsize=7)


def write_plot(path: Path, tables: Sequence[Table]) -> Path:
    """Draw the tables into ``path`` (PNG, written atomically)."""
    check_plot_target(path)
    if not tables:
        raise ConfigError("nothing to plot")
    plt = _pyplot()
    videos = [t for t in tables if DATASETS[t[0]].video and any(r.psnr_y_frames for r in t[2])]
    figure = plt.figure(figsize=(max(8.0, 1.6 * len(tables) + 4.0), 4.5 + 3.5 * len(videos)),
                        layout="constrained")
    grid = figure.add_gridspec(1 + len(videos), 2)
    _bars(figure.add_subplot(grid[0, :]), tables)
    for row, (dataset, scale, results) in enumerate(videos, start=1):
        _frames(figure.add_subplot(grid[row, 0]), figure.add_subplot(grid[row, 1]), dataset, scale, results)
    try:
        with atomic_path(path) as partial:
            figure.savefig(partial, format="png", dpi=100)
    finally:
        plt.close(figure)
    return path
