"""The case service: every rule about cases lives here, behind a plain Python API.

It knows nothing of Flask or Click. Both adapters (the HTTP API and the CLI) call it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import secrets
from collections.abc import Callable, Iterable

import peewee

from casesvc.clock import Clock
from casesvc.config import DEFAULT_CLIENT
from casesvc.determinations import Catalog, Determination, UnknownSample
from casesvc.lifecycle import STATUS_TABLE, CannotAdvance, Lifecycle, Status, Timeline
from casesvc.pagetokens import InvalidPageToken, PageTokens
from casesvc.store import CaseRow, CaseStore

__all__ = [
    "CannotAdvance",
    "CaseNotFound",
    "CaseService",
    "CaseSnapshot",
    "InvalidIdempotencyKey",
    "InvalidPageToken",
    "Page",
    "UnknownSample",
]

CASE_ID_PREFIX = "case_"
CASE_ID_BYTES = 12  # 96 bits from the OS CSPRNG
CASE_ID_LENGTH = len(CASE_ID_PREFIX) + 2 * CASE_ID_BYTES
MAX_ID_ATTEMPTS = 5
# An Idempotency-Key: opaque, 1 to 128 printable ASCII characters, no spaces.
IDEMPOTENCY_KEY_MAX_LENGTH = 128
IDEMPOTENCY_KEY_PATTERN = rf"^[!-~]{{1,{IDEMPOTENCY_KEY_MAX_LENGTH}}}$"
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)


def new_case_id() -> str:
    return CASE_ID_PREFIX + secrets.token_hex(CASE_ID_BYTES)


_CASE_ID = re.compile(rf"{CASE_ID_PREFIX}[0-9a-f]{{{2 * CASE_ID_BYTES}}}")


def looks_like_case_id(value: str) -> bool:
    """Cheap shape check, so that junk ids never reach the database."""
    return len(value) == CASE_ID_LENGTH and _CASE_ID.fullmatch(value) is not None


class CaseNotFound(LookupError):
    """No case has this id."""


class InvalidIdempotencyKey(ValueError):
    """An idempotency key that is empty, too long, or not printable ASCII without spaces."""


@dataclasses.dataclass(frozen=True)
class CaseSnapshot:
    """A case as seen at one instant: its stored facts plus the status they imply."""

    case_id: str
    created_at: dt.datetime
    timeline: Timeline
    status: Status
    determination: Determination
    age: dt.timedelta
    retry_after: int | None
    last_advanced_at: dt.datetime | None = None
    # The API client the case belongs to (never part of its HTTP representation).
    client: str = DEFAULT_CLIENT
    # True when create() found the case its idempotency key had already created.
    replayed: bool = False

    @property
    def fast_forwarded_by(self) -> dt.timedelta:
        """How far the case's timeline has been moved forward in all."""
        return self.created_at - self.timeline.started


@dataclasses.dataclass(frozen=True)
class Page:
    cases: list[CaseSnapshot]
    next_page_token: str | None


