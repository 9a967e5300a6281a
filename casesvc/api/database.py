"""The app's one database handle, after peewee's ``FlaskDB``: a connection per request, and a
lost database answered as a 503 the client may retry, never a 500.
"""

from __future__ import annotations

import logging
from typing import Any

import peewee
from flask import Flask
from flask_smorest import Api
from werkzeug.exceptions import ServiceUnavailable

log = logging.getLogger(__name__)


class FlaskDatabase:
    """Owns the connection hooks and the error mapping for one peewee database.

    A request borrows a connection from the process's pool at its first query (peewee's
    autoconnect) and gives it back when it ends, so requests that touch no table (the docs,
    the UI pages, the probes) never take one, and a connection serves one request at a time,
    whichever thread runs it: server threads come and go (an idle one exits), and one that
    kept its connection would take it out of the pool for good.
    """

    def __init__(self, database: peewee.Database) -> None:
        self.database = database

    def init_app(self, app: Flask, api: Api) -> None:
        database = self.database

        @app.teardown_request
        def _release(_exc: BaseException | None) -> None:
            if not database.is_closed():
                database.close()

        def unavailable(error: peewee.DatabaseError) -> Any:
            log.warning("database unavailable: %s", type(error).__name__)
            self.discard_connection()  # the next request opens a fresh one
            exc = ServiceUnavailable()
            exc.data = {  # type: ignore[attr-defined]
                "message": "The database is unavailable; try again shortly.",
                "headers": {"Retry-After": "1"},
            }
            return api.handle_http_exception(exc)

        app.register_error_handler(peewee.OperationalError, unavailable)
        app.register_error_handler(peewee.InterfaceError, unavailable)

    def discard_connection(self) -> None:
        """Close this thread's connection for good (not back into the pool)."""
        database = self.database
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
