"""Fast-forwarding a case in the service: forward only, persisted, created_at untouched."""

import datetime as dt

import pytest
from freezegun.api import FrozenDateTimeFactory

from casesvc.lifecycle import Status
from casesvc.models import Case
from casesvc.service import CannotAdvance, CaseNotFound, CaseService, new_case_id
from tests.conftest import BOUNDARIES, T0


def seconds(value: float) -> dt.timedelta:
    return dt.timedelta(seconds=value)


@pytest.mark.parametrize(
    ("by", "expected"),
    [*[(by, status) for by, status, _ in BOUNDARIES], (3600, Status.COMPLETE)],
)
def test_advance_by_crosses_each_boundary(
    service: CaseService, by: float, expected: Status
) -> None:
    """Advancing by a duration gives the status that age implies, in the snapshot and the row."""
    case_id = service.create().case_id

    case = service.advance(case_id, by=seconds(by))

    assert (expected, expected.value) == (case.status, Case.get_by_id(case_id).status)
    assert seconds(by) == case.age


def test_advance_moves_only_the_timeline(service: CaseService) -> None:
    """created_at stays put; the timeline start moves earlier and the instant is recorded."""
    case_id = service.create().case_id

    case = service.advance(case_id, by=seconds(15))
    row = Case.get_by_id(case_id)

    assert (T0, T0 - seconds(15), T0) == (
        row.created_at,
        row.timeline_started_at,
        row.last_advanced_at,
    )
    assert (seconds(15), T0) == (case.fast_forwarded_by, case.last_advanced_at)


def test_advances_add_up(service: CaseService, frozen: FrozenDateTimeFactory) -> None:
    """Two advances add up, on top of the time that really passed."""
    case_id = service.create().case_id
    frozen.tick(3)

    service.advance(case_id, by=seconds(5))
    case = service.advance(case_id, by=seconds(5))

    assert (seconds(13), seconds(10), Status.PROCESSING) == (
        case.age,
        case.fast_forwarded_by,
        case.status,
    )


@pytest.mark.parametrize(
    ("elapsed", "to", "age"),
    [
        (0, Status.PROCESSING, 10),
        (4, Status.PROCESSING, 10),
        (0, Status.COMPLETE, 30),
        (12, Status.COMPLETE, 30),
    ],
)
def test_advance_to_moves_just_far_enough(
    service: CaseService, frozen: FrozenDateTimeFactory, elapsed: float, to: Status, age: float
) -> None:
    """--to a later stage leaves the case exactly at that stage's start."""
    case_id = service.create().case_id
    frozen.tick(elapsed)

    case = service.advance(case_id, to=to)

    assert (to, seconds(age), seconds(age - elapsed)) == (
        case.status,
        case.age,
        case.fast_forwarded_by,
    )


@pytest.mark.parametrize("to", list(Status))
def test_advance_to_the_current_stage_changes_nothing(
    service: CaseService, frozen: FrozenDateTimeFactory, to: Status
) -> None:
    """--to the stage the case is already in succeeds and writes nothing."""
    created = service.create()
    case_id, timeline = created.case_id, created.timeline
    frozen.tick(timeline.begins(to) - timeline.started + seconds(1))  # type: ignore[operator]

    case = service.advance(case_id, to=to)

    assert (to, dt.timedelta(0), None) == (
        case.status,
        case.fast_forwarded_by,
        Case.get_by_id(case_id).last_advanced_at,
    )


@pytest.mark.parametrize(
    ("elapsed", "to"),
    [
        (10, Status.SUBMITTED),
        (30, Status.SUBMITTED),
        (30, Status.PROCESSING),
    ],
)
def test_advance_to_an_earlier_stage_is_refused(
    service: CaseService, frozen: FrozenDateTimeFactory, elapsed: float, to: Status
) -> None:
    """A case never moves back to an earlier stage, and the refusal changes nothing."""
    case_id = service.create().case_id
    frozen.tick(elapsed)
    before = Case.get_by_id(case_id).timeline_started_at

    with pytest.raises(CannotAdvance, match=f"cannot move back to {to}"):
        service.advance(case_id, to=to)
    assert before == Case.get_by_id(case_id).timeline_started_at


def test_negative_advance_is_refused(service: CaseService) -> None:
    """A negative duration is refused before anything is read or written."""
    case_id = service.create().case_id

    with pytest.raises(CannotAdvance, match="cannot move backwards"):
        service.advance(case_id, by=seconds(-1))
    assert (T0, None) == (
        Case.get_by_id(case_id).timeline_started_at,
        Case.get_by_id(case_id).last_advanced_at,
    )


def test_an_absurd_advance_is_refused(service: CaseService) -> None:
    """A duration that would leave the calendar is refused, not crashed on."""
    case_id = service.create().case_id

    with pytest.raises(CannotAdvance, match="that far"):
        service.advance(case_id, by=dt.timedelta(days=999_999_999))


def test_advance_needs_exactly_one_of_by_and_to(service: CaseService) -> None:
    """Giving both or neither of by and to is a programming error."""
    case_id = service.create().case_id

    with pytest.raises(TypeError):
        service.advance(case_id)
    with pytest.raises(TypeError):
        service.advance(case_id, by=seconds(1), to=Status.COMPLETE)


def test_advance_an_unknown_case(service: CaseService) -> None:
    """Advancing an id that no case has raises CaseNotFound."""
    with pytest.raises(CaseNotFound):
        service.advance(new_case_id(), by=seconds(1))


def test_advance_all(service: CaseService, frozen: FrozenDateTimeFactory) -> None:
    """Every case moves by the same amount, newest first, and lists agree with reads."""
    older = service.create().case_id
    frozen.tick(5)
    newer = service.create().case_id

    cases = service.advance_all(seconds(10))

    assert [(newer, Status.PROCESSING), (older, Status.PROCESSING)] == [
        (v.case_id, v.status) for v in cases
    ]
    assert {older, newer} == {
        v.case_id for v in service.list_cases(status=Status.PROCESSING).cases
    }


def test_advance_all_with_no_cases(service: CaseService) -> None:
    """With no cases, advancing all does nothing and says so with an empty list."""
    assert [] == service.advance_all(seconds(10))
