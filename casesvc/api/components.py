"""The OpenAPI components several operations share: headers and error answers, written once
here, registered by ``register`` and named by the views (``headers={"ETag": "ETag"}``,
``alt_response(401, response="Unauthorized")``)."""

from __future__ import annotations

from flask_smorest import Api


def _text(description: str, *, required: bool = True) -> dict[str, object]:
    return {"description": description, "required": required, "schema": {"type": "string"}}


def _seconds_header(description: str, *, required: bool) -> dict[str, object]:
    schema = {"type": "integer", "minimum": 1}
    return {"description": description, "required": required, "schema": schema}


HEADERS: dict[str, dict[str, object]] = {
    "RetryAfter": {
        "description": "Seconds until the case's status next changes (absent once complete).",
        "schema": {"type": "integer", "minimum": 1},
    },
    "RetryAfterError": _seconds_header("Seconds to wait before trying again.", required=True),
    "CacheControl": _text("Always `no-store`: cases hold clinical data."),
    "CacheControlProbe": _text("Always `no-store`: a cached verdict would mislead."),
    "ETag": _text("Entity tag of this representation, for `If-None-Match`."),
    "Location": _text("The new case's URL, relative to the server."),
    "IdempotentReplayed": {
        "description": "`true` when the Idempotency-Key had already created this case, so "
        "nothing new was created (absent otherwise).",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "WWWAuthenticate": _text("The bearer challenge."),
}


def _error(description: str, headers: dict[str, str]) -> dict[str, object]:
    """An error answer: the ApiError body, and headers named by their components."""
    return {
        "description": description,
        "content": {"application/json": {"schema": "ApiError"}},
        "headers": headers,
    }


RESPONSES: dict[str, dict[str, object]] = {
    "Unavailable": _error(
        "The database is unavailable for a moment; try again after `Retry-After`.",
        {"Retry-After": "RetryAfterError"},
    ),
    "Unauthorized": _error(
        "The server requires a bearer token (CASESVC_API_TOKENS) and none, or a wrong one, "
        "was sent.",
        {"WWW-Authenticate": "WWWAuthenticate"},
    ),
    "NotReady": _error(
        'Not ready. `errors` names the check that failed: `{"database": "unreachable"}`, '
        '`{"database": "not writable"}` (a full disk, a read-only database), '
        'or `{"schema": "behind"}` (run `casesvc db upgrade`) or `{"schema": "ahead"}` '
        "(the database has migrations this code does not know).",
        {"Retry-After": "RetryAfterError", "Cache-Control": "CacheControlProbe"},
    ),
}


def register(api: Api) -> None:
    """Add the shared headers and answers to ``api``'s document (before any blueprint)."""
    for name, header in HEADERS.items():
        api.spec.components.header(name, header)
    for name, response in RESPONSES.items():
        api.spec.components.response(name, response)
