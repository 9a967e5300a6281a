"""Peewee queries compiled to SQL once, then run many times with fresh values.

Building a query's SQL text costs peewee several times more than SQLite takes to run it
(docs/performance.md has the figures). The service's hot queries have a fixed
shape, so each is built once with *sentinel* values; the places where the sentinels land in
the parameter list are recorded, and every call runs the cached text with real values there.
The query is still written with peewee, and peewee still decides the SQL.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Mapping
from typing import Any

import peewee

# What peewee does to a Python value before it reaches the driver (a field's ``db_value``).
ToDatabase = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


class Slot:
    """A named parameter: a sentinel to build the query with, and the converter peewee
    would apply to a real value in that place (a field's ``db_value``)."""

    # Sentinels must differ between any two slots, whichever thread makes them: ``next`` on
    # an ``itertools.count`` is one indivisible step under the GIL, where ``+= 1`` is not.
    _numbers = itertools.count(1)

    def __init__(self, kind: type, converter: ToDatabase = _identity) -> None:
        n = next(Slot._numbers)
        self.converter = converter
        self.sentinel: Any
        if kind is dt.datetime:
            self.sentinel = dt.datetime(1000, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=n)
        elif kind is int:
            self.sentinel = -(10**12) - n
        else:
            self.sentinel = f"\x00slot-{n}\x00"


class Statement:
    """One query's SQL text and where each named slot goes in its parameters.

    Slots the query does not use are ignored.
    """

    def __init__(self, database: peewee.Database, query: peewee.Query, slots: Mapping[str, Slot]):
        self.database = database
        self.sql, params = query.bind(database).sql()
        self._params = list(params)
        self._places: list[tuple[int, str, ToDatabase]] = []
        by_value = {slot.converter(slot.sentinel): (name, slot) for name, slot in slots.items()}
        for index, value in enumerate(self._params):
            if isinstance(value, str | int) and value in by_value:
                name, slot = by_value[value]
                self._places.append((index, name, slot.converter))
        # A slot the query does not use (e.g. an edge a status filter needs no bound on)
        # is simply ignored; each slot may appear any number of times.

    def params(self, values: Mapping[str, Any]) -> list[Any]:
        params = list(self._params)
        for index, name, converter in self._places:
            params[index] = converter(values[name])
        return params

    def execute(self, **values: Any) -> Any:
        """Run the statement; returns the DB-API cursor."""
        return self.database.execute_sql(self.sql, self.params(values))
