"""A child process that runs ``stream-restore`` commands in-process, one per request line.

Started by :class:`tests.fuzz.cli_target.CliWorker`. Each request is a JSON line
``{"argv": [...], "out": PATH}``; the command runs through :func:`stream_restore.cli.main` with file
descriptors 1 and 2 pointed at ``PATH`` (so FFmpeg's own writes to stderr are caught too), and the
exit status comes back on the original stdout as ``{"rc": N}``. Importing torch and PyAV once makes
an input cost tens of milliseconds instead of seconds; the parent kills and restarts the worker
when an input hangs or crashes it, so one bad input never hides the next.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> int:
    requests = os.fdopen(os.dup(0), "r")
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    from stream_restore.cli import main as cli_main

    protocol.write(json.dumps({"ready": os.getpid()}) + "\n")
    for line in requests:
        request = json.loads(line)
        fd = os.open(request["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        try:
            rc = cli_main(request["argv"])
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else 1
        except BaseException as exc:  # escaped main(): that itself is a finding
            import traceback

            traceback.print_exc()
            rc = f"escaped {type(exc).__name__}"
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        protocol.write(json.dumps({"rc": rc}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
