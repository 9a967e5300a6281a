"""Hostile input: each request in the table gets its exact status and a JSON error body."""

from __future__ import annotations

import io
import json
from typing import Any

import itsdangerous
import pytest
from flask import Flask
from flask.testing import FlaskClient
from freezegun.api import FrozenDateTimeFactory
from werkzeug.test import EnvironBuilder

from casesvc.config import DEV_SECRET_KEY

NO_CASE = "No case has this id."
NO_URL = (
    "The requested URL was not found on the server. If you entered the URL manually please "
    "check your spelling and try again."
)
INVALID = "The request was well-formed but was unable to be followed due to semantic errors."
WRONG_METHOD = "The method is not allowed for the requested URL."
TOO_LARGE = "The request body is over the limit of 16384 bytes."
UNREADABLE = "The request body could not be read: its chunked encoding is malformed or cut short."
CUT_SHORT = "The request body ended before the length its Content-Length declares."
BAD_LENGTH = "The Content-Length header is not a length in bytes."
BAD_TOKEN = "page_token is not valid"
OTHER_QUERY = "page_token belongs to a different query"
PHRASES = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Request Entity Too Large",
    422: "Unprocessable Entity",
}
TOKEN_SALT = "casesvc.page-token"
ANY_ID = "case_" + "0" * 24


def forge(payload: Any, key: str = DEV_SECRET_KEY) -> str:
    """A page token signed with ``key``: the public development key by default."""
    return itsdangerous.URLSafeSerializer(key, salt=TOKEN_SALT).dumps(payload)


# (request, status, message, the parameter named in errors.query, or None)
HOSTILE: list[tuple[str, int, str, str | None]] = [
    # ids
    ("GET /cases/" + "a" * 10_240, 404, NO_CASE, None),
    ("GET /cases/case_" + "0" * 10_235, 404, NO_CASE, None),
    ("GET /cases/case_%00" + "0" * 23, 404, NO_CASE, None),
    ("GET /cases/%00", 404, NO_CASE, None),
    ("GET /cases/case_%FF%FE" + "0" * 22, 404, NO_CASE, None),
    ("GET /cases/%C3%28", 404, NO_CASE, None),
    ("GET /cases/..%2F..%2Fetc%2Fpasswd", 404, NO_URL, None),
    ("GET /cases/../openapi.json", 404, NO_URL, None),
    ("GET /cases/..", 404, NO_CASE, None),
    ("GET /cases/case_%2E%2E%2F", 404, NO_URL, None),
    ("GET /cases/' OR '1'='1", 404, NO_CASE, None),
    ("GET /cases/case_0'; DROP TABLE cases; --", 404, NO_CASE, None),
    ("GET /cases/case_00000000000000000000000%25", 404, NO_CASE, None),
    ("GET /cases/CASE_" + "A" * 24, 404, NO_CASE, None),
    # page_size
    ("GET /cases?page_size=0", 422, INVALID, "page_size"),
    ("GET /cases?page_size=-1", 422, INVALID, "page_size"),
    ("GET /cases?page_size=-99999999999999999999", 422, INVALID, "page_size"),
    ("GET /cases?page_size=ten", 422, INVALID, "page_size"),
    ("GET /cases?page_size=1.5", 422, INVALID, "page_size"),
    ("GET /cases?page_size=1e3", 422, INVALID, "page_size"),
    ("GET /cases?page_size=", 422, INVALID, "page_size"),
    ("GET /cases?page_size=%00", 422, INVALID, "page_size"),
    ("GET /cases?page_size=501", 422, INVALID, "page_size"),
    ("GET /cases?page_size=" + "9" * 400, 422, INVALID, "page_size"),
    # page_token (the {…} ones are filled in by the test)
    ("GET /cases?page_token=garbage", 400, BAD_TOKEN, "page_token"),
    ("GET /cases?page_token=%FF%00", 400, BAD_TOKEN, "page_token"),
    ("GET /cases?page_token=" + "A" * 513, 422, INVALID, "page_token"),
    ("GET /cases?page_token=", 422, INVALID, "page_token"),
    ("GET /cases?page_token={truncated}", 400, BAD_TOKEN, "page_token"),
    ("GET /cases?page_token={tampered}", 400, BAD_TOKEN, "page_token"),
    ("GET /cases?page_token={other_key}", 400, BAD_TOKEN, "page_token"),
    ("GET /cases?page_token={genuine}&status=complete", 400, OTHER_QUERY, "page_token"),
    ("GET /cases?page_token={genuine}&status=submitted", 400, OTHER_QUERY, "page_token"),
    ("GET /cases?page_token={forged_far_past}", 400, BAD_TOKEN, "page_token"),
    ("GET /cases?page_token={forged_far_future}", 400, BAD_TOKEN, "page_token"),
    ("GET /cases?page_token={forged_naive}", 400, BAD_TOKEN, "page_token"),
    ("GET /cases?page_token={forged_sql_id}", 400, BAD_TOKEN, "page_token"),
    ("GET /cases?page_token={forged_nul_id}", 400, BAD_TOKEN, "page_token"),
    ("GET /cases?page_token={forged_number_id}", 400, BAD_TOKEN, "page_token"),
    ("GET /cases?page_token={forged_list_id}", 400, BAD_TOKEN, "page_token"),
    ("GET /cases?page_token={forged_object}", 400, BAD_TOKEN, "page_token"),
    ("GET /cases?page_token={forged_string}", 400, BAD_TOKEN, "page_token"),
    ("GET /cases?page_token={forged_short}", 400, BAD_TOKEN, "page_token"),
    # status and view
    ("GET /cases?status=done", 422, INVALID, "status"),
    ("GET /cases?status=COMPLETE", 422, INVALID, "status"),
    ("GET /cases?status=", 422, INVALID, "status"),
    ("GET /cases?status=complete%00", 422, INVALID, "status"),
    ("GET /cases?status=' OR 1=1 --", 422, INVALID, "status"),
    ("GET /cases?view=everything", 422, INVALID, "view"),
    ("GET /cases?view=", 422, INVALID, "view"),
    ("GET /cases?view=FULL", 422, INVALID, "view"),
    # duplicate query parameters
    ("GET /cases?page_size=1&page_size=500", 422, INVALID, "page_size"),
    ("GET /cases?status=complete&status=submitted", 422, INVALID, "status"),
    ("GET /cases?view=full&view=full", 422, INVALID, "view"),
    ("GET /cases?page_token={genuine}&page_token={genuine}", 422, INVALID, "page_token"),
    # wrong methods
    ("PUT /cases", 405, WRONG_METHOD, None),
    ("DELETE /cases", 405, WRONG_METHOD, None),
    ("PATCH /cases", 405, WRONG_METHOD, None),
    ("TRACE /cases", 405, WRONG_METHOD, None),
    ("POST /cases/" + ANY_ID, 405, WRONG_METHOD, None),
    ("PUT /cases/" + ANY_ID, 405, WRONG_METHOD, None),
    ("DELETE /cases/" + ANY_ID, 405, WRONG_METHOD, None),
    ("POST /openapi.json", 405, WRONG_METHOD, None),
]

