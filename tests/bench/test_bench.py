"""The bench command's contract (JSON keys, arithmetic, peers, Markdown report); no timing asserts."""

from __future__ import annotations

import json

import pytest
import torch

from stream_restore.bench import peak as peak_module
from stream_restore.bench.models import BenchRow
from stream_restore.bench.peers import SRVGGNetCompact, srvgg_spec
from stream_restore.bench.report import markdown_table
from stream_restore.cli import main

REQUIRED = {"model", "backend", "size", "ms_per_frame", "fps", "gflop_per_frame", "achieved_gflops",
            "peak_gflops", "fraction_of_peak"}  # fmt: skip


def test_row_arithmetic() -> None:
    row = BenchRow("model", "m", "torch", "640x360", gflop_per_frame=10.0).finish(
        [110.0, 100.0, 90.0], peak=200.0
    )
    assert row.ms_per_frame == 100.0 and row.fps == 10.0
    assert row.achieved_gflops == pytest.approx(100.0)
    assert row.fraction_of_peak == pytest.approx(0.5)
    assert REQUIRED <= set(json.loads(row.to_json()))


def test_bench_json_lines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    monkeypatch.setattr("stream_restore.bench.command.matmul_peak_gflops", lambda **_: 100.0)
    monkeypatch.setattr("stream_restore.bench.peak.matmul_peak_gflops", lambda **_: 100.0)
    code = main(["bench", "-m", "bicubic-x2", "-b", "torch", "-s", "64x48", "--repeat", "2", "--warmup", "1",
                 "--no-e2e", "--no-peers", "--json", "--cache-dir", str(tmp_path)])  # fmt: skip
    assert code == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["kind"] == "peak"
    (model,) = [r for r in rows if r["kind"] == "model"]
    assert REQUIRED <= set(model)
    assert model["size"] == "64x48" and model["backend"] == "torch" and model["peak_gflops"] == 100.0
    assert model["gflop_per_frame"] > 0 and model["fraction_of_peak"] > 0
    assert "| model | bicubic-x2 | torch | 64x48 |" in markdown_table(rows)


def test_peak_is_positive() -> None:
    assert peak_module.matmul_peak_gflops(sizes=(128,), repeats=2) > 0


def test_srvgg_peer_architecture() -> None:
    net = SRVGGNetCompact(scale=4)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 18 and convs[1].out_channels == 64  # first + 16 body + last
    assert sum(isinstance(m, torch.nn.PReLU) for m in net.modules()) == 17
    assert net(torch.rand(1, 3, 8, 10)).shape == (1, 3, 32, 40)
    spec = srvgg_spec(4)
    assert spec.name.startswith("peer-") and spec.scale == 4


def test_ffmpeg_lanczos_row() -> None:
    pytest.importorskip("av")
    from stream_restore.bench.peers import ffmpeg_scale_row

    row = ffmpeg_scale_row(64, 48, 2, frames=2, repeat=1)
    assert row.backend == "pyav-filtergraph" and row.fps and row.fps > 0


@pytest.mark.slow  # 6 s: a timed restore
def test_e2e_row_times_the_model_beside_the_restore(tmp_path) -> None:
    from stream_restore.backends import BackendOptions
    from stream_restore.bench.e2e import e2e_row

    row = e2e_row("bicubic-x2", "torch", BackendOptions(cache_dir=tmp_path), 64, 48, frames=6, model_repeat=2)
    assert row.kind == "e2e" and row.fps and row.fps > 0
    assert "6 frames" in row.note
    shares = [row.extra[f"{k}_share"] for k in ("decode", "infer", "encode")]
    assert sum(shares) == pytest.approx(1.0, abs=0.01)
    assert row.extra["model_only_fps"] > 0
    assert row.extra["of_model_only"] == pytest.approx(
        row.fps / row.extra["model_only_fps"], rel=0.01, abs=1e-3
    )
    table = markdown_table([json.loads(row.to_json())])
    assert "of the model alone" in table and "| e2e | bicubic-x2 | torch | 64x48 |" in table


@pytest.mark.slow  # 6 s: real footage
def test_e2e_clip_from_real_footage_is_scaled_and_named(tmp_path) -> None:
    from stream_restore.backends import BackendOptions
    from stream_restore.bench.e2e import e2e_row, make_clip, scaled_clip
    from stream_restore.errors import InputError

    source = make_clip(tmp_path / "source.mp4", 96, 64, 5)  # stands in for a camera file
    clip = scaled_clip(source, tmp_path / "scaled.mp4", 48, 32, 4)
    import av

    with av.open(str(clip)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 4 and (frames[0].width, frames[0].height) == (48, 32)
    with pytest.raises(InputError, match="fewer than"):
        scaled_clip(source, tmp_path / "long.mp4", 48, 32, 50)
    row = e2e_row(
        "bicubic-x2",
        "torch",
        BackendOptions(cache_dir=tmp_path),
        48,
        32,
        frames=4,
        model_repeat=1,
        source=source,
    )
    assert "(source.mp4)" in row.note and "4 frames" in row.note
