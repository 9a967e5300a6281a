import datetime as dt
import re

import pytest
from freezegun.api import FrozenDateTimeFactory

from casesvc.lifecycle import Status
from casesvc.models import Case
from casesvc.representation import document
from casesvc.service import CaseNotFound, CaseService, InvalidPageToken, new_case_id
from tests.conftest import BOUNDARIES


def stored_status(case_id: str) -> str:
    return str(Case.get_by_id(case_id).status)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(seconds, status) for seconds, status, _ in BOUNDARIES],
)
def test_status_at_boundaries(
    service: CaseService, frozen: FrozenDateTimeFactory, seconds: float, expected: Status
) -> None:
    """A case read at each boundary has the status its age implies."""
    case_id = service.create().case_id
    frozen.tick(dt.timedelta(seconds=seconds))

    assert expected == service.get(case_id).status


def test_create_commits_the_row(service: CaseService) -> None:
    """A created case is committed, submitted, and its timeline starts at created_at."""
    case = service.create()
    row = Case.get_by_id(case.case_id)

    assert (Status.SUBMITTED, "submitted") == (case.status, row.status)
    assert row.created_at == row.timeline_started_at == case.created_at
    assert row.determination in service.catalog.keys


def test_case_ids_are_random_and_well_formed() -> None:
    """Ids are case_ plus 96 random bits in hex, and not sequential."""
    ids = [new_case_id() for _ in range(1000)]

    assert all(re.fullmatch(r"case_[0-9a-f]{24}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert sorted(ids) != ids


def test_determination_is_picked_from_the_id(service: CaseService) -> None:
    """The same id always gets the same determination, and both samples get used."""
    ids = [new_case_id() for _ in range(200)]

    assert [service.catalog.pick(i).key for i in ids] == [service.catalog.pick(i).key for i in ids]
    assert set(service.catalog.keys) == {service.catalog.pick(i).key for i in ids}


def test_document_fills_in_by_stage(service: CaseService, frozen: FrozenDateTimeFactory) -> None:
    """Summary appears at processing, steps and the verdict at complete."""
    case_id = service.create().case_id
    docs = [document(service.get(case_id))]
    for seconds in (10, 20):
        frozen.tick(seconds)
        docs.append(document(service.get(case_id)))
    d = service.get(case_id).determination

    assert [(None, [], False, False), (d.summary, [], False, False)] == [
        (doc["summary"], doc["steps"], doc["is_met"], doc["is_complete"]) for doc in docs[:2]
    ]
    assert (d.summary, list(d.steps), d.is_met, True) == (
        docs[2]["summary"],
        docs[2]["steps"],
        docs[2]["is_met"],
        docs[2]["is_complete"],
    )


def test_unknown_and_malformed_ids_are_not_found(service: CaseService) -> None:
    """Both a well-formed unknown id and junk raise CaseNotFound."""
    for case_id in (new_case_id(), "nope", "case_' OR 1=1 --", "x" * 10_000):
        with pytest.raises(CaseNotFound):
            service.get(case_id)


def test_status_is_written_forward_once(
    service: CaseService, frozen: FrozenDateTimeFactory
) -> None:
    """Reading a case that moved on persists its new status, and only forward."""
    case_id = service.create().case_id
    frozen.tick(12)
    assert "submitted" == stored_status(case_id)  # nothing is written without a read

    service.get(case_id)
    assert "processing" == stored_status(case_id)

    frozen.tick(-60)  # the system clock steps back (NTP)
    assert Status.PROCESSING == service.get(case_id).status
    assert "processing" == stored_status(case_id)


def test_write_forward_never_moves_back(service: CaseService) -> None:
    """A write of an earlier status than the stored one changes nothing."""
    case_id = service.create().case_id
    Case.update(status="complete").where(Case.id == case_id).execute()

    service.store.write_forward(Status.PROCESSING, [case_id])

    assert "complete" == stored_status(case_id)


def create_at_offsets(service: CaseService, frozen: FrozenDateTimeFactory, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        ids.append(service.create().case_id)
        frozen.tick(1)
    return ids


def test_list_pages_through_every_case_once_newest_first(
    service: CaseService, frozen: FrozenDateTimeFactory
) -> None:
    """Following next_page_token visits every case exactly once, newest first."""
    ids = create_at_offsets(service, frozen, 23)
    seen, token = [], None
    while True:
        page = service.list_cases(page_size=5, page_token=token)
        seen += [v.case_id for v in page.cases]
        token = page.next_page_token
        if token is None:
            break

    assert list(reversed(ids)) == seen


def test_list_orders_same_instant_cases_by_id(service: CaseService) -> None:
    """Cases created in the same microsecond still page in a total order."""
    ids = [service.create().case_id for _ in range(7)]
    first = service.list_cases(page_size=4)
    second = service.list_cases(page_size=4, page_token=first.next_page_token)

    assert sorted(ids, reverse=True) == [v.case_id for v in first.cases + second.cases]


@pytest.mark.parametrize("status", list(Status))
def test_status_filter_agrees_with_single_reads(
    service: CaseService, frozen: FrozenDateTimeFactory, status: Status
) -> None:
    """Filtering by status returns exactly the cases a single read shows in that status."""
    ids = create_at_offsets(service, frozen, 40)  # ages 1 s .. 40 s
    expected = [i for i in reversed(ids) if service.get(i).status is status]
    seen, token = [], None
    while True:
        page = service.list_cases(page_size=3, page_token=token, status=status)
        seen += [v.case_id for v in page.cases]
        assert all(v.status is status for v in page.cases)
        token = page.next_page_token
        if token is None:
            break

    assert expected == seen
    assert expected


def test_status_filter_follows_the_stored_floor(
    service: CaseService, frozen: FrozenDateTimeFactory
) -> None:
    """After the clock steps back, a case that was seen complete is still listed as complete."""
    case_id = service.create().case_id
    frozen.tick(31)
    service.get(case_id)
    frozen.tick(-40)

    assert [case_id] == [v.case_id for v in service.list_cases(status=Status.COMPLETE).cases]
    assert [] == service.list_cases(status=Status.SUBMITTED).cases


def test_page_token_is_bound_to_its_filter(
    service: CaseService, frozen: FrozenDateTimeFactory
) -> None:
    """A token from one filter, or a tampered one, is refused."""
    create_at_offsets(service, frozen, 3)
    token = service.list_cases(page_size=1).next_page_token
    assert token is not None

    with pytest.raises(InvalidPageToken):
        service.list_cases(page_size=1, page_token=token, status=Status.SUBMITTED)
    with pytest.raises(InvalidPageToken):
        service.list_cases(
            page_size=1, page_token=token[:-2] + ("A" if token[-2] != "A" else "B") + "x"
        )
