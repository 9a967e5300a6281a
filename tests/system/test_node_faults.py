"""A node survives its own faults: a worker killed under load, Ctrl-C, a database that takes
no writes, a worker that grew too large.

Real `casesvc serve` processes on loopback; every wait is for an event (a log line, a process,
an answer), bounded only so that a hang fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from tests.conftest import missing
from tests.fleet import call, wait_for
from tests.servers import cli, running_server, workers_of


@contextlib.contextmanager
def flood_of_creates(base: str, clients: int = 6) -> Iterator[list[str]]:
    """``clients`` threads POST /cases until the block ends; yields the ids of every create
    acknowledged with a 201 so far (a list that grows)."""
    acked: list[str] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            request = urllib.request.Request(base + "/cases", method="POST")
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    if response.status == 201:
                        acked.append(json.load(response)["case_id"])
            except (OSError, ValueError):
                pass  # cut off by the kill: never acknowledged

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    try:
        yield acked
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)


def test_a_worker_killed_under_a_flood_of_creates_is_replaced(
    database_url: str, tmp_path: Path
) -> None:
    """kill -9 of one worker during a flood of POSTs: the node goes on answering, a new
    worker takes its place, and every create acknowledged with a 201 reads back."""
    cli(database_url, "db", "upgrade")
    log = tmp_path / "serve.log"
    with running_server(database_url, log=log) as (base, server):
        workers = workers_of(server.pid)
        with flood_of_creates(base) as acked:
            wait_for(lambda: len(acked) >= 50, "50 creates")
            os.kill(workers[0], signal.SIGKILL)
            killed, at_kill = time.monotonic(), len(acked)
            wait_for(lambda: len(acked) > at_kill, "a create after the kill")
            answering = time.monotonic() - killed
            wait_for(
                lambda: (
                    len(workers_of(server.pid)) == len(workers)
                    and workers[0] not in workers_of(server.pid)
                ),
                "a worker in place of the killed one",
            )
            replaced = time.monotonic() - killed
            wait_for(lambda: len(acked) >= at_kill + 50, "50 more creates")
        reads = {case_id: call(f"{base}/cases/{case_id}")[0] for case_id in list(acked)}
        alive = server.poll() is None

    assert alive
    assert {200} == set(reads.values())
    assert "Respawning worker-1" in log.read_text()
    print(
        f"\nkill -9 of a worker: next 201 after {answering:.2f} s, replaced after "
        f"{replaced:.2f} s; {len(reads)} acknowledged creates, all read back"
    )


def test_ctrl_c_stops_the_node_at_once_and_kills_no_worker(
    database_url: str, tmp_path: Path
) -> None:
    """SIGINT to the whole process group, as a terminal's Ctrl-C sends it, after requests and
    with a keep-alive connection open: the node exits 0, every worker stopping gracefully."""
    cli(database_url, "db", "upgrade")
    log = tmp_path / "serve.log"
    with running_server(database_url, log=log) as (base, server):
        parts = urlsplit(base)
        for _ in range(20):
            call(base + "/cases", "POST")
        kept = socket.create_connection((parts.hostname, parts.port), timeout=30)
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        kept.recv(4096)
        os.killpg(server.pid, signal.SIGINT)
        code = server.wait(timeout=120)
        kept.close()

    text = log.read_text()
    assert 0 == code
    assert "refused to gracefully stop" not in text
    assert "Granian shutdown completed" in text


def readiness(base: str) -> tuple[int, dict[str, object]]:
    status, body, _ = call(base + "/readyz")
    return status, body.get("errors", {})


@pytest.mark.sqlite_only
def test_readiness_fails_on_a_full_disk_and_recovers(tmp_path: Path) -> None:
    """The database on a small tmpfs: once it is full, /readyz is 503 naming the database
    as not writable (creates fail too), and 200 again on its own once space returns."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode:
        missing(f"cannot mount a tmpfs (needs root): {mounted.stderr.decode().strip()}")
    try:
        url = f"sqlite:///{disk / 'cases.db'}"
        cli(url, "db", "upgrade")
        with running_server(url, "--workers", "1") as (base, _):
            before = readiness(base)
            filler = disk / "filler"
            with contextlib.suppress(OSError), filler.open("wb") as out:
                while True:  # until the disk is full
                    out.write(b"\0" * 65536)
                    out.flush()
            creates = [call(base + "/cases", "POST")[0] for _ in range(20)]
            wait_for(lambda: readiness(base)[0] == 503, "/readyz failing")
            full = readiness(base)
            filler.unlink()
            wait_for(lambda: readiness(base)[0] == 200, "/readyz passing again")
            again = call(base + "/cases", "POST")[0]
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)

    assert (200, {}) == before
    assert 503 in creates and 500 not in creates
    assert (503, {"database": "not writable"}) == full
    assert 201 == again


@pytest.mark.postgresql_only
def test_readiness_fails_on_a_read_only_database_and_recovers(database_url: str) -> None:
    """A failover to a read-only server (simulated: the database turns read-only and every
    connection drops): /readyz is 503 naming the database as not writable, creates are 503
    (never 500), and both recover on their own once it takes writes again."""
    cli(database_url, "db", "upgrade")
    name = sql.Identifier(urlsplit(database_url).path.lstrip("/"))
    with (
        psycopg.connect(database_url, autocommit=True) as admin,
        running_server(database_url, "--workers", "1") as (base, _),
    ):
        before = readiness(base)
        try:
            admin.execute(
                sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(name)
            )
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            wait_for(lambda: readiness(base)[0] == 503, "/readyz failing")
            down = readiness(base)
            creates = [call(base + "/cases", "POST")[0] for _ in range(5)]
        finally:
            admin.execute(
                sql.SQL("ALTER DATABASE {} RESET default_transaction_read_only").format(name)
            )
        wait_for(lambda: readiness(base)[0] == 200, "/readyz passing again")
        wait_for(lambda: call(base + "/cases", "POST")[0] == 201, "a create succeeding again")

    assert (200, {}) == before
    assert (503, {"database": "not writable"}) == down
    assert {503} == set(creates)


def test_a_worker_over_its_memory_limit_is_replaced_gracefully(
    database_url: str, tmp_path: Path
) -> None:
    """With --max-worker-rss below what a worker uses, the worker is replaced at the next
    check (every 30 s): a new one starts, the old one is stopped, and the node answers."""
    cli(database_url, "db", "upgrade")
    log = tmp_path / "serve.log"
    serve_args = ("--workers", "1", "--max-worker-rss", "8")
    with running_server(database_url, *serve_args, log=log) as (base, server):
        first = workers_of(server.pid)

        def replaced() -> bool:
            now = workers_of(server.pid)
            return len(now) == 1 and now != first

        wait_for(replaced, "a worker in place of the first", timeout=120)
        status = call(base + "/cases")[0]

    text = log.read_text()
    assert 200 == status
    assert "worker-1 RSS over threshold, gracefully respawning" in text
