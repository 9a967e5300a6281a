"""The review lifecycle: a pure function of a case's timeline start and the clock."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math


class Status(enum.StrEnum):
    SUBMITTED = "submitted"
    PROCESSING = "processing"
    COMPLETE = "complete"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def earlier(self) -> tuple[Status, ...]:
        """The stages before this one."""
        return _ORDER[: self.rank]

    def later_of(self, other: Status) -> Status:
        return self if self.rank >= other.rank else other


_ORDER = (Status.SUBMITTED, Status.PROCESSING, Status.COMPLETE)
_RANK = {status: rank for rank, status in enumerate(_ORDER)}

# The status rule, as one truth table: (the stage the timeline's age implies, the status
# stored with the case) -> the case's current status. The stored status is a floor, so a
# clock stepping back never undoes a stage. The service resolves each case with it, and the
# list filter's SQL is generated from it (casesvc/store.py), so the two cannot disagree.
STATUS_TABLE: dict[tuple[Status, Status], Status] = {
    (implied, stored): implied.later_of(stored) for implied in _ORDER for stored in _ORDER
}


@dataclasses.dataclass(frozen=True)
class Lifecycle:
    """Thresholds, as ages of the timeline: processing from ``processing_after``,
    complete from ``complete_after`` (both measured from the timeline start)."""

    processing_after: dt.timedelta = dt.timedelta(seconds=10)
    complete_after: dt.timedelta = dt.timedelta(seconds=30)

    @classmethod
    def from_seconds(cls, processing_after: float, complete_after: float) -> Lifecycle:
        return cls(dt.timedelta(seconds=processing_after), dt.timedelta(seconds=complete_after))

    def starts_after(self, status: Status) -> dt.timedelta:
        """The age at which ``status`` begins."""
        return {
            Status.SUBMITTED: dt.timedelta(0),
            Status.PROCESSING: self.processing_after,
            Status.COMPLETE: self.complete_after,
        }[status]

    def status_at(self, age: dt.timedelta) -> Status:
        if age >= self.complete_after:
            return Status.COMPLETE
        if age >= self.processing_after:
            return Status.PROCESSING
        return Status.SUBMITTED

    def seconds_to_next(self, status: Status, age: dt.timedelta) -> int | None:
        """Whole seconds (rounded up, at least 1) until the stage after ``status``."""
        if status is Status.COMPLETE:
            return None
        edge = self.processing_after if status is Status.SUBMITTED else self.complete_after
        return max(1, math.ceil((edge - age).total_seconds()))
