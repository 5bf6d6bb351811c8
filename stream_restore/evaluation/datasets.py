"""Benchmark datasets as lists of :class:`Sample`: model inputs beside 8-bit ground truth.

Every sample is a clip (a still image is a clip of one frame), so one evaluation loop serves
single-image, window and recurrent models alike. Image benchmarks read the shared data folder
(``../shared/data`` beside the repository, see its README):

* ``Set5``, ``Set14``, ``BSD100`` at x2/x3/x4: the published HR/LR pairs (LR made with MATLAB
  bicubic); scored after cropping ``scale`` pixels from every border.
* ``Levin09``: 32 gray images blurred with 8 real camera-shake kernels, against the 4 sharp ones.
* ``GoPro``: the two real 1280x720 blurred/sharp pairs.

Video datasets (built from the shared ``video/*.mp4`` footage or synthetically) are in
:mod:`.video`; :func:`load_dataset` dispatches to either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import ConfigError
from .benchmark_images import read_image, to_model_input

__all__ = [
    "DATASETS",
    "IMAGE_DATASETS",
    "VIDEO_DATASETS",
    "DatasetInfo",
    "Sample",
    "default_data_dir",
    "load_dataset",
]


@dataclass(frozen=True)
class Sample:
    """One clip to restore and score.

    ``inputs`` is float32 RGB ``(T, 3, h, w)`` in [0, 1] (what the model gets); ``target`` is the
    ground truth as uint8 code values ``(T, C, H, W)``, C = 1 for gray images (scored
    on that channel) and 3 otherwise. ``border`` is the crop in pixels applied before scoring.
    """

    name: str
    inputs: torch.Tensor
    target: torch.Tensor
    border: int
    shift_tolerant: bool = False  # scored at the best shift (metrics.align_upto_shift), as Levin09 is

    @property
    def frames(self) -> int:
        return int(self.inputs.shape[0])


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is for: ``kind`` "sr" (needs a scale) or "deblur" (scale 1), still or video."""

    name: str
    kind: str
    video: bool
    description: str


IMAGE_DATASETS: dict[str, DatasetInfo] = {
    "Set5": DatasetInfo("Set5", "sr", False, "5 images, published HR/LR pairs"),
    "Set14": DatasetInfo("Set14", "sr", False, "14 images (img_003 gray), published HR/LR pairs"),
    "BSD100": DatasetInfo("BSD100", "sr", False, "100 BSDS500 test images, published HR/LR pairs"),
    "Levin09": DatasetInfo("Levin09", "deblur", False, "4 gray images x 8 camera-shake kernels"),
    "GoPro": DatasetInfo("GoPro", "deblur", False, "2 real 1280x720 blurred/sharp pairs"),
}
VIDEO_DATASETS: dict[str, DatasetInfo] = {
    "video": DatasetInfo("video", "sr", True, "real 720p clips -> 640x360 GT, MATLAB bicubic LR"),
    "video-crf23": DatasetInfo("video-crf23", "sr", True, "as video, LR H.264-coded at CRF 23"),
    "video-crf30": DatasetInfo("video-crf30", "sr", True, "as video, LR H.264-coded at CRF 30"),
    "video-blur": DatasetInfo("video-blur", "deblur", True, "synthetic fast pans, 7 sub-frames averaged"),
}
DATASETS: dict[str, DatasetInfo] = {**IMAGE_DATASETS, **VIDEO_DATASETS}


def default_data_dir() -> Path:
    """``../shared/data`` next to the repository root (this file is stream_restore/evaluation/)."""
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise ConfigError(f"{what} not found at {path}; point --data-dir at the shared data folder")
    return path


