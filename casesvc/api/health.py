"""``/healthz`` and ``/readyz``: whether this process can serve, and whether it is ready to.

Neither needs a token nor shows anything but its verdict. ``/healthz`` touches no database.
``/readyz`` checks, on each call, that the database answers, that its migrations are exactly
this code's, and that it takes a write (nothing is cached, so every worker reports what is
true now, and is ready again on its own once the fault is gone).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import peewee
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from casesvc import db
from casesvc.api import current_parts
from casesvc.api.database import FlaskDatabase
from casesvc.schemas import HealthSchema

log = logging.getLogger(__name__)

blp = Blueprint(
    "health",
    __name__,
    description="Probes for load balancers and orchestrators. No token needed.",
)

OK = {"status": "ok"}
RETRY_AFTER_SECONDS = 5
# What a lost or refused database raises: peewee wraps every driver error in one of these.
LOST = (peewee.DatabaseError, peewee.InterfaceError)
NOT_WRITABLE = {"database": "not writable"}


@blp.route("/healthz")
class Health(MethodView):
    @blp.doc(operationId="checkHealth", security=[])
    @blp.response(
        200,
        HealthSchema,
        description="The process is up and can serve requests.",
        headers={"Cache-Control": "CacheControlProbe"},
    )
    def get(self) -> Any:
        """Check liveness

        Answers while the process can serve, whatever the database's state: it touches no
        database. Restart the process when this fails; take it out of rotation when
        `/readyz` does.
        """
        return OK


@blp.route("/readyz")
class Readiness(MethodView):
    @blp.doc(operationId="checkReadiness", security=[])
    @blp.response(
        200,
        HealthSchema,
        description="The database answers, takes writes, and its schema is the one this code "
        "needs.",
        headers={"Cache-Control": "CacheControlProbe"},
    )
    @blp.alt_response(503, response="NotReady")
    def get(self) -> Any:
        """Check readiness

        Ready when the database answers, its applied migrations are exactly this code's
        migration files, and it commits a small write (a full disk or a read-only database
        still answers reads, but could create no case). Otherwise 503, naming the failed
        check. Load balancers should route traffic only to instances that answer 200 here.
        """
        parts = current_parts()
        try:
            migrations = migrations_of(parts.database, parts.migrations_dir)
        except LOST as exc:
            log.warning("not ready: database unreachable (%s)", type(exc).__name__)
            not_ready("the database is unreachable.", {"database": "unreachable"})
        if migrations.pending:
            log.warning("not ready: schema behind, pending %s", ", ".join(migrations.pending))
            not_ready(
                "the database schema is behind this version of casesvc: run `casesvc db upgrade`.",
                {"schema": "behind"},
            )
        if migrations.unknown:
            log.warning("not ready: schema ahead, unknown %s", ", ".join(migrations.unknown))
            not_ready(
                "the database schema is ahead of this version of casesvc: it has migrations "
                "this code does not know.",
                {"schema": "ahead"},
            )
        try:
            db.write_probe(parts.database.database, parts.service.clock.now())
        except (*LOST, db.DiskFull) as exc:
            log.warning("not ready: database takes no writes (%s: %s)", type(exc).__name__, exc)
            parts.database.discard_connection()
            not_ready("the database takes no writes (disk full or read-only?).", NOT_WRITABLE)
        return OK


def migrations_of(handle: FlaskDatabase, migrations_dir: Path) -> db.MigrationStatus:
    """How the schema compares with the migration files, read on this request's connection.

    A connection that fails is discarded, not pooled. Since it may have died while idle (the
    database restarted since), one fresh connection is tried before the database is called
    unreachable; a connection that cannot be opened at all fails at once.
    """
    database = handle.database
    database.connect(reuse_if_open=True)
    try:
        return db.migration_status(database, migrations_dir)
    except LOST:
        handle.discard_connection()
    database.connect()
    try:
        return db.migration_status(database, migrations_dir)
    except LOST:
        handle.discard_connection()
        raise


def not_ready(message: str, errors: dict[str, str]) -> None:
    abort(
        503,
        message=f"Not ready: {message}",
        errors=errors,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
