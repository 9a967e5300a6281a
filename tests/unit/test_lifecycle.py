import dataclasses
import datetime as dt
import sys
import types

import pytest

from casesvc.lifecycle import (
    ORDER,
    STAGES,
    STATUS_TABLE,
    CannotAdvance,
    Lifecycle,
    Manual,
    Status,
    Timed,
    Timeline,
    UnknownLifecycle,
    load,
)
from tests.conftest import BOUNDARIES

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
TIMED = Timed()


@dataclasses.dataclass(frozen=True)
class Sample:
    key: str = "a-sample"
    review_seconds: tuple[float, float] | None = None


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [*[(seconds, status) for seconds, status, _ in BOUNDARIES], (-5, Status.SUBMITTED)],
)
def test_timed_status_at_boundaries(seconds: float, expected: Status) -> None:
    """The stage is submitted below 10 s, processing from 10 s, complete from 30 s."""
    assert expected == TIMED.timeline(T0, Sample()).implied(at(seconds))


@pytest.mark.parametrize(
    ("status", "seconds", "expected"),
    [*[(status, s, retry) for s, status, retry in BOUNDARIES], (Status.SUBMITTED, 0.5, 10)],
)
def test_retry_after_rounds_up(status: Status, seconds: float, expected: int | None) -> None:
    """Seconds to the next stage are rounded up and never zero; complete has none."""
    timeline = TIMED.timeline(T0, Sample())
    assert expected == TIMED.retry_after(timeline, status, at(seconds))


def test_thresholds_are_configurable() -> None:
    """Other thresholds move the boundaries with them."""
    fast = Timed.from_seconds(1, 2).timeline(T0, Sample())

    assert [Status.SUBMITTED, Status.PROCESSING, Status.COMPLETE] == [
        fast.implied(at(s)) for s in (0.999, 1, 2)
    ]


def test_a_sample_with_its_own_timing_keeps_it_under_timed() -> None:
    """review_seconds replaces the configured thresholds for that sample's cases only."""
    own = TIMED.timeline(T0, Sample(review_seconds=(60, 120)))
    configured = TIMED.timeline(T0, Sample())

    assert (at(60), at(120)) == (own.processing_at, own.complete_at)
    assert (at(10), at(30)) == (configured.processing_at, configured.complete_at)


def test_manual_schedules_nothing_and_moves_only_to_a_stage() -> None:
    """A manual case is submitted forever, carries no Retry-After, refuses --by, and --to
    starts the stage (and any earlier one) at that instant."""
    manual = Manual()
    held = manual.timeline(T0, Sample())

    assert Timeline(T0) == held
    assert Status.SUBMITTED == held.implied(at(10**9))
    assert None is manual.retry_after(held, Status.SUBMITTED, at(5))
    with pytest.raises(CannotAdvance, match="--to"):
        manual.advance_by(held, dt.timedelta(seconds=30))
    moved = manual.advance_to(held, Status.COMPLETE, at(40))
    assert Timeline(T0, at(40), at(40)) == moved
    processing = manual.advance_to(held, Status.PROCESSING, at(7))
    assert (Status.PROCESSING, None) == (
        processing.implied(at(8)),
        manual.retry_after(processing, Status.PROCESSING, at(8)),
    )
    assert Timeline(T0, at(7), at(9)) == manual.advance_to(processing, Status.COMPLETE, at(9))


def test_timed_advance_to_brings_the_stage_to_now_and_keeps_the_gaps() -> None:
    timeline = TIMED.timeline(T0, Sample())
    moved = TIMED.advance_to(timeline, Status.COMPLETE, at(4))

    assert Timeline(at(-26), at(-16), at(4)) == moved
    assert moved == TIMED.advance_by(timeline, dt.timedelta(seconds=26))
    assert timeline == TIMED.advance_to(timeline, Status.PROCESSING, at(12))  # already begun


def test_a_timeline_never_has_a_stage_before_the_one_it_follows() -> None:
    with pytest.raises(ValueError, match="complete must begin"):
        Timeline(T0, None, at(30)).checked()
    with pytest.raises(ValueError, match="complete must begin"):
        Timeline(T0, at(30), at(10)).checked()
    assert Timeline(T0, at(10), at(10)) == Timeline(T0, at(10), at(10)).checked()


def test_the_stages_in_order_show_more_and_never_less() -> None:
    shown = [(STAGES[s].shows_summary, STAGES[s].shows_steps) for s in ORDER]

    assert [(False, False), (True, False), (True, True)] == shown


def test_later_of_never_goes_back() -> None:
    """Combining two stages keeps the later one."""
    assert Status.PROCESSING == Status.SUBMITTED.later_of(Status.PROCESSING)
    assert Status.COMPLETE == Status.COMPLETE.later_of(Status.SUBMITTED)


def test_the_table_is_the_later_of_age_and_floor() -> None:
    """The table maps each (implied, stored) pair to the later stage of the two."""
    expected = {(a, b): max(a, b, key=lambda s: s.rank) for a in Status for b in Status}

    assert expected == STATUS_TABLE


class Hourly(Lifecycle):
    name = "hourly"

    def timeline(self, started: dt.datetime, sample: object) -> Timeline:
        return Timeline(started, started + dt.timedelta(hours=1), started + dt.timedelta(hours=2))


@pytest.fixture
def plugin_module(monkeypatch: pytest.MonkeyPatch) -> str:
    module = types.ModuleType("team_lifecycles")
    module.hourly = Hourly()  # type: ignore[attr-defined]
    module.make_hourly = Hourly  # type: ignore[attr-defined]
    module.not_one = 42  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "team_lifecycles", module)
    return "team_lifecycles"


def test_load_names_a_built_in_or_an_import_path(plugin_module: str) -> None:
    assert Timed.from_seconds(2, 5) == load("timed", processing_after=2, complete_after=5)
    assert Manual() == load("manual")
    assert "hourly" == load(f"{plugin_module}:hourly").name
    assert isinstance(load(f"{plugin_module}:make_hourly"), Hourly)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("slow", "neither timed nor manual nor package.module:attribute"),
        ("no_such_module_here:x", "cannot be loaded: No module named 'no_such_module_here'"),
        ("team_lifecycles:missing", "cannot be loaded"),
        ("team_lifecycles:not_one", "is not a casesvc.lifecycle.Lifecycle"),
    ],
)
def test_load_refuses_what_is_not_a_lifecycle(plugin_module: str, spec: str, says: str) -> None:
    with pytest.raises(UnknownLifecycle, match=says):
        load(spec)
