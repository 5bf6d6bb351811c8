"""The gRPC service: servicer, message conversion, interceptors and the server application.

This is the only package that uses protobuf; it adapts requests to the pipeline core and maps the
core's errors to status codes (:mod:`.status`).
"""

from __future__ import annotations

from .app import SERVICE_NAME, RestoreServer
from .config import ServerConfig, TlsConfig, load_config_file, merge_config

__all__ = ["SERVICE_NAME", "RestoreServer", "ServerConfig", "TlsConfig", "load_config_file", "merge_config"]
