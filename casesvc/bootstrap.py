"""Wiring shared by every entry point: the database made ready to serve, and the case
service built from a ``Config``. The HTTP app (casesvc/app.py) and the CLI (casesvc/cli/)
both start here; nothing in it knows about either."""

from __future__ import annotations

from casesvc import db
from casesvc.clock import Clock, SystemClock
from casesvc.config import Config
from casesvc.determinations import Catalog
from casesvc.lifecycle import Lifecycle
from casesvc.service import CaseService

__all__ = ["build_service", "prepare_database"]


def prepare_database(config: Config) -> None:
    """Make ``config``'s database ready to serve, once per deployment step (``casesvc serve``
    before its workers start, every CLI command): the embedded default is created and
    migrated; any other database must already be current (``casesvc db upgrade``).

    Raises ``db.SchemaBehind`` (behind or ahead) or ``db.DatabaseUnavailable``.
    """
    if config.auto_upgrade:
        db.create_parent_dir(config.database_url)
    else:
        db.require_existing(config.database_url)
    database = db.open_database(config.database_url)
    try:
        if config.auto_upgrade:  # the upgrade leaves the schema current, or raises
            db.upgrade(database, config.migrations_dir)
        else:
            db.check_schema(database, config.migrations_dir)
    finally:
        db.close_all(database)


def build_service(config: Config, clock: Clock | None = None) -> CaseService:
    """The case service for ``config``: what both the API and the CLI run on. No I/O: the
    database is connected on first use."""
    return CaseService(
        database=db.open_database(config.database_url, connections=config.pool_size),
        clock=clock or SystemClock(),
        lifecycle=Lifecycle.from_seconds(config.processing_after, config.complete_after),
        catalog=Catalog.load(config.assets_dir),
        secret_key=config.secret_key,
    )
