"""Database: the peewee connection pools, the migration runner and the readiness probe."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import peewee
from playhouse.db_url import parseresult_to_dict
from playhouse.migrations import Migration, MigrationError, Runner
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase
from playhouse.schema_diff import diff_models

from casesvc import database_url
from casesvc.models import Case, Probe

# Set once per connection: WAL lets readers and a writer work at once across
# processes, the busy timeout makes a writer wait instead of failing with
# "database is locked", and NORMAL sync is durable against process crashes in WAL mode.
SQLITE_PRAGMAS = (
    ("journal_mode", "wal"),
    ("busy_timeout", 10_000),
    ("synchronous", "normal"),
    ("foreign_keys", 1),
)


class SchemaBehind(RuntimeError):
    """The database lacks migrations that this version of casesvc needs."""


class DatabaseUnavailable(RuntimeError):
    """The database can't be opened or reached."""


# Each process keeps a small pool: connections are opened lazily, reused, and a dead one is
# dropped and replaced. A request holds one only while it runs (casesvc/api/database.py); one
# that finds them all taken waits this long, then answers 503.
POOL_SIZE = 16
POOL_WAIT_SECONDS = 5
POSTGRES_STALE_SECONDS = 300
# psycopg 3 prepares a statement on the server after its fifth use on a connection. Through
# PgBouncer in transaction pooling (docs/deploying.md) the next transaction may run on another
# server connection, which lacks it ("prepared statement _pg3_0 does not exist"), so casesvc
# never prepares: it keeps no session state that transaction pooling would break (no
# prepared statements, no session SET, no advisory locks). Cost on a direct connection:
# docs/performance.md.
POSTGRES_OPTIONS: dict[str, Any] = {"prepare_threshold": None}


class PostgresPool(PooledPostgresqlDatabase):
    """peewee's PostgreSQL pool, without a round trip per checkout.

    peewee asks the server (``SELECT 1``) whether an idle pooled connection still lives each
    time one is checked out: a second round trip for every request, now that a request takes
    its connection from the pool (what it cost a GET: docs/performance.md).
    The driver's own state says whether a connection is closed or broken; one the server
    dropped while it sat idle fails at its first query instead, and that request answers 503
    and discards it (casesvc/api/database.py). ``_is_closed`` is the pool's hook for this
    check; tests/http/test_connections.py pins it.
    """

    def _is_closed(self, conn: Any) -> bool:
        adapter = self._adapter
        return bool(conn.closed) or adapter.txn_status(conn) == adapter.txn_unknown


def open_database(url: str, *, connections: int = POOL_SIZE) -> peewee.Database:
    """A pooled peewee database for ``url`` (``sqlite:///path`` or ``postgresql://…``),
    of at most ``connections`` connections."""
    location = database_url.parse(url)
    pool: dict[str, Any] = {"max_connections": connections, "timeout": POOL_WAIT_SECONDS}
    if location.path is not None:
        database = PooledSqliteDatabase(
            str(location.path), pragmas=SQLITE_PRAGMAS, check_same_thread=False, **pool
        )
    else:
        database = PostgresPool(
            **parseresult_to_dict(urlparse(url)),
            prefer_psycopg3=True,
            stale_timeout=POSTGRES_STALE_SECONDS,
            **POSTGRES_OPTIONS,
            **pool,
        )
    # A forked child (a granian worker, started by multiprocessing's fork on Linux) must never
    # use its parent's connections: forget them in the child, without closing what the parent
    # still uses. (A spawned worker starts empty and builds its own database anyway.)
    ref = weakref.ref(database)
    os.register_at_fork(after_in_child=lambda: _dispose(ref()))
    return database


# SQLite's automatic checkpoints copy the WAL back into the database a little at a time, and the
# WAL starts over once a write finds it all copied. Under a flood of writes from many
# connections that moment never comes, and the WAL grew without bound (1 GB in the 10 s of
# make bench's POST run). A write that finds it past this size copies it whole and truncates it.
WAL_LIMIT_BYTES = 256 * 1024 * 1024


def wal_bound(database: peewee.Database) -> Callable[[], None]:
    """What a write runs once committed to keep ``database``'s WAL near ``WAL_LIMIT_BYTES``:
    a size check, and, under a flood, a TRUNCATE checkpoint, which waits for readers on older
    snapshots and holds other writers back while it copies the WAL. Normal traffic leaves
    SQLite's own checkpoints their moments, and never reaches the limit. Nothing on
    PostgreSQL."""
    if not isinstance(database, peewee.SqliteDatabase):
        return _nothing
    wal = database.database + "-wal"

    def check() -> None:
        try:
            size = os.stat(wal).st_size
        except OSError:
            return
        if size > WAL_LIMIT_BYTES:
            database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    return check


def _nothing() -> None:
    pass


