"""Database: the peewee connection, the models' binding and the migration runner."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import peewee
from playhouse.db_url import connect
from playhouse.migrations import Runner

# Set once per connection: WAL lets readers and a writer work at once across
# processes, the busy timeout makes a writer wait instead of failing with
# "database is locked", and NORMAL sync is durable against process crashes in WAL mode.
SQLITE_PRAGMAS = (
    ("journal_mode", "wal"),
    ("busy_timeout", 10_000),
    ("synchronous", "normal"),
    ("foreign_keys", 1),
)

database_proxy = peewee.DatabaseProxy()


class SchemaBehind(RuntimeError):
    """The database lacks migrations that this version of casesvc needs."""


class DatabaseUnavailable(RuntimeError):
    """The database can't be opened or reached."""


class UTCDateTimeField(peewee.Field):
    """An instant in time: TIMESTAMPTZ on PostgreSQL, fixed-width UTC text on SQLite.

    Values go in and come out as aware UTC datetimes, whatever the server's time zone.
    The text form sorts in time order, so it can be indexed and compared on SQLite.
    """

    field_type = "TIMESTAMPTZ"

    def db_value(self, value: dt.datetime | None) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTimeField needs an aware datetime")
        return value.astimezone(dt.UTC).isoformat(sep=" ", timespec="microseconds")

    def python_value(self, value: Any) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if value.tzinfo is None:  # written by hand without an offset: it is UTC
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def open_database(url: str) -> peewee.Database:
    """A peewee database for ``url`` (``sqlite:///path`` or ``postgresql://…``)."""
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        path = url[len("sqlite:///") :]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return connect(url, pragmas=SQLITE_PRAGMAS)
    if scheme in ("postgres", "postgresql"):
        return connect(url, prefer_psycopg3=True)
    raise ValueError(
        f"unsupported DATABASE_URL scheme {scheme!r} (use sqlite:/// or postgresql://)"
    )


def bind(database: peewee.Database) -> None:
    """Point the models at ``database`` (one database per process)."""
    database_proxy.initialize(database)


def runner(database: peewee.Database, migrations_dir: Path) -> Runner:
    return Runner(database, str(migrations_dir))


def pending_migrations(database: peewee.Database, migrations_dir: Path) -> list[str]:
    try:
        return [m.name for m in runner(database, migrations_dir).status() if not m.applied]
    except peewee.OperationalError as exc:
        raise DatabaseUnavailable(f"cannot open the database: {exc}") from exc


def upgrade(database: peewee.Database, migrations_dir: Path) -> list[str]:
    """Apply pending migrations; returns their names."""
    with database.connection_context():
        return list(runner(database, migrations_dir).up())


def check_schema(database: peewee.Database, migrations_dir: Path) -> None:
    """Refuse to go on with a database whose migrations are behind."""
    with database.connection_context():
        pending = pending_migrations(database, migrations_dir)
    if pending:
        raise SchemaBehind(
            f"the database is {len(pending)} migration(s) behind ({', '.join(pending)}); "
            "run `casesvc db upgrade` first"
        )
