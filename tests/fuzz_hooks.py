"""Schemathesis hooks for casesvc, loaded through schemathesis.toml (`hooks = ...`), so the
suite and `schemathesis run` against a live server generate the same way.

A page token is opaque and server-issued: a schema-valid string the server never issued is
rightly refused (400). So a *valid* case that carries a page_token gets a genuine one, issued
by the API under test for the same status filter (or none, while no second page exists).
Invalid cases keep whatever they drew: those must be refused, and are checked to be.
"""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any

import schemathesis
from schemathesis.core.parameters import ParameterLocation
from werkzeug.test import Client

STATUSES = (None, "submitted", "processing", "complete")
# When the server requires a token, the token the fuzzer uses (the same for these look-ups).
TOKEN_VARIABLE = "CASESVC_FUZZ_TOKEN"

_issued: dict[tuple[str, str | None], str] = {}


def _first_page_token(case: Any, status: str | None) -> str | None:
    """The next_page_token of the first one-case page for ``status``, asked of the same API."""
    path = "/cases?page_size=1" + (f"&status={status}" if status else "")
    headers = {}
    if os.environ.get(TOKEN_VARIABLE):
        headers["Authorization"] = f"Bearer {os.environ[TOKEN_VARIABLE]}"
    app = case.operation.app
    if app is not None:
        body = Client(app).get(path, headers=headers).get_json(silent=True)
    else:
        base = case.operation.schema.get_base_url().rstrip("/")
        request = urllib.request.Request(base + path, headers=headers)
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.load(response)
    token = body.get("next_page_token") if isinstance(body, dict) else None
    return token if isinstance(token, str) else None


@schemathesis.hook
def map_case(_context: Any, case: Any) -> Any:
    meta, query = case.meta, case.query
    if meta is None or meta.is_negative_at(ParameterLocation.QUERY) or not query:
        return case
    if "page_token" not in query:
        return case
    status = query.get("status")
    if status not in STATUSES:
        return case
    app = case.operation.app
    key = (f"app:{id(app)}" if app is not None else case.operation.schema.get_base_url(), status)
    if key not in _issued:
        token = _first_page_token(case, status)
        if token is None:  # no second page yet: a valid request simply starts at the first
            del query["page_token"]
            return case
        _issued[key] = token
    query["page_token"] = _issued[key]
    return case
