"""Clock edge cases across processes: many workers reading at one instant agree."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import random
import threading
from typing import Any

from casesvc import db
from casesvc.api import parts_of
from casesvc.app import create_app
from casesvc.clock import FakeClock
from casesvc.config import Config
from tests.http.test_clock_edges import STATUSES, at, listed_ids, stored

# Ages (seconds at the shared instant) right around both thresholds.
AGES = [0, 9.999999, 10, 10.000001, 29.999999, 30, 30.000001, 45]
NOW = at(100)


def _worker_reads(config: Config, ids: list[str], threads: int, start: Any, out: Any) -> None:
    """One worker process: an app of its own, with a clock stopped at NOW, read by threads."""
    app = create_app(config, clock=FakeClock(NOW))
    results: list[Any] = []
    lock = threading.Lock()

    def reader(seed: int) -> None:
        http = app.test_client()
        order = ids[:]
        random.Random(seed).shuffle(order)
        seen = {i: (r := http.get(f"/cases/{i}")).json | {"etag": r.headers["ETag"]}
                for i in order}  # fmt: skip
        lists = {s: listed_ids(http, s) for s in STATUSES}
        with lock:
            results.append((seen, lists))

    start.wait(timeout=60)
    workers = [threading.Thread(target=reader, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    db.close_all(parts_of(app).service.database)
    out.put(results)


def test_many_workers_at_one_instant_agree(config: Config, make_app: Any) -> None:
    """Four worker processes with four threads each, all reading at the same instant (and
    racing to write statuses forward), give identical answers and lists, and the stored
    column ends equal to them."""
    clock = FakeClock(NOW)
    http = make_app(clock=clock).test_client()
    ids = []
    for age in AGES:
        clock.set(NOW - dt.timedelta(seconds=age))
        ids.append(http.post("/cases").json["case_id"])
    db.close_all(parts_of(http.application).service.database)

    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Barrier(4), ctx.Queue()
    workers = [
        ctx.Process(target=_worker_reads, args=(config, ids, 4, start, out)) for _ in range(4)
    ]
    for w in workers:
        w.start()
    results = [r for _ in workers for r in out.get(timeout=120)]
    for w in workers:
        w.join(timeout=30)

    expected_status = [
        "submitted", "submitted", "processing", "processing", "processing",
        "complete", "complete", "complete",
    ]  # fmt: skip
    first_seen, first_lists = results[0]
    assert 16 == len(results)
    assert [0, 0, 0, 0] == [w.exitcode for w in workers]
    assert all(r == (first_seen, first_lists) for r in results)
    assert expected_status == [first_seen[i]["status"] for i in ids]
    assert {s: [i for i, e in zip(ids, expected_status, strict=True) if e == s]
            for s in STATUSES} == first_lists  # fmt: skip
    assert expected_status == [stored(http, i) for i in ids]
