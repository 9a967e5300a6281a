"""The case representation, shared by the API and the CLI: its document, its ETag, and its
JSON without a per-request dump. No web framework here: casesvc/api/responses.py wraps the
JSON in HTTP answers.

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
from collections.abc import Iterable
from json.encoder import encode_basestring_ascii  # what json.dumps uses for a str
from typing import Any

from casesvc.determinations import Determination
from casesvc.lifecycle import ORDER, STAGES, Status
from casesvc.schemas import CaseListItemSchema, CaseSchema
from casesvc.service import CaseSnapshot


def stage_fields(determination: Determination, status: Status, *, full: bool) -> dict[str, Any]:
    """What a case shows at ``status``: a function of its sample, its stage and the view
    alone, as ``lifecycle.STAGES`` says (the summary from processing; the steps and the
    verdict at complete)."""
    stage = STAGES[status]
    fields: dict[str, Any] = {
        "procedure_name": determination.procedure_name,
        "cpt_codes": list(determination.cpt_codes),
        "summary": determination.summary if stage.shows_summary else None,
        "is_met": determination.is_met if stage.shows_steps else False,
        "is_complete": status is ORDER[-1],
    }
    if full:
        fields["steps"] = list(determination.steps) if stage.shows_steps else []
    return fields


def document(case: CaseSnapshot, *, full: bool = True) -> dict[str, Any]:
    """The case representation, keys in the reference order, ready for a schema dump."""
    return {
        "case_id": case.case_id,
        "status": case.status,
        **stage_fields(case.determination, case.status, full=full),
        "created_at": case.created_at,
    }


def etag_of(case: CaseSnapshot) -> str:
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
