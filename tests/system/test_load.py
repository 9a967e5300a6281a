"""The load test's short form: a fixed amount of mixed traffic, no 5xx, no connection error.

It counts requests, never seconds: how fast they are answered is make bench's to measure
(scripts/bench.py: req/s, p50 and p99 as ratios to bare-Flask ceilings).
"""

from __future__ import annotations

import json
import subprocess
import sys

from casesvc.bootstrap import build_service
from casesvc.config import Config
from casesvc.db import close_all
from casesvc.models import Case
from tests.servers import ROOT, cli, free_port, running_server

STEPS = 1000  # request steps, shared by the clients (a list step may also ask for page 2)
HANG_SECONDS = 600  # only a hang runs this long: the steps take a few seconds


def loadtest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.loadtest", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANG_SECONDS + 60,
    )


def stored_cases(database_url: str) -> int:
    service = build_service(Config(database_url=database_url))
    with service.database.connection_context(), Case.bind_ctx(service.database):
        count = Case.select().count()
    close_all(service.database)
    return count


def test_short_load_has_no_server_or_connection_errors(database_url: str) -> None:
    """8 clients share 1,000 steps of mixed create/get/list against `casesvc serve` (4
    workers, 2 threads): every step is answered, every answer is an expected one, with no
    5xx, no connection error and no body a client could not read, and every 201 is a case
    stored. However long they take: the latency is printed, not judged."""
    cli(database_url, "db", "upgrade")
    with running_server(database_url, "--workers", "4", "--threads", "2") as (base, _):
        result = loadtest(
            "--url", base, "--clients", "8", "--max-requests", str(STEPS),
            "--duration", str(HANG_SECONDS), "--json", "-",
        )  # fmt: skip
    stored = stored_cases(database_url)

    summary = json.loads(result.stdout)
    print(f"\nshort load: {summary['requests']} requests, latency ms {summary['latency_ms']}")
    assert (0, 0, 0, {}) == (
        result.returncode,
        summary["server_errors_5xx"],
        summary["connection_errors"],
        summary["unexpected_statuses"],
    )
    assert {"create", "get", "get_unknown", "list"} == set(summary["by_kind"])
    # Every step answered (a list step may have asked for a second page too); every body
    # the clients read (a create's case_id, a page's next_page_token) was there, or its
    # client would have died with a traceback; every acknowledged create, and the seed cases
    # the tool made first, stored.
    assert STEPS <= summary["requests"] == sum(summary["statuses"].values())
    assert "" == result.stderr
    assert 0 < summary["seeded_cases"]
    assert summary["seeded_cases"] + summary["statuses"]["create 201"] == stored
    assert {"p50", "p90", "p99", "max"} == set(summary["latency_ms"])


def test_loadtest_refuses_targets_off_this_machine() -> None:
    """The tool only sends traffic to loopback addresses."""
    result = loadtest("--url", "http://192.0.2.1:8000", "--duration", "1")

    assert 2 == result.returncode
    assert "not a loopback address" in result.stderr


def test_loadtest_reports_failures_in_its_exit_status() -> None:
    """Against a port with no server, the run fails (exit 1) instead of reporting success."""
    result = loadtest("--url", f"http://127.0.0.1:{free_port()}", "--duration", "1")

    assert 1 == result.returncode
