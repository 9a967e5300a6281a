import shutil
from pathlib import Path

import peewee
import pytest
from click.testing import CliRunner
from playhouse.migrations import MigrationError
from playhouse.schema_diff import diff_models

from casesvc import db
from casesvc.app import create_app
from casesvc.bootstrap import prepare_database
from casesvc.cli import EXIT_ERROR, main
from casesvc.config import MIGRATIONS_DIR, Config
from casesvc.models import Case

NOOP = "def up(migrator, db):\n    pass\n"
BROKEN = """from peewee import IntegerField


def up(migrator, db):
    migrator.migrate(migrator.add_column("cases", "doomed", IntegerField(null=True)))
    raise RuntimeError("on purpose")
"""


@pytest.fixture
def empty(empty_database_url: str) -> peewee.Database:
    database = db.open_database(empty_database_url)
    yield database
    db.close_all(database)


def test_migrations_build_the_models_schema(empty: peewee.Database) -> None:
    """All migrations applied to an empty database leave no drift against the models."""
    db.upgrade(empty, MIGRATIONS_DIR)
    with empty.connection_context():
        diff = diff_models(empty, [Case])

    assert not diff, str(diff)


def test_migrations_go_down_and_up_again(empty: peewee.Database) -> None:
    """Every migration reverts cleanly and re-applies."""
    applied = db.upgrade(empty, MIGRATIONS_DIR)
    with empty.connection_context():
        runner = db.runner(empty, MIGRATIONS_DIR)
        reverted = runner.down(applied[0])
        assert not empty.table_exists("cases")

    assert list(reversed(applied)) == reverted
    assert applied == db.upgrade(empty, MIGRATIONS_DIR)


def test_a_database_behind_is_refused(empty_database_url: str) -> None:
    """Without auto-upgrade, an unmigrated database is refused with the command to run;
    once upgraded, it is accepted."""
    behind = Config(database_url=empty_database_url, auto_upgrade=False)
    db.open_database(empty_database_url).connect()  # the database exists, with no table

    with pytest.raises(db.SchemaBehind, match="casesvc db upgrade"):
        prepare_database(behind)

    db.upgrade(db.open_database(empty_database_url), MIGRATIONS_DIR)
    prepare_database(behind)


def test_the_factory_touches_no_database(tmp_path: Path) -> None:
    """create_app on a database that does not exist opens nothing, and serves the OpenAPI
    document and the health probe without one."""
    missing = tmp_path / "nowhere" / "cases.db"
    app = create_app(Config(database_url=f"sqlite:///{missing}"))
    http = app.test_client()

    assert (200, 200) == (
        http.get("/openapi.json").status_code,
        http.get("/healthz").status_code,
    )
    assert not missing.parent.exists()


@pytest.mark.sqlite_only
def test_sqlite_runs_in_wal_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The embedded database uses WAL and a busy timeout."""
    database = db.open_database(f"sqlite:///{tmp_path / 'w.db'}")
    with database.connection_context():
        assert "wal" == database.execute_sql("PRAGMA journal_mode").fetchone()[0]
        assert 10_000 == database.execute_sql("PRAGMA busy_timeout").fetchone()[0]


def copy_migrations(source: Path, target: Path, *extra: tuple[str, str]) -> Path:
    """The project's migrations in ``target``, plus ``extra`` (name, source) files."""
    target.mkdir()
    for path in source.glob("[0-9]*.py"):
        shutil.copy(path, target)
    for name, text in extra:
        (target / name).write_text(text)
    return target


def tables(database: peewee.Database) -> list[str]:
    with database.connection_context():
        return sorted(database.get_tables())


def test_no_migrations_is_an_error(empty: peewee.Database, tmp_path: Path) -> None:
    """An upgrade that finds no migration files refuses, and creates nothing."""
    (tmp_path / "none").mkdir()

    with pytest.raises(MigrationError, match="no migrations found"):
        db.upgrade(empty, tmp_path / "none")
    assert [] == tables(empty)


