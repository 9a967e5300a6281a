"""The review lifecycle: the stages a case goes through, and when each one begins.

Everything about stages is here, and every other place derives from it: their order and
what each shows (``STAGES``), a case's ``Timeline`` and the status it implies at an instant,
and the ``Lifecycle`` strategies that write a new case's timeline and move it on
``casesvc advance``.

A case stores its timeline: when its review started, and the instant each later stage begins
(``None``: the stage waits until someone moves the case on). Its status is a pure function of
that timeline and the clock, floored by the status stored with it (``STATUS_TABLE``), so a
clock stepping back never undoes a stage. No thread waits for a stage, and a restart, many
workers and many hosts all agree. The list filter's SQL (casesvc/store.py) reads the same
stored instants, so it agrees with the resolver for any lifecycle.

Built-ins: ``timed`` (the default: processing after 10 s, complete after 30 s, or a sample's
own ``review_seconds``) and ``manual`` (a case moves only with ``casesvc advance --to``). A
team's own plugs in by import path (``CASESVC_LIFECYCLE=package.module:attribute``);
docs/lifecycle.md has a complete example.
"""

from __future__ import annotations

import abc
import dataclasses
import datetime as dt
import enum
import importlib
import math
from collections.abc import Mapping
from typing import NamedTuple, Protocol


class Status(enum.StrEnum):
    SUBMITTED = "submitted"
    PROCESSING = "processing"
    COMPLETE = "complete"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def earlier(self) -> tuple[Status, ...]:
        """The stages before this one."""
        return ORDER[: self.rank]

    def later_of(self, other: Status) -> Status:
        return self if self.rank >= other.rank else other

    @property
    def next(self) -> Status | None:
        """The stage after this one (None after the last)."""
        return ORDER[self.rank + 1] if self.rank + 1 < len(ORDER) else None


ORDER = (Status.SUBMITTED, Status.PROCESSING, Status.COMPLETE)
_RANK = {status: rank for rank, status in enumerate(ORDER)}


@dataclasses.dataclass(frozen=True)
class Stage:
    """What a case shows in a stage, and the words the CLI uses for it."""

    status: Status
    shows_summary: bool
    shows_steps: bool  # the steps, and the verdict (`is_met`)
    progress: str  # `casesvc watch`'s line (a stage that shows the verdict says it instead)


STAGES: Mapping[Status, Stage] = {
    stage.status: stage
    for stage in (
        Stage(Status.SUBMITTED, False, False, "waiting for review"),
        Stage(Status.PROCESSING, True, False, "summary ready"),
        Stage(Status.COMPLETE, True, True, "review complete"),
    )
}


def in_order(joiner: str = ", then ") -> str:
    """The stages in order, as the API's descriptions name them."""
    return joiner.join(f"`{status}`" for status in ORDER)


# The status rule, as one truth table: (the stage the timeline implies now, the status stored
# with the case) -> the case's current status. The stored status is a floor.
STATUS_TABLE: dict[tuple[Status, Status], Status] = {
    (implied, stored): implied.later_of(stored) for implied in ORDER for stored in ORDER
}


class CannotAdvance(ValueError):
    """A move the lifecycle refuses: backwards, beyond what time can hold, or one it does
    not offer (the message says which)."""


class Timeline(NamedTuple):
    """When one case's review started, and when each later stage begins (None: not
    scheduled; the stage waits until the case is moved on). A later stage never begins
    before an earlier one, and never without it: ``checked`` says so of a timeline a
    lifecycle made. (A named tuple: the service builds one for every row it reads.)"""

    started: dt.datetime
    processing_at: dt.datetime | None = None
    complete_at: dt.datetime | None = None

    def checked(self) -> Timeline:
        """This timeline, if its stages are in order; ``ValueError`` if not."""
        if self.complete_at is not None and (
            self.processing_at is None or self.complete_at < self.processing_at
        ):
            raise ValueError(f"complete must begin at or after processing: {self}")
        return self

    def begins(self, status: Status) -> dt.datetime | None:
        """The instant ``status`` begins (None: not scheduled)."""
        return self[_RANK[status]]

    def implied(self, now: dt.datetime) -> Status:
        """The stage the timeline puts the case in at ``now``: the latest stage that has
        begun (the store's SQL draws the same bands: ``store.status_condition``)."""
        if self.complete_at is not None and self.complete_at <= now:
            return Status.COMPLETE
        if self.processing_at is not None and self.processing_at <= now:
            return Status.PROCESSING
        return Status.SUBMITTED

    def shifted(self, by: dt.timedelta) -> Timeline:
        """Every instant ``by`` earlier: the case as if its review had started ``by`` sooner."""

        def earlier(instant: dt.datetime | None) -> dt.datetime | None:
            return None if instant is None else instant - by

        return Timeline(self.started - by, earlier(self.processing_at), earlier(self.complete_at))

    @property
    def length(self) -> dt.timedelta | None:
        """From the start to the last stage, if that is scheduled."""
        return None if self.complete_at is None else self.complete_at - self.started


class Sample(Protocol):
    """What a lifecycle may know of a new case's sample determination: its key, its verdict,
    and its own timing (``review_seconds``, if the file has one)."""

    @property
    def key(self) -> str: ...

    @property
    def is_met(self) -> bool: ...

    @property
    def review_seconds(self) -> tuple[float, float] | None: ...


