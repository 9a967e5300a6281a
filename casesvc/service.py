"""The case service: every rule about cases lives here, behind a plain Python API.

It knows nothing of Flask or Click. Both adapters (the HTTP API and the CLI) call it.
"""

from __future__ import annotations

import builtins
import dataclasses
import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import itsdangerous
import peewee

from casesvc.clock import Clock
from casesvc.db import UTCDateTimeField
from casesvc.determinations import Catalog, Determination
from casesvc.lifecycle import Lifecycle, Status
from casesvc.models import Case
from casesvc.sqlcache import Slot, Statement

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


class InvalidPageToken(ValueError):
    """A page token that this service did not issue for this query."""


class CannotAdvance(ValueError):
    """A fast-forward that would move a case backwards, or beyond what time can hold."""


class InvalidIdempotencyKey(ValueError):
    """An idempotency key that is empty, too long, or not printable ASCII without spaces."""


@dataclasses.dataclass(frozen=True)
class CaseView:
    """A case as seen at one instant: its stored facts plus the status they imply."""

    case_id: str
    created_at: dt.datetime
    timeline_started_at: dt.datetime
    status: Status
    determination: Determination
    age: dt.timedelta
    retry_after: int | None
    last_advanced_at: dt.datetime | None = None
    # True when create() found the case its idempotency key had already created.
    replayed: bool = False

    @property
    def etag(self) -> str:
        """Changes exactly when the representation does: with the status, or the sample."""
        seed = f"{self.case_id}:{self.status.value}:{self.determination.digest}"
        return hashlib.sha256(seed.encode()).hexdigest()[:32]

    @property
    def fast_forwarded(self) -> dt.timedelta:
        """How far the case's timeline has been moved forward in all."""
        return self.created_at - self.timeline_started_at

    def document(self, *, full: bool = True) -> dict[str, Any]:
        """The case representation (keys in the reference order), ready for a schema dump."""
        complete = self.status is Status.COMPLETE
        d = self.determination
        doc: dict[str, Any] = {
            "case_id": self.case_id,
            "status": self.status,
            "procedure_name": d.procedure_name,
            "cpt_codes": list(d.cpt_codes),
            "summary": None if self.status is Status.SUBMITTED else d.summary,
            "is_met": d.is_met if complete else False,
            "is_complete": complete,
            "steps": list(d.steps) if complete else [],
            "created_at": self.created_at,
        }
        if not full:
            del doc["steps"]
        return doc


class CaseRow(NamedTuple):
    """A ``cases`` row, as the service reads it (columns in the model's order)."""

    id: str
    created_at: dt.datetime
    timeline_started_at: dt.datetime
    status: str
    determination: str
    last_advanced_at: dt.datetime | None
    idempotency_key: str | None


UTC_DATETIME = Case.created_at
_DATETIME_COLUMNS = tuple(
    i for i, f in enumerate(Case._meta.sorted_fields) if isinstance(f, UTCDateTimeField)
)
if tuple(f.name for f in Case._meta.sorted_fields) != CaseRow._fields:
    raise ImportError("CaseRow must list the Case model's columns in order")


def _row(values: tuple[Any, ...]) -> CaseRow:
    converted = list(values)
    for i in _DATETIME_COLUMNS:
        converted[i] = UTC_DATETIME.python_value(converted[i])
    return CaseRow(*converted)


@dataclasses.dataclass(frozen=True)
class Page:
    cases: builtins.list[CaseView]
    next_page_token: str | None


