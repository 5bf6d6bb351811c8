"""``python -m stream_restore.server.healthcheck``: exit 0 when the local server reports SERVING.

For container health checks (the Dockerfile's HEALTHCHECK). It asks the standard gRPC health
service on ``127.0.0.1:PORT`` over plaintext, or over TLS when a CA file is given (the server's
own certificate or its CA; the name checked is ``localhost`` unless ``--server-name`` says
otherwise). With mutual TLS, pass a client certificate and key too. Environment variables let an
image configure it once: ``STREAM_RESTORE_HEALTH_PORT``, ``STREAM_RESTORE_HEALTH_CA``,
``STREAM_RESTORE_HEALTH_CERT``, ``STREAM_RESTORE_HEALTH_KEY``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["check", "main"]


def check(port: int, *, ca: bytes | None = None, cert: bytes | None = None, key: bytes | None = None,
          server_name: str = "localhost", timeout: float = 4.0) -> bool:
    """Whether the server on the loopback port answers SERVING."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    target = f"127.0.0.1:{port}"
    if ca is not None:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=ca, private_key=key, certificate_chain=cert
        )
        channel = grpc.secure_channel(
            target, credentials, options=[("grpc.ssl_target_name_override", server_name)]
        )
    else:
        channel = grpc.insecure_channel(target)
    with channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=timeout
            )
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def _read(path: str | None) -> bytes | None:
    return Path(path).read_bytes() if path else None


def main(argv: list[str] | None = None) -> int:
    env = os.environ
    parser = argparse.ArgumentParser(prog="python -m stream_restore.server.healthcheck", description=__doc__)
    parser.add_argument("--port", type=int, default=int(env.get("STREAM_RESTORE_HEALTH_PORT", "50051")))
    parser.add_argument("--ca", default=env.get("STREAM_RESTORE_HEALTH_CA"), help="PEM CA: use TLS")
    parser.add_argument("--cert", default=env.get("STREAM_RESTORE_HEALTH_CERT"), help="client certificate")
    parser.add_argument("--key", default=env.get("STREAM_RESTORE_HEALTH_KEY"), help="client key")
    parser.add_argument("--server-name", default="localhost")
    args = parser.parse_args(argv)
    try:
        healthy = check(
            args.port,
            ca=_read(args.ca),
            cert=_read(args.cert),
            key=_read(args.key),
            server_name=args.server_name,
        )
    except OSError as exc:
        sys.stderr.write(f"healthcheck: {exc}\n")
        return 1
    return 0 if healthy else 1


if __name__ == "__main__":
    raise SystemExit(main())
