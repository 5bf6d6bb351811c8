"""The Dockerfile's promises, checked where no GPU image can be built: pins, extras, health, paths."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = (REPO / "Dockerfile").read_text()


def test_torch_is_pinned_to_the_tested_version_and_onnxruntime_is_the_gpu_build() -> None:
    ci = (REPO / ".ci" / "run").read_text()
    tested = re.search(r'"torch==([0-9.]+)"', ci)
    assert tested is not None
    assert f'"torch=={tested.group(1)}"' in DOCKERFILE
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert '".[gpu]"' in DOCKERFILE and any("onnxruntime-gpu" in dep for dep in extras["gpu"])


def test_the_health_check_is_the_module_that_speaks_tls_and_every_copied_file_exists() -> None:
    assert "python3 -m stream_restore.server.healthcheck" in DOCKERFILE
    assert (REPO / "stream_restore" / "server" / "healthcheck.py").is_file()
    for line in DOCKERFILE.splitlines():
        if line.startswith("COPY "):
            for name in line.split()[1:-1]:
                assert (REPO / name).exists(), f"Dockerfile copies {name}, which is not in the repository"


def test_the_folders_the_entrypoint_writes_are_created_for_the_images_user() -> None:
    entry = DOCKERFILE[DOCKERFILE.index("ENTRYPOINT"):]
    for folder in re.findall(r'"--(?:engine-cache-dir|models-dir)", "([^"]+)"', entry):
        assert "mkdir -p" in DOCKERFILE and folder in DOCKERFILE.split("USER restore")[0]
