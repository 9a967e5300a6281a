"""Wiring shared by every entry point: the database made ready to serve, and the case
service built from a ``Config``. The HTTP app (casesvc/app.py) and the CLI (casesvc/cli/)
both start here; nothing in it knows about either."""

from __future__ import annotations

from casesvc import db
from casesvc.clock import Clock, SystemClock
from casesvc.config import Config
from casesvc.determinations import Catalog
from casesvc.lifecycle import Lifecycle
from casesvc.lifecycle import load as load_lifecycle
from casesvc.service import CaseService

__all__ = ["build_service", "lifecycle_for", "load_plugins", "prepare_database"]


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


def lifecycle_for(config: Config) -> Lifecycle:
    """The lifecycle ``config`` names (``CASESVC_LIFECYCLE``); ``UnknownLifecycle`` if none."""
    return load_lifecycle(
        config.lifecycle,
        processing_after=config.processing_after,
        complete_after=config.complete_after,
    )


def build_service(
    config: Config,
    clock: Clock | None = None,
    lifecycle: Lifecycle | None = None,
    catalog: Catalog | None = None,
) -> CaseService:
    """The case service for ``config``: what both the API and the CLI run on. Without a
    ``lifecycle`` or a ``catalog`` it loads the ones ``config`` names (``load_plugins``);
    the database is connected on first use."""
    if lifecycle is None or catalog is None:
        loaded = load_plugins(config)
        lifecycle, catalog = lifecycle or loaded[0], catalog or loaded[1]
    return CaseService(
        database=db.open_database(config.database_url, connections=config.pool_size),
        clock=clock or SystemClock(),
        lifecycle=lifecycle,
        catalog=catalog,
        secret_key=config.secret_key,
    )


def load_plugins(config: Config) -> tuple[Lifecycle, Catalog]:
    """What ``config`` names outside the environment: the lifecycle and the sample files,
    loaded once, so that a bad one stops a command before it starts (``UnknownLifecycle``
    names the variable; ``BadSample`` the file and the field)."""
    return lifecycle_for(config), Catalog.load(config.assets_dir)
