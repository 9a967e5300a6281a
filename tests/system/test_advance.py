"""Fast-forwarding from several processes at once: every advance counts."""

import multiprocessing

import peewee

from casesvc import db
from casesvc.bootstrap import build_service
from casesvc.config import Config
from casesvc.lifecycle import Status
from tests.integration.test_advance import seconds


def _advance_many(url: str, case_id: str, n: int, queue: "multiprocessing.Queue[object]") -> None:
    service = build_service(Config(database_url=url))
    errors = []
    with service.database.connection_context():
        for _ in range(n):
            try:
                service.advance(case_id, by=seconds(1))
            except peewee.DatabaseError as exc:  # e.g. "database is locked"
                errors.append(repr(exc))
    db.close_all(service.database)
    queue.put(errors)


def test_concurrent_advances_from_several_processes_add_up(config: Config) -> None:
    """Four processes advancing one case at once lose no advance and hit no lock error."""
    service = build_service(config)
    with service.database.connection_context():
        case_id = service.create().case_id
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    workers = [
        ctx.Process(target=_advance_many, args=(config.database_url, case_id, 25, queue))
        for _ in range(4)
    ]
    for w in workers:
        w.start()
    errors = [e for _ in workers for e in queue.get(timeout=120)]
    for w in workers:
        w.join(timeout=30)
    with service.database.connection_context():
        case = service.get(case_id)
    db.close_all(service.database)

    assert ([], seconds(100), Status.COMPLETE) == (errors, case.fast_forwarded_by, case.status)
