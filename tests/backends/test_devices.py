"""One device check for every command: cpu, cuda, cuda:N or auto; CUDA refused where absent."""

from __future__ import annotations

import pytest
import torch

from stream_restore.backends import check_device
from stream_restore.errors import ConfigError


def test_cpu_and_auto() -> None:
    assert check_device("cpu") == "cpu"
    assert check_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("name", ["gpu", "mps", "cuda:x", "", "meta"])
def test_other_names_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="must be cpu, cuda, cuda:N or auto"):
        check_device(name, "--device")


@pytest.mark.skipif(torch.cuda.is_available(), reason="tests the message shown where CUDA is missing")
@pytest.mark.parametrize("name", ["cuda", "cuda:1"])
def test_cuda_without_cuda(name: str) -> None:
    with pytest.raises(ConfigError, match="CUDA is not available"):
        check_device(name)
