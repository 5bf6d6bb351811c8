"""Render ``stream-restore bench --json`` output as a Markdown table (for docs/benchmarks.md).

Usage: ``python -m stream_restore.bench.report results.jsonl [more.jsonl ...]``
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable

__all__ = ["markdown_table"]


def _cell(value: object, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def markdown_table(rows: Iterable[dict[str, object]]) -> str:
    """One Markdown table of bench rows (peak, model, peer and end-to-end rows alike)."""
    lines = [
        "| kind | model | backend | size | ms/frame (median) | min-max ms | fps | GFLOP/frame | GFLOP/s | of "
        "run peak | of local peak | notes |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        extra = row.get("extra") or {}
        assert isinstance(extra, dict)
        note = str(row.get("note") or "")
        if row["kind"] == "e2e" and "infer_share" in extra:
            note = (
                f"decode {extra['decode_share']:.0%} / infer {extra['infer_share']:.0%} / "
                f"encode {extra['encode_share']:.0%}; " + note
            )
            if "of_model_only" in extra:
                note = (
                    f"{extra['of_model_only']:.0%} of the model alone ({extra['model_only_fps']:.2f} fps, "
                    "timed beside it); " + note
                )
        if row["kind"] == "peak":
            lines.append(
                f"| peak | fp32 matmul | torch.mm | {row['size']} | - | - | - | - | "
                f"{_cell(row.get('achieved_gflops'), '.1f')} | - | - | measured at the start of the run |"
            )
            continue
        spread = (
            f"{row['ms_min']:.0f}-{row['ms_max']:.0f}" if row.get("ms_min") is not None else "-"
        )
        lines.append(
            f"| {row['kind']} | {row['model']} | {row['backend']} | {row['size']} | "
            f"{_cell(row.get('ms_per_frame'), '.1f')} | {spread} | {_cell(row.get('fps'), '.2f')} | "
            f"{_cell(row.get('gflop_per_frame'), '.1f')} | {_cell(row.get('achieved_gflops'), '.1f')} | "
            f"{_cell(row.get('fraction_of_peak'), '.0%')} | "
            f"{_cell(extra.get('fraction_of_local_peak'), '.0%')} | "
            f"{note.replace('|', '/')} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    rows: list[dict[str, object]] = []
    for path in argv:
        with open(path) as fh:
            rows.extend(json.loads(line) for line in fh if line.strip().startswith("{"))
    sys.stdout.write(markdown_table(rows))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
