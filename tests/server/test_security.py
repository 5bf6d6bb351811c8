"""TLS, mutual TLS (certificates generated here) and bearer tokens."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from stream_restore.errors import AuthError, StreamRestoreError
from stream_restore.server.config import TlsConfig, merge_config

x509 = pytest.importorskip("cryptography.x509", reason="TLS tests need the 'cryptography' package (dev "
                                                       "extra)")
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert(
    name: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    server: bool = False,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def pki() -> dict[str, bytes]:
    ca_key = _key()
    ca = _cert("test CA", ca_key, None, ca=True)
    server_key, client_key, rogue_key = _key(), _key(), _key()
    rogue_ca = _cert("rogue CA", rogue_key, None, ca=True)
    return {
        "ca": _pem(ca),
        "server_cert": _pem(_cert("localhost", server_key, (ca, ca_key), server=True)),
        "server_key": _pem_key(server_key),
        "client_cert": _pem(_cert("client", client_key, (ca, ca_key))),
        "client_key": _pem_key(client_key),
        "rogue_cert": _pem(_cert("rogue", client_key, (rogue_ca, rogue_key))),
    }


def test_tls(make_server, pki: dict[str, bytes]) -> None:
    tls = TlsConfig(pki["server_cert"], pki["server_key"])
    with make_server(tls=tls) as running:
        with running.client(tls_ca=pki["ca"]) as client:
            assert client.list_models()
        with running.client() as plaintext, pytest.raises(StreamRestoreError):
            plaintext.list_models(timeout=3)


def test_mutual_tls(make_server, pki: dict[str, bytes]) -> None:
    tls = TlsConfig(pki["server_cert"], pki["server_key"], client_ca=pki["ca"])
    with make_server(tls=tls) as running:
        with running.client(
            tls_ca=pki["ca"], client_cert=pki["client_cert"], client_key=pki["client_key"]
        ) as client:
            assert client.server_info().version
        with running.client(tls_ca=pki["ca"]) as anonymous, pytest.raises(StreamRestoreError):
            anonymous.list_models(timeout=3)
        with (
            running.client(
                tls_ca=pki["ca"], client_cert=pki["rogue_cert"], client_key=pki["client_key"]
            ) as rogue,
            pytest.raises(StreamRestoreError),
        ):
            rogue.list_models(timeout=3)


def test_tls_settings_from_files(tmp_path: Path, pki: dict[str, bytes]) -> None:
    for name in ("server_cert", "server_key", "ca"):
        (tmp_path / f"{name}.pem").write_bytes(pki[name])
    config = merge_config(
        {
            "tls_cert": str(tmp_path / "server_cert.pem"),
            "tls_key": str(tmp_path / "server_key.pem"),
            "tls_client_ca": str(tmp_path / "ca.pem"),
        }
    )
    assert config.tls is not None and config.tls.client_ca == pki["ca"]


def test_bearer_tokens(make_server, ts_clip: Path, tmp_path: Path) -> None:
    with make_server(tokens=frozenset({"s3cret", "other"})) as running:
        with running.client(token="s3cret") as client:
            assert client.list_models()
            result = client.restore(ts_clip, tmp_path / "ok.ts", model="identity", timeout=60)
            assert result.summary.frames_out == 12
        for token in (None, "wrong", "s3cret-but-longer"):
            with running.client(token=token) as client:
                with pytest.raises(AuthError, match="UNAUTHENTICATED"):
                    client.list_models()
                with pytest.raises(AuthError, match="bearer token"):
                    client.restore(ts_clip, tmp_path / "refused.ts", model="identity", timeout=30)
        assert not (tmp_path / "refused.ts").exists()
        with grpc.insecure_channel(running.address) as channel:  # health needs no token (load balancers)
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        metric = running.server.metrics.registry.get_sample_value(
            "stream_restore_errors_total", {"code": "UNAUTHENTICATED"}
        )
        assert metric == 6


def test_a_plaintext_client_to_a_tls_server_is_told_what_to_check(
    make_server, pki: dict[str, bytes]
) -> None:
    from stream_restore.errors import ConfigError

    with make_server(tls=TlsConfig(pki["server_cert"], pki["server_key"])) as running:
        with running.client() as plaintext, pytest.raises(ConfigError, match="may need TLS"):
            plaintext.list_models(timeout=5)


def test_the_container_health_check_speaks_plaintext_and_tls(
    make_server, pki: dict[str, bytes], tmp_path
) -> None:
    from stream_restore.server.healthcheck import check, main

    with make_server() as running:
        assert check(running.server.port) and main(["--port", str(running.server.port)]) == 0
    ca = tmp_path / "ca.pem"
    ca.write_bytes(pki["ca"])
    with make_server(tls=TlsConfig(pki["server_cert"], pki["server_key"])) as running:
        port = running.server.port
        assert not check(port, timeout=2)  # plaintext to a TLS server: unhealthy, as before the fix
        assert main(["--port", str(port), "--ca", str(ca)]) == 0
    assert main(["--port", str(port), "--ca", str(ca)]) == 1  # stopped


def test_the_web_page_speaks_mutual_tls_like_the_api(
    make_server, pki: dict[str, bytes], tmp_path: Path
) -> None:
    """``--web-port`` on a TLS server is HTTPS with the same certificate; with a client CA only a
    client holding a certificate it signed gets an answer (the API's rule; no token configured)."""
    import http.client
    import ssl

    for name in ("ca", "client_cert", "client_key", "rogue_cert"):
        (tmp_path / f"{name}.pem").write_bytes(pki[name])
    tls = TlsConfig(pki["server_cert"], pki["server_key"], client_ca=pki["ca"])

    def get(port: int, cert: str | None) -> int:
        context = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
        if cert is not None:
            context.load_cert_chain(tmp_path / f"{cert}.pem", tmp_path / "client_key.pem")
        connection = http.client.HTTPSConnection("localhost", port, context=context, timeout=10)
        try:
            connection.request("GET", "/api/info")
            return connection.getresponse().status
        finally:
            connection.close()

    with make_server(tls=tls, web_port=0) as running:
        port = running.server.web_port
        assert get(port, "client_cert") == 200
        for refused in (None, "rogue_cert"):
            with pytest.raises((ssl.SSLError, ConnectionError)):
                get(port, refused)
