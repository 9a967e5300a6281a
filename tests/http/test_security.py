"""Secure defaults: response headers, CORS, optional bearer tokens and the body limit."""

from __future__ import annotations

import hmac
from typing import Any

import peewee
import pytest
from flask import Flask
from flask.testing import FlaskClient

from casesvc.api import parts_of
from casesvc.config import Config, ConfigError
from tests.tokens import SECRET_KEY, TOKEN_A, TOKEN_B

# Time stands still at T0 in every test here, for the apps of make_app too.
pytestmark = pytest.mark.usefixtures("frozen")
TOKEN = TOKEN_A
OTHER_TOKEN = TOKEN_B
ORIGIN = "https://ops.example.org"


def everything(http: FlaskClient, headers: dict[str, str] | None = None) -> list[Any]:
    """One response of each kind the app gives: success, redirect-free docs, and errors."""
    headers = headers or {}
    created = http.post("/cases", headers=headers)
    case_id = created.json["case_id"] if created.status_code == 201 else "case_" + "0" * 24
    return [
        created,
        http.get(f"/cases/{case_id}", headers=headers),
        http.get("/cases", headers=headers),
        http.get("/cases?page_size=0", headers=headers),
        http.get("/cases/" + "0" * 24, headers=headers),
        http.delete("/cases", headers=headers),
        http.post("/cases", data=b"x" * 20_000, headers=headers),
        http.get("/openapi.json"),
        http.get("/docs"),
        http.get("/docs/static/swagger-ui.css"),
        http.get("/nowhere"),
        http.options("/cases"),
        http.get("/"),
        http.get("/dashboard"),
        http.get("/ui/static/app.css"),
        http.get("/healthz", headers=headers),
        http.get("/readyz", headers=headers),
    ]


# -- headers on every response ---------------------------------------------------------


def test_security_headers_on_every_response(http: FlaskClient) -> None:
    """Every answer, success or error, JSON or not, has nosniff, no-referrer and no framing."""
    responses = everything(http)

    cases_and_pages = [201, 200, 200, 422, 404, 405, 413, 200, 200, 200, 404, 200, 302, 200, 200]
    probes = [200, 200]
    assert [*cases_and_pages, *probes] == [r.status_code for r in responses]
    for response in responses:
        assert ("nosniff", "no-referrer", "DENY") == (
            response.headers.get("X-Content-Type-Options"),
            response.headers.get("Referrer-Policy"),
            response.headers.get("X-Frame-Options"),
        ), response.request.path
        # The web UI sends its own, stricter policy; it denies framing too.
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" == responses[0].headers["Content-Security-Policy"]


def test_security_headers_on_every_error(make_app: Any) -> None:
    """Every error the app answers (a body it cannot read, no token, an unknown path, a wrong
    method, a body over the limit, a crash, a lost database) is JSON with all four security
    headers."""
    app = make_app(api_tokens=(TOKEN_A,), secret_key=SECRET_KEY)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    service = parts_of(app).service
    http = app.test_client()
    auth = {"Authorization": f"Bearer {TOKEN_A}"}

    def fail(error: Exception) -> Any:
        def get(_case_id: str, **_scope: Any) -> Any:
            raise error

        service.get = get
        return http.get("/cases/case_" + "0" * 24, headers=auth)

    responses = [
        http.post("/cases", data=b"{}", headers=auth, environ_overrides={"CONTENT_LENGTH": "9"}),
        http.get("/cases"),
        http.get("/nowhere"),
        http.delete("/cases", headers=auth),
        http.post("/cases", data=b"x" * 20_000, headers=auth),
        fail(RuntimeError("unexpected")),
        fail(peewee.OperationalError("database is gone")),
    ]

    assert [400, 401, 404, 405, 413, 500, 503] == [r.status_code for r in responses]
    for response in responses:
        assert (
            "application/json",
            "nosniff",
            "no-referrer",
            "DENY",
            "frame-ancestors 'none'",
        ) == (
            response.mimetype,
            response.headers.get("X-Content-Type-Options"),
            response.headers.get("Referrer-Policy"),
            response.headers.get("X-Frame-Options"),
            response.headers.get("Content-Security-Policy"),
        ), response.status_code


def test_case_data_and_its_errors_are_never_cached(http: FlaskClient) -> None:
    """Everything under /cases, errors included, and the health probes say Cache-Control:
    no-store."""
    for response in everything(http):
        if response.request.path.startswith(("/cases", "/healthz", "/readyz")):
            assert "no-store" == response.headers.get("Cache-Control"), response.request.path