ALLOW = {
    "/cases": {"GET", "HEAD", "OPTIONS", "POST"},
    "/cases/" + ANY_ID: {"GET", "HEAD", "OPTIONS"},
    "/openapi.json": {"GET", "HEAD", "OPTIONS"},
}


@pytest.fixture
def tokens(http: FlaskClient, frozen: FrozenDateTimeFactory) -> dict[str, str]:
    """Genuine, damaged and forged page tokens, for a database with a few cases."""
    for _ in range(3):
        http.post("/cases")
        frozen.tick(1)
    genuine = http.get("/cases?page_size=1").json["next_page_token"]
    payload_part, signature = genuine.split(".")
    flipped = ("B" if payload_part[5] == "A" else "A").join((payload_part[:5], payload_part[6:]))
    when = "2026-03-01T12:00:00+00:00"
    return {
        "genuine": genuine,
        "truncated": genuine[:-4],
        "tampered": f"{flipped}.{signature}",
        "other_key": forge([when, ANY_ID, ""], key="someone-else's-key"),
        "forged_far_past": forge(["0001-01-01T00:00:00+14:00", ANY_ID, ""]),
        "forged_far_future": forge(["9999-12-31T23:59:59-14:00", ANY_ID, ""]),
        "forged_naive": forge(["2026-03-01T12:00:00", ANY_ID, ""]),
        "forged_sql_id": forge([when, "case_' OR 1=1 --", ""]),
        "forged_nul_id": forge([when, "case_\x00" + "0" * 23, ""]),
        "forged_number_id": forge([when, 12, ""]),
        "forged_list_id": forge([when, [ANY_ID], ""]),
        "forged_object": forge({"created_at": when, "case_id": ANY_ID, "status": ""}),
        "forged_string": forge("abc"),
        "forged_short": forge([when, ANY_ID]),
    }


