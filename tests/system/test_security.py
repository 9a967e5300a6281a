"""Secure defaults over the wire, through granian: the body limit, URL limits and headers."""

from __future__ import annotations

import contextlib
import http.client
import json
from urllib.parse import urlsplit

from tests.servers import cli, running_server


def raw_request(
    base: str, method: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request on a fresh connection; a chunked body when Transfer-Encoding says so.
    The headers are matched case-insensitively (granian sends them in lower case). A server
    may answer (a 413) and close before the body is all sent: the answer is still read."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    try:
        # If the server stopped reading, its answer is already on the way.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            send(conn, method, path, body, headers)
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def send(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
) -> None:
    if headers.get("Transfer_Encoding") == "chunked":
        conn.putrequest(method, path)
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        assert body is not None
        for i in range(0, len(body), 4096):
            piece = body[i : i + 4096]
            conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        conn.send(b"0\r\n\r\n")
    else:
        conn.request(method, path, body=body, headers=headers)


def test_limits_and_headers_hold_through_the_server(database_url: str) -> None:
    """Through a real server: a chunked or declared body over the limit is a JSON 413, the
    security headers are there, a 10 KB URL reaches the app (a JSON 404), and a 70 KB one
    is refused by granian before the app, with an empty body."""
    cli(database_url, "db", "upgrade")
    with running_server(database_url, "--workers", "1", "--threads", "2") as (base, _):
        chunked = raw_request(base, "POST", "/cases", b"x" * 100_000, Transfer_Encoding="chunked")
        small_chunked = raw_request(base, "POST", "/cases", b"{}", Transfer_Encoding="chunked")
        declared = raw_request(base, "POST", "/cases", b"x" * 16_385)
        nul = raw_request(base, "GET", "/cases/case_%00%FF")
        long_url = raw_request(base, "GET", "/cases/" + "a" * 10_240)
        too_long_url = raw_request(base, "GET", "/cases/" + "a" * 70_000)
        after = raw_request(base, "GET", "/cases")

    for status, headers, body in (chunked, declared):
        assert (413, "application/json") == (status, headers["Content-Type"])
        assert 413 == json.loads(body)["code"]
    assert 201 == small_chunked[0]
    assert (404, "No case has this id.") == (nul[0], json.loads(nul[2])["message"])
    for _, headers, _ in (chunked, small_chunked, declared, nul, after):
        assert ("nosniff", "no-referrer", "DENY") == (
            headers["X-Content-Type-Options"],
            headers["Referrer-Policy"],
            headers["X-Frame-Options"],
        )
    assert (404, "application/json") == (long_url[0], long_url[1]["Content-Type"])
    assert (414, b"") == too_long_url[::2]  # granian's limit on the request head (64 KiB)
    assert 200 == after[0]
    assert 1 == len(json.loads(after[2])["cases"])
