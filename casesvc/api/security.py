"""Safe defaults for every response: a body limit, security headers, CORS and optional tokens.

All of it is configured from ``Config`` (see casesvc/config.py) and installed by
``create_app``. Errors keep the one JSON format: they are raised with flask-smorest's ``abort``.
"""

from __future__ import annotations

import hmac
import io
import re
import threading
from typing import Any

from flask import Flask, Response, g, request
from flask_cors import CORS
from flask_smorest import abort

from casesvc.api.spec import Api
from casesvc.config import DEFAULT_CLIENT, Config
from casesvc.origins import normal_origin

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# Pages may send their own, stricter policy (the web UI does); framing is denied either way.
DEFAULT_CSP = "frame-ancestors 'none'"

BEARER_SCHEME = "bearerAuth"
REALM = 'Bearer realm="casesvc"'
# Paths that need a token when tokens are on, and that are never stored by caches.
PROTECTED_PREFIXES = ("/cases", "/metrics")
_PROTECTED_SUBPATHS = tuple(prefix + "/" for prefix in PROTECTED_PREFIXES)
# Answers no cache may store, besides everything under PROTECTED_PREFIXES: a stale probe
# verdict would mislead a load balancer.
NO_STORE_PATHS = frozenset({"/healthz", "/readyz"})
# A body that cannot be read whole is a 400 (limit_bodies).
BAD_LENGTH = "The Content-Length header is not a length in bytes."
CUT_SHORT = "The request body ended before the length its Content-Length declares."
BUSY = "Too many request bodies are arriving at once; retry shortly (POST /cases takes none)."
UNREADABLE = "The request body could not be read: its chunked encoding is malformed or cut short."


def install(app: Flask, api: Api, config: Config) -> None:
    """Register the Host check, the body limit, the response headers, CORS and (when
    configured) auth."""
    require_one_host(app)
    limit_bodies(app, config.max_body_bytes, config.body_readers)
    add_security_headers(app)
    if config.cors_origins:
        allow_origins(app, config.cors_origins)
    require_tokens(app, config.token_clients(), config.metrics_token)
    document_security(api, required=bool(config.api_tokens))


NO_HOST = "An HTTP/1.1 request needs a Host header."
HOSTS = "A request has one Host header, not several."


def require_one_host(app: Flask) -> None:
    """An HTTP/1.1 request with no Host header, or with two, is a 400 (RFC 9112, section 3.2):
    granian passes both on (a missing one as empty, two joined by a comma), and two hosts are
    how requests get routed one way by a proxy and read another way by the app. HTTP/1.0
    requests need none (HAProxy's health checks send none)."""

    @app.before_request
    def _one_host() -> None:
        environ = request.environ
        if environ.get("SERVER_PROTOCOL") != "HTTP/1.1":
            return
        host = environ.get("HTTP_HOST", "")
        if not host:
            abort(400, message=NO_HOST)
        if "," in host:
            abort(400, message=HOSTS)


