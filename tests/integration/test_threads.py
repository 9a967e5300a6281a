"""The threads of one worker share one service: its compiled statements are built on first use
by whichever thread gets there, with no lock (casesvc/store.py says why none is needed)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from casesvc.bootstrap import build_service
from casesvc.config import Config
from casesvc.db import close_all
from casesvc.lifecycle import Status
from casesvc.sqlcache import Slot

THREADS = 8


@pytest.fixture
def busy_switching() -> Iterator[None]:
    """Let the interpreter switch threads as often as it can, so that first uses overlap."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def run_together(work: list) -> list:  # type: ignore[type-arg]
    """Run each callable on a thread of its own, all released at once; their results."""
    barrier = threading.Barrier(len(work))
    results: list = [None] * len(work)  # type: ignore[type-arg]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work[i]()
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [] == errors
    return results


def test_slots_made_on_many_threads_never_share_a_sentinel(busy_switching: None) -> None:
    made = run_together([lambda: [Slot(str).sentinel for _ in range(2000)]] * THREADS)
    sentinels = [s for batch in made for s in batch]
    assert len(sentinels) == len(set(sentinels))


def test_first_use_of_every_statement_on_many_threads_at_once(
    config: Config, frozen: object, busy_switching: None
) -> None:
    """A fresh service (no statement built yet), its first creates, reads, replays and lists
    all at once: every answer is the right one."""
    service = build_service(config)

    def work(n: int) -> object:
        client = f"client-{n % 2}"

        def use() -> tuple[str, str, str, str, list[str]]:
            with service.database.connection_context():
                made = service.create(f"key-{n}", client=client)
                again = service.create(f"key-{n}", client=client)  # a replay: by key
                read = service.get(made.case_id, client=client)
                page = service.list_cases(client=client, page_size=100, status=Status.SUBMITTED)
                return (
                    made.case_id,
                    again.case_id,
                    read.case_id,
                    read.client,
                    [c.case_id for c in page.cases],
                )

        return use

    try:
        results = run_together([work(n) for n in range(THREADS)])
        with service.database.connection_context():
            everyone = {c.case_id: c.client for c in service.list_cases(page_size=100).cases}
    finally:
        close_all(service.database)

    made = [r[0] for r in results]
    assert THREADS == len(set(made))
    for n, (case_id, replayed, read, client, listed) in enumerate(results):
        assert (case_id, case_id, f"client-{n % 2}") == (replayed, read, client)
        assert case_id in listed
        assert all(everyone[other] == client for other in listed)
