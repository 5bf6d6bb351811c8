"""An optional dependency that is not installed is a one-line ConfigError naming the extra."""

from __future__ import annotations

import sys

import pytest
import torch

from stream_restore.backends import BackendOptions, create_backend
from stream_restore.backends.export import export_onnx
from stream_restore.cli import main
from stream_restore.errors import ConfigError
from stream_restore.models import get_spec


def test_the_onnxruntime_backend_without_onnxruntime_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # what an install without the extra looks like
    backend = create_backend(get_spec("sr-fast-x2"), "onnxruntime", BackendOptions())
    with pytest.raises(ConfigError, match=r"pip install 'stream-restore\[onnx\]'"):
        backend.load()


def test_export_without_onnx_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path, capsys) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ConfigError, match=r"ONNX export needs the onnx package"):
        export_onnx(get_spec("sr-fast-x2"), tmp_path / "m.onnx", module=torch.nn.Identity())
    assert main(["export", "--model", "sr-fast-x2", "--out", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "stream-restore[onnx]" in err
