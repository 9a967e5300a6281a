"""Marshmallow schemas: the shape of every document casesvc sends (and the OpenAPI contract).

They import nothing from Flask, so the CLI prints exactly what the API sends.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from casesvc.lifecycle import Status

STATUSES = [s.value for s in Status]


class UTCDateTime(fields.DateTime):
    """RFC 3339 with microseconds and an explicit UTC offset."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return str(value.astimezone(dt.UTC).isoformat(timespec="microseconds"))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.datetime:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC)


class StrictSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class EvidenceSchema(StrictSchema):
    content = fields.String(required=True, metadata={"description": "Quote from the record."})
    page_number = fields.Integer(required=True)
    pdf_name = fields.String(required=True)
    event_datetime = UTCDateTime(required=True, allow_none=True)


class StepOptionSchema(StrictSchema):
    key = fields.String(required=True)
    text = fields.String(required=True)
    selected = fields.Boolean(required=True)


class LogicItemSchema(StrictSchema):
    text = fields.String(required=True)
    selected = fields.Boolean(required=True)


class StepSchema(StrictSchema):
    key = fields.String(required=True)
    question = fields.String(required=True)
    options = fields.List(fields.Nested(StepOptionSchema), required=True)
    logic = fields.List(
        fields.Nested(LogicItemSchema),
        metadata={"description": "Routing rules; absent on steps that have none."},
    )
    reasoning = fields.String(required=True)
    decision = fields.String(required=True)
    next_step = fields.String(required=True)
    is_met = fields.Boolean(required=True)
    is_final = fields.Boolean(required=True)
    evidence = fields.List(fields.Nested(EvidenceSchema), required=True)


class DeterminationSchema(StrictSchema):
    """A sample determination in ``assets/``: a complete case without its identity."""

    procedure_name = fields.String(required=True)
    cpt_codes = fields.List(fields.String(), required=True)
    summary = fields.String(required=True)
    is_met = fields.Boolean(required=True)
    steps = fields.List(fields.Nested(StepSchema), required=True)


class CaseListItemSchema(ma.Schema):
    """A case as listed: the basic view leaves ``steps`` out, ``view=full`` includes them."""

    case_id = fields.String(required=True, metadata={"example": "case_0f3a9c1e5b7d2a4c6e8f0a1b"})
    status = fields.Enum(Status, by_value=True, required=True)
    procedure_name = fields.String(required=True)
    cpt_codes = fields.List(fields.String(), required=True)
    summary = fields.String(
        required=True, allow_none=True, metadata={"description": "Null until processing."}
    )
    is_met = fields.Boolean(
        required=True,
        metadata={"description": "Whether the criteria are met; false until complete."},
    )
    is_complete = fields.Boolean(
        required=True, metadata={"description": "True once the review is complete."}
    )
    steps = fields.List(
        fields.Nested(StepSchema),
        metadata={"description": "Present with view=full; empty until complete."},
    )
    created_at = UTCDateTime(required=True)


class CaseSchema(CaseListItemSchema):
    """A case, as ``GET /cases/{case_id}`` returns it."""

    steps = fields.List(
        fields.Nested(StepSchema),
        required=True,
        metadata={"description": "The determination's steps; empty until complete."},
    )
    created_at = UTCDateTime(required=True)


class CasePageSchema(ma.Schema):
    cases = fields.List(fields.Nested(CaseListItemSchema), required=True)
    next_page_token = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Pass as page_token for the next page; null on the last."},
    )


class CaseListQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    page_size = fields.Integer(
        load_default=50, validate=validate.Range(min=1, max=500), metadata={"example": 50}
    )
    page_token = fields.String(
        validate=validate.Length(min=1, max=512),
        metadata={"description": "Opaque cursor from a previous page's next_page_token."},
    )
    status = fields.Enum(Status, by_value=True, metadata={"description": "Current status."})
    view = fields.String(load_default="basic", validate=validate.OneOf(["basic", "full"]))


class ApiErrorSchema(ma.Schema):
    """Every 4xx and 5xx answer has this body."""

    code = fields.Integer(required=True, metadata={"description": "HTTP status code"})
    status = fields.String(required=True, metadata={"description": "HTTP status name"})
    message = fields.String(metadata={"description": "What went wrong"})
    errors = fields.Dict(metadata={"description": "Details, e.g. per-parameter messages"})
