"""The web page: static files and a small JSON API, served over HTTP(S) from a thread of the server.

``stream-restore serve --web-port N`` starts it beside the gRPC server (``--web-host``, loopback by
default); it stops with it. No build step: ``web/index.html``, ``app.js`` and ``style.css`` are
package data. The API (:mod:`.web_api`) calls the same core as the gRPC services.

Security, the same as the API's and no weaker for being a browser:

* **Authentication** as for gRPC: the server's bearer tokens (:class:`.tokens.BearerTokens`, the
  interceptor's check), sent by the page in an ``Authorization`` header from a token the user
  pastes once (kept in ``sessionStorage``); with TLS the page is HTTPS with the same certificate,
  and with a client CA the browser must present a client certificate (mutual TLS).
* **No ambient credentials, so no CSRF**: no cookies are set or read. State-changing requests are
  POSTs whose body must be ``application/json`` (a cross-site form cannot send it without a CORS
  preflight, which is never granted) and whose ``Origin``, when a browser sends one, must be this
  server's own; on a loopback address the ``Host`` must be a loopback name (DNS rebinding).
* **Bounded**: every body by a per-route limit read from ``Content-Length`` before a byte is read
  (an image by ``max_image_bytes``, in base64), at most :data:`MAX_REQUESTS` requests at once,
  and a socket timeout; the image's pixels are checked from its header by the RestoreImage path.
* Errors are JSON ``{"error", "code"}`` with the HTTP status of the one table (:data:`HTTP_STATUS`,
  from the gRPC code :func:`.status.status_for` gives).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import shutil
import socket
import ssl
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import grpc

from ..errors import AuthError, ConfigError, StreamRestoreError
from .status import status_for
from .tokens import TOKEN_MESSAGE, BearerTokens
from .web_api import JSON, JobOutput, WebApi

__all__ = ["HTTP_STATUS", "MAX_REQUESTS", "WebServer"]

log = logging.getLogger(__name__)

MAX_REQUESTS = 16  # requests handled at once; more get 503
SMALL_BODY = 64 * 1024  # bytes, every JSON body but an image's
_TIMEOUT = 30.0  # seconds a client may take to send a request (or read a response chunk)

# The gRPC code of an error (the one table, server/status.py) -> the HTTP status the page gets.
HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}

_STATIC = {"/": ("index.html", "text/html"), "/app.js": ("app.js", "text/javascript"),
           "/style.css": ("style.css", "text/css")}
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_LOOPBACK_NAMES = {"localhost", "ip6-localhost"}


class Refused(Exception):
    """A request refused at the HTTP level (no body, too large, wrong type, unknown route)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    call: Callable[..., Any]  # (api, *path groups[, body]) -> JSON or JobOutput
    body_limit: int = 0  # > 0: a POST with a JSON body of at most this many bytes
    public: bool = False  # served without a token (health, like the gRPC health service)


