"""Peewee models and their instant column type. The schema itself is built by the numbered
files in ``migrations/``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import peewee

from casesvc.config import DEFAULT_CLIENT


class UTCDateTimeField(peewee.Field):
    """An instant in time: TIMESTAMPTZ on PostgreSQL, fixed-width UTC text on SQLite.

    Values go in and come out as aware UTC datetimes, whatever the server's time zone.
    The text form sorts in time order, so it can be indexed and compared on SQLite.
    """

    field_type = "TIMESTAMPTZ"

    def db_value(self, value: dt.datetime | None) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTimeField needs an aware datetime")
        return value.astimezone(dt.UTC).isoformat(sep=" ", timespec="microseconds")

    def python_value(self, value: Any) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if value.tzinfo is dt.UTC:  # SQLite's text, as written: already what is wanted
            return value
        if value.tzinfo is None:  # written by hand without an offset: it is UTC
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Case(peewee.Model):
    """One prior-authorization case.

    ``created_at`` is when the case was created, forever. ``timeline_started_at`` is
    when its simulated review began; fast-forwarding a case moves its timeline (earlier),
    never ``created_at``, and records when in ``last_advanced_at``.
    ``client`` is the API client that created it (the default client while tokens are off):
    only that client reads or lists it, and its ``idempotency_key`` (the key of the POST that
    created it, if one was sent) is unique among that client's cases.
    ``status`` is the last status the service saw, written forward only.
    ``timeline_started_at``, ``processing_at`` and ``complete_at`` are its ``Timeline``.
    """

    id = peewee.CharField(primary_key=True, max_length=64)
    created_at = UTCDateTimeField()
    timeline_started_at = UTCDateTimeField()
    status = peewee.CharField(max_length=16, default="submitted")
    determination = peewee.CharField(max_length=64)
    last_advanced_at = UTCDateTimeField(null=True)
    idempotency_key = peewee.CharField(max_length=128, null=True)
    client = peewee.CharField(max_length=64, default=DEFAULT_CLIENT)
    # When processing and complete begin (None: not scheduled), as the lifecycle decided when
    # the case was created or last moved (casesvc/lifecycle.py, Timeline).
    processing_at = UTCDateTimeField(null=True)
    complete_at = UTCDateTimeField(null=True)

    class Meta:
        # Bound to no database: the store runs every query on the database it was given
        # (casesvc/store.py), so processes and tests never share a global binding.
        table_name = "cases"
        indexes = (
            (("created_at", "id"), False),  # the operator's list, every client (the CLI)
            (("client", "created_at", "id"), False),  # a client's list, keyset-flat
            (("complete_at", "processing_at"), False),  # the status filter's bands
        )


# A client's idempotency keys are unique; a case created without one has no entry.
Case.add_index(
    Case.index(
        Case.client, Case.idempotency_key, unique=True, name="cases_client_idempotency_key_sent"
    ).where(Case.idempotency_key.is_null(False))
)


class Probe(peewee.Model):
    """A row ``/readyz`` writes on every call: a database is ready only if it takes writes."""

    name = peewee.CharField(primary_key=True, max_length=64)
    checked_at = UTCDateTimeField()

    class Meta:
        table_name = "probes"
