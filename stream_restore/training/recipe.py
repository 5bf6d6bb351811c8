"""The typed description of one training run, and the sampler it implies.

One recipe per shipped model lives in ``training/recipes/<model_with_underscores>.py`` and exposes
``RECIPE``; ``stream-restore train sr-fast-x4`` loads it by model name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import ConfigError
from .images import training_images

__all__ = ["Recipe", "load_recipe", "make_sampler", "recipe_names"]

Sampler = Callable[[torch.Generator], tuple[torch.Tensor, torch.Tensor]]
KINDS = ("sr", "vsr", "deblur", "vdeblur")


@dataclass(frozen=True)
class Recipe:
    """How to train one registered model (patch sizes in input pixels, ``lr`` Adam step size)."""

    model: str
    kind: str  # one of KINDS
    steps: int
    batch: int
    patch: int
    lr: float = 1e-3
    min_lr: float = 1e-6
    warmup: int = 100
    frames: int = 1  # clip length for recurrent models (truncated BPTT over the clip)
    supersample: int = 1  # video SR: render synthetic clips at this multiple of HR, then downscale
    compress: float = 0.0  # video SR: fraction of LR training clips H.264-coded at CRF 18-35
    freq_weight: float = 0.0
    gan_weight: float = 0.0  # > 0: adversarial fine-tuning with a U-Net SN discriminator
    d_lr: float = 1e-4
    init_from: str | None = None  # registered model whose shipped weights initialise training
    checkpoint_every: int = 250

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"recipe {self.model}: kind must be one of {KINDS}, not {self.kind!r}")
        if self.steps < 1 or self.batch < 1 or self.patch < 8:
            raise ConfigError(f"recipe {self.model}: steps, batch and patch must be positive (patch >= 8)")


def recipe_names() -> list[str]:
    """Model names that have a recipe module."""
    folder = Path(__file__).parent / "recipes"
    return sorted(p.stem.replace("_", "-") for p in folder.glob("*.py") if not p.stem.startswith("_"))


def load_recipe(model: str) -> Recipe:
    """The ``RECIPE`` of ``training/recipes/<model>.py`` (dashes become underscores)."""
    module_name = f"stream_restore.training.recipes.{model.replace('-', '_')}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        raise ConfigError(f"no recipe for {model!r}; recipes: {', '.join(recipe_names())}") from None
    recipe = module.RECIPE
    if not isinstance(recipe, Recipe):
        raise ConfigError(f"{module_name}.RECIPE is not a Recipe")
    return recipe


def make_sampler(recipe: Recipe, scale: int, data_root: Path) -> Sampler:
    """Preload the training images and build the batch sampler the recipe's kind needs."""
    from .samplers import DeblurSampler, SRSampler, VideoDeblurSampler, VideoSRSampler

    if recipe.kind == "sr":
        return SRSampler(
            training_images(data_root, (recipe.patch + 4) * scale), scale, recipe.patch, recipe.batch
        )
    if recipe.kind == "vsr":
        # Room for the window plus camera travel: twice the window, or 64 px more when supersampling.
        window = (recipe.patch + 4) * scale
        min_side = 2 * window if recipe.supersample == 1 else window * recipe.supersample + 64
        images = training_images(data_root, min_side)
        return VideoSRSampler(
            images, scale, recipe.patch, recipe.batch, recipe.frames, supersample=recipe.supersample,
            compress=recipe.compress,
        )
    if recipe.kind == "deblur":
        from .degradations import load_kernel_bank
        from .images import levin_kernels

        kernel_dir = data_root / "deblur" / "kernels"
        bank = load_kernel_bank(kernel_dir / "kernels_12.mat", exclude=levin_kernels(data_root))
        return DeblurSampler(training_images(data_root, recipe.patch + 32), recipe.patch, recipe.batch, bank)
    images = training_images(data_root, recipe.patch * 3)
    return VideoDeblurSampler(images, recipe.patch, recipe.batch, recipe.frames)
