"""What a client user sees first when the connection is wrong: one line that says what to check."""

from __future__ import annotations

import socket

import pytest

from stream_restore.cli import main
from stream_restore.client import DEFAULT_PORT, RestoreClient, server_address
from stream_restore.errors import ConfigError


@pytest.mark.parametrize(("given", "used"), [
    ("localhost", f"localhost:{DEFAULT_PORT}"),
    ("10.0.0.5:7000", "10.0.0.5:7000"),
    ("::1", f"[::1]:{DEFAULT_PORT}"),
    ("[::1]:7000", "[::1]:7000"),
    ("unix:/run/sr.sock", "unix:/run/sr.sock"),
])
def test_a_server_without_a_port_gets_the_default_one(given: str, used: str) -> None:
    assert server_address(given) == used


@pytest.mark.parametrize("bad", ["", "http://host:1", "host:port"])
def test_server_addresses_that_are_not_host_port_are_config_errors(bad: str) -> None:
    with pytest.raises(ConfigError):
        server_address(bad)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_nothing_listening_is_one_line_exit_2(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    port = _free_port()
    (tmp_path / "in.ts").write_bytes(b"\x47" * 188)
    code = main(["client", str(tmp_path / "in.ts"), str(tmp_path / "out.ts"), "--server", f"127.0.0.1:{port}",
                 "--timeout", "5", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert f"nothing is listening at 127.0.0.1:{port}" in err
    assert not (tmp_path / "out.ts").exists()


def test_a_certificate_without_its_key_or_not_pem_is_refused_before_connecting(tmp_path) -> None:
    with pytest.raises(ConfigError, match="go together"):
        RestoreClient("127.0.0.1:1", client_cert=b"-----BEGIN CERTIFICATE-----\n")
    with pytest.raises(ConfigError, match="go together"):
        RestoreClient("127.0.0.1:1", client_key=b"-----BEGIN PRIVATE KEY-----\n")
    with pytest.raises(ConfigError, match="not PEM"):
        RestoreClient("127.0.0.1:1", tls_ca=b"garbage")
