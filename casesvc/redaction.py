"""What a log may say about a request: never a token, wherever the client put it.

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
# 24 hex digits, 29 characters) and every path of the app's own are shorter, so stay readable.
_TOKEN_LIKE = re.compile(r"[A-Za-z0-9_-]{32,}")
# A query string, up to the end of the request target it is part of.
_QUERY = re.compile(r"\?\S*")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """``text`` (a request path, or a log line quoting a request target) without any query
    string, and with every run of 32 or more URL-safe characters replaced by REDACTED."""
    return _TOKEN_LIKE.sub(REDACTED, _QUERY.sub("", text))


def redact_access_record(record: logging.LogRecord) -> bool:
    """A filter for granian's access logger (``granian.access``), whose records carry their
    fields as a mapping: the path is redacted, everything else kept."""
    fields = record.args
    if isinstance(fields, Mapping):
        path = fields.get("path")
        if isinstance(path, str):
            record.args = {**fields, "path": redact(path)}
    return True
