"""Compiled statements give exactly the SQL and parameters peewee builds each time.

What the store runs is read from peewee's own query log (the ``executed_sql`` fixture), so
these tests see what the store's public methods really execute.
"""

import datetime as dt
from typing import Any

import peewee
import pytest

from casesvc.lifecycle import Status, Timeline
from casesvc.models import Case
from casesvc.service import CaseService
from casesvc.store import INSTANT, status_condition

NOW = dt.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)
AFTER = dt.datetime(2026, 2, 28, 1, 2, 3, 456789, tzinfo=dt.UTC)


def built_each_time(service: CaseService, client: str | None, status: Status | None, after: bool):  # type: ignore[no-untyped-def]
    """The list query as plain peewee builds it for these values."""
    query = Case.select().order_by(Case.created_at.desc(), Case.id.desc())
    if client is not None:
        query = query.where(Case.client == client)
    if status is not None:
        query = query.where(status_condition(status, NOW))
    if after:
        position = peewee.Tuple(Case.created_at, Case.id)
        query = query.where(position < peewee.Tuple(INSTANT.db_value(AFTER), "case_ab"))
    return query.limit(51).sql()


@pytest.mark.parametrize("after", [False, True])
@pytest.mark.parametrize("status", [None, *Status])
@pytest.mark.parametrize("client", [None, "clinic-a"])
def test_list_statement_matches_peewee(
    service: CaseService,
    executed_sql: Any,
    client: str | None,
    status: Status | None,
    after: bool,
) -> None:
    """For every list shape, the SQL and parameters the store runs equal a fresh peewee
    build."""

    def page() -> None:
        service.store.page(
            client=client,
            limit=51,
            status=status,
            now=NOW,
            after=(AFTER, "case_ab") if after else None,
        )

    expected = built_each_time(service, client, status, after)
    assert [expected] == executed_sql(page)
    assert [expected] == executed_sql(page)  # the second time, from the cache


@pytest.mark.parametrize("key", [None, "k-1"])
def test_get_and_insert_statements_match_peewee(
    service: CaseService, executed_sql: Any, key: str | None
) -> None:
    """The lookups and the insert the store runs equal what peewee builds for the same
    values."""
    store = service.store
    get = Case.select().where(Case.id == "case_x").sql()
    get_of_client = Case.select().where(Case.id == "case_x", Case.client == "clinic-a").sql()
    by_key = Case.select().where(Case.client == "clinic-a", Case.idempotency_key == "k-1").sql()
    insert = Case.insert(
        id="case_x",
        created_at=NOW,
        timeline_started_at=NOW,
        processing_at=NOW + dt.timedelta(seconds=10),
        complete_at=None,
        status="submitted",
        determination="d",
        client="clinic-a",
        idempotency_key=key,
    ).sql()

    assert [get] == executed_sql(lambda: store.get("case_x", None))
    assert [get_of_client] == executed_sql(lambda: store.get("case_x", "clinic-a"))
    assert [by_key] == executed_sql(lambda: store.get_by_key("clinic-a", "k-1"))
    timeline = Timeline(NOW, NOW + dt.timedelta(seconds=10))
    inserted = executed_sql(lambda: store.insert("case_x", NOW, "d", "clinic-a", key, timeline))
    assert [insert] == inserted
