"""Plans: keyframe-aligned segments, scene cuts preferred, deterministic, warm-up per model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from stream_restore.jobs.plan import plan_segments, scene_check
from stream_restore.media.segments import index_video
from stream_restore.models.registry import get_spec

from .clips import cut_clip, gop_clip


def test_segments_start_at_keyframes_and_cover_every_frame_once(tmp_path: Path) -> None:
    clip = gop_clip(tmp_path / "a.mp4", frames=70)
    index = index_video(clip)
    assert index.frames == 70 and len(index.keyframes) == 7  # a keyframe every 10 frames
    plan = plan_segments(index, get_spec("bicubic-x2"), segment_seconds=1.0)
    assert [s.frames for s in plan.segments] == [20, 20, 20, 10]
    assert all(s.first_pts in index.keyframes for s in plan.segments)
    assert sum(s.frames for s in plan.segments) == index.frames
    assert all(s.warmup == 0 and s.feed_pts == s.first_pts for s in plan.segments)  # single-frame model
    for a, b in zip(plan.segments, plan.segments[1:], strict=False):
        assert index.pts[index.pts.index(a.last_pts) + 1] == b.first_pts


def test_the_plan_is_deterministic_and_follows_the_input(tmp_path: Path) -> None:
    clip = gop_clip(tmp_path / "a.mkv", frames=70)
    spec = get_spec("vsr-x2")
    first = plan_segments(index_video(clip), spec, segment_seconds=1.0)
    again = plan_segments(index_video(clip), spec, segment_seconds=1.0)
    assert first == again
    shorter = plan_segments(index_video(gop_clip(tmp_path / "b.mkv", frames=60)), spec, segment_seconds=1.0)
    assert shorter.digest != first.digest


def test_recurrent_segments_start_early_by_the_measured_warm_up(tmp_path: Path) -> None:
    clip = gop_clip(tmp_path / "a.mkv", frames=70)
    index = index_video(clip)
    spec = get_spec("vsr-x2")
    plan = plan_segments(index, spec, segment_seconds=1.0)
    w = spec.segment_warmup
    assert w > 0
    for segment in plan.segments[1:]:
        assert segment.warmup == w
        assert index.pts.index(segment.first_pts) - index.pts.index(segment.feed_pts) == w
        # the keyframe at or before the first fed frame; None: that is the first frame, read from the start
        seek = index.pts[0] if segment.seek_pts is None else segment.seek_pts
        assert seek in index.keyframes and seek <= segment.feed_pts
        assert not [k for k in index.keyframes if seek < k <= segment.feed_pts]


def test_a_scene_cut_keyframe_is_preferred_and_needs_no_warm_up(tmp_path: Path) -> None:
    clip = cut_clip(tmp_path / "cut.mkv", frames=80, cut=43)
    index = index_video(clip)
    cut_pts = index.pts[43]
    assert cut_pts in index.keyframes
    spec = get_spec("vsr-x2")
    plan = plan_segments(index, spec, segment_seconds=1.0, is_cut=scene_check(clip, index, 0.25))
    starts = {s.first_pts: s for s in plan.segments}
    assert cut_pts in starts, [s.first_pts for s in plan.segments]
    assert starts[cut_pts].scene_cut and starts[cut_pts].warmup == 0
    # without the detector, the keyframe nearest the target (frame 40) is taken instead
    blind = plan_segments(index, spec, segment_seconds=1.0)
    assert cut_pts not in {s.first_pts for s in blind.segments}
    assert index.pts[40] in {s.first_pts for s in blind.segments}


def test_warm_up_is_on_the_model_spec_measured_or_the_default_and_none_for_single_frame_models() -> None:
    from stream_restore.models.registry import DEFAULT_RECURRENT_WARMUP

    assert get_spec("vsr-x2").segment_warmup == get_spec("vsr-x2").warmup_frames == 16
    unmeasured = replace(get_spec("vsr-x2"), warmup_frames=None)  # e.g. an added recurrent ONNX file
    assert unmeasured.segment_warmup == DEFAULT_RECURRENT_WARMUP
    assert get_spec("sr-compact-x2").segment_warmup == 0