def sisr_samples(data_dir: Path, name: str, scale: int, limit: int | None = None) -> list[Sample]:
    """The published HR/LR pairs of Set5/Set14/BSD100 at ``scale`` (2, 3 or 4)."""
    folder = _require_dir(data_dir / "sisr" / name / f"image_SRF_{scale}", f"{name} x{scale}")
    hr_files = sorted(folder.glob(f"*_SRF_{scale}_HR.png"))[:limit]
    if not hr_files:
        raise ConfigError(f"no *_HR.png images in {folder}")
    samples = []
    for hr_path in hr_files:
        lr_path = hr_path.with_name(hr_path.name.replace("_HR.png", "_LR.png"))
        hr = read_image(hr_path)
        lr = read_image(lr_path)
        if (lr.shape[-2] * scale, lr.shape[-1] * scale) != tuple(hr.shape[-2:]):
            raise ConfigError(f"{lr_path.name} is not {hr_path.name} divided by {scale}")
        samples.append(Sample(hr_path.name.split("_SRF")[0], to_model_input(lr)[None], hr[None], scale))
    return samples


def levin_samples(data_dir: Path, limit: int | None = None) -> list[Sample]:
    """Levin09: ``im{i}_kernel{k}_img.png`` (blurred) against ``gt/im{i}.png``, scored up to a shift.

    The kernels are not centred, so the blurred images are offset from the sharp ones by up to
    5 px; as in the published protocol, every result is compared at its best shift (0.25 px
    grid, 15 px border: :func:`~.metrics.align_upto_shift`).
    """
    folder = _require_dir(data_dir / "deblur" / "Levin09" / "levin", "Levin09")
    pattern = re.compile(r"im(\d+)_kernel(\d+)_img\.png")
    blurred = sorted((path, m.group(1)) for path in folder.iterdir() if (m := pattern.fullmatch(path.name)))
    if not blurred:
        raise ConfigError(f"no im*_kernel*_img.png images in {folder}")
    sharp: dict[str, torch.Tensor] = {}
    samples = []
    for path, image_id in blurred[:limit]:
        if image_id not in sharp:
            sharp[image_id] = read_image(folder / "gt" / f"im{image_id}.png")
        codes = read_image(path)
        samples.append(
            Sample(path.stem, to_model_input(codes)[None], sharp[image_id][None], 0, shift_tolerant=True)
        )
    return samples


def gopro_samples(data_dir: Path, limit: int | None = None) -> list[Sample]:
    """The real GoPro pairs ``{scene}_blur{n}.png`` / ``{scene}_sharp{n}.png``; no border crop."""
    folder = _require_dir(data_dir / "deblur" / "GoPro" / "pairs", "GoPro pairs")
    samples = []
    for blur_path in sorted(folder.glob("*_blur*.png"))[:limit]:
        sharp_path = blur_path.with_name(blur_path.name.replace("_blur", "_sharp"))
        if not sharp_path.is_file():
            raise ConfigError(f"{blur_path.name} has no sharp partner {sharp_path.name}")
        codes = read_image(blur_path)
        samples.append(Sample(blur_path.stem, to_model_input(codes)[None], read_image(sharp_path)[None], 0))
    return samples


def load_dataset(name: str, scale: int, data_dir: Path, limit: int | None = None) -> list[Sample]:
    """The samples of dataset ``name`` for models of ``scale``; ``limit`` keeps the first N items."""
    if name not in DATASETS:
        raise ConfigError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
    info = DATASETS[name]
    if info.kind == "sr" and scale not in (2, 3, 4):
        raise ConfigError(f"{name} is a super-resolution benchmark for x2, x3 or x4, not x{scale}")
    if info.kind == "deblur" and scale != 1:
        raise ConfigError(f"{name} is a deblurring benchmark (scale 1), not x{scale}")
    if info.video:
        from .video import video_samples

        return video_samples(name, scale, data_dir, limit)
    if name == "Levin09":
        return levin_samples(data_dir, limit)
    if name == "GoPro":
        return gopro_samples(data_dir, limit)
    return sisr_samples(data_dir, name, scale, limit)