def limit_bodies(app: Flask, max_bytes: int, readers: int) -> None:
    """Answer 413 for a body over ``max_bytes``, and 400 for one that cannot be read whole,
    before any view runs.

    ``MAX_CONTENT_LENGTH`` alone only fires when a view reads the body, and most views read
    none. So the body is read here, whole, before the request goes on: a declared
    ``Content-Length`` is checked up front, then its bytes are read, so that a body which
    ends short (the client stopped sending) acts on nothing; a chunked body is read until
    it ends or passes the limit. What was read is what the view then reads (POST /cases's
    optional JSON body), from memory.

    A body that trickles in holds its thread while it is read, so at most ``readers``
    requests of a worker read one at once; a further one is answered 503 without being read,
    and the worker's other threads stay free for everyone else (the documented API's one
    body is a few bytes, and optional).
    """
    app.config["MAX_CONTENT_LENGTH"] = max_bytes
    too_large = f"The request body is over the limit of {max_bytes} bytes."
    reading = threading.BoundedSemaphore(readers)

    @app.before_request
    def _limit_body() -> None:
        environ = request.environ
        # A chunked body has no length; the server must have de-chunked it and marked where
        # it ends, or (werkzeug's rule) it is never read at all. granian marks every request
        # so, and sends Transfer-Encoding on to the app only when it is chunked.
        if "HTTP_TRANSFER_ENCODING" in environ and environ.get("wsgi.input_terminated"):
            declared = None
        else:
            # Most requests (every GET) declare no body at all: checked in the environ
            # first, which is cheaper than werkzeug's parsed headers.
            raw = environ.get("CONTENT_LENGTH")
            if not raw:
                return
            if not (raw.isascii() and raw.isdigit()):  # granian refuses these itself
                abort(400, message=BAD_LENGTH)
            declared = int(raw)
            if declared > max_bytes:
                abort(413, message=too_large)
            if declared == 0:
                return
        if not reading.acquire(blocking=False):
            abort(503, message=BUSY, headers={"Retry-After": "1"})
        try:
            body = _read(environ["wsgi.input"], max_bytes + 1 if declared is None else declared)
        finally:
            reading.release()
        if declared is None and len(body) > max_bytes:
            abort(413, message=too_large)
        if declared is not None and len(body) < declared:
            abort(400, message=CUT_SHORT)
        environ["wsgi.input"] = io.BytesIO(body)  # the view reads it from here, whole
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)


def _read(stream: Any, most: int) -> bytes:
    """Read up to ``most`` bytes of a request body.

    werkzeug's server raises ``OSError`` for a chunk it cannot decode or a connection lost
    mid-body: a 400. granian 2.8.9 raises nothing: it ends the body at such an error, so the
    bytes before it are all the app sees (docs/security.md).
    """
    chunks: list[bytes] = []
    seen = 0
    try:
        while seen < most and (chunk := stream.read(min(64 * 1024, most - seen))):
            chunks.append(chunk)
            seen += len(chunk)
    except OSError:
        abort(400, message=UNREADABLE)
    return b"".join(chunks)


def add_security_headers(app: Flask) -> None:
    """Every answer of the app's carries the security headers, and answers about cases or
    health verdicts ``Cache-Control: no-store``, unless the view set its own.

    Added as WSGI middleware, to the header list the app hands the server, rather than by an
    ``after_request`` hook, which adds them to werkzeug ``Headers`` that werkzeug then copies
    again for the server (what that saves: docs/performance.md).
    """
    app.wsgi_app = DefaultHeaders(app.wsgi_app)  # type: ignore[method-assign]