class CaseService:
    """The rules about cases: what a case is at an instant, and how one is made or moved.

    Each case belongs to a client. Reads take the ``client`` whose cases they may see: the
    HTTP API always passes the caller's, so a case of another client is not found; ``None``
    (the default) sees every client's cases, as the operator's CLI does.
    """

    def __init__(
        self,
        *,
        database: peewee.Database,
        clock: Clock,
        lifecycle: Lifecycle,
        catalog: Catalog,
        secret_key: str,
        id_factory: Callable[[], str] = new_case_id,
    ) -> None:
        self.store = CaseStore(database)
        self.database = database
        self.clock = clock
        self.lifecycle = lifecycle
        self.catalog = catalog
        self._new_id = id_factory
        self._tokens = PageTokens(secret_key, valid_id=looks_like_case_id)

    # -- reading ---------------------------------------------------------------------------

    def get(self, case_id: str, *, client: str | None = None) -> CaseSnapshot:
        """The case with this id, as it stands now; ``CaseNotFound`` if there is none, or if
        it is not ``client``'s."""
        return self._get(case_id, self.clock.now(), client)

    def list_cases(
        self,
        *,
        client: str | None = None,
        page_size: int = 50,
        page_token: str | None = None,
        status: Status | None = None,
    ) -> Page:
        """Cases newest first, ``page_size`` at a time, of one client and one current status
        if given. A page token only continues the query that issued it."""
        now = self.clock.now()
        query = [client, status.value if status else None]
        rows = self.store.page(
            client=client,
            limit=page_size + 1,
            status=status,
            now=now,
            after=self._tokens.decode(page_token, query) if page_token else None,
        )
        more = len(rows) > page_size
        snapshots = self._resolve(rows[:page_size], now)
        token = None
        if more:
            last = snapshots[-1]
            token = self._tokens.encode(last.created_at, last.case_id, query)
        return Page(snapshots, token)

    # -- writing ---------------------------------------------------------------------------

    def create(
        self,
        idempotency_key: str | None = None,
        *,
        client: str = DEFAULT_CLIENT,
        sample: str | None = None,
    ) -> CaseSnapshot:
        """Create a case for ``client``; the row is committed when this returns. It shows the
        ``sample`` determination named (``UnknownSample`` lists the valid ones), or without
        one, a sample picked by its id. The lifecycle decides its timeline.

        With an ``idempotency_key``, a key that already created a case of this client
        creates nothing: that case is returned as it stands now, with ``replayed`` set.
        Another client's key is another key. Two concurrent creates with one key meet at
        the unique index on (client, key), so only one row is made.
        """
        if idempotency_key is not None:
            if not _IDEMPOTENCY_KEY.fullmatch(idempotency_key):
                raise InvalidIdempotencyKey(
                    f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable "
                    "ASCII characters without spaces"
                )
            existing = self._find_by_key(client, idempotency_key)
            if existing is not None:
                return existing
        chosen = None if sample is None else self.catalog.named(sample)
        now = self.clock.now()
        for _ in range(MAX_ID_ATTEMPTS):
            case_id = self._new_id()
            determination = chosen or self.catalog.pick(case_id)
            timeline = self.lifecycle.timeline(now, determination).checked()
            try:
                row = self.store.insert(
                    case_id, now, determination.key, client, idempotency_key, timeline
                )
            except peewee.IntegrityError:
                # Either a concurrent create with the same key won (return its case), or a
                # 96-bit id collision: astronomically unlikely, but never fatal.
                if idempotency_key is not None:
                    existing = self._find_by_key(client, idempotency_key)
                    if existing is not None:
                        return existing
                continue
            return self._resolve([row], now)[0]
        raise RuntimeError(f"could not allocate a unique case id in {MAX_ID_ATTEMPTS} attempts")

    def advance(
        self,
        case_id: str,
        *,
        by: dt.timedelta | None = None,
        to: Status | None = None,
    ) -> CaseSnapshot:
        """Move a case on: ``by`` a duration, or just far enough to reach stage ``to``, as
        the lifecycle says (``Lifecycle.advance_by``, ``advance_to``).

        Only the timeline moves, never ``created_at``. A case never moves backwards: a
        negative ``by``, or a ``to`` before its current stage, raises ``CannotAdvance``
        (so does a move the lifecycle does not offer); a ``to`` equal to its current stage
        changes nothing. The new timeline and the status it implies are committed
        together, so every process sharing the database sees them at once.
        """
        if (by is None) == (to is None):
            raise TypeError("advance() takes exactly one of `by` and `to`")
        if by is not None and by < dt.timedelta(0):
            raise CannotAdvance(
                f"a case cannot move backwards (asked to move it by {by.total_seconds():g} s)"
            )
        if not looks_like_case_id(case_id):
            raise CaseNotFound(case_id)
        with self.database.atomic():
            if not self.store.lock(case_id):  # concurrent advances queue up; none is lost
                raise CaseNotFound(case_id)
            now = self.clock.now()
            case = self._get(case_id, now, None)
            try:
                timeline = self._moved(case, by, to, now)
            except OverflowError:
                raise CannotAdvance(f"cannot fast-forward {case_id} that far") from None
            if timeline == case.timeline:
                return case
            self.store.move_timeline(case_id, timeline, now)
            # The status the new timeline implies is written forward in the same transaction.
            return self._get(case_id, now, None)

    def advance_all(self, by: dt.timedelta, *, client: str | None = None) -> list[CaseSnapshot]:
        """Fast-forward every case (of ``client``, if given) by ``by``, newest first; each
        case as ``advance`` does."""
        ids = self.store.ids_newest_first(client)
        return [self.advance(case_id, by=by) for case_id in ids]

    # -- the rules ---------------------------------------------------------------------------

    def _moved(
        self, case: CaseSnapshot, by: dt.timedelta | None, to: Status | None, now: dt.datetime
    ) -> Timeline:
        """``case``'s timeline moved ``by`` a duration, or just far enough to reach ``to``."""
        if to is None:
            return self.lifecycle.advance_by(case.timeline, by or dt.timedelta(0)).checked()
        if to.rank < case.status.rank:
            raise CannotAdvance(
                f"{case.case_id} is already {case.status}; a case cannot move back to {to}"
            )
        if to is case.status:
            return case.timeline
        return self.lifecycle.advance_to(case.timeline, to, now).checked()

    def _get(self, case_id: str, now: dt.datetime, client: str | None) -> CaseSnapshot:
        row = self.store.get(case_id, client) if looks_like_case_id(case_id) else None
        if row is None:
            raise CaseNotFound(case_id)
        return self._resolve([row], now)[0]

    def _find_by_key(self, client: str, idempotency_key: str) -> CaseSnapshot | None:
        """The case ``client``'s key created, as it stands now (marked replayed), if any."""
        row = self.store.get_by_key(client, idempotency_key)
        if row is None:
            return None
        return dataclasses.replace(self._resolve([row], self.clock.now())[0], replayed=True)

    def _resolve(self, rows: Iterable[CaseRow], now: dt.datetime) -> list[CaseSnapshot]:
        """Each row's status at ``now`` (``STATUS_TABLE``); a status that moved on is stored."""
        snapshots: list[CaseSnapshot] = []
        moved: dict[Status, list[str]] = {}
        for row in rows:
            stored = Status(row.status)
            timeline = row.timeline
            status = STATUS_TABLE[timeline.implied(now), stored]
            if status is not stored:
                moved.setdefault(status, []).append(row.id)
            snapshots.append(
                CaseSnapshot(
                    case_id=row.id,
                    created_at=row.created_at,
                    timeline=timeline,
                    status=status,
                    determination=self.catalog.for_case(row.determination, row.id),
                    age=now - timeline.started,
                    retry_after=self.lifecycle.retry_after(timeline, status, now),
                    last_advanced_at=row.last_advanced_at,
                    client=row.client,
                )
            )
        for status, ids in moved.items():
            self.store.write_forward(status, ids)
        return snapshots
