"""``python -m tests.fuzz --count 10000 [--seed S] [--target cli|grpc|all] [--jobs N]``: the long fuzz run.

Prints a progress line per batch, then the outcomes by class (ok, exit 2, each gRPC status code,
timeouts), every invariant violation with a case to replay, and the server's RSS, thread and fd
counts over time. Exits 1 on any invariant violation, 0 otherwise. ``--replay I[,J...]`` runs the
named cases alone (``--save DIR`` writes their inputs); cases from 1000000 on are the pinned ones.
Run it from the repository root (``tests`` must be importable).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .cases import GRPC_TARGETS, TARGETS
from .runner import FuzzOptions, run_fuzz


def _targets(text: str) -> tuple[str, ...]:
    names: list[str] = []
    for part in text.split(","):
        if part == "all":
            names.extend(TARGETS)
        elif part == "grpc":
            names.extend(GRPC_TARGETS)
        elif part in TARGETS:
            names.append(part)
        else:
            raise argparse.ArgumentTypeError(f"unknown target {part!r} (cli, grpc, all, or {', '.join(TARGETS)})")
    return tuple(dict.fromkeys(names))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="random inputs (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="run seed: the same seed gives the same inputs")
    parser.add_argument("--start", type=int, default=0, help="first case number (to continue a run)")
    parser.add_argument("--target", type=_targets, default=TARGETS,
                        help="cli, grpc (restore,image,frames,wire), all, or a comma list (default all)")
    parser.add_argument("--jobs", type=int, default=1, help="inputs run at once (CLI workers, concurrent calls)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per input before it is a hang")
    parser.add_argument("--batch", type=int, default=50, help="inputs between two server checks (default 50)")
    parser.add_argument("--rss-limit-mb", type=int, default=2560,
                        help="server RSS bound (default 2560 MiB: the documented worst case of the defaults + 15%%)")
    parser.add_argument("--no-pinned", action="store_true", help="skip the pinned cases (one per known defect)")
    parser.add_argument("--cli-subprocess", action="store_true",
                        help="run each CLI input as its own 'python -m stream_restore restore' (slow, ~3 s each)")
    parser.add_argument("--replay", help="only these case numbers, comma-separated")
    parser.add_argument("--reduce", action="store_true",
                        help="after the run, drop the mutations the first failing case of each class does not need")
    parser.add_argument("--save", type=Path, help="write the inputs of failing and replayed cases here")
    parser.add_argument("--workdir", type=Path, help="keep seeds, the server folder and scratch files here")
    args = parser.parse_args(argv)
    replay = tuple(int(x) for x in args.replay.split(",")) if args.replay else ()
    options = FuzzOptions(seed=args.seed, count=args.count, start=args.start, targets=args.target, jobs=args.jobs,
                          timeout=args.timeout, batch=args.batch, rss_limit_mb=args.rss_limit_mb, replay=replay,
                          pinned=not args.no_pinned, cli_subprocess=args.cli_subprocess, reduce=args.reduce,
                          workdir=args.workdir,
                          save=args.save,
                          progress=lambda line: print(line, flush=True))
    report = run_fuzz(options)
    print(report.format(), flush=True)
    return 1 if report.violations() else 0


if __name__ == "__main__":
    sys.exit(main())
