"""Who answers what, over the wire through granian: every answer of the app's carries the
security headers; the few that granian gives by itself, before the app, are pinned exactly,
so that an upgrade that changes them is noticed (docs/security.md lists them)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.servers import cli, running_server
from tests.system.test_bad_bodies import HEAD, exchange, parse
from tests.tokens import SECRET_KEY, TOKEN_A

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'",
}
AUTH = f"Authorization: Bearer {TOKEN_A}\r\n".encode()


def request(method: str, path: str, *headers: bytes, body: bytes = b"") -> bytes:
    """A raw HTTP/1.1 request that asks the server to close once it has answered."""
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".encode()
    return head + b"".join(headers) + b"\r\n" + body


def test_every_answer_of_the_app_carries_the_security_headers(
    database_url: str, tmp_path: Path
) -> None:
    """Through granian, with tokens on: a success, a body cut short (400), no token (401), an
    unknown path (404), a wrong method (405) and a body over the limit (413) are JSON with all
    four security headers."""
    cli(database_url, "db", "upgrade")
    env = dict(os.environ, CASESVC_API_TOKENS=TOKEN_A, CASESVC_SECRET_KEY=SECRET_KEY)
    with running_server(database_url, "--workers", "1", env=env) as (base, _):
        answers = [
            parse(exchange(base, request("POST", "/cases", AUTH), then="wait")),
            parse(exchange(base, HEAD + AUTH + b"Content-Length: 100\r\n\r\n{}")),
            parse(exchange(base, request("GET", "/cases"), then="wait")),
            parse(exchange(base, request("GET", "/nowhere", AUTH), then="wait")),
            parse(exchange(base, request("DELETE", "/cases", AUTH), then="wait")),
            parse(
                exchange(
                    base,
                    request("POST", "/cases", AUTH, b"Content-Length: 20000\r\n", body=b"x"),
                    then="wait",
                )
            ),
        ]

    assert [201, 400, 401, 404, 405, 413] == [status for status, _, _ in answers]
    for status, headers, _ in answers:
        assert ("application/json", SECURITY_HEADERS) == (
            headers["content-type"],
            {name: headers.get(name) for name in SECURITY_HEADERS},
        ), status


def test_what_granian_answers_itself(database_url: str, tmp_path: Path) -> None:
    """granian 2.8.9 refuses an over-long request line (414), too many headers (431) and a
    malformed request line or Content-Length (400) before the app: an empty body, no security
    headers, the connection closed. Never a 500, no traceback, nothing of any case."""
    cli(database_url, "db", "upgrade")
    log = tmp_path / "serve.log"
    many = b"".join(b"X-H%d: 1\r\n" % i for i in range(100))
    with running_server(database_url, "--workers", "1", "--access-log", log=log) as (base, _):
        answers = [
            exchange(base, request("GET", "/cases/" + "a" * 70_000), then="wait"),
            exchange(base, request("GET", "/cases", many), then="wait"),
            exchange(base, b"GARBAGE\r\n\r\n", then="wait"),
            exchange(base, request("POST", "/cases", b"Content-Length: zz\r\n"), then="wait"),
        ]

    output = log.read_text()
    assert [
        (414, ["connection", "content-length", "date"], "close", "0", b""),
        (431, ["connection", "content-length", "date"], "close", "0", b""),
        (400, ["connection", "content-length", "date"], "close", "0", b""),
        (400, ["connection", "content-length", "date"], "close", "0", b""),
    ] == [
        (status, sorted(headers), headers["connection"], headers["content-length"], body)
        for status, headers, body in map(parse, answers)
    ]
    assert [] == [answer for answer in answers if b"case_" in answer]
    assert "Traceback" not in output
    assert '" 500' not in output
    assert '"GET /cases' not in output  # the app never saw any of them
