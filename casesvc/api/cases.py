"""``/cases``: create a case, read one, list them."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Api, Blueprint, abort

from casesvc.api import current_parts
from casesvc.api.responses import json_response, location_of
from casesvc.api.security import current_client
from casesvc.lifecycle import Status
from casesvc.representation import etag_of
from casesvc.schemas import (
    ApiErrorSchema,
    CaseCreateSchema,
    CaseListQuerySchema,
    CasePageSchema,
    CaseSchema,
    ListView,
)
from casesvc.service import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    IDEMPOTENCY_KEY_PATTERN,
    CaseNotFound,
    CaseSnapshot,
    InvalidIdempotencyKey,
    InvalidPageToken,
    UnknownSample,
)

blp = Blueprint(
    "cases",
    __name__,
    url_prefix="/cases",
    description="Prior-authorization cases and their review lifecycle.",
)

# POST /cases's optional body, documented here and parsed in the view only when there is one:
# flask-smorest's `arguments` would run webargs on every POST, body or not (what that cost:
# docs/performance.md). An empty body is no body (a generated client sends a JSON content
# type with an optional body it leaves out).
CREATE_BODY = {"required": False, "content": {"application/json": {"schema": CaseCreateSchema}}}


def create_body() -> dict[str, Any]:
    """The POST's body, as flask-smorest's ``arguments`` reads it (a 422 names what is wrong),
    or ``{}`` when there is none. The body limit has read any body whole by now and left its
    length in CONTENT_LENGTH (casesvc/api/security.py)."""
    if request.environ.get("CONTENT_LENGTH", "0") in ("", "0"):
        return {}
    body: dict[str, Any] = blp.ARGUMENTS_PARSER.parse(CaseCreateSchema(), request, location="json")
    return body


def document_samples(api: Api, keys: tuple[str, ...]) -> None:
    """The body's ``sample`` takes this app's sample keys (``CASESVC_SAMPLES``): the document
    lists them, so a client knows them and a fuzzer tries them (any other is a 422)."""
    sample = api.spec.components.schemas["CaseCreate"]["properties"]["sample"]
    sample["enum"] = [*keys, None]  # null: no sample named (nullable)


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    # No `example`: Swagger UI would fill it in for every visitor's "Try it out", and after
    # the first, every creation would replay that one case.
    "description": "A key the client makes up for this one creation (a UUID, say, such as "
    "`5f0c6a0e-7c1b-4f38-9d2a-2f3c8e1b4a77`) and sends again with every retry of it. A key "
    "that already created a case creates nothing more: the answer is that case as it stands "
    "now, marked `Idempotent-Replayed: true`.",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH,
        "pattern": IDEMPOTENCY_KEY_PATTERN,
    },
}


def etag_matches(if_none_match: str | None, tag: str) -> bool:
    """Whether ``If-None-Match`` names the ETag ``tag`` (weak comparison, RFC 9110 13.1.2).

    Our ETags are hex in quotes, so splitting the header on commas is exact for them.
    """
    if not if_none_match:
        return False
    quoted = f'"{tag}"'
    named = (each.strip().removeprefix("W/") for each in if_none_match.split(","))
    return any(each in (quoted, "*") for each in named)


def case_headers(case: CaseSnapshot, tag: str) -> dict[str, str]:
    """The headers of an answer about ``case``, whose ETag is ``tag``. (``Cache-Control:
    no-store`` comes with every answer under /cases: casesvc/api/security.py.)"""
    headers = {"ETag": f'"{tag}"'}
    if case.retry_after is not None:
        headers["Retry-After"] = str(case.retry_after)
    return headers


def answers(status: int, description: str) -> dict[int, Any]:
    """The answers of a ``/cases`` operation besides its success: ``status`` with an error
    body, as ``description`` says, then no token (401) and no database (503).

    Documented in the operation's one ``blp.doc``: flask-smorest's ``alt_response`` would
    wrap the view in one more function per answer, each a call (and a proxy lookup) on every
    request (docs/performance.md).
    """
    return {
        status: {
            "description": description,
            "content": {"application/json": {"schema": ApiErrorSchema}},
        },
        401: "Unauthorized",
        503: "Unavailable",
    }


@blp.route("")
class CaseCollection(MethodView):
    @blp.doc(
        operationId="createCase",
        parameters=[IDEMPOTENCY_KEY],
        requestBody=CREATE_BODY,
        responses={
            **answers(400, "The Idempotency-Key header or the body is not valid."),
            422: "UNPROCESSABLE_ENTITY",
        },
    )
    @blp.response(
        201,
        CaseSchema,
        description="The case was created and committed (or, on a replayed Idempotency-Key, "
        "had been).",
        headers={
            "Location": "Location",
            "Retry-After": "RetryAfter",
            "Cache-Control": "CacheControl",
            "ETag": "ETag",
            "Idempotent-Replayed": "IdempotentReplayed",
        },
    )
    def post(self) -> Any:
        """Create a case

        Starts a new case in `submitted`. Its optional body names the sample determination
        the case shows; an unknown one is a 422 that lists the valid ones. The answer carries
        the new `case_id`; poll `GET /cases/{case_id}`, waiting as long as `Retry-After` says.
        Send an `Idempotency-Key` to make the POST safe to retry: however often a key is
        sent, it creates at most one case.
        """
        key = request.environ.get("HTTP_IDEMPOTENCY_KEY")
        body = create_body()
        parts = current_parts()
        try:
            case = parts.service.create(key, client=current_client(), sample=body.get("sample"))
        except InvalidIdempotencyKey as exc:
            abort(400, message=str(exc), errors={"headers": {"Idempotency-Key": [str(exc)]}})
        except UnknownSample as exc:
            message = str(exc.args[0])
            abort(422, message=message, errors={"json": {"sample": [message]}})
        headers = case_headers(case, etag_of(case))
        if case.replayed:
            headers["Idempotent-Replayed"] = "true"
        elif parts.metrics is not None:
            parts.metrics.cases_created.inc()
        location = location_of(request.script_root, case.case_id)
        return json_response(parts.renderer.case(case), 201, headers, location)

    @blp.doc(operationId="listCases", responses=answers(400, "Invalid page_token."))
    @blp.arguments(CaseListQuerySchema, location="query", as_kwargs=True)
    @blp.response(
        200,
        CasePageSchema,
        description="A page of cases, newest first.",
        headers={"Cache-Control": "CacheControl"},
    )
    def get(
        self,
        page_size: int,
        view: ListView,
        page_token: str | None = None,
        status: Status | None = None,
    ) -> Any:
        """List cases

        Newest first, with keyset pagination: pass `next_page_token` back as `page_token`
        to get the next page. `status` filters on each case's current status. The basic
        view leaves `steps` out; `view=full` includes them.
        """
        parts = current_parts()
        try:
            page = parts.service.list_cases(
                client=current_client(), page_size=page_size, page_token=page_token, status=status
            )
        except InvalidPageToken as exc:
            abort(400, message=str(exc), errors={"query": {"page_token": [str(exc)]}})
        body = parts.renderer.page(page.cases, page.next_page_token, full=view is ListView.FULL)
        return json_response(body, 200, {})  # no-store: casesvc/api/security.py


CASE_HEADERS = {"Retry-After": "RetryAfter", "Cache-Control": "CacheControl", "ETag": "ETag"}
CASE_ID = {
    "in": "path",
    "name": "case_id",
    "description": "The id `createCase` answered with.",
    "example": "case_0f3a9c1e5b7d2a4c6e8f0a1b",
}


@blp.route("/<case_id>", parameters=[CASE_ID])
class CaseItem(MethodView):
    @blp.doc(
        operationId="getCase",
        parameters=[
            {
                "name": "If-None-Match",
                "in": "header",
                "required": False,
                "description": "An ETag from an earlier answer; 304 if the case is unchanged.",
                "schema": {"type": "string"},
            }
        ],
        responses={
            304: {
                "description": "Not modified since the ETag given in If-None-Match.",
                "headers": CASE_HEADERS,
            },
            **answers(
                404,
                "The caller has no case with this id (another client's case answers exactly "
                "the same).",
            ),
        },
    )
    @blp.response(
        200,
        CaseSchema,
        description="The case as it stands now.",
        headers=CASE_HEADERS,
    )
    def get(self, case_id: str) -> Any:
        """Get a case

        The case at this instant: `submitted`, then `processing` (with a summary), then
        `complete` (with the full determination). Until complete, `Retry-After` says when
        to look again; send the `ETag` back in `If-None-Match` to get a cheap 304.
        """
        parts = current_parts()
        try:
            case = parts.service.get(case_id, client=current_client())
        except CaseNotFound:
            abort(404, message="No case has this id.")
        tag = etag_of(case)  # hashed once, for the header and the comparison
        headers = case_headers(case, tag)
        if etag_matches(request.environ.get("HTTP_IF_NONE_MATCH"), tag):
            return Response(None, 304, headers)
        return json_response(parts.renderer.case(case), 200, headers)
