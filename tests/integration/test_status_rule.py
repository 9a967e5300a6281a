"""One status rule: the SQL list filter and the Python resolver agree on every case."""

from __future__ import annotations

import datetime as dt
import itertools

from casesvc.clock import FakeClock
from casesvc.lifecycle import STATUS_TABLE, Manual, Status, Timeline
from casesvc.models import Case
from casesvc.service import CaseService, new_case_id

NOW = dt.datetime(2026, 3, 1, 12, 0, 0, 500000, tzinfo=dt.UTC)
TINY = dt.timedelta(microseconds=1)
SECOND = dt.timedelta(seconds=1)


def timelines() -> list[Timeline]:
    """Per-case schedules of every kind, each placed so that NOW falls just before, on and
    just after each of its instants, and far from them: timed ones of several lengths (a
    sample's own timing gives a case its own), a held manual case, one moved to processing
    by hand, and one whose timeline starts after NOW (a clock that stepped back)."""
    found: list[Timeline] = []
    for processing, complete in ((10, 30), (1, 2), (0.5, 600), (60, 60)):
        gaps = (dt.timedelta(seconds=processing), dt.timedelta(seconds=complete))
        edges = [dt.timedelta(0), *gaps]
        ages = [e + d for e in edges for d in (-TINY, dt.timedelta(0), TINY)]
        for age in [*ages, -dt.timedelta(days=1), gaps[1] * 1000]:
            started = NOW - age
            found.append(Timeline(started, started + gaps[0], started + gaps[1]))
    for age in (-SECOND, dt.timedelta(0), dt.timedelta(days=400)):
        found.append(Timeline(NOW - age))  # held: nothing scheduled
        for moved in (-TINY, dt.timedelta(0), TINY):  # moved to processing by hand
            found.append(Timeline(NOW - age, NOW - moved))
    return found


def test_sql_filter_agrees_with_the_resolver(service: CaseService) -> None:
    """Over a grid of per-case timelines, instants around NOW and stored floors, each status
    filter lists exactly the cases the resolver gives that status."""
    grid = list(itertools.product(timelines(), Status))
    rows = [
        {
            "id": new_case_id(),
            "created_at": timeline.started,
            "timeline_started_at": timeline.started,
            "processing_at": timeline.processing_at,
            "complete_at": timeline.complete_at,
            "status": floor.value,
            "determination": service.catalog.keys[0],
        }
        for timeline, floor in grid
    ]
    Case.insert_many(rows).execute()
    reader = CaseService(
        database=service.database,
        clock=FakeClock(NOW),
        lifecycle=Manual(),  # what the list reads is the stored timeline, whoever wrote it
        catalog=service.catalog,
        secret_key="k",
    )
    expected = {
        row["id"]: STATUS_TABLE[timeline.implied(NOW), floor]
        for row, (timeline, floor) in zip(rows, grid, strict=True)
    }

    listed = {
        status: {c.case_id for c in reader.list_cases(page_size=500, status=status).cases}
        for status in Status
    }
    resolved = {c.case_id: c.status for c in reader.list_cases(page_size=500).cases}

    assert len(rows) < 500
    assert expected == resolved
    for status in Status:
        assert {i for i, s in expected.items() if s is status} == listed[status], status
    assert all(expected.values()) and len(set(expected.values())) == len(Status)
