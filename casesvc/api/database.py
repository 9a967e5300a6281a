"""The app's one database handle, after peewee's ``FlaskDB``: connections opened on first use,
and a lost database answered as a 503 the client may retry, never a 500.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Any

import peewee
from flask import Flask
from flask_smorest import Api
from playhouse.pool import MaxConnectionsExceeded
from werkzeug.exceptions import ServiceUnavailable

log = logging.getLogger(__name__)


class FlaskDatabase:
    """Owns the connection's lifetime and the error mapping for one peewee database.

    A server thread checks a connection out of the process's pool at its first query
    (peewee's autoconnect) and keeps it for the requests that follow, so a request pays no
    checkout. When the thread ends (granian retires idle threads), the connection goes back
    to the pool for the next thread: a thread that kept it for good would take it out of the
    pool for good. A connection that failed is closed, not pooled, and the next request on
    that thread opens a fresh one. Requests that touch no table (the docs, the UI pages, the
    probes) never take one.
    """

    def __init__(self, database: peewee.Database) -> None:
        self.database = database
        self._leases = threading.local()

    def init_app(self, app: Flask, api: Api) -> None:
        database = self.database
        leases = self._leases

        @app.teardown_request
        def _keep(_exc: BaseException | None) -> None:
            # Runs after every request: cheap unless this thread has just connected.
            if database.is_closed():
                return
            connection = database.connection()
            lease = getattr(leases, "lease", None)
            if lease is None or lease.connection is not connection:
                leases.lease = _Lease(database, connection)

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
        # Every connection of the pool taken for POOL_WAIT_SECONDS: busy, not broken.
        app.register_error_handler(MaxConnectionsExceeded, unavailable)

    def discard_connection(self) -> None:
        """Close this thread's connection for good (not back into the pool)."""
        database = self.database
        if database.is_closed():
            return
        lease = getattr(self._leases, "lease", None)
        if lease is not None:
            lease.release.detach()  # the connection is closed here, not given back
            self._leases.lease = None
        manual_close = getattr(database, "manual_close", None)
        try:
            if manual_close is not None:
                manual_close()
            else:
                database.close()
        except peewee.PeeweeException:
            log.warning("could not close a failed connection", exc_info=True)


class _Lease:
    """A thread's hold on its connection, kept in a thread-local: when the thread ends, the
    lease is collected and gives the connection back to the pool (peewee's check-in, the
    same ``_close`` that ``Database.close`` calls for the thread's own connection).

    Request code never closes the connection itself: ``discard_connection`` does, and
    detaches the lease first. A pool ignores a connection it no longer counts as checked
    out (after ``close_all``, say).
    """

    def __init__(self, database: peewee.Database, connection: Any) -> None:
        self.connection = connection
        check_in = database._close  # type: ignore[attr-defined]
        self.release = weakref.finalize(self, check_in, connection)
        self.release.atexit = False
