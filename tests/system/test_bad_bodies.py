"""Bad request bodies over the wire: a JSON 400 where the app can see the fault, nothing once
the client is gone, never a 500 and never a traceback, through granian and the --dev server.

Raw sockets on loopback. A read ends on an event (the answers expected, or the server closing
the connection), never on a quiet spell; its socket timeout only turns a hang into a failure."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from urllib.parse import urlsplit

from tests.servers import cli, running_server

HEAD = b"POST /cases HTTP/1.1\r\nHost: x\r\n"
CHUNKED = HEAD + b"Transfer-Encoding: chunked\r\n\r\n"
CUT_SHORT = "The request body ended before the length its Content-Length declares."
UNREADABLE = "The request body could not be read: its chunked encoding is malformed or cut short."
HANG_SECONDS = 60  # only a hang waits this long: an answer comes in milliseconds


def exchange(base: str, raw: bytes, *, then: str = "half-close", answers: int = 1) -> bytes:
    """Send ``raw`` on a fresh connection, then half-close it (the client sends nothing more
    but still reads), close it for good ("close": the client is gone), or keep it open
    ("wait"); returns what the server sent until ``answers`` whole responses were in, or
    until it closed the connection."""
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=HANG_SECONDS) as sock:
        sock.sendall(raw)
        if then == "close":
            return b""  # closed on leaving the block: the client reads nothing more
        if then == "half-close":
            sock.shutdown(socket.SHUT_WR)
        received = b""
        try:
            while whole_responses(received) < answers and (data := sock.recv(65536)):
                received += data
        except ConnectionResetError:
            pass
        return received


def split_head(head: bytes) -> tuple[str, dict[str, str]]:
    """A response head's status line, and its headers (lower-cased names)."""
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (li.partition(":") for li in lines)}
    return status_line, headers


def whole_responses(received: bytes) -> int:
    """How many whole responses ``received`` holds, each body as long as its Content-Length."""
    count = 0
    while b"\r\n\r\n" in received:
        head, _, rest = received.partition(b"\r\n\r\n")
        length = int(split_head(head)[1].get("content-length", "0"))
        if len(rest) < length:
            break
        count, received = count + 1, rest[length:]
    return count


def parse(received: bytes) -> tuple[int, dict[str, str], bytes]:
    """The first response in ``received``: status, headers (lower-cased names), body."""
    head, _, rest = received.partition(b"\r\n\r\n")
    status_line, headers = split_head(head)
    length = int(headers.get("content-length", "0"))
    return int(status_line.split()[1]), headers, rest[:length]


def json_error(received: bytes) -> tuple[int, list[str], str | None, str | None]:
    """A JSON error's status, keys and message, and its nosniff header."""
    status, headers, body = parse(received)
    document = json.loads(body)
    return status, list(document), document.get("message"), headers.get("x-content-type-options")


def case_count(base: str) -> int:
    status, _, body = parse(exchange(base, b"GET /cases HTTP/1.1\r\nHost: x\r\n\r\n", then="wait"))
    assert 200 == status
    return len(json.loads(body)["cases"])


def test_bad_bodies_through_granian(database_url: str, tmp_path: Path) -> None:
    """Through granian: a body shorter than its Content-Length is a JSON 400 (nothing once
    the client is gone) and creates nothing; a longer one is the app's answer, then granian's
    own 400 for the surplus; chunked framing errors, which granian 2.8.9 ends the body at
    without telling the app, are answered as the body's end. No 500, no traceback."""
    cli(database_url, "db", "upgrade")
    log = tmp_path / "serve.log"
    with running_server(database_url, "--workers", "1", "--access-log", log=log) as (base, _):
        short = exchange(base, HEAD + b"Content-Length: 100\r\n\r\n{}")
        short_gone = exchange(base, HEAD + b"Content-Length: 100\r\n\r\n{}", then="close")
        cases_after_short = case_count(base)
        longer = exchange(
            base, HEAD + b"Content-Length: 2\r\n\r\n{}GARBAGE\r\n\r\n", then="wait", answers=2
        )
        bad_size = exchange(base, CHUNKED + b"zz\r\n{}\r\n0\r\n\r\n")
        dropped = exchange(base, CHUNKED + b"10\r\n{}")
        exchange(base, CHUNKED + b"10\r\n{}", then="close")

    output = log.read_text()
    assert (400, ["code", "status", "message"], CUT_SHORT, "nosniff") == json_error(short)
    assert (b"", 0) == (short_gone, cases_after_short)
    first, status_line, second = longer.partition(b"HTTP/1.1 400")
    status, headers, body = parse(status_line + second)
    assert [201, 400, ["connection", "content-length", "date"], b""] == [
        parse(first)[0],
        status,
        sorted(headers),
        body,
    ]
    # granian hands the app the bytes before the framing error as the whole body: were an
    # upgrade to report the error, the app would answer 400 (UNREADABLE) and this would fail.
    assert [201, 201] == [parse(bad_size)[0], parse(dropped)[0]]
    assert "Traceback" not in output
    assert '" 500' not in output


def test_bad_bodies_through_the_dev_server(database_url: str, tmp_path: Path) -> None:
    """Through `casesvc serve --dev` (werkzeug), which reports chunk framing errors: a bad
    chunk size, a body cut mid-chunk and a body shorter than its Content-Length are each a
    JSON 400 that creates nothing. No 500, no traceback."""
    cli(database_url, "db", "upgrade")
    log = tmp_path / "serve.log"
    with running_server(database_url, "--dev", log=log) as (base, _):
        answers = [
            exchange(base, CHUNKED + b"zz\r\n{}\r\n0\r\n\r\n"),
            exchange(base, CHUNKED + b"10\r\n{}"),
            exchange(base, HEAD + b"Content-Length: 100\r\n\r\n{}"),
            exchange(base, HEAD + b"Content-Length: zz\r\n\r\n"),
        ]
        exchange(base, CHUNKED + b"10\r\n{}", then="close")
        cases = case_count(base)

    output = log.read_text()
    assert [
        (400, ["code", "status", "message"], UNREADABLE, "nosniff"),
        (400, ["code", "status", "message"], UNREADABLE, "nosniff"),
        (400, ["code", "status", "message"], CUT_SHORT, "nosniff"),
        (
            400,
            ["code", "status", "message"],
            "The Content-Length header is not a length in bytes.",
            "nosniff",
        ),
    ] == [json_error(answer) for answer in answers]
    assert 0 == cases
    assert "Traceback" not in output
    assert '" 500' not in output