def create_parent_dir(url: str) -> None:
    """Create the folder a SQLite file will live in (the first migration creates the file)."""
    path = database_url.parse(url).path
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def _dispose(database: peewee.Database | None) -> None:
    if database is not None:
        database.dispose()


def close_all(database: peewee.Database) -> None:
    """Close every connection in ``database``'s pool (e.g. before forking workers)."""
    getattr(database, "close_all", database.close)()


def runner(database: peewee.Database, migrations_dir: Path) -> Runner:
    return Runner(database, str(migrations_dir))


@dataclasses.dataclass(frozen=True)
class MigrationStatus:
    """How the database's migration history compares with the migration files."""

    pending: tuple[str, ...]  # files the database has not applied: it is behind
    unknown: tuple[str, ...]  # applied migrations with no file here: it is ahead

    @classmethod
    def of(cls, status: list[Migration]) -> MigrationStatus:
        """From a runner's ``status()``: files and history merged."""
        return cls(
            pending=tuple(m.name for m in status if not m.applied),
            unknown=tuple(m.name for m in status if m.path is None),
        )


def migration_status(database: peewee.Database, migrations_dir: Path) -> MigrationStatus:
    """Compare the applied migrations with the files, on the current connection. A lost
    database raises peewee's error as it is, for the caller to map."""
    return MigrationStatus.of(runner(database, migrations_dir).status())


def _ahead(unknown: tuple[str, ...]) -> str:
    return (
        f"the database is ahead of this casesvc (it has {', '.join(unknown)}, which this "
        "version does not know); run a newer casesvc"
    )


def upgrade(database: peewee.Database, migrations_dir: Path) -> list[str]:
    """Apply pending migrations, all or none; returns their names.

    Refuses (``MigrationError``) when there are no migration files, when the database is
    ahead of the code, or when the migrated schema does not match the models; a failure
    part-way rolls every migration of this run back (DDL is transactional on both engines).
    """
    with database.connection_context():
        migrations = runner(database, migrations_dir)
        rows = migrations.status()
        if not any(m.path for m in rows):
            raise MigrationError(f"no migrations found in {migrations_dir}")
        state = MigrationStatus.of(rows)
        if state.unknown:
            raise MigrationError(_ahead(state.unknown))
        with database.atomic():
            for name in state.pending:  # one at a time, so a failure names its migration
                try:
                    migrations.up(target=name)
                except Exception as exc:
                    raise MigrationError(f"migration {name} failed: {exc}") from exc
            if drift := diff_models(database, [Case, Probe]):
                found = "; ".join(str(drift).splitlines())
                raise MigrationError(f"the migrated schema differs from the models: {found}")
        return list(state.pending)


class DiskFull(RuntimeError):
    """The embedded database's disk has (next to) no room left."""


# Room a SQLite database's disk must have to count as writable. A small write can still fit
# in space a failed one left allocated, so on a full disk the probe alone would come and go.
MIN_FREE_BYTES = 1024 * 1024


def write_probe(database: peewee.Database, now: dt.datetime) -> None:
    """Commit one small write (the ``probes`` row of ``/readyz``), on the current connection.
    Raises peewee's error when the database takes no writes (a full disk, a read-only file, a
    read-only standby server: all still answer reads), and ``DiskFull`` when a SQLite file's
    disk has less than ``MIN_FREE_BYTES`` left."""
    if isinstance(database, peewee.SqliteDatabase):
        free = shutil.disk_usage(Path(database.database).parent).free
        if free < MIN_FREE_BYTES:
            raise DiskFull(f"{free} bytes free on the database's disk")

    with Probe.bind_ctx(database):
        Probe.insert(name="readyz", checked_at=now).on_conflict(
            conflict_target=[Probe.name], update={Probe.checked_at: now}
        ).execute()


def require_existing(url: str) -> None:
    """Refuse a SQLite URL whose file does not exist, before SQLite would create it empty:
    only `casesvc db upgrade` (or the embedded default) creates a database."""
    path = database_url.parse(url).path
    if path is not None and not path.exists():
        raise DatabaseUnavailable(
            f"no SQLite database at {path.resolve()}; create it with `casesvc db upgrade`"
        )


def check_schema(database: peewee.Database, migrations_dir: Path) -> None:
    """Refuse to go on with a database whose migrations are behind (or ahead)."""
    try:
        with database.connection_context():
            state = migration_status(database, migrations_dir)
    except peewee.OperationalError as exc:
        where = (
            f" at {Path(database.database).resolve()}"
            if isinstance(database, peewee.SqliteDatabase)
            else ""
        )
        raise DatabaseUnavailable(f"cannot open the database{where}: {exc}") from exc
    if state.unknown:
        raise SchemaBehind(_ahead(state.unknown))
    if state.pending:
        raise SchemaBehind(
            f"the database is {len(state.pending)} migration(s) behind "
            f"({', '.join(state.pending)}); run `casesvc db upgrade` first"
        )