def _routes(image_body: int) -> tuple[Route, ...]:
    job = r"/api/jobs/([A-Za-z0-9_.-]{1,80})"
    r = re.compile
    return (
        Route("GET", r("/api/health"), WebApi.health, public=True),
        Route("GET", r("/api/info"), WebApi.info),
        Route("GET", r("/api/models"), WebApi.models),
        Route("GET", r(r"/api/models/([A-Za-z0-9_.+-]{1,100})/card"), WebApi.card),
        Route("POST", r("/api/restore-image"), WebApi.restore_image, body_limit=image_body),
        Route("GET", r("/api/jobs"), WebApi.list_jobs),
        Route("POST", r("/api/jobs"), WebApi.submit_job, body_limit=SMALL_BODY),
        Route("GET", r(job), WebApi.get_job),
        Route("POST", r(job + "/cancel"), WebApi.cancel_job, body_limit=SMALL_BODY),
        Route("POST", r(job + "/resume"), WebApi.resume_job, body_limit=SMALL_BODY),
        Route("GET", r(job + "/output"), WebApi.job_output),
        Route("GET", r("/api/live"), WebApi.live_sessions),
    )


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class WebServer:
    """The page's HTTP server in a thread of its own; :meth:`close` stops it and waits for requests."""

    def __init__(self, api: WebApi, tokens: BearerTokens, host: str, port: int,
                 tls: ssl.SSLContext | None = None, max_image_bytes: int = 64 * 1024 * 1024) -> None:
        self.api, self.tokens, self.host = api, tokens, host
        self.routes = _routes(max_image_bytes * 4 // 3 + SMALL_BODY)
        folder = resources.files(__package__ or "stream_restore.server") / "web"
        self.static = {path: ((folder / name).read_bytes(), kind) for path, (name, kind) in _STATIC.items()}
        self.busy = threading.BoundedSemaphore(MAX_REQUESTS)
        self.scheme = "https" if tls is not None else "http"
        try:
            self.httpd = _HttpServer((host.strip("[]"), port), _Handler, self)
        except OSError as exc:
            raise ConfigError(f"web page: cannot listen on {host}:{port} ({exc.strerror or exc})") from None
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True,
                                                do_handshake_on_connect=False)
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="web-page", daemon=True)

    def start(self) -> int:
        self._thread.start()
        log.info("web page on %s://%s:%d/", self.scheme, self.host, self.port)
        return self.port

    def close(self) -> None:
        """Stop accepting, then wait for the requests in flight (each bounded by the socket timeout)."""
        if self._thread.is_alive():
            self.httpd.shutdown()
        self.httpd.server_close()

    # -- request checks ------------------------------------------------------------------------
    def check_host(self, host_header: str) -> None:
        """On a loopback address, only loopback names: a rebound DNS name never reaches the API."""
        if not _is_loopback(self.host):
            return
        name = urlsplit(f"//{host_header}").hostname or ""
        if not _is_loopback(name):
            raise Refused(421, f"host {host_header!r} is not this server's loopback address")

    def check_origin(self, origin: str | None, fetch_site: str | None, host_header: str) -> None:
        """A browser's cross-site request is refused (non-browser clients send neither header)."""
        if origin is not None and origin != f"{self.scheme}://{host_header}":
            raise Refused(403, f"cross-origin request from {origin!r} refused")
        if fetch_site is not None and fetch_site not in ("same-origin", "none"):
            raise Refused(403, f"cross-site request ({fetch_site}) refused")

    def check_token(self, authorization: str) -> None:
        if self.tokens.required and not self.tokens.accepts(authorization):
            raise AuthError(TOKEN_MESSAGE)

    def route(self, method: str, path: str) -> tuple[Route, tuple[str, ...]]:
        allowed = []
        for route in self.routes:
            match = route.pattern.fullmatch(path)
            if match:
                if route.method == method:
                    return route, match.groups()
                allowed.append(route.method)
        if allowed:
            raise Refused(405, f"{method} is not allowed on {path} (use {', '.join(allowed)})")
        raise Refused(404, f"no such page or endpoint: {path}")


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = False  # close() waits for requests in flight (each ends within the timeout)
    block_on_close = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], web: WebServer
                 ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.web = web
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that failed outside a request (a refused client certificate, a reset): logged
        in one line, not as socketserver's traceback on stderr."""
        error = sys.exc_info()[1]
        log.info("web: connection from %s ended: %s", client_address[0] if client_address else "?", error)


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    timeout = _TIMEOUT
    server_version = "stream-restore"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("web: %s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        web = self.server.web
        if not web.busy.acquire(blocking=False):
            self._error(503, f"the web page is serving its maximum of {MAX_REQUESTS} requests; retry")
            return
        try:
            self._answer(web, method, urlsplit(self.path).path)
        except Refused as refused:
            self._error(refused.status, str(refused))
        except Exception as exc:  # the one mapping: error -> gRPC code -> HTTP status
            code = status_for(exc)
            status = HTTP_STATUS.get(code, 500)
            if status == 500 and not isinstance(exc, StreamRestoreError):
                log.error("web: %s %s failed", method, self.path, exc_info=exc)
                self._error(500, "internal error; see the server log", code.name)
            else:
                self._error(status, str(exc) or type(exc).__name__, code.name)
        finally:
            web.busy.release()

    def _answer(self, web: WebServer, method: str, path: str) -> None:
        host = self.headers.get("Host", "")
        web.check_host(host)
        if method == "GET" and path in web.static:
            data, kind = web.static[path]
            self._send(200, data, f"{kind}; charset=utf-8")
            return
        route, groups = web.route(method, path)
        if not route.public:
            web.check_token(self.headers.get("Authorization", ""))
        if web.api.state.stopping and not route.public:
            raise Refused(503, "the server is stopping")
        args: list[Any] = [web.api, *groups]
        if route.body_limit:
            web.check_origin(self.headers.get("Origin"), self.headers.get("Sec-Fetch-Site"), host)
            args.append(self._json_body(route.body_limit))
        result = route.call(*args)
        if isinstance(result, JobOutput):
            self._send_file(result)
        else:
            self._send(200, json.dumps(result).encode(), "application/json")

    def _json_body(self, limit: int) -> JSON:
        kind = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            raise Refused(415, "send the request body as application/json")
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise Refused(411, "the request needs a Content-Length")
        if int(length) > limit:
            self.close_connection = True  # the body is never read
            raise Refused(413, f"the request body is {int(length)} bytes; the limit here is {limit}")
        try:
            body = json.loads(self.rfile.read(int(length)) or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise Refused(400, f"the request body is not JSON ({exc})") from None
        if not isinstance(body, dict):
            raise Refused(400, "the request body must be a JSON object")
        return body

    def _headers(self, status: int, kind: str, length: int) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(length))
        for name, value in _SECURITY_HEADERS.items():
            self.send_header(name, value)

    def _send(self, status: int, data: bytes, kind: str) -> None:
        self._headers(status, kind, len(data))
        self.end_headers()
        self.wfile.write(data)

    def _send_file(self, output: JobOutput) -> None:
        with output.path.open("rb") as file:
            self._headers(200, "application/octet-stream", output.size)
            safe = re.sub(r"[^A-Za-z0-9._-]", "_", output.name)
            self.send_header("Content-Disposition", f'attachment; filename="{safe}"')
            self.end_headers()
            shutil.copyfileobj(file, self.wfile, 256 * 1024)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a malformed request line, an unknown method) as JSON too."""
        self.close_connection = True
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = str(code)
        self._error(code, message or phrase)

    def _error(self, status: int, message: str, code: str = "") -> None:
        if not code:
            try:
                code = HTTPStatus(status).name
            except ValueError:
                code = str(status)
        self._send(status, json.dumps({"error": message, "code": code}).encode(), "application/json")
