"""What ``stream-restore models`` prints, without importing torch: a catalog of the shipped models.

Counting parameters and FLOPs means building every model (seconds of torch import and tracing),
so the shipped models' figures are kept here, generated from the registry by
``python -m stream_restore.model_catalog`` and checked against it by
``tests/test_model_catalog.py`` (a stale row fails the suite). Added models carry theirs in their
sidecars (:mod:`stream_restore.models.directory`), read here as TOML.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["CARDS_DIR", "SHIPPED", "ModelRow", "added_rows", "card_text", "catalog_rows", "main"]

log = logging.getLogger(__name__)

CARDS_DIR = Path(__file__).resolve().parent / "models" / "cards"  # read as files: no torch import


def card_text(name: str) -> str | None:
    """The Markdown card of shipped model ``name``, or None where it has none (no trained weights)."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    path = CARDS_DIR / f"{name}.md"
    return path.read_text() if path.is_file() else None


@dataclass(frozen=True)
class ModelRow:
    """One line of the model list."""

    name: str
    task: str
    scale: int
    frames: str  # past+1+future
    recurrent: bool
    parameters: int | None  # None: not countable (an added ONNX graph)
    gflop_per_mpixel: float | None
    description: str
    added: bool = False

    def to_json(self) -> dict[str, object]:
        return asdict(self)


# BEGIN GENERATED (python -m stream_restore.model_catalog)
SHIPPED: tuple[ModelRow, ...] = (
    ModelRow(name='bicubic-x2', task='sr', scale=2, frames='0+1+0', recurrent=False, parameters=0, gflop_per_mpixel=0.6, description='MATLAB imresize bicubic x2 (Keys a=-0.5, edge clamp): the published baseline', added=False),
    ModelRow(name='bicubic-x3', task='sr', scale=3, frames='0+1+0', recurrent=False, parameters=0, gflop_per_mpixel=1.35, description='MATLAB imresize bicubic x3 (Keys a=-0.5, edge clamp): the published baseline', added=False),
    ModelRow(name='bicubic-x4', task='sr', scale=4, frames='0+1+0', recurrent=False, parameters=0, gflop_per_mpixel=2.4, description='MATLAB imresize bicubic x4 (Keys a=-0.5, edge clamp): the published baseline', added=False),
    ModelRow(name='deblur', task='deblur', scale=1, frames='0+1+0', recurrent=False, parameters=859347, gflop_per_mpixel=108.86, description='single-image motion/shake deblurring: residual U-Net (3 levels + 1/8 bottleneck)', added=False),
    ModelRow(name='deblur-gan', task='deblur', scale=1, frames='0+1+0', recurrent=False, parameters=859347, gflop_per_mpixel=108.86, description='still-image deblurring, the deblur U-Net fine-tuned with a U-Net GAN loss', added=False),
    ModelRow(name='identity', task='identity', scale=1, frames='0+1+0', recurrent=False, parameters=0, gflop_per_mpixel=0.0, description='passes frames through unchanged; tests the decode/encode path', added=False),
    ModelRow(name='sr-compact-x2', task='sr', scale=2, frames='0+1+0', recurrent=False, parameters=172812, gflop_per_mpixel=345.34, description='compact x2 SR: 4 residual blocks, 48 ch + bicubic skip', added=False),
    ModelRow(name='sr-compact-x4', task='sr', scale=4, frames='0+1+0', recurrent=False, parameters=188400, gflop_per_mpixel=378.24, description='compact x4 SR: 4 residual blocks, 48 ch + bicubic skip', added=False),
    ModelRow(name='sr-fast-x2', task='sr', scale=2, frames='0+1+0', recurrent=False, parameters=32236, gflop_per_mpixel=64.54, description='real-time x2 SR: 5-conv PReLU stack at LR + bicubic skip', added=False),
    ModelRow(name='sr-fast-x3', task='sr', scale=3, frames='0+1+0', recurrent=False, parameters=36091, gflop_per_mpixel=72.92, description='real-time x3 SR: 6-conv PReLU stack at LR + bicubic skip', added=False),
    ModelRow(name='sr-fast-x4', task='sr', scale=4, frames='0+1+0', recurrent=False, parameters=34292, gflop_per_mpixel=70.44, description='real-time x4 SR: 5-conv PReLU stack at LR + bicubic skip', added=False),
    ModelRow(name='sr-gan-x4', task='sr', scale=4, frames='0+1+0', recurrent=False, parameters=188400, gflop_per_mpixel=378.24, description='still-image x4 SR, sr-compact-x4 generator fine-tuned with a U-Net GAN loss', added=False),
    ModelRow(name='vdeblur', task='vdeblur', scale=1, frames='1+1+1', recurrent=True, parameters=863619, gflop_per_mpixel=109.18, description="causal recurrent video deblurring: deblur's U-Net + 1x1 fusion of neighbours and a 1/8-res state", added=False),
    ModelRow(name='vsr-x2', task='vsr', scale=2, frames='1+1+1', recurrent=True, parameters=210097, gflop_per_mpixel=362.57, description='causal recurrent x2 video SR (flow-aligned neighbours, warped state and fed-back output, sr-compact body)', added=False),
    ModelRow(name='vsr-x4', task='vsr', scale=4, frames='1+1+1', recurrent=True, parameters=227413, gflop_per_mpixel=398.93, description='causal recurrent x4 video SR (flow-aligned neighbours, warped state and fed-back output, sr-compact body)', added=False),
)
# END GENERATED


