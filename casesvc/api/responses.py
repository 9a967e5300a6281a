"""HTTP answers around a case's JSON (casesvc/representation.py makes the JSON itself)."""

from __future__ import annotations

from typing import Any

from flask import Response

_JSON_BODY: dict[str, Any] = {"content_type": "application/json", "direct_passthrough": True}


def json_response(
    body: str, status: int, headers: dict[str, str], location: str | None = None
) -> Response:
    """A JSON answer whose body reaches the server as the list werkzeug keeps it in
    (``direct_passthrough``: it is already bytes, nothing to encode on the way out). granian
    writes a list at once, where it would step through any other iterable from its own
    threads, taking the GIL for each step. werkzeug still sends no body for a HEAD. A
    ``location`` (from ``location_of``) becomes the Location header."""
    if location is not None:
        headers = {**headers, "Location": location}
    return Response(body + "\n", status, headers, **_JSON_BODY)


def location_of(script_root: str, case_id: str) -> str:
    """The case's URL path, under the app's mount point (a proxy's SCRIPT_NAME, which may
    hold any character: werkzeug quotes every Location on the way out)."""
    return f"{script_root}/cases/{case_id}"
