import datetime as dt

import pytest

from casesvc.lifecycle import STATUS_TABLE, Lifecycle, Status
from tests.conftest import BOUNDARIES

LIFECYCLE = Lifecycle()


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [*[(seconds, status) for seconds, status, _ in BOUNDARIES], (-5, Status.SUBMITTED)],
)
def test_status_at_boundaries(seconds: float, expected: Status) -> None:
    """The stage is submitted below 10 s, processing from 10 s, complete from 30 s."""
    assert expected == LIFECYCLE.status_at(dt.timedelta(seconds=seconds))


@pytest.mark.parametrize(
    ("status", "seconds", "expected"),
    [*[(status, s, retry) for s, status, retry in BOUNDARIES], (Status.SUBMITTED, 0.5, 10)],
)
def test_seconds_to_next_rounds_up(status: Status, seconds: float, expected: int | None) -> None:
    """Seconds to the next stage are rounded up and never zero; complete has none."""
    assert expected == LIFECYCLE.seconds_to_next(status, dt.timedelta(seconds=seconds))


def test_thresholds_are_configurable() -> None:
    """Other thresholds move the boundaries with them."""
    fast = Lifecycle.from_seconds(1, 2)

    assert [Status.SUBMITTED, Status.PROCESSING, Status.COMPLETE] == [
        fast.status_at(dt.timedelta(seconds=s)) for s in (0.999, 1, 2)
    ]


def test_later_of_never_goes_back() -> None:
    """Combining two stages keeps the later one."""
    assert Status.PROCESSING == Status.SUBMITTED.later_of(Status.PROCESSING)
    assert Status.COMPLETE == Status.COMPLETE.later_of(Status.SUBMITTED)


def test_the_table_is_the_later_of_age_and_floor() -> None:
    """The table maps each (implied, stored) pair to the later stage of the two."""
    expected = {(a, b): max(a, b, key=lambda s: s.rank) for a in Status for b in Status}

    assert expected == STATUS_TABLE