class DefaultHeaders:
    """WSGI middleware: appends the default headers a response lacks (by name, any case)."""

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app
        defaults = [*SECURITY_HEADERS.items(), ("Content-Security-Policy", DEFAULT_CSP)]
        # Case data, errors about it, and health verdicts are never stored by caches.
        no_store = [*defaults, ("Cache-Control", "no-store")]
        self._defaults = [(name.lower(), (name, value)) for name, value in defaults]
        self._no_store = [(name.lower(), (name, value)) for name, value in no_store]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = "/" + environ.get("PATH_INFO", "").lstrip("/")  # as werkzeug reads it
        wanted = (
            self._no_store if _is_protected(path) or path in NO_STORE_PATHS else self._defaults
        )

        def start(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            present = {name.lower() for name, _ in headers}
            headers.extend([header for name, header in wanted if name not in present])
            return start_response(status, headers, *exc_info)

        return self.wsgi_app(environ, start)


# What a browser needs to use the documented API cross-origin: the request headers a client
# sends (a token, an idempotency key, an ETag), and the response headers a client acts on.
CORS_REQUEST_HEADERS = ("Authorization", "Idempotency-Key", "If-None-Match")
CORS_EXPOSED_HEADERS = ("Location", "ETag", "Retry-After", "Idempotent-Replayed")


def allow_origins(app: Flask, origins: tuple[str, ...]) -> None:
    """CORS for exactly these origins. Never credentials: the API uses bearer tokens, not
    cookies, so ``Access-Control-Allow-Credentials`` is never sent."""
    CORS(
        app,
        # Each origin matched exactly (any case), never as the regular expression flask-cors
        # would read a string with a dot or a bracket as.
        origins=[re.compile(re.escape(normal_origin(o)) + r"\Z", re.IGNORECASE) for o in origins],
        methods=["GET", "POST", "OPTIONS"],
        allow_headers=list(CORS_REQUEST_HEADERS),
        expose_headers=list(CORS_EXPOSED_HEADERS),
        supports_credentials=False,
        send_wildcard=False,
        # flask-cors says Vary: Origin only when two or more origins are listed; it is said
        # below instead, on every answer.
        vary_header=False,
        max_age=600,
    )

    @app.after_request
    def _vary_on_origin(response: Response) -> Response:
        # The CORS headers depend on Origin, so every answer says so (to a listed origin, to
        # any other, and to none), and no shared cache gives one origin's answer to another.
        response.vary.add("Origin")
        return response


def current_client() -> str:
    """The client making this request: its token's, or the default client with tokens off."""
    client: str = g.get("client", DEFAULT_CLIENT)
    return client


def require_tokens(app: Flask, clients: dict[str, str], metrics_token: str = "") -> None:
    """With tokens configured, ``/cases*`` need ``Authorization: Bearer <token>``; the
    token names the client (``current_client``) whose cases the request may see. With a
    metrics token, ``/metrics`` needs that token, and no client's (it counts every client's
    requests: the operator's view)."""
    if not clients and not metrics_token:
        return
    expected = [(token.encode(), client) for token, client in clients.items()]
    scraper = metrics_token.encode()

    @app.before_request
    def _authenticate() -> None:
        # A CORS preflight never carries credentials; it reveals nothing either.
        if request.method == "OPTIONS" or not _is_protected(request.path):
            return
        if request.path == "/metrics" or request.path.startswith("/metrics/"):
            # Only the scraper's token opens it; with client tokens and none for the
            # scraper (metrics off), no token does.
            given = _bearer_token()
            if not (scraper and hmac.compare_digest(given, scraper)):
                abort(401, message=INVALID_TOKEN, headers={"WWW-Authenticate": INVALID})
            return
        if not expected:
            return
        candidate = _bearer_token()
        matched = None
        for token, client in expected:  # every token is compared, in constant time each
            if hmac.compare_digest(candidate, token):
                matched = client
        if matched is None:
            abort(401, message=INVALID_TOKEN, headers={"WWW-Authenticate": INVALID})
        g.client = matched


INVALID_TOKEN = "The bearer token is not valid."
INVALID = f'{REALM}, error="invalid_token"'


def _bearer_token() -> bytes:
    """The request's bearer token; a missing one is a JSON 401 with the challenge."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        abort(
            401,
            message="This API needs a bearer token (Authorization: Bearer <token>).",
            headers={"WWW-Authenticate": REALM},
        )
    return given.strip().encode("utf-8", "surrogateescape")


def document_security(api: Api, *, required: bool) -> None:
    """Declare the bearer scheme in the OpenAPI document, required by every operation that
    does not opt out, when tokens are configured. Without tokens the document declares no
    scheme at all, so that Swagger UI shows no lock icons and no Authorize button."""
    if not required:
        return
    api.spec.components.security_scheme(
        BEARER_SCHEME,
        {
            "type": "http",
            "scheme": "bearer",
            "description": "One of the tokens in CASESVC_API_TOKENS.",
        },
    )
    api.spec.options["security"] = [{BEARER_SCHEME: []}]


def _is_protected(path: str) -> bool:
    return path in PROTECTED_PREFIXES or path.startswith(_PROTECTED_SUBPATHS)