def test_a_page_may_set_a_stricter_policy(app: Flask) -> None:
    """A view's own Content-Security-Policy is kept, not overwritten."""
    strict = "default-src 'self'; frame-ancestors 'none'"

    @app.get("/strict")
    def _strict() -> Any:
        return "ok", 200, {"Content-Security-Policy": strict}

    response = app.test_client().get("/strict")
    assert (strict, "DENY") == (
        response.headers["Content-Security-Policy"],
        response.headers["X-Frame-Options"],
    )


# -- CORS ------------------------------------------------------------------------------


def header_items(response: Any, name: str) -> set[str]:
    """The comma-separated items of every ``name`` header of ``response``, lowercased."""
    return {
        item.strip().lower()
        for value in response.headers.get_all(name)
        for item in value.split(",")
        if item.strip()
    }


def preflight(http: FlaskClient, origin: str, method: str = "POST") -> Any:
    return http.options(
        "/cases",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization",
        },
    )


def test_cors_is_off_by_default(http: FlaskClient) -> None:
    """With no CASESVC_CORS_ORIGINS, no origin gets any CORS header."""
    responses = [
        preflight(http, ORIGIN),
        http.get("/cases", headers={"Origin": ORIGIN}),
    ]
    for response in responses:
        assert not [k for k, _ in response.headers.items() if k.startswith("Access-Control-")]


def test_cors_preflight_for_an_allowed_origin(make_app: Any) -> None:
    """An allowed origin's preflight names that origin (never *), the methods and the
    Authorization header, and never allows credentials."""
    http = make_app(cors_origins=(ORIGIN, "http://127.0.0.1:5173")).test_client()
    response = preflight(http, ORIGIN)

    assert 200 == response.status_code
    assert ORIGIN == response.headers["Access-Control-Allow-Origin"]
    assert {"GET", "POST", "OPTIONS"} == set(
        response.headers["Access-Control-Allow-Methods"].split(", ")
    )
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "Origin" in response.headers.get("Vary", "")

    actual = http.post("/cases", headers={"Origin": ORIGIN})
    assert (201, ORIGIN) == (actual.status_code, actual.headers["Access-Control-Allow-Origin"])
    exposed = actual.headers["Access-Control-Expose-Headers"]
    assert {"Location", "Retry-After", "ETag"} <= set(exposed.split(", "))


# What the documented API needs from a browser: the request headers it reads, and the
# response headers a client acts on (tests/system/test_browser_cors.py does it in Chromium).
REQUEST_HEADERS = {"authorization", "idempotency-key", "if-none-match"}
EXPOSED_HEADERS = {"location", "etag", "retry-after", "idempotent-replayed"}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_cors_preflight_allows_the_documented_request_headers(make_app: Any, method: str) -> None:
    """A preflight asking for Authorization, Idempotency-Key and If-None-Match gets all three."""
    http = make_app(cors_origins=(ORIGIN,)).test_client()
    response = http.options(
        "/cases",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,idempotency-key,if-none-match",
        },
    )

    allowed = {
        h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")
    }
    assert (200, ORIGIN, REQUEST_HEADERS) == (
        response.status_code,
        response.headers["Access-Control-Allow-Origin"],
        allowed,
    )


def test_cors_exposes_the_documented_response_headers(make_app: Any) -> None:
    """A cross-origin idempotent POST, sent twice, exposes Location, ETag, Retry-After and
    Idempotent-Replayed on both answers."""
    http = make_app(cors_origins=(ORIGIN,)).test_client()
    headers = {"Origin": ORIGIN, "Idempotency-Key": "order-1001"}
    first, second = http.post("/cases", headers=headers), http.post("/cases", headers=headers)

    for response in (first, second):
        assert EXPOSED_HEADERS == header_items(response, "Access-Control-Expose-Headers")
        assert ORIGIN == response.headers["Access-Control-Allow-Origin"]
        assert "Access-Control-Allow-Credentials" not in response.headers
    assert (201, 201, None, "true") == (
        first.status_code,
        second.status_code,
        first.headers.get("Idempotent-Replayed"),
        second.headers.get("Idempotent-Replayed"),
    )


