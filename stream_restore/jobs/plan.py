"""Cut a video into segments at keyframes, preferring scene cuts, with the warm-up each one needs.

The plan is a pure function of the input's packet index, the model and the options, so resuming a
job re-derives exactly the same plan (its digest is stored and compared).

Boundaries: one about every ``segment_seconds``, at a keyframe within a quarter segment of the
target time. Among those keyframes a *scene cut* is preferred: there the pipeline resets the
recurrent state in a sequential run too, so a segment starting there needs no warm-up and its
output equals the sequential one exactly. Which keyframes are cuts is decided cheaply: only
keyframes the encoder placed off its regular interval (x264 and x265 insert one at each scene
change) are checked, by running the pipeline's own detector on the keyframe and the frame before
it (one GOP decoded per checked keyframe), so the plan's decision is the one a sequential run makes.

Elsewhere a segment starts with ``W`` warm-up frames (:mod:`.warmup`) fed to the model and dropped,
and reads ``future_frames`` frames past its end for the model's look-ahead.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from ..config import Limits
from ..frames import Frame
from ..media.segments import SeekingReader, VideoIndex
from ..models.registry import ModelSpec
from ..pipeline.scene import histogram_distance, luma_histogram
from .store import SegmentPlanRow

__all__ = ["DEFAULT_SEGMENT_SECONDS", "Plan", "SceneCheck", "plan_segments", "scene_check"]

DEFAULT_SEGMENT_SECONDS = 60.0
_WINDOW = 0.25  # of a segment: how far from the target time a boundary may move
_MAX_CHECKS = 4  # keyframes checked for a scene cut per boundary (each costs one GOP of decoding)

SceneCheck = Callable[[int], bool]  # keyframe pts -> whether a scene cut starts there


@dataclass(frozen=True)
class Plan:
    segments: tuple[SegmentPlanRow, ...]
    time_base: Fraction
    digest: str  # of the index and the plan: a changed input or option gives another digest

    @property
    def frames(self) -> int:
        return sum(s.frames for s in self.segments)


def scene_check(path: Path, index: VideoIndex, threshold: float, limits: Limits | None = None) -> SceneCheck:
    """The pipeline's detector on a keyframe and the frame before it, decoded from the GOP before."""

    def is_cut(key: int) -> bool:
        position = bisect.bisect_left(index.pts, key)
        if position == 0:
            return False
        previous = index.pts[position - 1]
        seek = index.keyframes[max(0, bisect.bisect_right(index.keyframes, previous) - 1)]
        wanted: dict[int, Frame] = {}
        with SeekingReader(path, seek_pts=None if seek == index.pts[0] else seek, limits=limits) as reader:
            for item in reader:
                if isinstance(item, Frame) and item.pts in (previous, key):
                    wanted[item.pts] = item
                    if len(wanted) == 2:
                        break
                elif isinstance(item, Frame) and item.pts is not None and item.pts > key:
                    break
        if len(wanted) < 2:
            return False
        distance = histogram_distance(luma_histogram(wanted[previous].data), luma_histogram(wanted[key].data))
        return distance > threshold

    return is_cut


def _irregular(index: VideoIndex) -> set[int]:
    """Keyframes that came off the regular keyframe interval (placed by the encoder at a change)."""
    keys = index.keyframes
    if len(keys) < 3:
        return set(keys[1:])
    positions = [bisect.bisect_left(index.pts, k) for k in keys]
    gaps = [b - a for a, b in itertools.pairwise(positions)]
    usual = statistics.median(gaps)
    return {keys[i + 1] for i, gap in enumerate(gaps) if gap < usual * 0.9}


def _boundaries(
    index: VideoIndex, segment_seconds: float, is_cut: SceneCheck | None
) -> list[tuple[int, bool]]:
    """(keyframe pts, starts at a scene cut) of every segment start after the first."""
    keys, tb = index.keyframes, index.time_base
    start = index.pts[0]
    step = round(Fraction(segment_seconds) / tb)
    window = round(step * _WINDOW)
    irregular = _irregular(index) if is_cut is not None else set()
    chosen: list[tuple[int, bool]] = []
    previous = start
    target = start + step
    while target < index.pts[-1]:
        low = max(previous + step - window, target - window)
        lo, hi = bisect.bisect_left(keys, low), bisect.bisect_right(keys, target + window)
        candidates = [k for k in keys[lo:hi] if k > previous]
        if not candidates:
            later = keys[bisect.bisect_right(keys, target) :]
            if not later:
                break
            candidates = [later[0]]
        pick, cut = min(candidates, key=lambda k: (abs(k - target), k)), False
        checks = sorted((k for k in candidates if k in irregular), key=lambda k: (abs(k - target), k))
        for key in checks[:_MAX_CHECKS]:
            assert is_cut is not None
            if is_cut(key):
                pick, cut = key, True
                break
        if pick >= index.pts[-1] and not cut:
            break
        chosen.append((pick, cut))
        previous = pick
        target = pick + step
    return chosen


def plan_segments(
    index: VideoIndex,
    spec: ModelSpec,
    *,
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS,
    is_cut: SceneCheck | None = None,
    warmup: int | None = None,
) -> Plan:
    """The segments of a job restoring ``index``'s video with ``spec``.

    ``is_cut`` decides scene cuts at keyframes (None: no preference, e.g. scene detection off);
    ``warmup`` overrides the model's measured warm-up (frames).
    """
    if segment_seconds <= 0:
        raise ValueError("segment seconds must be positive")
    lead = warmup if warmup is not None else spec.segment_warmup
    lead = max(lead, spec.past_frames)
    starts = [(index.pts[0], True), *_boundaries(index, segment_seconds, is_cut)]
    rows: list[SegmentPlanRow] = []
    for number, (first, cut) in enumerate(starts):
        begin = bisect.bisect_left(index.pts, first)
        end = (
            bisect.bisect_left(index.pts, starts[number + 1][0])
            if number + 1 < len(starts)
            else len(index.pts)
        )
        needs = 0 if (cut or number == 0) else lead
        feed_position = max(0, begin - needs)
        feed = index.pts[feed_position]
        key = index.keyframes[bisect.bisect_right(index.keyframes, feed) - 1]
        rows.append(
            SegmentPlanRow(
                index=number,
                seek_pts=None if key == index.pts[0] else key,
                feed_pts=feed,
                first_pts=first,
                last_pts=index.pts[end - 1],
                frames=end - begin,
                warmup=begin - feed_position,
                scene_cut=cut and number > 0,
            )
        )
    h = hashlib.sha256(index.digest().encode())
    h.update(repr([(r.first_pts, r.last_pts, r.feed_pts, r.seek_pts) for r in rows]).encode())
    return Plan(tuple(rows), index.time_base, h.hexdigest()[:16])
