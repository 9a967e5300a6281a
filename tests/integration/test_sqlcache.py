"""Compiled statements give exactly the SQL and parameters peewee builds each time."""

import datetime as dt

import peewee
import pytest

from casesvc.lifecycle import Status
from casesvc.models import Case
from casesvc.service import CaseService
from casesvc.store import INSTANT, status_condition

NOW = dt.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)
AFTER = dt.datetime(2026, 2, 28, 1, 2, 3, 456789, tzinfo=dt.UTC)


def built_each_time(service: CaseService, client: str | None, status: Status | None, after: bool):  # type: ignore[no-untyped-def]
    """The list query as plain peewee builds it for these values."""
    processing_edge = NOW - service.lifecycle.processing_after
    complete_edge = NOW - service.lifecycle.complete_after
    query = Case.select().order_by(Case.created_at.desc(), Case.id.desc())
    if client is not None:
        query = query.where(Case.client == client)
    if status is not None:
        query = query.where(status_condition(status, processing_edge, complete_edge))
    if after:
        position = peewee.Tuple(Case.created_at, Case.id)
        query = query.where(position < peewee.Tuple(INSTANT.db_value(AFTER), "case_ab"))
    return query.limit(51).sql()


@pytest.mark.parametrize("after", [False, True])
@pytest.mark.parametrize("status", [None, *Status])
@pytest.mark.parametrize("client", [None, "clinic-a"])
def test_list_statement_matches_peewee(
    service: CaseService, client: str | None, status: Status | None, after: bool
) -> None:
    """For every list shape, the cached SQL and its parameters equal a fresh peewee build."""
    statement = service.store._list_statement(client is not None, status, after)
    values = {
        "client": client,
        "limit": 51,
        "processing_edge": NOW - service.lifecycle.processing_after,
        "complete_edge": NOW - service.lifecycle.complete_after,
        "after_created_at": AFTER,
        "after_id": "case_ab",
    }

    expected = built_each_time(service, client, status, after)
    assert expected == (statement.sql, statement.params(values))


@pytest.mark.parametrize("key", [None, "k-1"])
def test_get_and_insert_statements_match_peewee(service: CaseService, key: str | None) -> None:
    """The cached lookups and insert equal what peewee builds for the same values."""
    get = service.store._get_statement(False)
    get_of_client = service.store._get_statement(True)
    get_by_key = service.store._get_by_key_statement()
    insert = service.store._insert_statement()
    fresh_insert = Case.insert(
        id="case_x",
        created_at=NOW,
        timeline_started_at=NOW,
        status="submitted",
        determination="d",
        client="clinic-a",
        idempotency_key=key,
    ).sql()

    assert Case.select().where(Case.id == "case_x").sql() == (
        get.sql,
        get.params({"id": "case_x"}),
    )
    assert Case.select().where(Case.id == "case_x", Case.client == "clinic-a").sql() == (
        get_of_client.sql,
        get_of_client.params({"id": "case_x", "client": "clinic-a"}),
    )
    assert Case.select().where(Case.client == "clinic-a", Case.idempotency_key == "k-1").sql() == (
        get_by_key.sql,
        get_by_key.params({"client": "clinic-a", "key": "k-1"}),
    )
    inserted = {"id": "case_x", "now": NOW, "determination": "d", "client": "clinic-a"}
    assert fresh_insert == (insert.sql, insert.params({**inserted, "key": key}))
