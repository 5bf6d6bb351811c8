"""``stream-restore eval`` end to end on a tiny generated benchmark folder (no shared data needed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from stream_restore.cli import main
from stream_restore.training.resize import imresize


def _write_png(path: Path, codes: torch.Tensor) -> None:
    """(3, H, W) uint8 -> PNG, through PyAV like every test medium."""
    array = np.ascontiguousarray(codes.permute(1, 2, 0).numpy())
    with av.open(str(path), mode="w", format="image2") as container:
        stream = container.add_stream("png")
        stream.width, stream.height, stream.pix_fmt = array.shape[1], array.shape[0], "rgb24"
        for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


@pytest.fixture
def tiny_set5(tmp_path: Path) -> Path:
    """A Set5-shaped folder at x2: two smooth 48x40 HR images and their MATLAB-bicubic LR."""
    folder = tmp_path / "sisr" / "Set5" / "image_SRF_2"
    folder.mkdir(parents=True)
    y, x = torch.meshgrid(torch.arange(48.0), torch.arange(40.0), indexing="ij")
    for i in range(2):
        hr = torch.stack([128 + 100 * torch.sin((x + 7 * i) / 5), 128 + 90 * torch.cos(y / 4), (x + y) * 2.5])
        hr = hr.clamp(0, 255).round().to(torch.uint8)
        lr = (imresize(hr.float() / 255, scale=0.5, emulate_uint8=True) * 255).round().to(torch.uint8)
        _write_png(folder / f"img_00{i + 1}_SRF_2_HR.png", hr)
        _write_png(folder / f"img_00{i + 1}_SRF_2_LR.png", lr)
    return tmp_path


def test_json_lines(tiny_set5: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["eval", "--model", "bicubic-x2", "--dataset", "Set5", "--data-dir", str(tiny_set5), "--json"]
    )
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 1
    row = lines[0]
    assert row["model"] == "bicubic-x2" and row["dataset"] == "Set5" and row["baseline"] is True
    assert row["items"] == 2 and 25.0 < row["psnr_y"] < 60.0 and 0.5 < row["ssim_y"] <= 1.0


def test_table_has_the_baseline_first(tiny_set5: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["eval", "--scale", "2", "--dataset", "Set5", "--data-dir", str(tiny_set5), "--limit", "1"])
    assert code == 0
    out = capsys.readouterr().out
    rows = [line.split()[0] for line in out.splitlines()[3:] if line.strip()]
    assert out.startswith("Set5 x2 (1 images, crop 2 px)")
    assert rows[0] == "bicubic-x2"
    assert "base" in out.splitlines()[3]


@pytest.mark.parametrize(
    "argv",
    [
        ["eval", "--model", "no-such-model"],
        ["eval", "--model", "bicubic-x2", "--dataset", "Levin09"],  # an SR model has no deblur data
        ["eval", "--dataset", "Set5", "--limit", "0"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], tiny_set5: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--data-dir", str(tiny_set5)]) == 2
    assert "error" in capsys.readouterr().err


def test_unknown_dataset_is_rejected_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["eval", "--dataset", "Imagenet"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_missing_data_folder_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--model", "bicubic-x2", "--data-dir", str(tmp_path / "absent")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="tests the message shown where CUDA is missing")
def test_cuda_without_cuda_is_a_usage_error(tiny_set5: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--model", "bicubic-x2", "--device", "cuda", "--data-dir", str(tiny_set5)]) == 2
    assert "CUDA is not available" in capsys.readouterr().err


def test_no_temporal_rows_score_the_ablated_recurrent_model(
    tiny_set5: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Still images are one-frame clips: without neighbours or history the ablation scores the same."""
    args = ["eval", "--model", "vsr-x2", "--dataset", "Set5", "--data-dir", str(tiny_set5), "--json"]
    assert main([*args, "--no-temporal"]) == 0
    rows = {r["model"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert set(rows) == {"bicubic-x2", "vsr-x2", "vsr-x2/no-temporal"}
    assert rows["vsr-x2/no-temporal"]["psnr_y"] == pytest.approx(rows["vsr-x2"]["psnr_y"], abs=1e-6)


def _png_size(path: Path) -> tuple[int, int]:
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return frame.width, frame.height


def test_plot_writes_a_png_of_the_scores(
    tiny_set5: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib", reason="eval --plot needs the plot extra (in dev)")
    target = tmp_path / "scores.png"
    args = ["eval", "--model", "bicubic-x2", "sr-fast-x2", "--dataset", "Set5", "--data-dir", str(tiny_set5)]
    assert main([*args, "--plot", str(target)]) == 0
    assert f"wrote {target}" in capsys.readouterr().err
    assert _png_size(target) == (800, 450)  # 8 x 4.5 inches at 100 dpi: the bar chart alone


def test_video_results_keep_per_frame_series_and_plot_them(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="eval --plot needs the plot extra (in dev)")
    from stream_restore.backends import BackendOptions, create_backend
    from stream_restore.evaluation.datasets import Sample
    from stream_restore.evaluation.plot import write_plot
    from stream_restore.evaluation.runner import evaluate
    from stream_restore.models import get_spec

    y, x = torch.meshgrid(torch.arange(32.0), torch.arange(48.0), indexing="ij")
    gt = torch.stack([  # a pattern moving 3 px per frame
        torch.stack([128 + 100 * torch.sin((x + 3 * t) / 5), 128 + 90 * torch.cos(y / 4), (x + y + t) * 2.5])
        for t in range(5)
    ]).clamp(0, 255).round().to(torch.uint8)
    clips = [Sample(f"clip{n}", imresize(gt[n:].float() / 255, scale=0.5, emulate_uint8=True).float(),
                    gt[n:].contiguous(), 2) for n in (0, 2)]  # 5 and 3 frames
    backend = create_backend(get_spec("bicubic-x2"), "torch", BackendOptions(threads=1)).load()
    try:
        result = evaluate(backend, "video", clips)
    finally:
        backend.close()
    assert result.clip_frames == (5, 3) and len(result.psnr_y_frames) == 8 and len(result.temporal_steps) == 6
    assert sum(result.psnr_y_frames) / 8 == pytest.approx(result.psnr_y)
    per_clip = (sum(result.temporal_steps[:4]) / 4 + sum(result.temporal_steps[4:]) / 2) / 2
    assert result.temporal == pytest.approx(per_clip)
    assert "psnr_y_frames" not in result.to_json()
    target = write_plot(tmp_path / "video.png", [("video", 2, [result])])
    assert _png_size(target) == (800, 800)  # a second row: per-frame PSNR and flicker


def test_plot_without_matplotlib_names_the_extra(
    tiny_set5: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an install without the extra sees
    target = tmp_path / "scores.png"
    args = ["eval", "--model", "bicubic-x2", "--dataset", "Set5", "--data-dir", str(tiny_set5)]
    assert main([*args, "--plot", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'stream-restore[plot]'" in err
    assert not target.exists()
    assert main([*args, "--plot", str(tmp_path / "scores.svg")]) == 2
    assert "should end in .png" in capsys.readouterr().err
