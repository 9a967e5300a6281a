"""Database: the peewee connection, the models' binding and the migration runner."""

from __future__ import annotations

import datetime as dt
import os
import weakref
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


# Each process keeps a small pool: a request borrows a connection and gives it back, so
# connections are opened lazily, reused, and a dead one is dropped and replaced.
POOL_SIZE = 32
POOL_WAIT_SECONDS = 10
POSTGRES_STALE_SECONDS = 300


def open_database(url: str) -> peewee.Database:
    """A pooled peewee database for ``url`` (``sqlite:///path`` or ``postgresql://…``)."""
    scheme = urlparse(url).scheme
    pool: dict[str, Any] = {"max_connections": POOL_SIZE, "timeout": POOL_WAIT_SECONDS}
    if scheme == "sqlite":
        path = url[len("sqlite:///") :]
        if not path or path == ":memory:":
            raise ValueError("DATABASE_URL must name a SQLite file, e.g. sqlite:///cases.db")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        database = connect(
            "sqlite+pool:///" + path, pragmas=SQLITE_PRAGMAS, check_same_thread=False, **pool
        )
    elif scheme in ("postgres", "postgresql"):
        database = connect(
            "postgresql+pool" + url[len(scheme) :],
            prefer_psycopg3=True,
            stale_timeout=POSTGRES_STALE_SECONDS,
            **pool,
        )
    else:
        raise ValueError(
            f"unsupported DATABASE_URL scheme {scheme!r} (use sqlite:/// or postgresql://)"
        )
    # A forked child (a granian worker, started by multiprocessing's fork on Linux) must never
    # use its parent's connections: forget them in the child, without closing what the parent
    # still uses. (A spawned worker starts empty and builds its own database anyway.)
    ref = weakref.ref(database)
    os.register_at_fork(after_in_child=lambda: _dispose(ref()))
    return database


def _dispose(database: peewee.Database | None) -> None:
    if database is not None:
        database.dispose()


def close_all(database: peewee.Database) -> None:
    """Close every connection in ``database``'s pool (e.g. before forking workers)."""
    getattr(database, "close_all", database.close)()


def engine(database: peewee.Database) -> str:
    """``"postgresql"`` or ``"sqlite"``."""
    return "postgresql" if isinstance(database, peewee.PostgresqlDatabase) else "sqlite"


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
