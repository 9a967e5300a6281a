"""The case representation: its document, its ETag, and its JSON without a per-request dump.

A case's document is a few per-case fields (``case_id``, ``status``, ``created_at``) around
content that depends only on its sample determination, its stage and the view, all immutable.
So that content is dumped through the schema once per (determination, stage, view) by
``stage_fields``, a function that is never given the case, and each response splices the
per-case fields around it. The result is byte-for-byte what the schema path gives (tests check
every stage and view, and that nothing of one case shows in another): the schemas stay the
contract, this only skips re-checking data the service built itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable
from json.encoder import encode_basestring_ascii  # what json.dumps uses for a str
from typing import TYPE_CHECKING, Any

from flask import Response
from werkzeug.datastructures import Headers
from werkzeug.urls import iri_to_uri

from casesvc.determinations import Determination
from casesvc.lifecycle import Status
from casesvc.schemas import CaseListItemSchema, CaseSchema
from casesvc.service import CaseSnapshot

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

# A URL path that IRI-to-URI conversion leaves as it is.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9/._~-]*")


def stage_fields(determination: Determination, status: Status, *, full: bool) -> dict[str, Any]:
    """What a case shows at ``status``: a function of its sample, its stage and the view
    alone. The summary appears at processing; the steps and the verdict at complete."""
    complete = status is Status.COMPLETE
    fields: dict[str, Any] = {
        "procedure_name": determination.procedure_name,
        "cpt_codes": list(determination.cpt_codes),
        "summary": None if status is Status.SUBMITTED else determination.summary,
        "is_met": determination.is_met if complete else False,
        "is_complete": complete,
    }
    if full:
        fields["steps"] = list(determination.steps) if complete else []
    return fields


def document(case: CaseSnapshot, *, full: bool = True) -> dict[str, Any]:
    """The case representation, keys in the reference order, ready for a schema dump."""
    return {
        "case_id": case.case_id,
        "status": case.status,
        **stage_fields(case.determination, case.status, full=full),
        "created_at": case.created_at,
    }


def etag(case: CaseSnapshot) -> str:
    """Changes exactly when the representation does: with the status, or the sample."""
    seed = f"{case.case_id}:{case.status.value}:{case.determination.digest}"
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


def dumps(value: Any) -> str:
    """Flask's compact JSON, as ``jsonify`` writes it outside debug mode."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


class Renderer:
    """Case JSON from a per-stage cache plus each case's own fields."""

    def __init__(self) -> None:
        self._stages: dict[tuple[str, str, Status, bool], str] = {}
        self._schemas = {True: CaseSchema(), False: CaseListItemSchema()}

    def _stage_json(self, determination: Determination, status: Status, full: bool) -> str:
        """The stage's fields as JSON members, without braces: dumped once, then reused."""
        key = (determination.key, determination.digest, status, full)
        found = self._stages.get(key)
        if found is None:
            dumped = self._schemas[full].dump(stage_fields(determination, status, full=full))
            found = self._stages[key] = dumps(dumped)[1:-1]
        return found

    def case(self, case: CaseSnapshot, *, full: bool = True) -> str:
        """One case's JSON document."""
        created_at = case.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
        stage = self._stage_json(case.determination, case.status, full)
        return (
            f'{{"case_id":{encode_basestring_ascii(case.case_id)},"status":"{case.status.value}",'
            f'{stage},"created_at":"{created_at}"}}'
        )

    def page(
        self, cases: Iterable[CaseSnapshot], next_page_token: str | None, *, full: bool
    ) -> str:
        body = ",".join(self.case(c, full=full) for c in cases)
        return f'{{"cases":[{body}],"next_page_token":{dumps(next_page_token)}}}'


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