class Lifecycle(abc.ABC):
    """A strategy for when a case's stages begin. The app is given one (``create_app(...,
    lifecycle=...)``, ``build_service``, ``CASESVC_LIFECYCLE``).

    A lifecycle writes a new case's ``Timeline`` and moves it on ``casesvc advance``; the
    status at any instant then follows from the stored timeline alone. Subclasses implement
    ``timeline`` and may override the rest.
    """

    name: str = ""

    @abc.abstractmethod
    def timeline(self, started: dt.datetime, sample: Sample) -> Timeline:
        """A new case's timeline, its review starting at ``started``."""

    def advance_by(self, timeline: Timeline, by: dt.timedelta) -> Timeline:
        """``casesvc advance --by``: the case as if its review had started ``by`` sooner."""
        return timeline.shifted(by)

    def advance_to(self, timeline: Timeline, status: Status, now: dt.datetime) -> Timeline:
        """``casesvc advance --to``: just far enough that ``status`` has begun at ``now``. A
        scheduled stage is brought forward with everything after it; an unscheduled one
        (and any unscheduled stage before it) begins now."""
        begins = timeline.begins(status)
        if begins is not None:
            return timeline.shifted(begins - now) if begins > now else timeline
        instants = {s: timeline.begins(s) for s in ORDER[1:]}
        for earlier in (*status.earlier()[1:], status):
            instants[earlier] = instants[earlier] or now
        return Timeline(timeline.started, instants[Status.PROCESSING], instants[Status.COMPLETE])

    def retry_after(self, timeline: Timeline, status: Status, now: dt.datetime) -> int | None:
        """Whole seconds (rounded up, at least 1) until the stage after ``status``; None when
        there is none, or it is not scheduled (a client then polls at its own pace)."""
        rank = _RANK[status] + 1
        begins = timeline[rank] if rank < len(ORDER) else None
        if begins is None:
            return None
        return max(1, math.ceil((begins - now).total_seconds()))

    def when(self, status: Status) -> str | None:
        """When ``status`` begins, in a few words (``10 s``, ``when moved``), for the API's
        description; None to say nothing."""
        return None

    def describe(self) -> str:
        """How a case moves, for the API's description: "from `submitted` to `processing`
        (10 s) to `complete` (30 s)"."""
        steps = []
        for status in ORDER:
            when = None if status is Status.SUBMITTED else self.when(status)
            steps.append(f"`{status}`" + (f" ({when})" if when else ""))
        return "from " + " to ".join(steps)


@dataclasses.dataclass(frozen=True)
class Timed(Lifecycle):
    """The default: every case is processing ``processing_after`` after its review starts
    and complete ``complete_after`` after it, unless its sample has ``review_seconds`` of
    its own."""

    processing_after: dt.timedelta = dt.timedelta(seconds=10)
    complete_after: dt.timedelta = dt.timedelta(seconds=30)
    name: str = "timed"

    @classmethod
    def from_seconds(cls, processing_after: float, complete_after: float) -> Timed:
        return cls(dt.timedelta(seconds=processing_after), dt.timedelta(seconds=complete_after))

    def timeline(self, started: dt.datetime, sample: Sample) -> Timeline:
        processing, complete = self.processing_after, self.complete_after
        if sample.review_seconds is not None:
            processing, complete = (dt.timedelta(seconds=s) for s in sample.review_seconds)
        return Timeline(started, started + processing, started + complete)

    def when(self, status: Status) -> str | None:
        after = self.processing_after if status is Status.PROCESSING else self.complete_after
        return f"{after.total_seconds():g} s"


@dataclasses.dataclass(frozen=True)
class Manual(Lifecycle):
    """A case never moves on its own: QA moves it with ``casesvc advance --to``. Its answers
    carry no ``Retry-After`` (nothing is scheduled); clients poll at their own pace."""

    name: str = "manual"

    def timeline(self, started: dt.datetime, sample: Sample) -> Timeline:
        return Timeline(started)

    def advance_by(self, timeline: Timeline, by: dt.timedelta) -> Timeline:
        raise CannotAdvance(
            "the manual lifecycle moves a case only to a stage: use --to processing|complete"
        )

    def when(self, status: Status) -> str | None:
        return "when moved"


BUILT_IN = ("timed", "manual")


class UnknownLifecycle(ValueError):
    """``CASESVC_LIFECYCLE`` names no built-in lifecycle and no importable one."""


def load(spec: str, *, processing_after: float = 10, complete_after: float = 30) -> Lifecycle:
    """The lifecycle ``spec`` names: a built-in (``timed``, ``manual``) or
    ``package.module:attribute``, where the attribute is a ``Lifecycle`` or a callable that
    returns one. The thresholds configure ``timed``."""
    if spec == "timed":
        return Timed.from_seconds(processing_after, complete_after)
    if spec == "manual":
        return Manual()
    module_name, colon, attribute = spec.partition(":")
    if not (colon and module_name and attribute):
        raise UnknownLifecycle(
            f"CASESVC_LIFECYCLE={spec!r} is neither {' nor '.join(BUILT_IN)} nor "
            "package.module:attribute"
        )
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise UnknownLifecycle(f"CASESVC_LIFECYCLE={spec!r} cannot be loaded: {exc}") from None
    lifecycle = found if isinstance(found, Lifecycle) else found() if callable(found) else None
    if not isinstance(lifecycle, Lifecycle):
        raise UnknownLifecycle(
            f"CASESVC_LIFECYCLE={spec!r} is not a casesvc.lifecycle.Lifecycle, nor returns one"
        )
    return lifecycle