def added_rows(directory: Path) -> list[ModelRow]:
    """The rows of the models added to ``directory`` (read from their sidecars; broken ones skipped)."""
    rows = []
    for path in sorted(directory.glob("*.toml")) if directory.is_dir() else ():
        try:
            data = tomllib.loads(path.read_text())
            frames = int(data.get("past_frames", 0)), int(data.get("future_frames", 0))
            parameters, gflop = data.get("parameters", -1), data.get("gflop_per_mpixel", -1.0)
            rows.append(ModelRow(
                name=str(data["name"]), task=str(data["task"]), scale=int(data["scale"]),
                frames=f"{frames[0]}+1+{frames[1]}", recurrent=False,
                parameters=int(parameters) if parameters >= 0 else None,
                gflop_per_mpixel=float(gflop) if gflop >= 0 else None,
                description=str(data.get("description", "")), added=True,
            ))
        except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
            log.warning("model directory: skipped %s: %s", path.name, exc)
    return rows


def catalog_rows(directory: Path | None) -> list[ModelRow]:
    """Shipped and added models by name (an added model never shadows a shipped one)."""
    shipped = {row.name for row in SHIPPED}
    added = [row for row in added_rows(directory) if row.name not in shipped] if directory else []
    return sorted([*SHIPPED, *added], key=lambda row: row.name)


def registry_rows() -> list[ModelRow]:
    """The shipped models' rows computed from the registry (imports torch; builds every model)."""
    from .models import list_specs

    return [
        ModelRow(spec.name, spec.task.value, spec.scale, spec.frames_needed, spec.recurrent,
                 spec.parameter_count(), round(spec.gflop_per_megapixel(), 2), spec.description)
        for spec in list_specs()
        if spec.external is None
    ]


def main() -> None:
    """Rewrite the generated block of this file from the registry."""
    path = Path(__file__)
    text = path.read_text()
    start = text.index("# BEGIN GENERATED")
    end = text.index("# END GENERATED")
    lines = ["# BEGIN GENERATED (python -m stream_restore.model_catalog)", "SHIPPED: tuple[ModelRow, ...] = ("]
    lines += [f"    {row!r}," for row in registry_rows()]
    lines.append(")")
    path.write_text(text[:start] + "\n".join(lines) + "\n" + text[end:])


if __name__ == "__main__":
    main()
