"""Cross-cutting work for every call: bearer-token authentication, call ids, logs, metrics, status codes.

:class:`CallInterceptor` wraps each handler: it gives the call an id (logged with every record and
returned in the Restore header), maps exceptions to status codes through :mod:`.status` (the one
table), counts calls and errors by code and logs how each call ended. :class:`AuthInterceptor`
refuses calls without a valid ``authorization: Bearer <token>`` header; the health service stays
open so load balancers need no token.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import grpc
import grpc.aio
from google.protobuf.message import DecodeError

from ..errors import InputError, StreamRestoreError
from .logs import CALL_ID
from .metrics import ServerMetrics
from .status import status_for
from .tokens import TOKEN_MESSAGE, BearerTokens

__all__ = ["AuthInterceptor", "CallInterceptor"]

log = logging.getLogger(__name__)

_HEALTH_PREFIX = "/grpc.health.v1.Health/"
Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]]


_KEEP = object()


def _rebuild(handler: grpc.RpcMethodHandler, behavior: Callable[..., Any],
             request_deserializer: Any = _KEEP) -> grpc.RpcMethodHandler:
    """A handler of the same kind and (de)serializers as ``handler`` running ``behavior``."""
    deserializer = handler.request_deserializer if request_deserializer is _KEEP else request_deserializer
    args = {"request_deserializer": deserializer, "response_serializer": handler.response_serializer}
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(behavior, **args)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(behavior, **args)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(behavior, **args)
    return grpc.unary_unary_rpc_method_handler(behavior, **args)


def _behavior(handler: grpc.RpcMethodHandler) -> Callable[..., Any]:
    behavior: Callable[..., Any] = (
        handler.stream_stream or handler.stream_unary or handler.unary_stream or handler.unary_unary
    )
    return behavior


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Accepts a call only with one of ``tokens`` as its bearer token (compared in constant time)."""

    def __init__(self, tokens: Iterable[str], metrics: ServerMetrics | None = None) -> None:
        self._tokens = BearerTokens(tokens)
        self._metrics = metrics

    def _authorized(self, metadata: Iterable[tuple[str, Any]] | None) -> bool:
        header = ""
        for key, value in metadata or ():
            if key.lower() == "authorization":
                header = value.decode() if isinstance(value, bytes) else str(value)
        return self._tokens.accepts(header)

    async def intercept_service(
        self, continuation: Continuation, details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or not self._tokens.required or details.method.startswith(_HEALTH_PREFIX):
            return handler
        if self._authorized(details.invocation_metadata):
            return handler
        message = TOKEN_MESSAGE

        if handler.response_streaming:
            async def refuse_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
                await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
                yield  # pragma: no cover  (makes this an async generator)

            return _rebuild(handler, refuse_stream)

        async def refuse(request: Any, context: grpc.aio.ServicerContext) -> Any:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

        return _rebuild(handler, refuse)


class CallInterceptor(grpc.aio.ServerInterceptor):
    """Call ids, logging, metrics, and the mapping of exceptions to status codes."""

    def __init__(self, metrics: ServerMetrics) -> None:
        self._metrics = metrics
        self._ids = itertools.count(1)
        self._prefix = f"{int(time.time()) % 100000:05d}"

    def _finish(self, method: str, code: grpc.StatusCode, start: float, error: BaseException | None) -> None:
        name = code.name
        self._metrics.calls.labels(method, name).inc()
        self._metrics.call_seconds.labels(method).observe(time.perf_counter() - start)
        if code != grpc.StatusCode.OK:
            self._metrics.errors.labels(name).inc()
        if (
            error is not None
            and code == grpc.StatusCode.INTERNAL
            and not isinstance(error, StreamRestoreError)
        ):
            log.error("%s failed: internal error", method, exc_info=error)
        elif code in (grpc.StatusCode.OK, grpc.StatusCode.CANCELLED):
            log.info("%s ended: %s in %.3f s", method, name, time.perf_counter() - start)
        else:
            log.warning("%s ended: %s (%s)", method, name, error)

    @staticmethod
    def _message(error: BaseException, code: grpc.StatusCode, call_id: str) -> str:
        if isinstance(error, StreamRestoreError) or code != grpc.StatusCode.INTERNAL:
            return str(error) or type(error).__name__
        return f"internal error (call {call_id}); see the server log"

    @staticmethod
    def _gone_code(context: grpc.aio.ServicerContext) -> grpc.StatusCode:
        remaining = context.time_remaining()
        return (
            grpc.StatusCode.DEADLINE_EXCEEDED
            if remaining is not None and remaining <= 0
            else grpc.StatusCode.CANCELLED
        )

    @contextlib.asynccontextmanager
    async def _observed(
        self, method: str, context: grpc.aio.ServicerContext, level: int
    ) -> AsyncIterator[None]:
        """One call's id, log lines, metrics and error -> status mapping (the one place it happens)."""
        call_id = f"{self._prefix}-{next(self._ids)}"
        token = CALL_ID.set(call_id)
        start = time.perf_counter()
        code, error = grpc.StatusCode.OK, None
        log.log(level, "%s started by %s", method, context.peer())
        try:
            yield
        except asyncio.CancelledError:
            code = self._gone_code(context)
            raise
        except grpc.aio.AbortError:
            code = grpc.StatusCode.UNKNOWN if context.code() is None else context.code()
            raise
        except Exception as exc:
            code, error = status_for(exc), exc
            await context.abort(code, self._message(exc, code, call_id))
        finally:
            self._finish(method, code, start, error)
            CALL_ID.reset(token)

    async def intercept_service(
        self, continuation: Continuation, details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        method = details.method.rsplit("/", 1)[-1]
        behavior = _behavior(handler)
        interceptor = self

        # Requests are parsed inside the call, so a message that is not valid protobuf (a corrupt
        # string, truncated wire bytes) is the caller's INVALID_ARGUMENT, not gRPC's UNKNOWN.
        parse = handler.request_deserializer
        streamed = handler.request_streaming

        def requests(raw: Any) -> Any:
            return _parsed_stream(raw) if streamed else _parse(parse, raw)

        if handler.response_streaming:
            async def streaming(request: Any, context: grpc.aio.ServicerContext) -> Any:
                async with interceptor._observed(method, context, level=logging.INFO):
                    async with contextlib.aclosing(behavior(requests(request), context)) as responses:
                        async for response in responses:
                            yield response

            return _rebuild(handler, streaming, parse if streamed else None)

        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            async with interceptor._observed(method, context, level=logging.DEBUG):
                return await behavior(requests(request), context)

        return _rebuild(handler, unary, parse if streamed else None)


def _invalid(exc: DecodeError) -> InputError:
    return InputError(f"a request message is not a valid stream_restore.v1 message ({exc})")


def _parse(parse: Callable[[bytes], Any] | None, raw: Any) -> Any:
    """One unary request from its wire bytes (gRPC hands them over unparsed)."""
    if parse is None or not isinstance(raw, bytes):
        return raw
    try:
        return parse(raw)
    except DecodeError as exc:
        raise _invalid(exc) from None


async def _parsed_stream(raw: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """A streamed call's requests, with a message gRPC could not parse raised as the caller's error."""
    iterator = aiter(raw)
    while True:
        try:
            message = await anext(iterator)
        except StopAsyncIteration:
            return
        except DecodeError as exc:
            raise _invalid(exc) from None
        yield message

