"""HTTP answers around a case's JSON (casesvc/representation.py makes the JSON itself)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from flask import Response
from werkzeug.datastructures import Headers
from werkzeug.urls import iri_to_uri

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

# A URL path that IRI-to-URI conversion leaves as it is.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9/._~-]*")

_JSON_BODY: dict[str, Any] = {"content_type": "application/json", "direct_passthrough": True}


def json_response(
    body: str, status: int, headers: dict[str, str], location: str | None = None
) -> Response:
    """A JSON answer whose body reaches the server as the list werkzeug keeps it in
    (``direct_passthrough``: it is already bytes, nothing to encode on the way out). granian
    writes a list at once, where it would step through any other iterable from its own
    threads, taking the GIL for each step. werkzeug still sends no body for a HEAD. A
    ``location`` (from ``location_of``) makes it a ``Created``."""
    if location is None:
        return Response(body + "\n", status, headers, **_JSON_BODY)
    return Created(location, body + "\n", status, headers, **_JSON_BODY)


class Created(Response):
    """A created case's answer. Its Location joins the header list werkzeug prepares for the
    server, after that preparation: werkzeug runs any Location through its IRI-to-URI
    conversion (a URL split and a re-quote, a tenth of a create's cost in-process), and this
    one is a URI path already (``location_of``)."""

    def __init__(self, location_path: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.location_path = location_path

    def get_wsgi_headers(self, environ: WSGIEnvironment) -> Headers:
        headers = super().get_wsgi_headers(environ)
        headers.add("Location", self.location_path)
        return headers


def location_of(script_root: str, case_id: str) -> str:
    """The case's URL path, under the app's mount point (a proxy's SCRIPT_NAME, which may
    hold any character: quoted as werkzeug would, if it is not a plain path)."""
    if not _PLAIN_PATH.fullmatch(script_root):
        script_root = iri_to_uri(script_root)
    return f"{script_root}/cases/{case_id}"
