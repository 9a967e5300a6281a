"""Storage on either engine: instants and the list query's indexes."""

import datetime as dt
import itertools
import threading
from pathlib import Path
from typing import Any

import freezegun
import peewee
import pytest

from casesvc import db
from casesvc.bootstrap import build_service
from casesvc.config import Config
from casesvc.lifecycle import Status
from casesvc.models import Case
from casesvc.service import CaseService


@pytest.mark.parametrize(
    "instant",
    [
        "2026-03-08T06:59:59.999999+00:00",  # 01:59:59 EST, just before clocks go forward
        "2026-03-08T07:00:00.000001+00:00",  # 03:00:00 EDT, just after
        "2026-11-01T05:30:00.250000+00:00",  # 01:30 EDT, the first of two 01:30s
        "2026-11-01T06:30:00.250000+00:00",  # 01:30 EST, the second
        "2026-06-30T23:59:59.123456+00:00",
    ],
)
def test_instants_read_back_exactly(config: Config, instant: str) -> None:
    """A case created at instant T reads back as T, across DST changes and whatever the
    server's time zone (the PostgreSQL pass runs its server in America/New_York)."""
    expected = dt.datetime.fromisoformat(instant)
    with freezegun.freeze_time(expected):
        service = build_service(config)
        with service.database.connection_context(), Case.bind_ctx(service.database):
            case_id = service.create().case_id
            row = Case.get_by_id(case_id)
            listed = service.list_cases().cases[0]
        db.close_all(service.database)

    assert (expected, expected, expected) == (
        row.created_at,
        row.timeline_started_at,
        listed.created_at,
    )
    assert dt.UTC == row.created_at.tzinfo


@pytest.mark.postgresql_only
def test_server_time_zone_is_not_utc(service: CaseService) -> None:
    """The PostgreSQL pass really runs with a non-UTC server TimeZone."""
    (zone,) = service.database.execute_sql("SHOW TimeZone").fetchone()
    assert "UTC" != zone


def seed(service: CaseService, n: int) -> None:
    """n cases, one a second for the last n seconds, of two clients in turn, by bulk insert."""
    now = service.clock.now()
    rows = []
    for i in range(n):
        at = now - dt.timedelta(seconds=i)
        sample = service.catalog[service.catalog.keys[i % len(service.catalog)]]
        timeline = service.lifecycle.timeline(at, sample)  # as create writes it
        rows.append(
            {
                "id": f"case_{i:024x}",
                "created_at": at,
                "timeline_started_at": at,
                "processing_at": timeline.processing_at,
                "complete_at": timeline.complete_at,
                "status": "complete" if i >= 30 else "submitted",
                "determination": service.catalog.keys[i % len(service.catalog)],
                "client": ("clinic-a", "clinic-b")[i % 2],
            }
        )
    with service.database.atomic():
        for batch in peewee.chunked(rows, 1000):
            Case.insert_many(batch).execute()
    service.database.execute_sql("ANALYZE")


def first_page_sql(
    executed_sql: Any, service: CaseService, client: str | None, status: Status | None
) -> tuple[str, list[object]]:
    """The SQL and parameters of the query the service runs for a first page (of 50), as
    peewee logged it."""
    ran = executed_sql(lambda: service.list_cases(client=client, status=status))
    (select,) = [(sql, params) for sql, params in ran if sql.startswith("SELECT")]
    return select


def explain(
    executed_sql: Any, service: CaseService, client: str | None, status: Status | None
) -> str:
    sql, params = first_page_sql(executed_sql, service, client, status)
    rows = service.database.execute_sql("EXPLAIN " + sql, params).fetchall()
    return "\n".join(str(r[0]) for r in rows)


@pytest.mark.postgresql_only
@pytest.mark.parametrize("status", [None, *Status])
@pytest.mark.parametrize("client", [None, "clinic-a"])
def test_list_first_page_uses_an_index(
    service: CaseService, executed_sql: Any, client: str | None, status: Status | None
) -> None:
    """On 20,000 rows, the first page of each status filter, for one client or every
    client, is an index scan, not a sequential scan."""
    seed(service, 20_000)
    plan = explain(executed_sql, service, client, status)

    assert "Index" in plan, plan
    assert "Seq Scan" not in plan, plan


