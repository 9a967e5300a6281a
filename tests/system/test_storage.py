"""Storage across processes, on either engine: forks and concurrent writers."""

import multiprocessing

import peewee

from casesvc import db
from casesvc.bootstrap import build_service
from casesvc.config import Config
from casesvc.models import Case


def _child_report(url: str, queue: "multiprocessing.Queue[tuple[bool, object]]") -> None:
    database = _shared["database"]
    closed_after_fork = database.is_closed()
    database.connect()
    queue.put((closed_after_fork, _backend(database)))
    database.close()


def _backend(database: peewee.Database) -> object:
    if isinstance(database, peewee.PostgresqlDatabase):
        return database.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
    return id(database.connection())


_shared: dict[str, peewee.Database] = {}


def test_no_connection_crosses_a_fork(database_url: str) -> None:
    """A forked worker starts with no connection and opens its own."""
    database = db.open_database(database_url)
    database.connect()
    parent = _backend(database)
    _shared["database"] = database
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_report, args=(database_url, queue))
    child.start()
    closed_after_fork, backend = queue.get(timeout=30)
    child.join(timeout=30)
    # The parent's connection still works after the child went away.
    still = database.execute_sql("SELECT 1").fetchone()[0]
    db.close_all(database)

    assert (True, 0, 1) == (closed_after_fork, child.exitcode, still)
    if isinstance(database, peewee.PostgresqlDatabase):
        assert parent != backend


def _create_many(url: str, n: int, queue: "multiprocessing.Queue[object]") -> None:
    service = build_service(Config(database_url=url))
    ids, errors = [], []
    with service.database.connection_context():
        for _ in range(n):
            try:
                ids.append(service.create().case_id)
            except peewee.DatabaseError as exc:  # e.g. "database is locked"
                errors.append(repr(exc))
    queue.put((ids, errors))


def test_concurrent_creates_from_several_processes(config: Config) -> None:
    """Four processes creating cases at once lose no row and hit no lock error."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    workers = [
        ctx.Process(target=_create_many, args=(config.database_url, 50, queue)) for _ in range(4)
    ]
    for w in workers:
        w.start()
    results = [queue.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=30)
    ids = [i for got, _ in results for i in got]
    errors = [e for _, got in results for e in got]
    service = build_service(config)
    with service.database.connection_context(), Case.bind_ctx(service.database):
        stored = {c.id for c in Case.select(Case.id)}
    db.close_all(service.database)

    assert ([], 200) == (errors, len(ids))
    assert set(ids) == stored