class CaseService:
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
        self.database = database
        self.clock = clock
        self.lifecycle = lifecycle
        self.catalog = catalog
        self._new_id = id_factory
        self._tokens = itsdangerous.URLSafeSerializer(secret_key, salt="casesvc.page-token")
        self._statements: dict[tuple[Any, ...], Statement] = {}

    # -- reading ---------------------------------------------------------------------------

    def get(self, case_id: str) -> CaseView:
        return self._get(case_id, self.clock.now())

    def list(
        self,
        *,
        page_size: int = 50,
        page_token: str | None = None,
        status: Status | None = None,
    ) -> Page:
        """Cases newest first, ``page_size`` at a time, optionally of one current status."""
        now = self.clock.now()
        values: dict[str, Any] = {
            "limit": page_size + 1,
            "processing_edge": now - self.lifecycle.processing_after,
            "complete_edge": now - self.lifecycle.complete_after,
        }
        if page_token:
            values["after_created_at"], values["after_id"] = self._decode_token(page_token, status)
        cursor = self._list_statement(status, bool(page_token)).execute(**values)
        rows = [_row(r) for r in cursor.fetchall()]
        more = len(rows) > page_size
        views = self._resolve(rows[:page_size], now)
        token = self._encode_token(views[-1], status) if more else None
        return Page(views, token)

    # -- writing ---------------------------------------------------------------------------

    def create(self, idempotency_key: str | None = None) -> CaseView:
        """Create a case; the row is committed when this returns.

        With an ``idempotency_key``, a key that already created a case creates nothing:
        that case is returned as it stands now, with ``replayed`` set. Two concurrent
        creates with one key meet at the column's unique index, so only one row is made.
        """
        if idempotency_key is not None:
            if not _IDEMPOTENCY_KEY.fullmatch(idempotency_key):
                raise InvalidIdempotencyKey(
                    f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable "
                    "ASCII characters without spaces"
                )
            existing = self._find_by_key(idempotency_key)
            if existing is not None:
                return existing
        now = self.clock.now()
        for _ in range(MAX_ID_ATTEMPTS):
            case_id = self._new_id()
            determination = self.catalog.pick(case_id)
            try:
                # One INSERT in autocommit mode: committed (and durable) when it returns.
                self._insert_statement().execute(
                    id=case_id, now=now, determination=determination.key, key=idempotency_key
                )
            except peewee.IntegrityError:
                # Either a concurrent create with the same key won (return its case), or a
                # 96-bit id collision: astronomically unlikely, but never fatal.
                if idempotency_key is not None:
                    existing = self._find_by_key(idempotency_key)
                    if existing is not None:
                        return existing
                continue
            row = CaseRow(
                case_id, now, now, Status.SUBMITTED.value, determination.key, None, idempotency_key
            )
            return self._resolve([row], now)[0]
        raise RuntimeError(f"could not allocate a unique case id in {MAX_ID_ATTEMPTS} attempts")

    def advance(
        self,
        case_id: str,
        *,
        by: dt.timedelta | None = None,
        to: Status | None = None,
    ) -> CaseView:
        """Fast-forward a case: ``by`` a duration, or just far enough to reach stage ``to``.

        Only ``timeline_started_at`` moves (earlier), never ``created_at``. A case never
        moves backwards: a negative ``by``, or a ``to`` before its current stage, raises
        ``CannotAdvance``; a ``to`` equal to its current stage changes nothing. The new
        timeline and the status it implies are committed together, so every process
        sharing the database sees them at once.
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
            # Lock the case before reading it (a no-op UPDATE takes SQLite's write lock and
            # PostgreSQL's row lock), so concurrent advances queue up and none is lost.
            if not Case.update(status=Case.status).where(Case.id == case_id).execute():
                raise CaseNotFound(case_id)
            now = self.clock.now()
            view = self._get(case_id, now)
            if to is None:
                shift = by if by is not None else dt.timedelta(0)
            elif to.rank < view.status.rank:
                raise CannotAdvance(
                    f"{case_id} is already {view.status}; a case cannot move back to {to}"
                )
            elif to is view.status:
                shift = dt.timedelta(0)
            else:  # just far enough that the timeline's age is where ``to`` begins
                shift = self.lifecycle.starts_after(to) - view.age
            if not shift:
                return view
            try:
                started = view.timeline_started_at - shift
            except OverflowError:
                raise CannotAdvance(f"cannot fast-forward {case_id} that far") from None
            (
                Case.update(timeline_started_at=started, last_advanced_at=now)
                .where(Case.id == case_id)
                .execute()
            )
            # The status the new timeline implies is written forward in the same transaction.
            return self._get(case_id, now)

    def advance_all(self, by: dt.timedelta) -> builtins.list[CaseView]:
        """Fast-forward every case by ``by``, newest first; each case as ``advance`` does."""
        newest_first = Case.select(Case.id).order_by(Case.created_at.desc(), Case.id.desc())
        return [self.advance(row.id, by=by) for row in list(newest_first)]

    # -- internals -------------------------------------------------------------------------

    def _get(self, case_id: str, now: dt.datetime) -> CaseView:
        if not looks_like_case_id(case_id):
            raise CaseNotFound(case_id)
        found = self._get_statement().execute(id=case_id).fetchone()
        if found is None:
            raise CaseNotFound(case_id)
        return self._resolve([_row(found)], now)[0]

    def _find_by_key(self, idempotency_key: str) -> CaseView | None:
        """The case this key created, as it stands now (marked replayed), if there is one."""
        found = self._get_by_key_statement().execute(key=idempotency_key).fetchone()
        if found is None:
            return None
        view = self._resolve([_row(found)], self.clock.now())[0]
        return dataclasses.replace(view, replayed=True)

    def _resolve(self, rows: Iterable[CaseRow], now: dt.datetime) -> builtins.list[CaseView]:
        """Derive each row's status at ``now`` and write any status that moved on."""
        views: builtins.list[CaseView] = []
        moved: dict[Status, builtins.list[str]] = {}
        for row in rows:
            stored = Status(row.status)
            age = now - row.timeline_started_at
            # The stored status is a floor: a clock stepping back never undoes a stage.
            status = self.lifecycle.status_at(age).later_of(stored)
            if status is not stored:
                moved.setdefault(status, []).append(row.id)
            views.append(self._view(row, status, age))
        for status, ids in moved.items():
            self._write_forward(status, ids)
        return views

    def _view(self, row: CaseRow, status: Status, age: dt.timedelta) -> CaseView:
        return CaseView(
            case_id=row.id,
            created_at=row.created_at,
            timeline_started_at=row.timeline_started_at,
            status=status,
            determination=self.catalog[row.determination],
            age=age,
            retry_after=self.lifecycle.seconds_to_next(status, age),
            last_advanced_at=row.last_advanced_at,
        )

    def _write_forward(self, status: Status, ids: builtins.list[str]) -> None:
        """Persist a status that moved on: forward only, idempotent, no-op if already there."""
        if len(ids) == 1:  # the common case, one read of one case: a cached statement
            self._write_forward_statement(status).execute(id=ids[0])
            return
        earlier = [s.value for s in status.earlier()]
        (
            Case.update(status=status.value)
            .where(Case.id.in_(ids), Case.status.in_(earlier))
            .execute()
        )

    def _status_is(self, status: Status, now: dt.datetime) -> peewee.Expression:
        """SQL for "the current status is ``status``" at ``now``, matching ``_resolve``."""
        return _status_condition(
            status, now - self.lifecycle.processing_after, now - self.lifecycle.complete_after
        )

    # -- compiled statements (see casesvc/sqlcache.py) ---------------------------------------

    def _statement(self, key: tuple[Any, ...], build: Callable[[], Statement]) -> Statement:
        statement = self._statements.get(key)
        if statement is None:
            statement = self._statements[key] = build()
        return statement

    def _get_statement(self) -> Statement:
        def build() -> Statement:
            slots = {"id": Slot(str)}
            query = Case.select().where(Case.id == slots["id"].sentinel)
            return Statement(self.database, query, slots)

        return self._statement(("get",), build)

    def _get_by_key_statement(self) -> Statement:
        def build() -> Statement:
            slots = {"key": Slot(str)}
            query = Case.select().where(Case.idempotency_key == slots["key"].sentinel)
            return Statement(self.database, query, slots)

        return self._statement(("get_by_key",), build)

    def _insert_statement(self) -> Statement:
        def build() -> Statement:
            slots = {
                "id": Slot(str),
                "now": Slot(dt.datetime, UTC_DATETIME.db_value),
                "determination": Slot(str),
                "key": Slot(str),
            }
            query = Case.insert(
                id=slots["id"].sentinel,
                created_at=slots["now"].sentinel,
                timeline_started_at=slots["now"].sentinel,
                status=Status.SUBMITTED.value,
                determination=slots["determination"].sentinel,
                idempotency_key=slots["key"].sentinel,
            )
            return Statement(self.database, query, slots)

        return self._statement(("insert",), build)

    def _write_forward_statement(self, status: Status) -> Statement:
        def build() -> Statement:
            slots = {"id": Slot(str)}
            earlier = [s.value for s in status.earlier()]
            query = Case.update(status=status.value).where(
                Case.id == slots["id"].sentinel, Case.status.in_(earlier)
            )
            return Statement(self.database, query, slots)

        return self._statement(("write_forward", status), build)

    def _list_statement(self, status: Status | None, after: bool) -> Statement:
        def build() -> Statement:
            slots = {"limit": Slot(int)}
            query = Case.select().order_by(Case.created_at.desc(), Case.id.desc())
            if status is not None:
                slots["processing_edge"] = Slot(dt.datetime, UTC_DATETIME.db_value)
                slots["complete_edge"] = Slot(dt.datetime, UTC_DATETIME.db_value)
                query = query.where(
                    _status_condition(
                        status, slots["processing_edge"].sentinel, slots["complete_edge"].sentinel
                    )
                )
            if after:
                slots["after_created_at"] = Slot(dt.datetime, UTC_DATETIME.db_value)
                slots["after_id"] = Slot(str)
                position = peewee.Tuple(Case.created_at, Case.id)
                query = query.where(
                    position
                    < peewee.Tuple(
                        UTC_DATETIME.db_value(slots["after_created_at"].sentinel),
                        slots["after_id"].sentinel,
                    )
                )
            return Statement(self.database, query.limit(slots["limit"].sentinel), slots)

        return self._statement(("list", status, after), build)

    def _encode_token(self, last: CaseView, status: Status | None) -> str:
        payload = [last.created_at.isoformat(), last.case_id, status.value if status else ""]
        return self._tokens.dumps(payload)

    def _decode_token(self, token: str, status: Status | None) -> tuple[dt.datetime, str]:
        # The payload is checked as strictly as if it were unsigned: the signing key of a
        # development install is public, so a well-signed token can still be forged.
        try:
            payload = self._tokens.loads(token)
            if not (isinstance(payload, list) and all(isinstance(p, str) for p in payload)):
                raise TypeError("page token payload is not a list of strings")
            created_at, case_id, for_status = payload
            instant = dt.datetime.fromisoformat(created_at)
            if instant.tzinfo is None or not looks_like_case_id(case_id):
                raise ValueError("page token payload is malformed")
            instant = instant.astimezone(dt.UTC)
        except (itsdangerous.BadData, ValueError, TypeError, OverflowError) as exc:
            raise InvalidPageToken("page_token is not valid") from exc
        if for_status != (status.value if status else ""):
            raise InvalidPageToken("page_token belongs to a different query")
        return instant, case_id


def _status_condition(
    status: Status, processing_edge: dt.datetime, complete_edge: dt.datetime
) -> peewee.Expression:
    """SQL for "the current status is ``status``", matching ``CaseService._resolve``:
    the stage the timeline implies, or the stored status if that is later."""
    started, stored = Case.timeline_started_at, Case.status
    if status is Status.COMPLETE:
        return (started <= complete_edge) | (stored == Status.COMPLETE.value)
    if status is Status.PROCESSING:
        return (
            (started <= processing_edge)
            & (started > complete_edge)
            & (stored != Status.COMPLETE.value)
        ) | ((started > processing_edge) & (stored == Status.PROCESSING.value))
    return (started > processing_edge) & (stored == Status.SUBMITTED.value)
