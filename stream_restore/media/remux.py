"""Assemble an archive job's output: the segments' video packets, in order, muxed with every audio,
subtitle and attachment stream of the source (copied once, untouched), its chapters and metadata.

Nothing is decoded or encoded. The video packets keep the timestamps the segments were written
with (the source's), and each segment is checked against what the plan expects of it (frame
count, first and last timestamp) while it is copied, so an assembled file is never missing a
frame silently.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import av.container
from av.stream import Stream

from ..errors import InputError, OutputError
from .encode import _EXTRA_SUPPORT
from .errors import input_error, output_error
from .segments import _video_stream

__all__ = ["AssemblyStats", "SegmentFile", "assemble"]

_COPY_TYPES = ("audio", "subtitle", "attachment")


@dataclass(frozen=True)
class SegmentFile:
    """One finished segment and what the plan says it holds (timestamps in seconds)."""

    path: Path
    frames: int
    first: Fraction
    last: Fraction


@dataclass
class AssemblyStats:
    video_packets: int = 0
    copied_packets: dict[int, int] = field(default_factory=dict)  # source stream index -> packets
    warnings: list[str] = field(default_factory=list)


def _seconds(packet: av.Packet[Stream]) -> Fraction:
    stamp = packet.dts if packet.dts is not None else packet.pts
    assert stamp is not None and packet.time_base is not None
    return stamp * packet.time_base


def _video_packets(
    segments: Sequence[SegmentFile], target: Stream, stats: AssemblyStats
) -> Iterator[tuple[Fraction, int, av.Packet[Stream]]]:
    """Every segment's video packets in order, each segment checked against the plan."""
    last_dts: Fraction | None = None
    for number, segment in enumerate(segments):
        with av.open(str(segment.path)) as container:
            stream = _video_stream(container, str(segment.path))
            tick = stream.time_base or Fraction(1, 90000)
            count, first, last = 0, None, None
            packet: av.Packet[Stream]
            for packet in _with_dts(container.demux(stream)):  # type: ignore[arg-type]
                when = (packet.pts or 0) * tick  # _with_dts passes only packets with a pts
                first = when if first is None else min(first, when)
                last = when if last is None else max(last, when)
                count += 1
                if packet.dts is not None:  # Matroska gives none with B-frames: its muxer derives them
                    dts = packet.dts * tick
                    if count == 1 and last_dts is not None and dts <= last_dts:
                        raise OutputError(f"segment {number}: its timestamps overlap the previous segment's")
                    last_dts = dts
                packet.stream = target
                stats.video_packets += 1
                yield _seconds(packet), 0, packet
            if (
                count != segment.frames
                or first is None
                or last is None
                or abs(first - segment.first) > tick
                or abs(last - segment.last) > tick
            ):
                raise OutputError(
                    f"segment {number} ({segment.path.name}) holds {count} frames from "
                    f"{float(first or 0):.3f} to {float(last or 0):.3f} s; "
                    f"the plan has {segment.frames} from "
                    f"{float(segment.first):.3f} to {float(segment.last):.3f} s"
                )


_MAX_DELAY = 32  # packets a segment may start with before its first decoding timestamp


def _with_dts(packets: Iterator[av.Packet[Stream]]) -> Iterator[av.Packet[Stream]]:
    """A segment's packets (empty ones left out), those its demuxer gave no dts given one.

    Matroska stores presentation times only, so the packets before the first B-frame delay come
    back without a dts; a muxer fed packets from several files needs increasing ones. They get the
    ticks just before the first known dts (1 tick apart), which no muxer stores where only pts is
    kept, and which stay after the previous segment's last dts.
    """
    held: list[av.Packet[Stream]] = []
    for packet in packets:
        if not packet.size or packet.pts is None:
            continue
        if packet.dts is None and len(held) < _MAX_DELAY:
            held.append(packet)
            continue
        if held:
            first = packet.dts if packet.dts is not None else packet.pts or 0
            for offset, early in enumerate(held):
                early.dts = min(first - len(held) + offset, early.pts or 0)
            yield from held
            held = []
        yield packet
    if held:
        yield from held  # a segment of very few frames: its muxer derives their dts


