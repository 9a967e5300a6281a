"""The app's one database handle, after peewee's ``FlaskDB``: a connection is taken from the
worker's pool at a request's first query and given back when the request ends, and a lost or
busy database is answered as a 503 the client may retry, never a 500.
"""

from __future__ import annotations

import logging
from typing import Any

import peewee
from flask import Flask
from flask_smorest import Api
from playhouse.pool import MaxConnectionsExceeded
from werkzeug.exceptions import ServiceUnavailable

log = logging.getLogger(__name__)


class FlaskDatabase:
    """Owns the connection's lifetime and the error mapping for one peewee database.

    The pool is the worker's share of the node's connection budget (``Config.pool_size``),
    smaller than its thread count: a connection is held only while a request runs, from its
    first query (peewee's autoconnect) to its teardown, so a worker's threads take turns on a
    few connections. A request that finds them all taken waits briefly
    (``db.POOL_WAIT_SECONDS``), then answers 503 with Retry-After. A connection that failed is
    closed, not pooled. Requests that touch no table (the docs, the UI pages, ``/healthz``)
    never take one.
    """

    def __init__(self, database: peewee.Database) -> None:
        self.database = database

    def init_app(self, app: Flask, api: Api) -> None:
        database = self.database

        @app.teardown_request
        def _check_in(_exc: BaseException | None) -> None:
            if not database.is_closed():
                database.close()  # back into the pool, for the next request on any thread

        def unavailable(error: Exception) -> Any:
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
        # PostgreSQL's class 25, such as a read-only server (a standby after a failover).
        app.register_error_handler(peewee.InternalError, unavailable)
        # Every connection of the pool taken for POOL_WAIT_SECONDS: busy, not broken.
        app.register_error_handler(MaxConnectionsExceeded, unavailable)

    def discard_connection(self) -> None:
        """Close this request's connection for good (not back into the pool)."""
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
