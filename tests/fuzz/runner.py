"""Run fuzz cases through the CLI and the server in batches, check the server between batches, report.

:func:`run_fuzz` is what both the test suite's short run and ``python -m tests.fuzz`` call.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from .cases import GRPC_TARGETS, TARGETS, Case, make_case, pinned_cases
from .cli_target import CliWorker, run_cli_case
from .grpc_target import run_grpc_case
from .mutate import apply
from .outcome import Outcome, Violation
from .seeds import Seed, build_seeds, corpus_digest, server_canaries, text_seeds
from .server import CanaryListener, Server

__all__ = ["FuzzOptions", "Report", "run_fuzz"]


@dataclass(frozen=True)
class FuzzOptions:
    seed: int = 1
    count: int = 300
    start: int = 0  # first case index
    targets: tuple[str, ...] = TARGETS
    jobs: int = 1
    timeout: float = 30.0  # seconds per input (CLI exit, gRPC deadline)
    batch: int = 25  # inputs between two server checks
    budget: float | None = None  # seconds: start no batch after this (the short run's safety net)
    rss_limit_mb: int = 2560  # server RSS bound: docs/service.md's worst case of the defaults (2.2 GiB) + 15 %
    replay: tuple[int, ...] = ()  # run only these case indices
    pinned: bool = True  # run the pinned cases (one per known defect class) first
    cli_subprocess: bool = False  # each CLI input in its own process (slow) instead of a worker
    reduce: bool = False  # after the run, drop what a failing case does not need (first case per class)
    workdir: Path | None = None  # seeds, server folder, scratch (a temporary folder if None)
    save: Path | None = None  # write the inputs of failing (and replayed) cases here
    progress: Callable[[str], None] | None = None


@dataclass
class Report:
    options: FuzzOptions
    digest: str = ""
    outcomes: list[Outcome] = field(default_factory=list)
    checks: list[Outcome] = field(default_factory=list)
    cases: dict[int, Case] = field(default_factory=dict)
    seconds: float = 0.0
    planned: int = 0
    server_samples: list[tuple[float, int, int, int]] = field(default_factory=list)
    cli_samples: list[tuple[float, int]] = field(default_factory=list)
    server_starts: int = 0
    server_peak: int = 0  # sampled every 0.2 s, between the samples shown
    cli_restarts: int = 0
    reduced: dict[int, Case] = field(default_factory=dict)  # failing case -> its reduced form

    def violations(self) -> list[tuple[Outcome, Violation]]:
        return [(o, v) for o in (*self.outcomes, *self.checks) for v in o.violations]

    def classes(self) -> Counter[str]:
        return Counter(f"{o.target:8s} {o.result}" for o in self.outcomes)

    def reproduce(self, index: int) -> str:
        return f"python -m tests.fuzz --seed {self.options.seed} --replay {index} --save fuzz-repro"

    def format(self) -> str:
        o = self.options
        done = len(self.outcomes)
        lines = [f"fuzz: seed {o.seed}, {done} of {self.planned} inputs, targets {','.join(o.targets)}, "
                 f"jobs {o.jobs}, timeout {o.timeout:g} s, corpus {self.digest}, {self.seconds:.1f} s "
                 f"(server started {self.server_starts}x, CLI worker restarted {self.cli_restarts}x)"]
        lines.append("outcomes by class:")
        for name, count in sorted(self.classes().items()):
            lines.append(f"  {name:40s} {count:6d}")
        violations = self.violations()
        kinds = Counter(v.kind for _, v in violations)
        timeouts = sum(1 for x in self.outcomes if x.result == "timeout")
        tracebacks = kinds.get("traceback", 0) + kinds.get("server traceback", 0)
        lines.append(f"timeouts {timeouts}, tracebacks {tracebacks}, invariant violations {len(violations)}")
        by_kind: dict[str, list[tuple[Outcome, Violation]]] = {}
        for outcome, violation in violations:
            by_kind.setdefault(f"{outcome.target} {violation.kind}", []).append((outcome, violation))
        for name, items in sorted(by_kind.items()):
            first_outcome, first = items[0]
            indices = [x.index for x, _ in items if x.index >= 0][:8]
            lines.append(f"  {name}: {len(items)} (cases {indices})")
            lines.append(f"      {first.detail[:300]}")
            if first_outcome.index >= 0:
                lines.append(f"      case: {self.cases[first_outcome.index].describe()[:300]}")
                if first_outcome.index in self.reduced:
                    lines.append(f"      reduced: {self.reduced[first_outcome.index].describe()[:300]}")
                lines.append(f"      reproduce: {self.reproduce(first_outcome.index)}")
        slowest = sorted(self.outcomes, key=lambda x: -x.seconds)[:5]
        lines.append("slowest inputs: " + ", ".join(f"#{x.index} {x.target} {x.result} {x.seconds:.1f} s"
                                                    for x in slowest))
        lines.append(self.format_memory())
        return "\n".join(lines)

    def format_memory(self) -> str:
        parts = []
        if self.server_samples:
            step = max(1, len(self.server_samples) // 12)
            shown = self.server_samples[::step]
            if shown[-1] is not self.server_samples[-1]:
                shown.append(self.server_samples[-1])
            peak = max(self.server_peak, *(s[1] for s in self.server_samples))
            parts.append(f"server RSS over time (peak {peak >> 20} MiB; t: RSS MiB / threads / fds):")
            highest = sorted((c for c in self.checks if "peak RSS" in c.message),
                             key=lambda c: -int(c.message.split()[2]))[:3]
            if highest:
                parts.append("  highest batch peaks: " + "; ".join(c.message for c in highest))
            parts.append("  " + "  ".join(f"{t:.0f}s:{rss >> 20}/{thr}/{fds}" for t, rss, thr, fds in shown))
            calls = sum(1 for x in self.outcomes if x.target != "cli")
            if len(self.server_samples) > 2 and calls >= 200:
                grown = self.server_samples[-1][1] - self.server_samples[1][1]  # after the first batch
                parts.append(f"  server RSS after the first batch to the end (5 s idle): {grown / 2**20:+.0f} MiB over "
                             f"{calls} calls ({grown / 2**20 / calls * 1000:+.0f} MiB per 1,000)")
        if self.cli_samples:
            step = max(1, len(self.cli_samples) // 12)
            parts.append("CLI worker RSS over time (t: MiB): "
                         + "  ".join(f"{t:.0f}s:{rss >> 20}" for t, rss in self.cli_samples[::step]))
        return "\n".join(parts)


@contextlib.contextmanager
def _quiet_fd2(path: Path) -> Iterator[None]:
    """Send what encoders print on fd 2 (x265, SVT-AV1 banners) to a file while seeds are written."""
    saved = os.dup(2)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    os.close(fd)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def run_fuzz(options: FuzzOptions) -> Report:
    """Run the cases of ``options`` and return what happened (the caller decides what fails)."""
    say = options.progress or (lambda line: None)
    owned = options.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="stream-restore-fuzz-")) if options.workdir is None else options.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    report = Report(options)
    t0 = time.monotonic()
    with _quiet_fd2(workdir / "seed-encoders.log"):
        seeds = build_seeds(workdir / "seeds")
    server_dir = workdir / "server"
    server_dir.mkdir(exist_ok=True)
    server_canaries(server_dir, seeds)
    listener = CanaryListener()
    corpus = seeds + text_seeds(server_dir, listener.url)
    report.digest = corpus_digest(seeds)
    by_name = {s.name: s for s in corpus}
    indices = list(options.replay) or list(range(options.start, options.start + options.count))
    cases = [make_case(options.seed, i, options.targets, corpus) for i in indices]
    if options.pinned and not options.replay:
        cases = [c for c in pinned_cases() if c.target in options.targets] + cases
    report.cases = {c.index: c for c in cases}
    report.planned = len(cases)
    grpc_used = any(c.target in GRPC_TARGETS or c.options.get("command") == "client" for c in cases)
    scratch = workdir / "scratch"
    scratch.mkdir(exist_ok=True)
    workers: queue.Queue[CliWorker] = queue.Queue()
    all_workers = [CliWorker(workdir / f"cli-worker-{i}", fresh=options.cli_subprocess) for i in range(options.jobs)]
    for worker in all_workers:
        workers.put(worker)
    server = Server(server_dir, rss_limit=options.rss_limit_mb << 20, max_streams=max(4, options.jobs))
    say(f"fuzz: {len(cases)} inputs, seed {options.seed}, corpus {report.digest} ({len(corpus)} seeds), "
        f"work folder {workdir}")

    def run_one(case: Case) -> Outcome:
        try:
            if case.target == "cli":
                worker = workers.get()
                try:
                    return run_cli_case(case, by_name, corpus, worker, scratch, options.timeout, server.address)
                finally:
                    workers.put(worker)
            return run_grpc_case(case, by_name, corpus, server, options.timeout)
        except Exception as exc:  # the harness's own fault: reported, never hidden
            outcome = Outcome(case.index, case.target, "harness error")
            outcome.violate("harness error", f"{type(exc).__name__}: {exc}")
            return outcome

    try:
        if grpc_used:
            starting = threading.Thread(target=server.start, daemon=True)
            starting.start()
            if any(c.target == "cli" for c in cases) and not options.cli_subprocess:  # warm up while it starts
                _warm(all_workers[0], by_name["ts-h264-aac"], workdir)
            starting.join(180)
            if not server.alive():
                raise RuntimeError("the server did not start: " + "".join(server.stderr_lines[-20:]))
            report.checks.append(server.check(listener, seeds, options.timeout))
        with ThreadPoolExecutor(max_workers=options.jobs, thread_name_prefix="fuzz") as pool:
            for at in range(0, len(cases), options.batch):
                if options.budget is not None and time.monotonic() - t0 > options.budget:
                    say(f"fuzz: time budget of {options.budget:g} s spent; stopping after {len(report.outcomes)} inputs")
                    break
                batch = cases[at : at + options.batch]
                report.outcomes.extend(pool.map(run_one, batch))
                if grpc_used:
                    check = server.check(listener, seeds, options.timeout)
                    check.message += f" in inputs {batch[0].index}..{batch[-1].index}"
                    report.checks.append(check)
                elapsed = time.monotonic() - t0
                report.cli_samples.append((elapsed, sum(w.memory() for w in all_workers)))
                bad = len(report.violations())
                rss = f", server RSS {server.samples[-1][1] >> 20} MiB" if server.samples else ""
                say(f"[{len(report.outcomes):6d}/{len(cases)}] {elapsed:7.1f} s, violations {bad}{rss}")
        if grpc_used:  # RSS after five idle seconds
            time.sleep(5)
            server.sample()
        if options.reduce:
            report.reduced = _reduce_all(report, run_one, say)
    finally:
        report.seconds = time.monotonic() - t0
        report.server_samples = list(server.samples)
        report.server_starts = server.starts
        report.server_peak = server.peak_rss
        report.cli_restarts = sum(w.restarts for w in all_workers)
        for worker in all_workers:
            worker.close()
        server.stop()
        listener.close()
        if options.save is not None:
            _save(report, by_name, corpus, options.save)
        if owned:
            shutil.rmtree(workdir, ignore_errors=True)
    return report


def _reduce_all(report: Report, run_one: Callable[[Case], Outcome], say: Callable[[str], None]) -> dict[int, Case]:
    """For the first case of each violation class: drop mutations one at a time while the class stays."""
    firsts: dict[str, Outcome] = {}
    for outcome, violation in report.violations():
        if outcome.index >= 0 and outcome.index in report.cases:
            firsts.setdefault(f"{outcome.target} {violation.kind}", outcome)
    reduced: dict[int, Case] = {}
    for name, outcome in firsts.items():
        case = report.cases[outcome.index]
        kind = name.split(" ", 1)[1]
        mutations = list(case.mutations)
        at = 0
        while at < len(mutations) and len(mutations) > 0:
            trial = replace(case, mutations=mutations[:at] + mutations[at + 1 :],
                            options={**case.options, "scratch": "reduce"})  # keep the failing case's files
            if any(v.kind == kind for v in run_one(trial).violations):
                mutations = list(trial.mutations)
            else:
                at += 1
        if len(mutations) < len(case.mutations):
            reduced[case.index] = replace(case, mutations=mutations)
            say(f"reduced #{case.index} ({name}): {len(case.mutations)} -> {len(mutations)} mutations")
    return reduced


def _warm(worker: CliWorker, seed: Seed, workdir: Path) -> None:
    """One valid restore, so the first case does not pay for lazy imports and first-use set-up."""
    source = workdir / f"warm{seed.suffix}"
    source.write_bytes(seed.data)
    output = workdir / "warm-out" / "out.mkv"
    output.parent.mkdir(exist_ok=True)
    worker.run(["restore", str(source), str(output), "--quiet", "-m", "identity", "--backend", "torch",
                "--threads", "1"], workdir / "warm.txt", 180.0)


def _save(report: Report, seeds: dict[str, Seed], corpus: list[Seed], folder: Path) -> None:
    """The input bytes and a description of every failing (or replayed) case."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {o.index for o, _ in report.violations() if o.index >= 0} | set(report.options.replay)
    for index in sorted(wanted):
        case = report.cases.get(index)
        if case is None:
            continue
        outcome = next((o for o in report.outcomes if o.index == index), None)
        notes: list[str] = []
        if case.seed:
            try:
                data, notes = apply(seeds[case.seed], case.mutations, corpus)
            except Exception as exc:  # a harness error while mutating: say so, keep saving the others
                notes = [f"cannot rebuild the input: {type(exc).__name__}: {exc}"]
            else:
                (folder / f"case-{index}{seeds[case.seed].suffix}").write_bytes(data)
        (folder / f"case-{index}.json").write_text(json.dumps({
            "case": case.describe(), "mutations": notes, "options": case.options,
            "result": outcome.result if outcome else None, "message": outcome.message if outcome else None,
            "violations": [v.__dict__ for v in outcome.violations] if outcome else [],
        }, indent=2, default=str))
