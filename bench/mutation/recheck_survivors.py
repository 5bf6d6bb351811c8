"""Re-test a cosmic-ray session's survivors against today's tests (after tests were added for them).

    .venv/bin/cosmic-ray init bench/mutation/driver.toml /tmp/driver.sqlite
    .venv/bin/cosmic-ray exec bench/mutation/driver.toml /tmp/driver.sqlite
    .venv/bin/python bench/mutation/recheck_survivors.py /tmp/driver.sqlite "TEST COMMAND"

Each surviving mutation is applied to the working tree (``cosmic-ray apply``), the test command runs,
and the file is restored from git. Prints one line per survivor and a count. Run it in a checkout of
its own: the tree is changed while it runs.
"""

from __future__ import annotations

import json
import subprocess
import sys


def main() -> int:
    session, test_command = sys.argv[1], sys.argv[2]
    cosmic_ray = ".venv/bin/cosmic-ray"
    dump = subprocess.run([cosmic_ray, "dump", session], capture_output=True, text=True, check=True)
    killed = survived = 0
    for line in dump.stdout.splitlines():
        job, result = json.loads(line)
        if not result or result.get("test_outcome") != "survived":
            continue
        mutation = job["mutations"][0]
        path = mutation["module_path"]
        operator, occurrence = mutation["operator_name"], mutation["occurrence"]
        apply = [cosmic_ray, "apply", path, operator, str(occurrence)]
        subprocess.run(apply, check=True, capture_output=True)
        try:
            run = subprocess.run(test_command, shell=True, capture_output=True, text=True, timeout=300)
        finally:
            subprocess.run(["git", "checkout", "-q", path], check=True)
        outcome = "killed" if run.returncode != 0 else "survived"
        killed += outcome == "killed"
        survived += outcome == "survived"
        print(f"{outcome:8} {path}:{mutation['start_pos'][0]} {operator} #{occurrence}")
    print(f"re-tested {killed + survived}: killed {killed}, still surviving {survived}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