def test_a_database_ahead_is_an_error(empty: peewee.Database, tmp_path: Path) -> None:
    """A database with a migration this code has no file for is ahead: upgrade refuses,
    and so does start-up."""
    newer = copy_migrations(MIGRATIONS_DIR, tmp_path / "newer", ("0099_future.py", NOOP))
    db.upgrade(empty, newer)

    with pytest.raises(MigrationError, match=r"ahead of this casesvc.*0099_future"):
        db.upgrade(empty, MIGRATIONS_DIR)
    with pytest.raises(db.SchemaBehind, match="ahead"):
        db.check_schema(empty, MIGRATIONS_DIR)


def test_a_failure_midway_leaves_the_database_as_it_was(
    empty: peewee.Database, tmp_path: Path
) -> None:
    """When the last migration fails after changing the schema, every one before it and its
    own change are rolled back, and the error names it."""
    broken = copy_migrations(MIGRATIONS_DIR, tmp_path / "broken", ("0099_broken.py", BROKEN))

    with pytest.raises(MigrationError, match="migration 0099_broken failed: on purpose"):
        db.upgrade(empty, broken)
    assert [] == [t for t in tables(empty) if t != "schema_migration"]
    with empty.connection_context():
        assert len(list(MIGRATIONS_DIR.glob("0*.py"))) == len(
            db.migration_status(empty, MIGRATIONS_DIR).pending
        )


def test_upgrade_checks_the_schema_it_leaves(empty: peewee.Database, tmp_path: Path) -> None:
    """Migrations that run but leave a schema unlike the models are refused and undone."""
    short = copy_migrations(MIGRATIONS_DIR, tmp_path / "short")
    max(short.glob("0*.py")).write_text(NOOP)  # the newest one changes nothing

    with pytest.raises(MigrationError, match="differs from the models"):
        db.upgrade(empty, short)
    assert [] == [t for t in tables(empty) if t != "schema_migration"]


def test_cli_upgrade_of_a_database_ahead_fails_in_one_line(
    database_url: str, config: Config, tmp_path: Path
) -> None:
    """`casesvc db upgrade` on a database ahead of the code exits 1 with one line."""
    newer = copy_migrations(MIGRATIONS_DIR, tmp_path / "newer", ("0099_future.py", NOOP))
    database = db.open_database(database_url)
    db.upgrade(database, newer)
    db.close_all(database)

    result = CliRunner().invoke(main, ["--database-url", database_url, "db", "upgrade"])

    assert EXIT_ERROR == result.exit_code
    assert 1 == len(result.output.splitlines()), result.output
    assert "ahead of this casesvc" in result.output


def test_cases_made_before_stage_instants_keep_the_default_timing(
    empty: peewee.Database,
) -> None:
    """Migration 0007 gives every existing case the default timing (processing 10 s and
    complete 30 s after its timeline start, to the microsecond), on both engines."""
    import datetime as dt

    from casesvc.store import INSTANT

    with empty.connection_context():
        runner = db.runner(empty, MIGRATIONS_DIR)
        runner.up(target="0006_add_probes")
        starts = [
            dt.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=dt.UTC),
            dt.datetime(2026, 2, 28, 23, 59, 45, 999999, tzinfo=dt.UTC),
        ]
        for n, started in enumerate(starts):
            empty.execute_sql(
                "INSERT INTO cases (id, created_at, timeline_started_at, status, determination, "
                "client) VALUES (%s, %s, %s, 'submitted', 'd', 'default')".replace(
                    "%s", empty.param
                ),
                (f"case_{n}", INSTANT.db_value(started), INSTANT.db_value(started)),
            )
    db.upgrade(empty, MIGRATIONS_DIR)
    with empty.connection_context(), Case.bind_ctx(empty):
        rows = {c.id: (c.processing_at, c.complete_at) for c in Case.select()}

    assert {
        f"case_{n}": (s + dt.timedelta(seconds=10), s + dt.timedelta(seconds=30))
        for n, s in enumerate(starts)
    } == rows
