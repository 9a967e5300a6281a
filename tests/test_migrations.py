import peewee
import pytest
from playhouse.schema_diff import diff_models

from casesvc import build_service, create_app, db
from casesvc.config import Config
from casesvc.models import Case


@pytest.fixture
def empty(database_url: str) -> peewee.Database:
    database = db.open_database(database_url)
    yield database
    db.close_all(database)


def test_migrations_build_the_models_schema(empty: peewee.Database, config: Config) -> None:
    """All migrations applied to an empty database leave no drift against the models."""
    db.upgrade(empty, config.migrations_dir)
    db.bind(empty)
    with empty.connection_context():
        diff = diff_models(empty, [Case])

    assert not diff, str(diff)


def test_migrations_go_down_and_up_again(empty: peewee.Database, config: Config) -> None:
    """Every migration reverts cleanly and re-applies."""
    applied = db.upgrade(empty, config.migrations_dir)
    with empty.connection_context():
        runner = db.runner(empty, config.migrations_dir)
        reverted = runner.down(applied[0])
        assert not empty.table_exists("cases")

    assert list(reversed(applied)) == reverted
    assert applied == db.upgrade(empty, config.migrations_dir)


def test_a_database_behind_is_refused(database_url: str, config: Config) -> None:
    """Without auto-upgrade, an unmigrated database is refused with the command to run."""
    behind = Config(database_url=database_url, auto_upgrade=False)

    with pytest.raises(db.SchemaBehind, match="casesvc db upgrade"):
        create_app(behind)

    db.upgrade(db.open_database(database_url), config.migrations_dir)
    assert build_service(behind).catalog


@pytest.mark.sqlite_only
def test_sqlite_runs_in_wal_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The embedded database uses WAL and a busy timeout."""
    database = db.open_database(f"sqlite:///{tmp_path / 'w.db'}")
    with database.connection_context():
        assert "wal" == database.execute_sql("PRAGMA journal_mode").fetchone()[0]
        assert 10_000 == database.execute_sql("PRAGMA busy_timeout").fetchone()[0]