def send(http: FlaskClient, request: str, **kwargs: Any) -> Any:
    method, url = request.split(" ", 1)
    return http.open(url, method=method, **kwargs)


def assert_json_error(response: Any, status: int, message: str) -> dict[str, Any]:
    body = response.get_json()
    assert (status, "application/json") == (response.status_code, response.mimetype)
    assert {"code": status, "status": PHRASES[status], "message": message} == {
        k: body[k] for k in ("code", "status", "message")
    }
    assert set(body) <= {"code", "status", "message", "errors"}
    assert "Traceback" not in response.get_data(as_text=True)
    assert "nosniff" == response.headers["X-Content-Type-Options"]
    return body  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("request_line", "status", "message", "parameter"),
    HOSTILE,
    ids=[row[0][:60] for row in HOSTILE],
)
def test_hostile_request_gets_its_json_error(
    http: FlaskClient,
    tokens: dict[str, str],
    request_line: str,
    status: int,
    message: str,
    parameter: str | None,
) -> None:
    """Each hostile request answers its exact status, message and parameter, in JSON."""
    response = send(http, request_line.format(**tokens))
    body = assert_json_error(response, status, message)

    if parameter is None:
        assert "errors" not in body
    else:
        assert [parameter] == list(body["errors"]["query"])
    if status == 405:
        path = request_line.split(" ", 1)[1]
        assert ALLOW[path] == {m.strip() for m in response.headers["Allow"].split(",")}
    # Nothing about any case leaks into an error, whatever the token said.
    assert "case_" not in response.get_data(as_text=True).replace(ANY_ID, "")


def test_nothing_hostile_wrote_anything(http: FlaskClient, tokens: dict[str, str]) -> None:
    """After the whole table, the database still holds exactly the cases created on purpose."""
    for request_line, *_ in HOSTILE:
        send(http, request_line.format(**tokens))

    listed = http.get("/cases?page_size=500").json["cases"]
    assert 3 == len(listed)


BODIES = [
    # (what, request kwargs, status)
    ("no body", {}, 201),
    ("empty body", {"data": b""}, 201),
    ("small non-JSON body", {"data": b"\x00\xff not json"}, 201),
    # JSON bodies are POST's optional {"sample": KEY}: nothing else is taken, nor ignored.
    ("small JSON body", {"json": {"case_id": ANY_ID, "status": "complete"}}, 422),
    ("wrong content type", {"data": "<case/>", "content_type": "application/xml"}, 201),
    ("form body", {"data": {"status": "complete"}}, 201),
    ("body at the limit", {"data": b"x" * 16_384}, 201),
    ("body one byte over", {"data": b"x" * 16_385}, 413),
    ("huge body", {"data": b"x" * 5_000_000}, 413),
    ("huge JSON body", {"json": {"x": "y" * 1_000_000}}, 413),
    ("huge multipart body", {"data": {"file": (io.BytesIO(b"x" * 100_000), "r.pdf")}}, 413),
]


@pytest.mark.parametrize(("what", "kwargs", "status"), BODIES, ids=[b[0] for b in BODIES])
def test_post_bodies(http: FlaskClient, what: str, kwargs: dict[str, Any], status: int) -> None:
    """POST /cases reads only a JSON body (its optional {"sample": KEY}): any other within
    the limit is ignored, so its type and content make no difference; a JSON body with any
    other field is a 422; one over the limit is a JSON 413. Neither creates anything."""
    response = http.post("/cases", **kwargs)

    assert status == response.status_code
    if status == 201:
        assert "submitted" == response.json["status"]  # the body's "status" was ignored
        assert ANY_ID != response.json["case_id"]
    elif status == 422:
        assert {"case_id", "status"} == set(response.json["errors"]["json"])
        assert [] == http.get("/cases").json["cases"]
    else:
        assert_json_error(response, 413, TOO_LARGE)
        assert [] == http.get("/cases").json["cases"]


@pytest.mark.parametrize(("size", "status"), [(0, 201), (16_384, 201), (16_385, 413)])
def test_chunked_body_cannot_bypass_the_limit(http: FlaskClient, size: int, status: int) -> None:
    """A chunked body (no Content-Length) is held to the same limit as any other."""
    response = http.post(
        "/cases",
        input_stream=io.BytesIO(b"x" * size),
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},  # what granian (and gunicorn) set
    )

    assert status == response.status_code
    if status == 413:
        assert_json_error(response, 413, TOO_LARGE)


