"""The database side of the case service: every statement it runs on the ``cases`` table.

The service (casesvc/service.py) decides; this module only reads and writes rows. The hot
statements are compiled once (casesvc/sqlcache.py) and run with fresh values each time.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Callable
from typing import Any, NamedTuple

import peewee

from casesvc.db import wal_bound
from casesvc.lifecycle import ORDER, STATUS_TABLE, Status, Timeline
from casesvc.models import Case, UTCDateTimeField
from casesvc.sqlcache import Slot, Statement

# Converts an instant to and from its column, as peewee does for any UTCDateTimeField.
INSTANT = UTCDateTimeField()


class CaseRow(NamedTuple):
    """A ``cases`` row, as the service reads it (columns in the model's order)."""

    id: str
    created_at: dt.datetime
    timeline_started_at: dt.datetime
    status: str
    determination: str
    last_advanced_at: dt.datetime | None
    idempotency_key: str | None
    client: str
    processing_at: dt.datetime | None
    complete_at: dt.datetime | None

    @property
    def timeline(self) -> Timeline:
        return Timeline(self.timeline_started_at, self.processing_at, self.complete_at)


_DATETIME_COLUMNS = tuple(
    i for i, f in enumerate(Case._meta.sorted_fields) if isinstance(f, UTCDateTimeField)
)
if tuple(f.name for f in Case._meta.sorted_fields) != CaseRow._fields:
    raise ImportError("CaseRow must list the Case model's columns in order")


def _row(
    values: tuple[Any, ...], to_instant: Callable[[Any], Any] = INSTANT.python_value
) -> CaseRow:
    converted = list(values)
    for i in _DATETIME_COLUMNS:
        if converted[i] is not None:  # an unscheduled stage, a case never fast-forwarded
            converted[i] = to_instant(converted[i])
    return CaseRow(*converted)


# Where each stage's instant is stored (casesvc/lifecycle.py, Timeline.begins).
BEGINS = {
    Status.SUBMITTED: Case.timeline_started_at,
    Status.PROCESSING: Case.processing_at,
    Status.COMPLETE: Case.complete_at,
}


def implied_condition(status: Status, now: Any) -> peewee.Expression:
    """SQL for "the timeline puts the case in ``status`` at ``now``", as
    ``Timeline.implied`` decides it: the latest stage that has begun. So ``status`` has begun
    (the first stage always has), and no later one has (an unscheduled stage never has).
    Every band reads ``complete_at`` first, which the (complete_at, processing_at) index
    serves (migration 0007)."""
    terms = [BEGINS[later].is_null() | (BEGINS[later] > now) for later in ORDER[status.rank + 1 :]]
    if status is not Status.SUBMITTED:
        terms.append(BEGINS[status] <= now)
    return functools.reduce(operator.and_, terms)


def status_condition(status: Status, now: Any) -> peewee.Expression:
    """SQL for "the current status is ``status``", read off ``STATUS_TABLE``, the same table
    the service resolves each row with, over the stored timeline at ``now``."""
    stored = Case.status
    terms = []
    for implied in ORDER:
        floors = [floor.value for floor in ORDER if STATUS_TABLE[implied, floor] is status]
        if not floors:
            continue
        band = implied_condition(implied, now)
        terms.append(band if len(floors) == len(ORDER) else band & stored.in_(floors))
    return functools.reduce(operator.or_, terms)


class CaseStore:
    """Reads and writes ``cases`` rows on one database."""

    def __init__(self, database: peewee.Database) -> None:
        self.database = database
        self._statements: dict[tuple[Any, ...], Statement] = {}
        self._after_write = wal_bound(database)

    def get(self, case_id: str, client: str | None) -> CaseRow | None:
        """The row with this id; with a ``client``, only if that client's (else None)."""
        if client is None:
            found = self._get_statement(False).execute(id=case_id).fetchone()
        else:
            found = self._get_statement(True).execute(id=case_id, client=client).fetchone()
        return None if found is None else _row(found)

    def get_by_key(self, client: str, idempotency_key: str) -> CaseRow | None:
        statement = self._get_by_key_statement()
        found = statement.execute(client=client, key=idempotency_key).fetchone()
        return None if found is None else _row(found)

    def insert(
        self,
        case_id: str,
        now: dt.datetime,
        determination: str,
        client: str,
        idempotency_key: str | None,
        timeline: Timeline,
    ) -> CaseRow:
        """One INSERT in autocommit mode: committed (and durable) when it returns. Raises
        ``peewee.IntegrityError`` on a taken id, or a key the client already used."""
        self._insert_statement().execute(
            id=case_id,
            now=now,
            started=timeline.started,
            processing_at=timeline.processing_at,
            complete_at=timeline.complete_at,
            determination=determination,
            client=client,
            key=idempotency_key,
        )
        self._after_write()
        return CaseRow(
            case_id,
            now,
            timeline.started,
            Status.SUBMITTED.value,
            determination,
            None,
            idempotency_key,
            client,
            timeline.processing_at,
            timeline.complete_at,
        )

    def page(
        self,
        *,
        client: str | None,
        limit: int,
        status: Status | None,
        now: dt.datetime,
        after: tuple[dt.datetime, str] | None,
    ) -> list[CaseRow]:
        """Up to ``limit`` rows newest first, of one client and one current status if given,
        strictly after the ``(created_at, id)`` position ``after`` (keyset pagination)."""
        values: dict[str, Any] = {"client": client, "limit": limit, "now": now}
        if after is not None:
            values["after_created_at"], values["after_id"] = after
        statement = self._list_statement(client is not None, status, after is not None)
        cursor = statement.execute(**values)
        return [_row(r) for r in cursor.fetchall()]

    def write_forward(self, status: Status, ids: list[str]) -> None:
        """Store a status that moved on: forward only, idempotent, a no-op if already there."""
        if len(ids) == 1:  # the common case, one read of one case: a cached statement
            self._write_forward_statement(status).execute(id=ids[0])
            return
        earlier = [s.value for s in status.earlier()]
        query = Case.update(status=status.value).where(Case.id.in_(ids), Case.status.in_(earlier))
        query.execute(self.database)

    def lock(self, case_id: str) -> bool:
        """Lock one case for the rest of the transaction; False if there is no such case.

        A no-op UPDATE takes SQLite's write lock and PostgreSQL's row lock, so concurrent
        fast-forwards of a case queue up and none is lost.
        """
        query = Case.update(status=Case.status).where(Case.id == case_id)
        return bool(query.execute(self.database))

    def move_timeline(self, case_id: str, timeline: Timeline, now: dt.datetime) -> None:
        """Store a case's new timeline (a move made at ``now``)."""
        query = Case.update(
            timeline_started_at=timeline.started,
            processing_at=timeline.processing_at,
            complete_at=timeline.complete_at,
            last_advanced_at=now,
        )
        query.where(Case.id == case_id).execute(self.database)

    def ids_newest_first(self, client: str | None) -> list[str]:
        query = Case.select(Case.id).order_by(Case.created_at.desc(), Case.id.desc())
        if client is not None:
            query = query.where(Case.client == client)
        return [row.id for row in query.bind(self.database)]

    # -- compiled statements (see casesvc/sqlcache.py) ---------------------------------------

    def _statement(self, key: tuple[Any, ...], build: Callable[[], Statement]) -> Statement:
        """The statement for ``key``, built on first use. Threads need no lock here: two that
        both miss each build a whole, correct statement (its slots' sentinels are unique,
        casesvc/sqlcache.py), and the dictionary keeps one of them."""
        statement = self._statements.get(key)
        if statement is None:
            statement = self._statements[key] = build()
        return statement

    def _get_statement(self, of_client: bool) -> Statement:
        def build() -> Statement:
            slots = {"id": Slot(str)}
            query = Case.select().where(Case.id == slots["id"].sentinel)
            if of_client:
                slots["client"] = Slot(str)
                query = query.where(Case.client == slots["client"].sentinel)
            return Statement(self.database, query, slots)

        return self._statement(("get", of_client), build)

    def _get_by_key_statement(self) -> Statement:
        def build() -> Statement:
            slots = {"client": Slot(str), "key": Slot(str)}
            query = Case.select().where(
                Case.client == slots["client"].sentinel,
                Case.idempotency_key == slots["key"].sentinel,
            )
            return Statement(self.database, query, slots)

        return self._statement(("get_by_key",), build)

    def _insert_statement(self) -> Statement:
        def build() -> Statement:
            slots = {
                "id": Slot(str),
                "now": Slot(dt.datetime, INSTANT.db_value),
                "started": Slot(dt.datetime, INSTANT.db_value),
                "processing_at": Slot(dt.datetime, INSTANT.db_value),
                "complete_at": Slot(dt.datetime, INSTANT.db_value),
                "determination": Slot(str),
                "client": Slot(str),
                "key": Slot(str),
            }
            query = Case.insert(
                id=slots["id"].sentinel,
                created_at=slots["now"].sentinel,
                timeline_started_at=slots["started"].sentinel,
                processing_at=slots["processing_at"].sentinel,
                complete_at=slots["complete_at"].sentinel,
                status=Status.SUBMITTED.value,
                determination=slots["determination"].sentinel,
                client=slots["client"].sentinel,
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

    def _list_statement(self, of_client: bool, status: Status | None, after: bool) -> Statement:
        def build() -> Statement:
            slots = {"limit": Slot(int)}
            query = Case.select().order_by(Case.created_at.desc(), Case.id.desc())
            if of_client:
                slots["client"] = Slot(str)
                query = query.where(Case.client == slots["client"].sentinel)
            if status is not None:
                slots["now"] = Slot(dt.datetime, INSTANT.db_value)
                query = query.where(status_condition(status, slots["now"].sentinel))
            if after:
                slots["after_created_at"] = Slot(dt.datetime, INSTANT.db_value)
                slots["after_id"] = Slot(str)
                position = peewee.Tuple(Case.created_at, Case.id)
                query = query.where(
                    position
                    < peewee.Tuple(
                        INSTANT.db_value(slots["after_created_at"].sentinel),
                        slots["after_id"].sentinel,
                    )
                )
            return Statement(self.database, query.limit(slots["limit"].sentinel), slots)

        return self._statement(("list", of_client, status, after), build)