@pytest.mark.parametrize("origin", [ORIGIN, "https://evil.example.com", None])
def test_cors_answers_vary_on_origin(make_app: Any, origin: str | None) -> None:
    """With even one origin configured, every answer (to that origin, to another one, or to
    a request with no Origin) says Vary: Origin, since the CORS headers depend on it."""
    http = make_app(cors_origins=(ORIGIN,)).test_client()
    headers = {"Origin": origin} if origin else {}
    responses = [
        http.get("/cases", headers=headers),
        http.post("/cases", headers=headers),
        http.get("/openapi.json", headers=headers),
        preflight(http, origin) if origin else http.options("/cases"),
    ]

    for response in responses:
        assert "origin" in header_items(response, "Vary")


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example.com",
        "https://ops.example.org.evil.example.com",
        "http://ops.example.org",  # another scheme is another origin
        "https://ops.example.org:8443",
        "null",
        "*",
    ],
)
def test_cors_preflight_for_a_disallowed_origin(make_app: Any, origin: str) -> None:
    """Any other origin gets no Access-Control-Allow-Origin, so the browser refuses."""
    http = make_app(cors_origins=(ORIGIN,)).test_client()
    responses = [preflight(http, origin), http.get("/cases", headers={"Origin": origin})]

    for response in responses:
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize(
    ("listed", "allowed", "refused"),
    [
        ("https://good.example", "https://good.example", "https://good.example.evil.example"),
        ("https://good.example", "https://GOOD.example", "https://goodXexample"),
        ("https://good.example:443", "https://good.example", "https://good.example:8443"),
        ("https://[::1]:8443", "https://[::1]:8443", "https://[::1]:8444"),
        ("http://127.0.0.1:5173", "http://127.0.0.1:5173", "http://127.0.0.1:5173.evil.example"),
    ],
)
def test_cors_origins_match_exactly(
    make_app: Any, listed: str, allowed: str, refused: str
) -> None:
    """A listed origin allows itself (any case, its default port implied) and nothing that
    only resembles it: no regular expression, no prefix, IPv6 literals included."""
    client = make_app(cors_origins=(listed,)).test_client()

    assert allowed == preflight(client, allowed).headers.get("Access-Control-Allow-Origin")
    assert "Access-Control-Allow-Origin" not in preflight(client, refused).headers


# -- bearer tokens ---------------------------------------------------------------------


def test_no_token_needed_by_default(http: FlaskClient) -> None:
    """Without CASESVC_API_TOKENS, the API answers without any Authorization header."""
    assert [201, 200] == [http.post("/cases").status_code, http.get("/cases").status_code]


@pytest.mark.parametrize(
    ("authorization", "challenge"),
    [
        (None, 'Bearer realm="casesvc"'),
        ("", 'Bearer realm="casesvc"'),
        ("Bearer", 'Bearer realm="casesvc"'),
        ("Bearer ", 'Bearer realm="casesvc"'),
        (f"Basic {TOKEN}", 'Bearer realm="casesvc"'),
        (TOKEN, 'Bearer realm="casesvc"'),
        ("Bearer wrong-token-wrong-token", 'Bearer realm="casesvc", error="invalid_token"'),
        (f"Bearer {TOKEN[:-1]}", 'Bearer realm="casesvc", error="invalid_token"'),
        (f"Bearer {TOKEN}x", 'Bearer realm="casesvc", error="invalid_token"'),
        (f"Bearer {TOKEN},{OTHER_TOKEN}", 'Bearer realm="casesvc", error="invalid_token"'),
        ("Bearer tök_ünicode", 'Bearer realm="casesvc", error="invalid_token"'),
    ],
)
def test_missing_or_wrong_token_is_a_json_401(
    make_app: Any, authorization: str | None, challenge: str
) -> None:
    """Each /cases route answers a missing or wrong token with a JSON 401 and a Bearer
    challenge, and creates nothing."""
    http = make_app(api_tokens=(TOKEN, OTHER_TOKEN)).test_client()
    headers = {} if authorization is None else {"Authorization": authorization}
    responses = [
        http.post("/cases", headers=headers),
        http.get("/cases", headers=headers),
        http.get("/cases/case_" + "0" * 24, headers=headers),
        http.get("/cases/anything/else", headers=headers),
        http.delete("/cases", headers=headers),
    ]

    for response in responses:
        body = response.get_json()
        assert (401, "application/json", 401, "Unauthorized") == (
            response.status_code,
            response.mimetype,
            body["code"],
            body["status"],
        )
        assert challenge == response.headers["WWW-Authenticate"]
        assert "no-store" == response.headers["Cache-Control"]
    ok = http.get("/cases", headers={"Authorization": f"Bearer {TOKEN}"})
    assert [] == ok.json["cases"]