class BrokenChunks:
    """A chunked body that cannot be de-chunked: werkzeug's server raises OSError like this
    for a bad chunk size (``zz``), a missing CRLF, or a client gone mid-chunk."""

    def read(self, _size: int = -1) -> bytes:
        raise OSError("Invalid chunk header")


def test_a_malformed_chunked_body_is_a_json_400(http: FlaskClient) -> None:
    """A chunked body the server fails to de-chunk is a JSON 400 (not a 500) and creates
    nothing."""
    response = http.post(
        "/cases",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input": BrokenChunks(), "wsgi.input_terminated": True},
    )

    assert_json_error(response, 400, UNREADABLE)
    assert [] == http.get("/cases").json["cases"]


@pytest.mark.parametrize("declared", ["100", "16384"])
def test_a_body_shorter_than_its_content_length_is_a_json_400(
    http: FlaskClient, declared: str
) -> None:
    """A body that ends before the length its Content-Length declares (the client stopped
    sending) is a JSON 400 and creates nothing."""
    response = http.post("/cases", data=b"{}", environ_overrides={"CONTENT_LENGTH": declared})

    assert_json_error(response, 400, CUT_SHORT)
    assert [] == http.get("/cases").json["cases"]


@pytest.mark.parametrize("declared", ["zz", "-1", "1.5", " 2", "\u0662"])
def test_a_content_length_that_is_no_length_is_a_json_400(
    http: FlaskClient, declared: str
) -> None:
    """A Content-Length that is not a plain decimal length (granian refuses it before the
    app; werkzeug's --dev server would read it as 0) is a JSON 400."""
    response = http.post("/cases", data=b"{}", environ_overrides={"CONTENT_LENGTH": declared})

    assert_json_error(response, 400, BAD_LENGTH)


def test_limit_applies_to_every_route(http: FlaskClient) -> None:
    """A GET with a huge body is refused too: the limit is checked before routing matters."""
    for url in ("/cases", f"/cases/{ANY_ID}", "/openapi.json", "/nowhere"):
        assert_json_error(http.get(url, data=b"x" * 20_000), 413, TOO_LARGE)


def test_no_redirect_names_the_host_a_client_sent(app: Flask) -> None:
    """No route, asked with a doubled slash, a trailing slash or a leading double one, answers
    a redirect to the Host header the client chose (werkzeug's merge-slashes redirect did:
    issue 22). The paths go in as a server hands them over (the test client would read a
    leading ``//`` as a host)."""
    paths = [
        rule.rule.replace("<path:filename>", "x.css").replace("<case_id>", "case_x")
        for rule in app.url_map.iter_rules()
    ]
    variants = {v for p in paths for v in (p, p + "/", p.replace("/", "//"), "/" + p)}
    locations = {v: location_for(app, v, host="evil.example") for v in variants}

    assert {} == {v: loc for v, loc in locations.items() if "evil.example" in loc}
    assert [] == [
        r.rule for r in app.url_map.iter_rules() if r.rule.endswith("/") and r.rule != "/"
    ]


def location_for(app: Flask, path: str, host: str) -> str:
    """The Location header (or "") of a GET of ``path`` with ``host`` as its Host header."""
    environ = EnvironBuilder(path="/", headers={"Host": host}).get_environ()
    environ["PATH_INFO"] = path
    seen: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> None:
        seen.extend(value for name, value in headers if name.lower() == "location")

    for _ in app(environ, start_response):
        pass
    return "".join(seen)


@pytest.mark.parametrize(
    ("protocol", "host", "status"),
    [
        ("HTTP/1.1", None, 400),  # no Host
        ("HTTP/1.1", "", 400),  # what granian hands over for no Host
        ("HTTP/1.1", "a.example,b.example", 400),  # two Host headers, as granian joins them
        ("HTTP/1.1", "localhost:8000", 200),
        ("HTTP/1.0", None, 200),  # HTTP/1.0 needs none (HAProxy's health checks send none)
    ],
)
def test_an_http_11_request_has_exactly_one_host(
    app: Flask, protocol: str, host: str | None, status: int
) -> None:
    """HTTP/1.1 says 400 for a missing or duplicated Host (both were accepted: issue 22), in
    the JSON error format."""
    environ = EnvironBuilder(path="/cases").get_environ()
    environ["SERVER_PROTOCOL"] = protocol
    environ.pop("HTTP_HOST", None)
    if host is not None:
        environ["HTTP_HOST"] = host
    seen: list[str] = []
    body = b"".join(app(environ, lambda s, h, *e: seen.append(s)))

    assert str(status) == seen[0].split()[0]
    if status == 400:
        assert 400 == json.loads(body)["code"]
