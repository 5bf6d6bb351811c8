"""Bearer tokens: the one check that the gRPC interceptor and the web page's HTTP API both apply."""

from __future__ import annotations

import hmac
from collections.abc import Iterable

__all__ = ["TOKEN_MESSAGE", "BearerTokens"]

TOKEN_MESSAGE = "missing or invalid bearer token (send 'authorization: Bearer <token>')"


class BearerTokens:
    """The accepted tokens; :meth:`accepts` reads an ``authorization`` header's value."""

    def __init__(self, tokens: Iterable[str]) -> None:
        self._tokens = [t.encode() for t in tokens]

    @property
    def required(self) -> bool:
        """Whether any token is configured (none: every caller is accepted)."""
        return bool(self._tokens)

    def accepts(self, header: str) -> bool:
        """True for ``Bearer <one of the tokens>`` (compared in constant time, no early exit)."""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        offered = token.strip().encode()
        matches = [hmac.compare_digest(offered, known) for known in self._tokens]
        return any(matches)