@pytest.mark.sqlite_only
@pytest.mark.parametrize("status", [None, *Status])
@pytest.mark.parametrize("client", [None, "clinic-a"])
def test_sqlite_list_uses_an_index(
    service: CaseService, executed_sql: Any, client: str | None, status: Status | None
) -> None:
    """On SQLite too, the first page of each filter searches an index and sorts nothing."""
    seed(service, 2_000)
    sql, params = first_page_sql(executed_sql, service, client, status)
    plan = " | ".join(
        str(r[-1]) for r in service.database.execute_sql("EXPLAIN QUERY PLAN " + sql, params)
    )

    assert "USING INDEX" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


def wal_path(config: Config) -> Path:
    return Path(config.database_url.removeprefix("sqlite:///") + "-wal")


def flood(config: Config, threads: int, creates: int) -> int:
    """``threads`` threads create ``creates`` cases each, at once, each on its own connection;
    the size of the WAL after them, in bytes."""
    service = build_service(config)

    def create() -> None:
        for _ in range(creates):
            service.create()
        service.database.close()

    workers = [threading.Thread(target=create) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    size = wal_path(config).stat().st_size
    db.close_all(service.database)  # the last connection closed, SQLite removes the WAL
    return size


@pytest.mark.sqlite_only
def test_the_wal_stays_bounded_under_a_flood_of_creates(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Concurrent creates from many connections leave SQLite's own checkpoints no moment to
    start the WAL over; past its limit, a create checkpoints and truncates it, so it stays
    near the limit. (However fast or slow the flood: each create checks the size once it
    is committed, so the last ones leave it near the limit. That the check is what holds
    the WAL down, the next test shows on a counted, single-threaded run.)"""
    monkeypatch.setattr(db, "WAL_LIMIT_BYTES", 1 << 20)
    size = flood(config, threads=6, creates=300)

    assert size < 2 << 20


SMALL_LIMIT = 256 << 10
COUNTED_CREATES = 400


def wal_after_each_create(config: Config, creates: int) -> list[int]:
    """One connection creates ``creates`` cases with SQLite's automatic checkpoints off, as a
    flood holds them off (they never find a moment to start the WAL over); the size of the
    WAL after each create, in bytes. No other connection, no thread: the same each run."""
    service = build_service(config)
    sizes = []
    with service.database.connection_context():
        service.database.execute_sql("PRAGMA wal_autocheckpoint = 0")
        for _ in range(creates):
            service.create()
            sizes.append(wal_path(config).stat().st_size)
    db.close_all(service.database)  # the last connection closed, SQLite removes the WAL
    return sizes


@pytest.mark.sqlite_only
def test_past_its_limit_a_create_truncates_the_wal(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same 400 creates, with SQLite's own checkpoints held off: without the limit they
    grow the WAL at every create, past four times the limit; with it, a create that finds
    the WAL past the limit truncates it, so no create leaves it larger than the limit."""
    monkeypatch.setattr(db, "WAL_LIMIT_BYTES", 1 << 40)  # no limit this flood could reach
    unbounded = wal_after_each_create(config, COUNTED_CREATES)
    monkeypatch.setattr(db, "WAL_LIMIT_BYTES", SMALL_LIMIT)
    bounded = wal_after_each_create(config, COUNTED_CREATES)
    truncated = sum(after < before for before, after in itertools.pairwise(bounded))

    assert sorted(set(unbounded)) == unbounded  # it grew at every create
    assert unbounded[-1] > 4 * SMALL_LIMIT
    assert max(bounded) <= SMALL_LIMIT
    assert truncated >= 4


def test_an_idempotency_key_is_found_through_its_index(service: CaseService) -> None:
    """Looking a key up is an index search on either engine, though the unique index holds
    only the cases created with a key (a keyless create writes no entry there)."""
    seed(service, 2_000)
    service.create(idempotency_key="k-1")
    service.database.execute_sql("ANALYZE")
    query = Case.select().where(Case.client == "default", Case.idempotency_key == "k-1")
    sql, params = query.bind(service.database).sql()
    postgres = isinstance(service.database, peewee.PostgresqlDatabase)
    explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
    rows = service.database.execute_sql(explain + sql, params).fetchall()
    plan = " | ".join(str(row[-1]) for row in rows)

    assert "cases_client_idempotency_key_sent" in plan, plan
