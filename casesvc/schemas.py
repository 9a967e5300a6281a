"""Marshmallow schemas: the shape of every document casesvc sends (and the OpenAPI contract).

They import nothing from Flask, so the CLI prints exactly what the API sends.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from casesvc.lifecycle import Status, in_order

STATUSES = [s.value for s in Status]

# The most cases one page of GET /cases holds: in the basic view, and with `view=full`, whose
# cases carry their steps (~16 KB each), so that one request builds at most ~2 MB.
MAX_PAGE_SIZE = 500
MAX_FULL_PAGE_SIZE = 100


class ListView(enum.StrEnum):
    """How much of each case a list shows."""

    BASIC = "basic"
    FULL = "full"


# Enums that the OpenAPI document names as schemas of their own (with these descriptions),
# so that a generated client has one type for each wherever it appears.
NAMED_ENUMS: dict[type[enum.Enum], tuple[str, str]] = {
    Status: (
        "CaseStatus",
        f"Where the case is in its review: {in_order()}.",
    ),
    ListView: ("CaseView", "`basic` lists cases without their steps; `full` includes them."),
}


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
    class Meta(StrictSchema.Meta):
        description = "A quotation from the medical record that supports a step's decision."

    content = fields.String(required=True, metadata={"description": "Quote from the record."})
    page_number = fields.Integer(required=True)
    pdf_name = fields.String(required=True)
    event_datetime = UTCDateTime(
        required=True,
        allow_none=True,
        metadata={
            "description": "When the quoted event happened; null when the record is undated."
        },
    )


class StepOptionSchema(StrictSchema):
    class Meta(StrictSchema.Meta):
        description = "One possible answer to a step's question."

    key = fields.String(required=True)
    text = fields.String(required=True)
    selected = fields.Boolean(required=True)


class LogicItemSchema(StrictSchema):
    class Meta(StrictSchema.Meta):
        description = "A routing rule of a step."

    text = fields.String(required=True)
    selected = fields.Boolean(required=True)


class StepSchema(StrictSchema):
    class Meta(StrictSchema.Meta):
        description = "One question of the determination, its answer and the evidence for it."

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


class ReviewSecondsSchema(StrictSchema):
    """A sample's own timing under the ``timed`` lifecycle, in seconds from creation."""

    processing = fields.Float(required=True, validate=validate.Range(min=0))
    complete = fields.Float(required=True, validate=validate.Range(min=0))

    @ma.validates_schema
    def _in_order(self, data: dict[str, Any], **_: Any) -> None:
        if data["complete"] < data["processing"]:
            raise ma.ValidationError("must not be before processing", "complete")


class DeterminationSchema(StrictSchema):
    """A sample determination in ``assets/``: a complete case without its identity, and
    optionally its own ``review_seconds``."""

    procedure_name = fields.String(required=True)
    cpt_codes = fields.List(fields.String(), required=True)
    summary = fields.String(required=True)
    is_met = fields.Boolean(required=True)
    steps = fields.List(fields.Nested(StepSchema), required=True)
    review_seconds = fields.Nested(ReviewSecondsSchema)


class CaseCreateSchema(StrictSchema):
    """``POST /cases``'s optional body."""

    class Meta(StrictSchema.Meta):
        description = "What the new case shows. Optional: without it, a sample is picked."

    sample = fields.String(
        allow_none=True,
        metadata={
            "description": "The key of the sample determination the case shows (`casesvc "
            "samples` lists them). Absent or null: one picked by the case's id.",
            "example": "lumbar-mri-met",
        },
    )


class CaseListItemSchema(ma.Schema):
    """A case as listed: the basic view leaves ``steps`` out, ``view=full`` includes them."""

    class Meta:
        description = "A case as listed: `steps` only with `view=full`."

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

    class Meta:
        description = "A prior-authorization case at one instant of its review."

    steps = fields.List(
        fields.Nested(StepSchema),
        required=True,
        metadata={"description": "The determination's steps; empty until complete."},
    )
    created_at = UTCDateTime(required=True)


class CasePageSchema(ma.Schema):
    class Meta:
        description = "A page of cases, newest first."

    cases = fields.List(fields.Nested(CaseListItemSchema), required=True)
    next_page_token = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Pass as page_token for the next page; null on the last."},
    )


class CaseListQuerySchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    @ma.pre_load
    def _each_parameter_once(self, data: Any, **_kwargs: Any) -> Any:
        """A repeated parameter is refused, not silently resolved one way or the other."""
        getlist = getattr(data, "getlist", None)
        if getlist is not None:
            repeated = {
                name: ["Give this parameter once."]
                for name in self.fields
                if len(getlist(name)) > 1
            }
            if repeated:
                raise ma.ValidationError(repeated)
        return data

    @ma.post_load
    def _bound_full_pages(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        """A full page over the maximum is coerced to it, not refused (Google AIP-158)."""
        if data["view"] is ListView.FULL:
            data["page_size"] = min(data["page_size"], MAX_FULL_PAGE_SIZE)
        return data

    page_size = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=MAX_PAGE_SIZE),
        metadata={
            "example": 50,
            "description": f"How many cases a page holds at most, 1 to {MAX_PAGE_SIZE}. With "
            f"`view=full` a page holds at most {MAX_FULL_PAGE_SIZE}: a larger `page_size` is "
            f"treated as {MAX_FULL_PAGE_SIZE}, and `next_page_token` continues from there.",
        },
    )
    page_token = fields.String(
        validate=validate.Length(min=1, max=512),
        metadata={"description": "Opaque cursor from a previous page's next_page_token."},
    )
    status = fields.Enum(
        Status,
        by_value=True,
        metadata={"description": "Only cases whose current status is this one."},
    )
    view = fields.Enum(
        ListView,
        by_value=True,
        load_default=ListView.BASIC,
        metadata={"description": "`basic` (the default) leaves `steps` out; `full` has them."},
    )


class HealthSchema(StrictSchema):
    class Meta(StrictSchema.Meta):
        description = "The answer of `/healthz` and `/readyz` when all is well."

    status = fields.String(required=True, validate=validate.OneOf(["ok"]))


class ApiErrorSchema(ma.Schema):
    """Every 4xx and 5xx answer has this body."""

    class Meta:
        description = "The body of every 4xx and 5xx answer."

    code = fields.Integer(required=True, metadata={"description": "HTTP status code"})
    status = fields.String(required=True, metadata={"description": "HTTP status name"})
    message = fields.String(required=True, metadata={"description": "What went wrong"})
    errors = fields.Dict(metadata={"description": "Details, e.g. per-parameter messages"})
