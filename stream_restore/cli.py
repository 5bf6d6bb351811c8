"""The ``stream-restore`` command: argument parsing, and the one place errors become exit codes.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and ``run(args) -> int``;
modules are imported only when their subcommand runs, so ``stream-restore models`` never pays for
gRPC or ONNX imports. Exit status: 0 success, 2 bad input or usage, 1 internal error, 130 interrupt.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import StreamRestoreError, exit_code
from .paths import MODELS_DIR_ENV, models_dir

__all__ = ["main"]

# (name, module, one-line help). Modules are imported lazily.
_SUBCOMMANDS: list[tuple[str, str, str]] = [
    ("restore", "stream_restore.commands.restore", "restore a video, an image or a folder of images"),
    ("models", "stream_restore.commands.models", "list the registered models"),
    ("train", "stream_restore.training.command", "train (or resume, or export) one model recipe"),
    ("export", "stream_restore.commands.export", "export a model to ONNX (dynamic batch and size)"),
    ("build-engines", "stream_restore.commands.build_engines", "build TensorRT engines ahead of time"),
    ("bench", "stream_restore.bench.command", "measure models, backends and the restore pipeline"),
    ("eval", "stream_restore.evaluation.command", "score models on SR, deblurring and video benchmarks"),
    ("jobs", "stream_restore.commands.jobs", "stored, resumable archive jobs: submit, watch, resume, work"),
    ("serve", "stream_restore.commands.serve", "run the gRPC restoration service"),
    ("live", "stream_restore.commands.live", "restore a live feed in real time and publish it (RTSP, RTMP, "
     "UDP, HLS, recordings)"),
    ("client", "stream_restore.commands.client", "restore a file, URL or camera through a running server"),
    ("demo", "stream_restore.commands.demo", "restore a generated sample clip through an in-process server"),
]

log = logging.getLogger("stream_restore")

# Commands that never touch the model registry: they do not pay for loading it (torch).
_NO_MODELS = {"client", "train"}
# ``models`` lists from the torch-free catalog and registers what it adds itself.
_OWN_REGISTRY = _NO_MODELS | {"models"}


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def _build_parser(selected: str | None) -> argparse.ArgumentParser:
    parser = _Parser(prog="stream-restore", description="Video and image restoration.")
    parser.add_argument("--version", action="version", version=f"stream-restore {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=None,
        help=f"folder of added models (default: ${MODELS_DIR_ENV}, else the user data folder's models/)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, module_name, help_text in _SUBCOMMANDS:
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                             help="more log output (-vv: debug)")
        if name not in _NO_MODELS:  # also after the subcommand, where users look for it
            command.add_argument("--models-dir", type=Path, default=argparse.SUPPRESS,
                                 help="folder of added models (see stream-restore --help)")
        if name == selected:  # only the chosen subcommand's module is imported
            module = importlib.import_module(module_name)
            module.add_arguments(command)
            command.set_defaults(_run=module.run)
    return parser


def _selected_command(argv: Sequence[str]) -> str | None:
    names = {name for name, _, _ in _SUBCOMMANDS}
    return next((arg for arg in argv if arg in names), None)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = _build_parser(_selected_command(argv))
        args = parser.parse_args(argv)
        # --quiet promises one line on failure: warnings (and FFmpeg's lines, INFO) only with -v.
        quiet = getattr(args, "quiet", False)
        logging.basicConfig(
            level=logging.DEBUG if args.verbose > 1 else logging.INFO if args.verbose
            else logging.ERROR if quiet else logging.WARNING,
            format="stream-restore: %(levelname)s: %(message)s",
        )
        # SVT-AV1 prints its banner and warnings straight to stderr (not through FFmpeg's log): errors
        # only unless -v. The one environment setting made here, at the edge.
        os.environ.setdefault("SVT_LOG", "3" if args.verbose else "1")
        # gRPC's C core logs bind and TLS failures itself; we report them as one line (-v shows its log).
        grpc_log = "DEBUG" if args.verbose > 1 else "ERROR" if args.verbose else "NONE"
        os.environ.setdefault("GRPC_VERBOSITY", grpc_log)
        args.models_dir = args.models_dir or models_dir(os.environ)
        if args.command not in _OWN_REGISTRY:
            from .models.directory import load_directory

            load_directory(args.models_dir)
        return int(args._run(args))
    except StreamRestoreError as exc:
        sys.stderr.write(f"stream-restore: error: {exc}\n")
        return exit_code(exc)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM while restoring (commands.restore.Terminated)
        status = int(getattr(exc, "exit_status", 130))
        sys.stderr.write(f"stream-restore: {'terminated' if status == 143 else 'interrupted'}\n")
        return status
    except BrokenPipeError:
        return 1
    except Exception as exc:  # a bug: one line for the user, the traceback only with -vv
        log.debug("internal error", exc_info=True)
        sys.stderr.write(f"stream-restore: internal error: {type(exc).__name__}: {exc}\n")
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