@pytest.mark.parametrize("parameter", ["access_token", "token", "api_key"])
def test_a_token_in_the_query_string_is_not_accepted(make_app: Any, parameter: str) -> None:
    """Only the Authorization header carries a token: one in the query string (where logs,
    caches and Referer headers keep it) is refused with a 401."""
    http = make_app(api_tokens=(TOKEN,)).test_client()

    assert [401, 401] == [
        http.get(f"/cases?{parameter}={TOKEN}").status_code,
        http.post(f"/cases?{parameter}={TOKEN}").status_code,
    ]


def test_any_configured_token_works(make_app: Any) -> None:
    """Each token in the list is accepted, whatever the case of the word Bearer."""
    http = make_app(api_tokens=(TOKEN, OTHER_TOKEN)).test_client()
    created = http.post("/cases", headers={"Authorization": f"Bearer {TOKEN}"})
    read = http.get(
        f"/cases/{created.json['case_id']}", headers={"Authorization": f"bearer {OTHER_TOKEN}"}
    )

    assert (201, 200) == (created.status_code, read.status_code)


def test_tokens_are_compared_in_constant_time(
    make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every configured token is compared with hmac.compare_digest, even after a match."""
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    http = make_app(api_tokens=(TOKEN, OTHER_TOKEN)).test_client()
    http.get("/cases", headers={"Authorization": f"Bearer {TOKEN}"})

    assert [(TOKEN.encode(), TOKEN.encode()), (TOKEN.encode(), OTHER_TOKEN.encode())] == compared


def test_docs_and_preflight_need_no_token(make_app: Any) -> None:
    """The spec, the docs and a CORS preflight stay open: they hold no case data."""
    http = make_app(api_tokens=(TOKEN,), cors_origins=(ORIGIN,)).test_client()
    preflight_response = preflight(http, ORIGIN)

    assert [200, 200] == [http.get("/openapi.json").status_code, http.get("/docs").status_code]
    assert (200, ORIGIN) == (
        preflight_response.status_code,
        preflight_response.headers["Access-Control-Allow-Origin"],
    )
    # A browser can read the 401 of a cross-origin call without a token.
    refused = http.get("/cases", headers={"Origin": ORIGIN})
    assert (401, ORIGIN) == (refused.status_code, refused.headers["Access-Control-Allow-Origin"])


def test_spec_documents_the_bearer_scheme(make_app: Any) -> None:
    """With tokens, the OpenAPI document requires the bearer scheme and each operation
    documents its 401; without tokens, it declares no scheme and no requirement at all."""
    spec_on = make_app(api_tokens=(TOKEN,)).test_client().get("/openapi.json").json
    spec_off = make_app().test_client().get("/openapi.json").json

    scheme = {"type": "http", "scheme": "bearer"}
    assert scheme.items() <= spec_on["components"]["securitySchemes"]["bearerAuth"].items()
    assert [{"bearerAuth": []}] == spec_on["security"]
    assert "securitySchemes" not in spec_off["components"]
    assert "security" not in spec_off
    for url, path in spec_on["paths"].items():
        for method, operation in path.items():
            if method == "parameters":
                continue
            if url in ("/healthz", "/readyz"):  # the probes never need a token
                assert ([], False) == (operation["security"], "401" in operation["responses"])
            else:
                answer = operation["responses"]["401"]
                if "$ref" in answer:
                    answer = spec_on["components"]["responses"][answer["$ref"].split("/")[-1]]
                assert "WWW-Authenticate" in answer["headers"]


# -- body limit ------------------------------------------------------------------------


def test_body_limit_is_configurable(make_app: Any) -> None:
    """CASESVC_MAX_BODY_BYTES sets the limit, and POST /cases honours it."""
    http = make_app(max_body_bytes=10).test_client()

    assert [201, 413] == [
        http.post("/cases", data=b"x" * 10).status_code,
        http.post("/cases", data=b"x" * 11).status_code,
    ]
    assert 4096 == Config.from_env({"CASESVC_MAX_BODY_BYTES": "4096"}).max_body_bytes
    with pytest.raises(ConfigError, match="CASESVC_MAX_BODY_BYTES"):
        Config.from_env({"CASESVC_MAX_BODY_BYTES": "lots"})
