"""Log redaction: no query string and nothing token-like survives in a logged request."""

from __future__ import annotations

import logging

import pytest

from casesvc.redaction import REDACTED, redact, redact_access_record
from casesvc.service import new_case_id
from tests.tokens import TOKEN_A

CASE_ID = "case_0123456789abcdef01234567"  # case_ and 24 hex digits, as new_case_id makes


@pytest.mark.parametrize(
    ("logged", "expected"),
    [
        (f"/cases/{CASE_ID}", f"/cases/{CASE_ID}"),  # 29 characters: readable
        (f"/cases/{TOKEN_A}", f"/cases/{REDACTED}"),
        (f"/{TOKEN_A}/x", f"/{REDACTED}/x"),
        ("/" + "a" * 31, "/" + "a" * 31),
        ("/" + "a" * 32, f"/{REDACTED}"),
        (f"/cases/{TOKEN_A}.{TOKEN_A}", f"/cases/{REDACTED}"),
        # A token with `.` or `~` slipped in mid-way (issue 22: each half was under 32).
        (f"/cases/{TOKEN_A[:20]}.{TOKEN_A[20:]}", f"/cases/{REDACTED}"),
        (f"/cases/{TOKEN_A[:16]}~{TOKEN_A[16:]}/x", f"/cases/{REDACTED}/x"),
        (
            "/docs/static/swagger-ui-standalone-preset.js",
            "/docs/static/swagger-ui-standalone-preset.js",
        ),
        (f"/cases?access_token={TOKEN_A}&page_size=1", "/cases"),
        (f'"GET /cases?access_token={TOKEN_A} HTTP/1.1" 401 -', '"GET /cases HTTP/1.1" 401 -'),
        (
            f"Bad request syntax ('GET /{TOKEN_A} HTTP/1.1 x')",
            f"Bad request syntax ('GET /{REDACTED} HTTP/1.1 x')",
        ),
        (
            "/docs/static/swagger-ui-standalone-preset.js",
            "/docs/static/swagger-ui-standalone-preset.js",
        ),
    ],
)
def test_redact(logged: str, expected: str) -> None:
    """A query string goes, and every run of 32 or more URL-safe characters (the shortest
    API token) is replaced; a case id and the app's own paths stay as they are."""
    assert expected == redact(logged)


def test_a_new_case_id_stays_readable() -> None:
    """Any case id the service makes (29 characters) is logged as it is."""
    case_id = new_case_id()

    assert f"/cases/{case_id}" == redact(f"/cases/{case_id}")


def test_redact_access_record() -> None:
    """granian's access record (its fields as a mapping) keeps every field but a redacted
    path, and is still logged."""
    fields = {"method": "GET", "path": f"/cases/{TOKEN_A}", "query_string": "", "status": 404}
    record = logging.LogRecord("granian.access", logging.INFO, "", 0, "%(path)s", (fields,), None)

    assert (True, {**fields, "path": f"/cases/{REDACTED}"}) == (
        redact_access_record(record),
        record.args,
    )
    assert f"/cases/{REDACTED}" == record.getMessage()


@pytest.mark.parametrize(
    ("logged", "expected"),
    [
        (
            '/dashboard/case/x\n[2026-12-06 00:00:00 +0000] 203.0.113.9 - "POST /cases" 201\n',
            '/dashboard/case/x\\n[2026-12-06 00:00:00 +0000] 203.0.113.9 - "POST /cases" 201\\n',
        ),
        ("/x\x1b]0;pwned\x07\x1b[2J", "/x\\x1b]0;pwned\\x07\\x1b[2J"),
        ("/x\r\x00\x7f\x85\x9f", "/x\\r\\x00\\x7f\\x85\\x9f"),
        ("/caf\xe9/\u2028/\\x0a", "/caf\\xe9/\\u2028/\\\\x0a"),
    ],
)
def test_redact_escapes_what_could_forge_a_line_or_drive_a_terminal(
    logged: str, expected: str
) -> None:
    """Control characters (C0, DEL, C1), everything beyond printable ASCII and the backslash
    are written escaped, so one request is one line and a terminal sees plain text."""
    assert expected == redact(logged)


def test_every_byte_escaped_leaves_printable_ascii_only() -> None:
    """All 256 byte values, as a WSGI path carries them (latin-1): the result is printable
    ASCII, and no two inputs give the same output."""
    outputs = {redact("/" + chr(byte)) for byte in range(256)}
    assert 256 == len(outputs)
    assert all(all(0x20 <= ord(c) <= 0x7E for c in out) for out in outputs)
