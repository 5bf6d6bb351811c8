"""``stream-restore models``: the registered models and what each costs."""

from __future__ import annotations

import argparse
import json

from ..models import list_specs

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON object per model")


def run(args: argparse.Namespace) -> int:
    rows = []
    for spec in list_specs():
        rows.append(
            {
                "name": spec.name,
                "task": spec.task.value,
                "scale": spec.scale,
                "frames": spec.frames_needed,
                "recurrent": spec.recurrent,
                "parameters": spec.parameter_count(),
                "gflop_per_mpixel": round(spec.gflop_per_megapixel(), 2),
                "description": spec.description,
            }
        )
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    header = (f"{'name':<16} {'task':<8} {'scale':>5} {'frames':>7} {'recur':>5} {'params':>9} "
              f"{'GFLOP/MP':>9}  description")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['name']:<16} {r['task']:<8} {'x' + str(r['scale']):>5} {r['frames']:>7} "
            f"{'yes' if r['recurrent'] else 'no':>5} {r['parameters']:>9,} {r['gflop_per_mpixel']:>9.2f}  "
            f"{r['description']}"
        )
    return 0
