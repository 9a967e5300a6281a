"""One status rule: the SQL list filter and the Python resolver agree on every case."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from casesvc.clock import FakeClock
from casesvc.lifecycle import STATUS_TABLE, Lifecycle, Status
from casesvc.models import Case
from casesvc.service import CaseService, new_case_id

NOW = dt.datetime(2026, 3, 1, 12, 0, 0, 500000, tzinfo=dt.UTC)
TINY = dt.timedelta(microseconds=1)


def ages(lifecycle: Lifecycle) -> list[dt.timedelta]:
    """Ages on, just before and just after each threshold, far past them, and negative (a
    clock that stepped back behind the timeline start)."""
    edges = [dt.timedelta(0), lifecycle.processing_after, lifecycle.complete_after]
    around = [edge + delta for edge in edges for delta in (-TINY, dt.timedelta(0), TINY)]
    return [*around, -dt.timedelta(days=1), lifecycle.complete_after * 1000]


@pytest.mark.parametrize("thresholds", [(10, 30), (1, 2), (0.5, 600)])
def test_sql_filter_agrees_with_the_resolver(
    service: CaseService, thresholds: tuple[float, float]
) -> None:
    """Over a grid of ages, stored floors and thresholds, each status filter lists exactly
    the cases the resolver gives that status."""
    lifecycle = Lifecycle.from_seconds(*thresholds)
    grid = list(itertools.product(ages(lifecycle), Status))
    rows = [
        {
            "id": new_case_id(),
            "created_at": NOW - age,
            "timeline_started_at": NOW - age,
            "status": floor.value,
            "determination": service.catalog.keys[0],
        }
        for age, floor in grid
    ]
    Case.insert_many(rows).execute()
    reader = CaseService(
        database=service.database,
        clock=FakeClock(NOW),
        lifecycle=lifecycle,
        catalog=service.catalog,
        secret_key="k",
    )
    expected = {
        row["id"]: STATUS_TABLE[lifecycle.status_at(age), floor]
        for row, (age, floor) in zip(rows, grid, strict=True)
    }

    listed = {
        status: {c.case_id for c in reader.list_cases(page_size=500, status=status).cases}
        for status in Status
    }
    resolved = {c.case_id: c.status for c in reader.list_cases(page_size=500).cases}

    assert expected == resolved
    for status in Status:
        assert {i for i, s in expected.items() if s is status} == listed[status], status
