"""How requests hold database connections, on either engine: a request takes one from its
process's pool at its first query and gives it back when it ends, so a worker's threads take
turns on its share of the node's connection budget."""

from __future__ import annotations

import threading
from typing import Any

import peewee
import psycopg
import pytest
from flask import Flask

from casesvc import db
from casesvc.api import parts_of
from tests.conftest import database_of


def served_on_a_thread(app: Flask, path: str = "/cases") -> tuple[int, bool]:
    """Runs one request on a new thread; its status, and whether the thread still held a
    connection after it."""
    seen: list[tuple[int, bool]] = []

    def run() -> None:
        status = app.test_client().get(path).status_code
        seen.append((status, not database_of(app).is_closed()))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return seen[0]


def connections_used(app: Flask) -> list[Any]:
    """Records the connection each request that queried ran on, once each."""
    used: list[Any] = []
    database = database_of(app)

    @app.after_request
    def record(response: Any) -> Any:
        if not database.is_closed() and not any(c is database.connection() for c in used):
            used.append(database.connection())
        return response

    return used


def test_a_request_gives_its_connection_back_when_it_ends(app: Flask) -> None:
    """After a request the thread holds no connection, and the pool has it idle."""
    status, held = served_on_a_thread(app)

    assert (200, False) == (status, held)
    assert 1 == len(database_of(app)._connections)


def test_requests_on_other_threads_reuse_one_connection(app: Flask) -> None:
    """Requests one after another, each on a thread of its own, share one connection."""
    used = connections_used(app)
    statuses = [served_on_a_thread(app)[0] for _ in range(5)]

    assert ([200] * 5, 1) == (statuses, len(used))


def test_many_threads_take_turns_on_a_pool_of_two(
    make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight threads at once, each sending requests, all answer on at most two connections:
    the budget holds, however many threads serve."""
    # A thread waits for a connection as long as its turn takes, however slow the machine
    # (the pool's own 5 s would turn a long turn into a 503); only a connection never given
    # back waits out this bound.
    monkeypatch.setattr(db, "POOL_WAIT_SECONDS", 60)
    app = make_app(db_connections=2)
    used = connections_used(app)
    statuses: list[int] = []
    start = threading.Barrier(8)

    def run() -> None:
        http = app.test_client()
        start.wait(timeout=30)
        for _ in range(10):
            answers = [http.get("/cases").status_code, http.post("/cases").status_code]
            statuses.extend(answers)
            if 503 in answers:
                return  # no connection came: the next requests would wait as long

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert {200: 80, 201: 80} == {s: statuses.count(s) for s in set(statuses)}
    assert 1 <= len(used) <= 2


def test_a_pool_is_the_nodes_budget_shared_by_its_workers(make_app: Any) -> None:
    """Each of a node's workers pools its share of the budget, and at least one."""
    assert 4 == database_of(make_app(db_connections=16, workers=4))._max_connections
    assert 1 == database_of(make_app(db_connections=2, workers=4))._max_connections


def test_a_pool_taken_whole_is_a_503(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A request that finds every connection taken for the whole wait is a 503 with
    Retry-After, not a 500; once the connection is back, requests answer again."""
    monkeypatch.setattr(db, "POOL_WAIT_SECONDS", 0.1)
    app = make_app(db_connections=1)
    database = database_of(app)
    answers: list[Any] = []

    def request() -> None:
        response = app.test_client().get("/cases")
        answers.append((response.status_code, response.headers.get("Retry-After")))

    database.connect()  # this thread holds the one connection
    for _ in range(2):
        thread = threading.Thread(target=request)
        thread.start()
        thread.join()
        database.close()  # given back after the first request

    assert [(503, "1"), (200, None)] == answers


def test_a_failed_connection_is_closed_and_replaced(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection whose query failed is closed, not given back: the request is a 503 and
    the next request opens a fresh connection."""
    http = app.test_client()
    database = database_of(app)
    used = connections_used(app)
    http.get("/cases")
    (failed,) = used
    service = parts_of(app).service

    def lost(*args: Any, **kwargs: Any) -> None:
        database.connect(reuse_if_open=True)  # the query took the pooled connection, and failed
        raise peewee.OperationalError("server closed the connection unexpectedly")

    with monkeypatch.context() as patch:
        patch.setattr(service.store, "page", lost)
        down = http.get("/cases").status_code
    used.clear()
    up = http.get("/cases").status_code

    assert (503, 200) == (down, up)
    assert all(conn is not failed for conn in used)
    assert all(conn is not failed for _, _, conn in database._connections)  # not pooled


@pytest.mark.postgresql_only
def test_a_postgresql_checkout_asks_the_server_nothing(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Taking an idle connection from the pool sends no query (peewee's own pool sends
    SELECT 1 each time); a connection the driver knows is closed is never handed out."""
    database = database_of(app)
    database.connect()
    pooled = database.connection()
    database.close()
    queries: list[tuple[Any, ...]] = []
    cursor = psycopg.Connection.cursor
    monkeypatch.setattr(
        psycopg.Connection,
        "cursor",
        lambda *args, **kw: queries.append(args) or cursor(*args, **kw),
    )
    database.connect()
    again = database.connection()
    database.close()
    monkeypatch.undo()
    pooled.close()
    database.connect()
    fresh = database.connection()
    database.close()

    assert ([], True, False) == (queries, again is pooled, fresh is pooled)
