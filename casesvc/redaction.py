"""What a log may say about a request: never a token, wherever the client put it, and never a
character that could forge a line or drive a terminal.

A bearer token belongs in the Authorization header, which no log writes; but a client may
also put one in the query string (``?access_token=…``) or the path (``/cases/<token>``).
Every log line that names a request goes through ``redact``: granian's access log, the
``--dev`` server's request log (casesvc/serving.py) and Flask's line for an unhandled
error (``CasesvcFlask.log_exception``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

# API tokens are at least 32 characters of the URL-safe alphabet; a case id (``case_`` and
# 24 hex digits, 29 characters) and every path segment of the app's own (the longest,
# swagger-ui-standalone-preset.js, is 31) are shorter, so stay readable. A run may also hold
# `.` and `~` (URL-safe too): a token with one slipped in is still a token to hide.
_TOKEN_LIKE = re.compile(r"[A-Za-z0-9_.~-]{32,}")
# A query string, up to the end of the request target it is part of.
_QUERY = re.compile(r"\?\S*")
REDACTED = "[redacted]"
# What a client may not write into a log as it is: every control character (C0, DEL, C1: a
# newline forges a line, ESC drives a terminal), anything else beyond printable ASCII (so no
# byte of the output is ever read as C1 by a non-UTF-8 terminal), and the backslash (so that
# an escape in the log always means an escaped character).
_UNSAFE = re.compile(r"[^\x20-\x5b\x5d-\x7e]")


def escape(text: str) -> str:
    """``text`` with every character that is not printable ASCII, and the backslash, written
    as Python writes it in a string literal (``\\n``, ``\\x1b``, ``\\u2028``, ``\\\\``)."""
    return _UNSAFE.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


def redact(text: str) -> str:
    """``text`` (a request path, or a log line quoting a request target) without any query
    string, with every run of 32 or more URL-safe characters replaced by REDACTED, and with
    what a client could forge a line or an escape sequence with escaped (``escape``)."""
    return escape(_TOKEN_LIKE.sub(REDACTED, _QUERY.sub("", text)))


def redact_access_record(record: logging.LogRecord) -> bool:
    """A filter for granian's access logger (``granian.access``), whose records carry their
    fields as a mapping: the path is redacted, and every other text field escaped."""
    fields = record.args
    if isinstance(fields, Mapping):
        record.args = {
            name: (redact(value) if name == "path" else escape(value))
            if isinstance(value, str)
            else value
            for name, value in fields.items()
        }
    return True
