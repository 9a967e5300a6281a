"""A real casesvc on a loopback port, in this process, and Debian's Chromium to drive it.

Shared by the browser tests and ``scripts/screenshots.py``. The app runs with a
``FakeClock``, so a test (or the screenshot script) moves the case lifecycle by moving
that clock, and moves the page's own timers with Playwright's clock: no waiting 30 s.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

from casesvc.api import parts_of
from casesvc.app import create_app
from casesvc.bootstrap import prepare_database
from casesvc.clock import FakeClock
from casesvc.config import Config
from casesvc.db import close_all
from casesvc.models import Case
from casesvc.service import CaseService

CHROMIUM = Path(os.environ.get("CASESVC_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# The instant the fake clocks (the server's and the page's) start from.
START = dt.datetime(2026, 3, 2, 14, 30, 0, tzinfo=dt.UTC)


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class LiveServer:
    """casesvc served by werkzeug on 127.0.0.1 (a free port), with a fake clock."""

    def __init__(self, database_url: str, clock: FakeClock, **config: Any) -> None:
        self.clock = clock
        settings = Config(database_url=database_url, auto_upgrade=True, **config)
        prepare_database(settings)  # as `casesvc serve` does before it starts
        self.app = create_app(settings, clock=clock)
        self.service: CaseService = parts_of(self.app).service
        self._server = make_server(
            "127.0.0.1", 0, self.app, threaded=True, request_handler=QuietHandler
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        close_all(self.service.database)

    def count_cases(self) -> int:
        """Rows in the cases table, read straight from the database."""
        with self.service.database.connection_context():
            return int(Case.select().count(self.service.database))

    def create_case(self) -> str:
        """A case created through the service, exactly as POST /cases does."""
        with self.service.database.connection_context():
            return self.service.create().case_id


@contextlib.contextmanager
def live_server(
    database_url: str, start: dt.datetime = START, **config: Any
) -> Iterator[LiveServer]:
    server = LiveServer(database_url, FakeClock(start), **config).start()
    try:
        yield server
    finally:
        server.stop()


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium, headless; never a browser downloaded by Playwright."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def pause_page_clock(page: Any, at: dt.datetime) -> None:
    """Put the page's Date and timers on Playwright's clock, stopped at ``at``.

    From then on the page's time moves only when told (``page.clock.run_for``).
    """
    page.clock.install(time=at - dt.timedelta(seconds=30))  # it ticks until paused
    page.clock.pause_at(at)
