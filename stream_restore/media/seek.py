"""Seeking to the keyframe before a time, also in containers without an index (MPEG-TS, raw)."""

from __future__ import annotations

import logging

import av
import av.container
import av.video.stream

__all__ = ["seek_keyframe_before"]

log = logging.getLogger(__name__)


def seek_keyframe_before(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, seconds: float, name: str
) -> None:
    """Seek ``container`` to the keyframe of ``stream`` at or before ``seconds``, or to its beginning.

    Containers without an index (MPEG-TS, raw streams) seek by timestamp search and may land on
    any packet: a decoder would then drop every frame up to the next keyframe, which in a clip
    with one keyframe is all of them. So the first video packet is looked at, and an input that
    does not resume on a keyframe there is read from its beginning instead. An input that cannot
    seek at all is left where it is (its beginning)."""
    target = int(seconds * 1_000_000)
    try:
        container.seek(target, backward=True, any_frame=False)
        if _at_keyframe(container, stream):
            container.seek(target, backward=True, any_frame=False)  # back to where the look began
            return
        log.debug("%s: seeking to %.3f s lands between keyframes; reading from the start", name, seconds)
        container.seek(0, backward=True, any_frame=False)
    except (av.FFmpegError, OSError, ValueError) as exc:
        log.debug("%s: cannot seek to %.3f s (%s); reading from the start", name, seconds, exc)


def _at_keyframe(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> bool:
    """Whether the next packet of ``stream`` is a keyframe (reads packets: seek again after)."""
    for packet in container.demux(stream):
        if packet.size:
            return bool(packet.is_keyframe)
    return False
