"""Per-request CPU cost of casesvc's routes, in-process (no server, no network).

Calls the WSGI app directly on a fresh SQLite database and reports the best of several
rounds in µs per request, with the bare-Flask ceiling app measured the same way. With
``--profile SCENARIO`` it prints a pyinstrument profile of that scenario (pyinstrument is a
dev dependency). This is how the costs in docs/performance.md were found.

    python -m scripts.inprocess [--rounds 5] [--profile get_complete]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from collections.abc import Callable
from typing import Any

from werkzeug.test import EnvironBuilder

from casesvc.api import parts_of
from casesvc.app import create_app
from casesvc.bootstrap import prepare_database
from casesvc.config import Config
from casesvc.models import Case
from casesvc.representation import etag_of
from scripts.ceiling import create_app as create_ceiling


def caller(
    app: Any, method: str, path: str, headers: dict[str, str] | None = None
) -> Callable[[], None]:
    environ = EnvironBuilder(method=method, path=path, headers=headers).get_environ()

    def call() -> None:
        for _ in app(dict(environ), lambda status, headers: None):
            pass

    return call


def scenarios() -> dict[str, Callable[[], None]]:
    config = Config(database_url=f"sqlite:///{tempfile.mkdtemp()}/bench.db", auto_upgrade=True)
    prepare_database(config)
    app = create_app(config)
    service = parts_of(app).service
    with service.database.connection_context(), Case.bind_ctx(service.database):
        submitted = service.create()
        complete = service.create().case_id
        service.advance(complete, by=dt.timedelta(days=1))
        for _ in range(60):
            service.create()
    return {
        "ceiling": caller(create_ceiling(), "GET", "/"),
        "get_submitted": caller(app, "GET", f"/cases/{submitted.case_id}"),
        "get_complete": caller(app, "GET", f"/cases/{complete}"),
        "get_304": caller(
            app, "GET", f"/cases/{submitted.case_id}", {"If-None-Match": f'"{etag_of(submitted)}"'}
        ),
        "post": caller(app, "POST", "/cases"),
        "list_50": caller(app, "GET", "/cases?page_size=50"),
    }


def measure(call: Callable[[], None], n: int, rounds: int) -> float:
    call()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            call()
        best = min(best, (time.perf_counter() - start) / n)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("-n", type=int, default=1000, help="requests per round")
    parser.add_argument("--profile", metavar="SCENARIO")
    args = parser.parse_args()
    calls = scenarios()
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0001)
        profiler.start()
        for _ in range(args.n * 2):
            calls[args.profile]()
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False))
        return
    for name, call in calls.items():
        n = args.n if name != "post" else args.n // 2
        print(f"{name:<14} {measure(call, n, args.rounds):8.0f} µs/request", flush=True)


if __name__ == "__main__":
    main()
