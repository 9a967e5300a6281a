"""One error format for every 4xx and 5xx: flask-smorest's ``{code, status, message, errors}``."""

from __future__ import annotations

import logging
from typing import Any

import flask_smorest
import peewee
from flask import Flask
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from casesvc.schemas import ApiErrorSchema

log = logging.getLogger(__name__)


class Api(flask_smorest.Api):
    """flask-smorest's Api, with error answers that keep their headers and always say why."""

    ERROR_SCHEMA = ApiErrorSchema

    def handle_http_exception(self, error: HTTPException) -> Any:
        payload, code, headers = super().handle_http_exception(error)
        if isinstance(error, InternalServerError):
            original = error.original_exception
            if original is not None:
                log.error("unhandled error", exc_info=original)
            payload["message"] = "The server hit an error it did not expect."
        elif "message" not in payload:
            payload["message"] = error.description or payload["status"]
        # Keep the exception's own headers (Allow on 405, WWW-Authenticate on 401, …),
        # which the stock handler drops, but not the HTML Content-Type.
        merged = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        merged.update(headers or {})
        return payload, code, merged


def register_database_errors(app: Flask, api: Api, database: peewee.Database) -> None:
    """A lost or busy database is a 503 the client may retry, not a 500. The connection
    that failed is dropped, so the next request opens a fresh one."""

    def unavailable(error: peewee.DatabaseError) -> Any:
        log.warning("database unavailable: %s", type(error).__name__)
        discard_connection(database)
        exc = ServiceUnavailable()
        exc.data = {  # type: ignore[attr-defined]
            "message": "The database is unavailable; try again shortly.",
            "headers": {"Retry-After": "1"},
        }
        return api.handle_http_exception(exc)

    app.register_error_handler(peewee.OperationalError, unavailable)
    app.register_error_handler(peewee.InterfaceError, unavailable)


def discard_connection(database: peewee.Database) -> None:
    """Close this thread's connection for good (not back into the pool)."""
    if database.is_closed():
        return
    manual_close = getattr(database, "manual_close", None)
    try:
        if manual_close is not None:
            manual_close()
        else:
            database.close()
    except peewee.PeeweeException:
        log.warning("could not close a failed connection", exc_info=True)
