"""Is vsr-x4's fed-back output worth keeping? A command that prints numbers (issue 12's note).

    .venv/bin/python bench/vsr_feedback.py [--datasets video video-crf23] [--frames 30]

For every frame of the held-out clips, vsr-x4 runs three times from the same carried state: as
shipped, with its keep gate forced shut (this frame's own estimate: neighbours and state through
the temporal conv, no blend) and forced open (the previous output, warped by the estimated flow,
wherever the state is valid). The sequence itself follows the shipped run. Prints the mean PSNR-Y
(crop 4) of each over frames 2.. of every clip, and where the open gate would beat the shut one
(the share of 8x8 HR blocks): the headroom the gate leaves, which is bounded by how well the flow
aligns the previous output at the output resolution.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator

import torch

from stream_restore.evaluation.datasets import default_data_dir, load_dataset
from stream_restore.evaluation.metrics import psnr, rgb_to_y, shave
from stream_restore.models import get_spec
from stream_restore.models.vsr_aligned import AlignedRecurrentSR


@contextlib.contextmanager
def forced_gate(model: AlignedRecurrentSR, logit: float) -> Iterator[None]:
    """Force the keep gate to ``logit`` everywhere (weights zero) for the duration."""
    saved = {k: v.clone() for k, v in model.gate.state_dict().items()}
    with torch.no_grad():
        model.gate.weight.zero_()
        model.gate.bias.fill_(logit)
    try:
        yield
    finally:
        model.gate.load_state_dict(saved)


def three_ways(
    model: AlignedRecurrentSR, window: torch.Tensor, state: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """One step from ``state``: (output as shipped, its next state, output gate shut, gate open)."""
    y, next_state = model(window, state)
    with forced_gate(model, -30.0):
        shut, _ = model(window, state)
    with forced_gate(model, 30.0):
        opened, _ = model(window, state)
    return y, next_state, shut, opened


def _y(frame: torch.Tensor) -> torch.Tensor:
    return rgb_to_y((frame.clamp(0, 1) * 255.0).round())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["video", "video-crf23"])
    parser.add_argument("--frames", type=int, default=None, help="frames per clip (default 30)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = get_spec("vsr-x4").build(pretrained=True)
    assert isinstance(model, AlignedRecurrentSR)
    data = default_data_dir()
    print("dataset  clip  shipped  gate-shut  gate-open  open-better-blocks")
    for dataset in args.datasets:
        for sample in load_dataset(dataset, 4, data, None):
            clip = sample.inputs[None] if args.frames is None else sample.inputs[None, : args.frames]
            windows = model.clip_windows(clip)
            state = model.initial_state(1, clip.shape[-2], clip.shape[-1])
            scores: dict[str, list[float]] = {"shipped": [], "shut": [], "open": []}
            better: list[float] = []
            with torch.inference_mode():
                for t in range(clip.shape[1]):
                    truth = shave(sample.target[t].double(), 4)
                    y, state, shut, opened = three_ways(model, windows[:, t], state)
                    if t < 2:
                        continue
                    ref = rgb_to_y(truth)
                    outs = {"shipped": y, "shut": shut, "open": opened}
                    for name, out in outs.items():
                        scores[name].append(psnr(shave(_y(out[0]), 4), ref))
                    err_shut = (shave(_y(shut[0]), 4) - ref).pow(2)
                    err_open = (shave(_y(opened[0]), 4) - ref).pow(2)
                    blocks = torch.nn.functional.avg_pool2d((err_open < err_shut).double()[None], 8)
                    better.append(float((blocks > 0.5).double().mean()))
            means = {k: sum(v) / len(v) for k, v in scores.items()}
            print(f"{dataset:8s} {sample.name:10s} {means['shipped']:.2f}  {means['shut']:.2f}  "
                  f"{means['open']:.2f}  {100 * sum(better) / len(better):.0f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
