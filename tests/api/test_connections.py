"""How requests hold database connections, on either engine: a server thread keeps the one it
checked out of its process's pool, and gives it back when the thread ends."""

from __future__ import annotations

import threading
from typing import Any

import peewee
import pytest
from flask import Flask

from casesvc import db
from tests.conftest import database_of


def served_on_a_thread(app: Flask, path: str = "/cases") -> tuple[int, Any]:
    """Runs one request on a new thread that then ends; its status and the connection the
    thread held afterwards."""
    seen: list[tuple[int, Any]] = []

    def run() -> None:
        status = app.test_client().get(path).status_code
        database = database_of(app)
        seen.append((status, None if database.is_closed() else database.connection()))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return seen[0]


def test_a_thread_keeps_its_connection_between_requests(app: Flask) -> None:
    """Two requests on one thread run on one connection, still open after them."""
    client = app.test_client()
    database = database_of(app)
    client.get("/cases")
    first = database.connection()
    client.post("/cases")
    client.get("/cases")

    assert first is database.connection()


def test_a_thread_that_ends_gives_its_connection_back(app: Flask) -> None:
    """The connection of a thread that ended is the one the next thread gets from the pool."""
    first = served_on_a_thread(app)
    second = served_on_a_thread(app)

    assert (200, 200) == (first[0], second[0])
    assert first[1] is second[1]


def test_threads_that_come_and_go_never_exhaust_the_pool(make_app: Any) -> None:
    """A pool holds one connection per server thread; more threads than that, one after
    another (as a server's idle threads retire and new ones start), each answer: no thread
    that ended kept its connection."""
    app = make_app(threads=2)
    statuses = [served_on_a_thread(app)[0] for _ in range(5)]

    assert [200] * 5 == statuses


def test_a_pool_taken_whole_is_a_503(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A request that finds every connection taken for the whole wait is a 503 to retry, not
    a 500."""
    monkeypatch.setattr(db, "POOL_WAIT_SECONDS", 0.1)
    app = make_app(threads=1)
    database_of(app).connect()  # this thread holds the one connection
    status, _ = served_on_a_thread(app)
    response = app.test_client().get("/cases")

    assert (503, 200) == (status, response.status_code)


def test_two_threads_at_once_hold_two_connections(app: Flask) -> None:
    """Threads that serve at the same time never share a connection."""
    both = threading.Barrier(2)
    held: list[Any] = []

    def run() -> None:
        app.test_client().get("/cases")
        held.append(database_of(app).connection())
        both.wait(timeout=10)  # neither ends (and gives its connection back) before the other

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert 2 == len({id(connection) for connection in held})


def test_a_failed_connection_is_closed_and_replaced(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection whose query failed is closed, not kept or given back: the request is a
    503 and the thread's next request opens a fresh connection."""
    client = app.test_client()
    database = database_of(app)
    client.get("/cases")
    failed = database.connection()
    service = app.extensions["casesvc"].service

    def lost(*args: Any, **kwargs: Any) -> None:
        raise peewee.OperationalError("server closed the connection unexpectedly")

    with monkeypatch.context() as patch:
        patch.setattr(service.store, "page", lost)
        down = client.get("/cases").status_code
    up = client.get("/cases").status_code

    assert (503, 200) == (down, up)
    assert failed is not database.connection()
    assert failed not in [conn for _, _, conn in database._connections]  # not in the idle pool
