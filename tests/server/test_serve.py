"""The ``serve`` command: config files, metrics endpoint, graceful shutdown on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import grpc
import pytest

from stream_restore.client import RestoreClient
from stream_restore.errors import ConfigError, StreamRestoreError
from stream_restore.server.config import load_config_file, merge_config
from stream_restore.v1 import restore_pb2 as pb

from ..conftest import ClipSpec, make_clip


def test_config_files(tmp_path: Path) -> None:
    (tmp_path / "tokens.txt").write_text("# tokens\nalpha\n\nbeta\n")
    toml = tmp_path / "server.toml"
    toml.write_text('port = 0\nmax_streams = 2\npreload = ["identity"]\nmax_width = 640\nmax_height = 480\n'
                    'max_duration = 60.0\ntoken_file = "tokens.txt"\n')
    config = merge_config(load_config_file(toml))
    assert config.max_streams == 2 and config.preload == ("identity",)
    assert (config.limits.max_width, config.limits.max_pixels, config.limits.max_duration) == (
        640,
        640 * 480,
        60.0,
    )
    assert config.tokens == {"alpha", "beta"}
    js = tmp_path / "server.json"
    js.write_text('{"port": 0, "idle_timeout": 5}')
    assert merge_config(load_config_file(js)).idle_timeout == 5
    js.write_text('{"prot": 0}')
    with pytest.raises(ConfigError, match="unknown server settings: prot"):
        merge_config(load_config_file(js))
    with pytest.raises(ConfigError, match="max_streams"):
        merge_config({"max_streams": 0})


def test_metrics_endpoint(make_server, ts_clip: Path, tmp_path: Path) -> None:
    with make_server(metrics_port=0) as running, running.client() as client:
        client.restore(ts_clip, tmp_path / "out.ts", model="identity", timeout=60)
        with pytest.raises(Exception, match="NOT_FOUND"):
            client.restore(ts_clip, tmp_path / "bad.ts", model="nope", timeout=60)
        page = (
            urllib.request.urlopen(f"http://127.0.0.1:{running.server.metrics_port}/metrics", timeout=10)
            .read()
            .decode()
        )
    assert "stream_restore_active_streams 0.0" in page
    assert "stream_restore_frames_out_total 12.0" in page
    assert 'stream_restore_errors_total{code="NOT_FOUND"} 1.0' in page
    assert 'stream_restore_stage_seconds_count{stage="infer"} 1.0' in page


def _held(data: bytes, release: threading.Event) -> object:
    yield data[: len(data) // 2]
    release.wait(30)
    yield data[len(data) // 2 :]


def _serve(config: Path, preload: str) -> tuple[subprocess.Popen[str], str]:
    """``stream-restore serve`` in a child process; returns it and the address it listens on."""
    process = subprocess.Popen(
        [sys.executable, "-m", "stream_restore", "serve", "--config", str(config), "--preload", preload],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    line = process.stdout.readline()  # type: ignore[union-attr]
    assert line.startswith("listening on 127.0.0.1:"), line + process.stderr.read()  # type: ignore[union-attr]
    return process, line.split()[2]


@pytest.mark.slow
def test_serve_command_stops_gracefully_on_sigterm(ts_clip: Path, tmp_path: Path) -> None:
    config = tmp_path / "server.toml"
    config.write_text('host = "127.0.0.1"\nport = 0\nbackend = "torch"\ngrace_period = 20.0\n')
    process, address = _serve(config, "identity")
    try:
        release = threading.Event()
        with RestoreClient(address) as client:
            request = pb.RestoreConfig(model=pb.ModelOptions(model="identity"))
            call = client.stream(request, _held(ts_clip.read_bytes(), release), timeout=60)
            while client.server_info().active_streams < 1:
                time.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            with pytest.raises(StreamRestoreError):  # no new calls once stopping
                client.list_models(timeout=2)
            release.set()  # the running stream is allowed to finish
            kinds = [r.WhichOneof("kind") for r in call]
            assert kinds[0] == "header" and kinds[-1] == "summary"
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()




@pytest.mark.slow
def test_sigterm_ends_busy_streams_that_outlive_the_grace_period_with_unavailable_and_exit_0(
    tmp_path: Path,
) -> None:
    """A stream still restoring after the grace period is told why it ends; no native thread outlives
    the interpreter (before: SIGABRT, 'terminate called without an active exception', 2 runs in 3)."""
    clip = make_clip(tmp_path / "in.ts", ClipSpec(frames=400, width=320, height=240, audio=("aac",)))
    config = tmp_path / "server.toml"
    config.write_text('host = "127.0.0.1"\nport = 0\nbackend = "torch"\ngrace_period = 1.0\n')
    process, address = _serve(config, "sr-compact-x2")
    try:
        data = clip.read_bytes()
        with RestoreClient(address) as client:
            chunks = (data[i : i + 65536] for i in range(0, len(data), 65536))
            call = iter(client.stream(pb.RestoreConfig(model=pb.ModelOptions(model="sr-compact-x2")), chunks,
                                      timeout=120))
            for _ in range(3):  # header and the first output: the model is busy now
                next(call)
            process.send_signal(signal.SIGTERM)
            with pytest.raises(grpc.RpcError) as info:
                for _ in call:
                    pass
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "shutting down" in info.value.details()
        assert process.wait(60) == 0, process.stderr.read()  # type: ignore[union-attr]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_refuses_an_open_address_without_authentication(tmp_path: Path) -> None:
    import argparse

    from stream_restore.commands.serve import add_arguments, build_config

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(ConfigError, match="without authentication"):
        build_config(parser.parse_args(["--host", "0.0.0.0"]))
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("secret\n")
    assert build_config(parser.parse_args(["--host", "0.0.0.0", "--token-file", str(tokens)])).tokens == {
        "secret"
    }
    assert build_config(parser.parse_args(["--host", "0.0.0.0", "--allow-insecure"])).host == "0.0.0.0"
    assert build_config(parser.parse_args(["--host", "::1"])).metrics_host == "127.0.0.1"
    config = build_config(
        parser.parse_args(["--allow-backend", "onnxruntime", "--engine-cache-dir", str(tmp_path)])
    )
    assert config.allowed_backends == ("onnxruntime",) and config.engine_cache_dir == str(tmp_path)


def test_a_port_in_use_and_a_bad_certificate_are_one_line_exit_2(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = subprocess.run([sys.executable, "-m", "stream_restore", "serve", "--port", str(port)],
                              capture_output=True, text=True, timeout=120)
    assert busy.returncode == 2
    expected = f"stream-restore: error: cannot listen on 127.0.0.1:{port} (in use, or not a local address)\n"
    assert busy.stderr == expected
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    tls = subprocess.run(
        [
            sys.executable,
            "-m",
            "stream_restore",
            "serve",
            "--port",
            "0",
            "--tls-cert",
            str(bad),
            "--tls-key",
            str(bad),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert tls.returncode == 2 and tls.stderr.count("\n") == 1
    assert "TLS certificate and key do not load as a matching PEM pair" in tls.stderr
