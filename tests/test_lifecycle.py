import datetime as dt

import pytest

from casesvc.lifecycle import Lifecycle, Status

LIFECYCLE = Lifecycle()


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, Status.SUBMITTED),
        (9.999, Status.SUBMITTED),
        (10, Status.PROCESSING),
        (29.999, Status.PROCESSING),
        (30, Status.COMPLETE),
        (86_400, Status.COMPLETE),
        (-5, Status.SUBMITTED),
    ],
)
def test_status_at_boundaries(seconds: float, expected: Status) -> None:
    """The stage is submitted below 10 s, processing from 10 s, complete from 30 s."""
    assert expected == LIFECYCLE.status_at(dt.timedelta(seconds=seconds))


@pytest.mark.parametrize(
    ("status", "seconds", "expected"),
    [
        (Status.SUBMITTED, 0, 10),
        (Status.SUBMITTED, 9.999, 1),
        (Status.SUBMITTED, 0.5, 10),
        (Status.PROCESSING, 10, 20),
        (Status.PROCESSING, 29.999, 1),
        (Status.COMPLETE, 30, None),
    ],
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
