"""Clock edge cases: reads exactly at a threshold, many workers at one instant, and a system
clock that steps backwards. Status never goes back, in a response or in the stored column."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from flask.testing import FlaskClient

from casesvc.api import parts_of
from casesvc.clock import FakeClock
from casesvc.lifecycle import Status
from casesvc.models import Case
from tests.conftest import EDGE_IDS, EDGES, T0

STATUSES = ["submitted", "processing", "complete"]


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture
def apps(make_app: Any) -> Any:
    """apps(clock) -> a test client of an app on the shared database, with that clock."""
    return lambda clock: make_app(clock=clock).test_client()


def stored(http: FlaskClient, case_id: str) -> str:
    service = parts_of(http.application).service
    with service.database.connection_context(), Case.bind_ctx(service.database):
        return str(Case.get_by_id(case_id).status)


def listed_ids(http: FlaskClient, status: str) -> list[str]:
    return [c["case_id"] for c in http.get(f"/cases?status={status}&page_size=500").json["cases"]]


@pytest.mark.parametrize(
    ("offset", "expected", "retry_after"),
    [(age, status.value, None if r is None else str(r)) for age, status, r in EDGES],
    ids=EDGE_IDS,
)
def test_read_exactly_at_a_threshold(
    apps: Any, offset: dt.timedelta, expected: str, retry_after: str | None
) -> None:
    """To the microsecond at each threshold, the list filter (in SQL), a single read and the
    stored column all agree, and Retry-After counts down to the next stage."""
    clock = FakeClock(T0)
    http = apps(clock)
    case_id = http.post("/cases").json["case_id"]
    clock.set(T0 + offset)

    # The other filters first: they must not match, and so write nothing.
    others = {s: listed_ids(http, s) for s in STATUSES if s != expected}
    assert stored(http, case_id) == "submitted"
    matching = listed_ids(http, expected)  # decided by the SQL predicate alone
    response = http.get(f"/cases/{case_id}")

    assert {s: [] for s in others} == others
    assert [case_id] == matching
    assert (expected, retry_after) == (
        response.json["status"],
        response.headers.get("Retry-After"),
    )
    assert expected == stored(http, case_id)


def test_clock_stepping_back_never_moves_status_back(apps: Any) -> None:
    """After the clock steps back (NTP), even to before the case existed, a case seen
    complete still reads complete with its determination, stays in the complete list, and
    its stored status is untouched; the same for processing."""
    clock = FakeClock(T0)
    http = apps(clock)
    complete_id = http.post("/cases").json["case_id"]
    clock.set(at(12))
    processing_id = http.post("/cases").json["case_id"]
    clock.set(at(31))
    before = {i: http.get(f"/cases/{i}").json for i in (complete_id, processing_id)}

    for back_to in (at(30), at(20), at(5), at(-3600)):
        clock.set(back_to)
        after = {i: http.get(f"/cases/{i}") for i in (complete_id, processing_id)}
        assert ["complete", "processing"] == [before[i]["status"] for i in before]
        assert before[complete_id] == after[complete_id].json
        assert "Retry-After" not in after[complete_id].headers
        assert "processing" == after[processing_id].json["status"]
        assert int(after[processing_id].headers["Retry-After"]) >= 1
        assert {
            "submitted": [],
            "processing": [processing_id],
            "complete": [complete_id],
        } == {s: listed_ids(http, s) for s in STATUSES}
        assert ["complete", "processing"] == [
            stored(http, complete_id),
            stored(http, processing_id),
        ]


def test_status_is_monotonic_under_a_wandering_clock(apps: Any) -> None:
    """Two hosts whose clocks jump forwards and backwards at random, reading and listing the
    same cases in turn: no answer ever shows a case in an earlier status than an answer
    before it did, and the stored column never moves back."""
    rng = random.Random(7)
    clocks = [FakeClock(T0), FakeClock(T0)]
    hosts = [apps(clocks[0]), apps(clocks[1])]
    rank = {s: n for n, s in enumerate(STATUSES)}
    ids: list[str] = []
    highest: dict[str, int] = {}
    stored_before: dict[str, int] = {}
    answers = 0

    for _ in range(150):
        host = rng.randrange(2)
        clock, http = clocks[host], hosts[host]
        clock.set(T0 + dt.timedelta(seconds=rng.uniform(-20, 60)))  # steps either way
        action = rng.choice(["create", "get", "get", "list", "list"])
        if action == "create" or not ids:
            ids.append(http.post("/cases").json["case_id"])
            continue
        if action == "get":
            case = http.get(f"/cases/{rng.choice(ids)}").json
            seen = [(case["case_id"], case["status"])]
        else:
            status = rng.choice([*STATUSES, None])
            query = f"?status={status}&page_size=500" if status else "?page_size=500"
            seen = [(c["case_id"], c["status"]) for c in http.get("/cases" + query).json["cases"]]
        for case_id, status in seen:
            answers += 1
            assert rank[status] >= highest.get(case_id, 0), case_id
            highest[case_id] = rank[status]
        now_stored = {i: rank[stored(http, i)] for i in ids}
        assert all(now_stored[i] >= stored_before.get(i, 0) for i in ids)
        stored_before = now_stored

    assert answers > 200
    assert {0, 1, 2} <= set(highest.values())  # every stage was reached


def test_status_floor_is_what_the_service_writes(apps: Any) -> None:
    """The floor is the stored column itself: a status written by another host (or a
    fast-forward) is honoured by a host whose clock says less."""
    clock = FakeClock(T0)
    http = apps(clock)
    case_id = http.post("/cases").json["case_id"]
    service = parts_of(http.application).service
    with service.database.connection_context():
        query = Case.update(status=Status.COMPLETE.value).where(Case.id == case_id)
        query.execute(service.database)

    assert "complete" == http.get(f"/cases/{case_id}").json["status"]
    assert [case_id] == listed_ids(http, "complete")
