"""stream-restore: video and image restoration as a library, a command and a gRPC service."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
