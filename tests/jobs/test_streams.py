"""Assembly keeps what the local ``restore`` keeps: VFR timestamps, two audio tracks and subtitles
with exact timestamps and packet counts, 10-bit samples and colour metadata; chapters and
metadata are copied once from the source."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest

from .clips import gop_clip, stream_packets
from .conftest import FAST, cli, only_job


def _compare(job_output: Path, local: Path) -> None:
    job, ref = stream_packets(job_output), stream_packets(local)
    assert [kind for kind, _ in job] == [kind for kind, _ in ref]
    for (kind, ours), (_, theirs) in zip(job, ref, strict=True):
        if kind == "video":  # the encodes differ (a keyframe per segment); the timestamps do not
            assert sorted(pts for pts, _ in ours) == sorted(
                pts for pts, _ in theirs
            )  # (decode order differs)
        else:
            assert ours == theirs, kind


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_vfr_two_audio_tracks_and_subtitles_come_out_as_in_the_local_command(
    tmp_path: Path, suffix: str
) -> None:
    clip = gop_clip(tmp_path / f"clip{suffix}", frames=50, vfr=True, audio=("aac", "aac"), subtitles=True)
    options = ["-m", "identity", *FAST]
    cli("restore", clip, tmp_path / f"local{suffix}", *options)
    state = tmp_path / "state"
    cli("jobs", "submit", clip, tmp_path / "out", "--state-dir", state, "--segment-seconds", "0.5", *options)
    out = tmp_path / "out" / f"clip{suffix}"
    _compare(out, tmp_path / f"local{suffix}")
    status = cli("jobs", "status", only_job(state), "--state-dir", state).stdout
    assert status.count("segment ") >= 3  # it really was segmented


@pytest.mark.slow
def test_ten_bit_colour_metadata_chapters_and_tags_survive(tmp_path: Path) -> None:
    clip = gop_clip(
        tmp_path / "ten.mkv",
        frames=40,
        pix_fmt="yuv420p10le",
        codec="libx265",
        options={"x265-params": "keyint=10:min-keyint=10:scenecut=0:log-level=error", "preset": "ultrafast"},
    )
    with av.open(str(clip)) as src, av.open(str(tmp_path / "tagged.mkv"), "w") as out:
        stream = src.streams.video[0]
        target = out.add_stream_from_template(stream)
        out.metadata["title"] = "archive reel 7"
        out.set_chapters(
            [
                {
                    "id": 1,
                    "start": 0,
                    "end": 1000,
                    "time_base": Fraction(1, 1000),
                    "metadata": {"title": "one"},
                },
                {
                    "id": 2,
                    "start": 1000,
                    "end": 1600,
                    "time_base": Fraction(1, 1000),
                    "metadata": {"title": "two"},
                },
            ]
        )
        for packet in src.demux(stream):
            if packet.size:
                packet.stream = target
                out.mux(packet)
    tagged = tmp_path / "tagged.mkv"
    options = ["-m", "identity", "--codec", "hevc", *FAST]
    cli("restore", tagged, tmp_path / "local.mkv", *options)
    cli(
        "jobs",
        "submit",
        tagged,
        tmp_path / "out",
        "--state-dir",
        tmp_path / "state",
        "--segment-seconds",
        "0.5",
        *options,
    )
    out = tmp_path / "out" / "tagged.mkv"
    _compare(out, tmp_path / "local.mkv")
    with av.open(str(out)) as ours, av.open(str(tmp_path / "local.mkv")) as local:
        a, b = ours.streams.video[0].codec_context, local.streams.video[0].codec_context
        assert a.pix_fmt == b.pix_fmt == "yuv420p10le"
        assert (a.colorspace, a.color_range, a.color_primaries, a.color_trc) == (
            b.colorspace,
            b.color_range,
            b.color_primaries,
            b.color_trc,
        )
        assert ours.metadata.get("title") == "archive reel 7"
        assert [c["metadata"].get("title") for c in ours.chapters()] == ["one", "two"]