def _copied_packets(
    source: av.container.InputContainer, streams: dict[int, Stream], stats: AssemblyStats, container: str
) -> Iterator[tuple[Fraction, int, av.Packet[Stream]]]:
    sources = [s for s in source.streams if s.index in streams]
    if not sources:
        return
    last: dict[int, int] = {}
    for packet in source.demux(sources):
        stamp = packet.dts if packet.dts is not None else packet.pts
        if not packet.size or stamp is None:
            continue
        index = packet.stream.index
        if index in last and stamp < last[index]:
            continue  # muxers refuse it; the local restore drops it the same way (media.encode)
        if (
            container in ("mp4", "mov")
            and packet.stream.codec_context.name == "mov_text"
            and bytes(packet) == b"\x00\x00"
        ):
            continue  # an empty cue: the MP4 muxer writes its own between cues (as media.encode skips it)
        last[index] = stamp
        when = _seconds(packet)
        packet.stream = streams[index]
        stats.copied_packets[index] = stats.copied_packets.get(index, 0) + 1
        yield when, 1, packet


def assemble(source: Path, segments: Sequence[SegmentFile], output: Path, *, container: str) -> AssemblyStats:
    """Write ``output`` (format ``container``) from the segment files and ``source``'s other streams.

    Raises InputError when the source cannot be read, OutputError when a segment does not hold
    what the plan says or the output cannot be written. The caller renames ``output`` into place.
    """
    if not segments:
        raise OutputError("no segment to assemble")
    stats = AssemblyStats()
    try:
        src = av.open(str(source), metadata_errors="replace")
    except av.FFmpegError as exc:
        raise input_error(str(source), exc) from None
    try:
        try:
            out = av.open(
                str(output),
                mode="w",
                format=container,
                options={"movflags": "+faststart"} if container in ("mp4", "mov") else {},
            )
        except (av.FFmpegError, OSError) as exc:
            raise output_error(str(output), exc) from None
        try:
            _write(src, segments, out, container, stats)
        except BaseException:
            out.close()
            raise
        try:
            out.close()
        except av.FFmpegError as exc:
            raise output_error(str(output), exc) from None
    finally:
        src.close()
    return stats


def _write(
    src: av.container.InputContainer,
    segments: Sequence[SegmentFile],
    out: av.container.OutputContainer,
    container: str,
    stats: AssemblyStats,
) -> None:
    with av.open(str(segments[0].path)) as first:
        template = _video_stream(first, str(segments[0].path))
        video = out.add_stream_from_template(template)
        video.time_base = template.time_base
        video.metadata.update(template.metadata)
    supported = set(out.supported_codecs) | _EXTRA_SUPPORT.get(container, set())
    streams: dict[int, Stream] = {}
    for stream in src.streams:
        if stream.type not in _COPY_TYPES or (stream.codec_context is None and stream.type != "attachment"):
            continue
        codec = stream.codec_context.name if stream.codec_context is not None else ""
        if stream.type != "attachment" and codec not in supported:
            stats.warnings.append(
                f"{stream.type} stream #{stream.index} ({codec}) cannot be stored in "
                f"{container}; it is left out (write .mkv to keep it)"
            )
            continue
        try:
            target = out.add_stream_from_template(stream)
        except (av.FFmpegError, ValueError) as exc:
            stats.warnings.append(f"{stream.type} stream #{stream.index} is left out: {exc}")
            continue
        target.metadata.update(stream.metadata)
        target.disposition = stream.disposition
        if stream.time_base is not None:
            target.time_base = stream.time_base
        if stream.type != "attachment":
            streams[stream.index] = target
    out.metadata.update(src.metadata)
    chapters = src.chapters()
    if chapters:
        out.set_chapters(chapters)
    merged = heapq.merge(
        _video_packets(segments, video, stats),
        _copied_packets(src, streams, stats, container),
        key=lambda item: (item[0], item[1]),
    )
    try:
        for _, _, packet in merged:
            out.mux(packet)
    except (av.ArgumentError, av.InvalidDataError) as exc:
        raise InputError(f"the muxer refuses the input's timestamps or packets: {exc}") from None
    except av.FFmpegError as exc:
        raise output_error("assembled output", exc) from None
