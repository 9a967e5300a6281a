"""Peewee models. The schema itself is built by the numbered files in ``migrations/``."""

from __future__ import annotations

import peewee

from casesvc.db import UTCDateTimeField


class Case(peewee.Model):
    """One prior-authorization case.

    ``created_at`` is when the case was created, forever. ``timeline_started_at`` is
    when its simulated review began; fast-forwarding a case moves only that (earlier),
    and records when in ``last_advanced_at``.
    ``idempotency_key`` is the client's key for the POST that created it, if it sent one.
    ``status`` is the last status the service saw, written forward only.
    """

    id = peewee.CharField(primary_key=True, max_length=64)
    created_at = UTCDateTimeField()
    timeline_started_at = UTCDateTimeField(index=True)
    status = peewee.CharField(max_length=16, default="submitted")
    determination = peewee.CharField(max_length=64)
    last_advanced_at = UTCDateTimeField(null=True)
    idempotency_key = peewee.CharField(max_length=128, null=True, unique=True)

    class Meta:
        # Bound to no database: the store runs every query on the database it was given
        # (casesvc/store.py), so processes and tests never share a global binding.
        table_name = "cases"
        indexes = ((("created_at", "id"), False),)
