"""Case JSON without a per-request marshmallow dump.

A case's document is its identity (``case_id``, ``status``, ``created_at``) around content that
depends only on its sample determination and its stage, which are immutable. So the content
is dumped through the schema once per (determination, stage, view), and each response splices
the identity around it. The result is byte-for-byte what the schema path gives (a test checks
every stage and view): the schemas stay the contract, this only skips re-checking data the
service built itself.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from json.encoder import encode_basestring_ascii  # what json.dumps uses for a str
from typing import Any

from flask import Response

from casesvc.schemas import CaseListItemSchema, CaseSchema
from casesvc.service import CaseView

_IDENTITY = ("case_id", "status", "created_at")


def dumps(value: Any) -> str:
    """Flask's compact JSON, as ``jsonify`` writes it outside debug mode."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


class Renderer:
    def __init__(self) -> None:
        self._content: dict[tuple[str, str, bool], str] = {}
        self._schemas = {True: CaseSchema(), False: CaseListItemSchema()}

    def _content_of(self, view: CaseView, full: bool) -> str:
        key = (view.determination.key, view.status.value, full)
        content = self._content.get(key)
        if content is None:
            dumped = self._schemas[full].dump(view.document(full=full))
            rest = {k: v for k, v in dumped.items() if k not in _IDENTITY}
            content = self._content[key] = dumps(rest)[1:-1]
        return content

    def case(self, view: CaseView, *, full: bool = True) -> str:
        """One case's JSON document."""
        created_at = view.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
        return (
            f'{{"case_id":{encode_basestring_ascii(view.case_id)},"status":"{view.status.value}",'
            f'{self._content_of(view, full)},"created_at":"{created_at}"}}'
        )

    def page(self, views: Iterable[CaseView], next_page_token: str | None, *, full: bool) -> str:
        cases = ",".join(self.case(v, full=full) for v in views)
        return f'{{"cases":[{cases}],"next_page_token":{dumps(next_page_token)}}}'


def json_response(body: str, status: int, headers: dict[str, str]) -> Response:
    return Response(body + "\n", status, headers, content_type="application/json")
