#!/usr/bin/env python3
"""A bounded load test of casesvc: concurrent clients, mixed create/get/list, on loopback.

    python -m scripts.loadtest                        # 20 s, 32 clients, its own server
    python -m scripts.loadtest --duration 3 --clients 8 --url http://127.0.0.1:8000

Without --url it starts `casesvc serve` (production mode: granian, at its default workers and
threads unless told otherwise) on a throwaway SQLite database, or on --database-url, and stops
it at the end. Each client keeps one HTTP connection and loops: 20% POST /cases, 52% GET
/cases/{id} (30% of them with If-None-Match), 3% GET of an unknown id, 25% GET /cases with
assorted filters (half of them followed by the next page). It stops after --duration
seconds (or --max-requests), then prints counts, 5xx, connection errors and latency
percentiles (reported, never judged).

Exit status: 0 when there was no 5xx, no connection error and no unexpected status; 1
otherwise; 2 for a usage error (e.g. a URL that is not on this machine).
Only loopback addresses are accepted as targets.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import ipaddress
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from devtools.servers import ROOT, running_server

MAX_DURATION = 600.0
MAX_CLIENTS = 256
SEED_CASES = 50
# What each kind of request may answer without it being an error.
EXPECTED = {"create": {201}, "get": {200, 304}, "get_unknown": {404}, "list": {200}}


@dataclass
class Tally:
    """One client's results; merged at the end, so clients never contend for a lock."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    connection_errors: Counter[str] = field(default_factory=Counter)
    seeded: int = 0  # the cases made before the load, to read from the first request on

    def merge(self, other: Tally) -> None:
        for kind, values in other.latencies.items():
            self.latencies.setdefault(kind, []).extend(values)
        self.statuses.update(other.statuses)
        self.connection_errors.update(other.connection_errors)


class Known:
    """Case ids (and their last ETag) seen so far, shared by the clients."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.ids: list[str] = []
        self.etags: dict[str, str] = {}

    def add(self, case_id: str, etag: str | None) -> None:
        with self._lock:
            if case_id not in self.etags:
                self.ids.append(case_id)
            if etag:
                self.etags[case_id] = etag

    def pick(self, rng: random.Random) -> tuple[str, str | None]:
        with self._lock:
            case_id = rng.choice(self.ids)
            return case_id, self.etags.get(case_id)


class Client:
    def __init__(self, base: str, token: str | None, known: Known, seed: int) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.known = known
        self.rng = random.Random(seed)
        self.tally = Tally()
        self.conn: http.client.HTTPConnection | None = None

    def request(self, kind: str, method: str, path: str, headers: dict[str, str]) -> Any:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        started = time.perf_counter()
        try:
            self.conn.request(method, path, headers={**self.headers, **headers})
            response = self.conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.tally.connection_errors[f"{kind}: {type(exc).__name__}"] += 1
            self.conn.close()
            self.conn = None
            return None
        self.tally.latencies.setdefault(kind, []).append(time.perf_counter() - started)
        self.tally.statuses[(kind, response.status)] += 1
        if response.will_close:
            self.conn.close()
            self.conn = None
        return response, body

    def step(self) -> None:
        roll = self.rng.random()
        if roll < 0.20 or not self.known.ids:
            got = self.request("create", "POST", "/cases", {})
            if got and got[0].status == 201:
                self.known.add(json.loads(got[1])["case_id"], got[0].getheader("ETag"))
        elif roll < 0.72:
            case_id, etag = self.known.pick(self.rng)
            headers = {"If-None-Match": etag} if etag and self.rng.random() < 0.3 else {}
            got = self.request("get", "GET", f"/cases/{case_id}", headers)
            if got and got[0].status == 200:
                self.known.add(case_id, got[0].getheader("ETag"))
        elif roll < 0.75:
            unknown = "case_" + "".join(self.rng.choices("0123456789abcdef", k=24))
            self.request("get_unknown", "GET", f"/cases/{unknown}", {})
        else:
            query = self.rng.choice(
                [
                    "",
                    "?page_size=10",
                    "?view=full&page_size=5",
                    "?status=submitted",
                    "?status=processing&page_size=20",
                    "?status=complete",
                ]
            )
            got = self.request("list", "GET", "/cases" + query, {})
            if got and got[0].status == 200 and self.rng.random() < 0.5:
                token = json.loads(got[1])["next_page_token"]
                if token:
                    joiner = "&" if query else "?"
                    self.request("list", "GET", f"/cases{query}{joiner}page_token={token}", {})

    def run(self, deadline: float, budget: Budget) -> None:
        try:
            while time.monotonic() < deadline and budget.take():
                self.step()
        finally:
            if self.conn is not None:
                self.conn.close()


class Budget:
    """An optional cap on the number of request steps across all clients."""

    def __init__(self, limit: int | None) -> None:
        self._left = limit
        self._lock = threading.Lock()

    def take(self) -> bool:
        if self._left is None:
            return True
        with self._lock:
            self._left -= 1
            return self._left >= 0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1]


def summarize(tally: Tally, elapsed: float, clients: int, server: str) -> dict[str, Any]:
    every = [v for values in tally.latencies.values() for v in values]
    by_kind = {}
    for kind, values in sorted(tally.latencies.items()):
        by_kind[kind] = {
            "count": len(values),
            "p50_ms": round(percentile(values, 50) * 1000, 2),
            "p99_ms": round(percentile(values, 99) * 1000, 2),
        }
    unexpected = {
        f"{kind} {status}": n
        for (kind, status), n in sorted(tally.statuses.items())
        if status not in EXPECTED[kind] and status < 500
    }
    return {
        "server": server,
        "clients": clients,
        "seconds": round(elapsed, 2),
        "seeded_cases": tally.seeded,
        "requests": len(every),
        "requests_per_second": round(len(every) / elapsed, 1) if elapsed else 0,
        "statuses": {
            f"{kind} {status}": n for (kind, status), n in sorted(tally.statuses.items())
        },
        "server_errors_5xx": sum(n for (_, status), n in tally.statuses.items() if status >= 500),
        "connection_errors": sum(tally.connection_errors.values()),
        "connection_error_kinds": dict(tally.connection_errors),
        "unexpected_statuses": unexpected,
        "latency_ms": {
            "p50": round(percentile(every, 50) * 1000, 2),
            "p90": round(percentile(every, 90) * 1000, 2),
            "p99": round(percentile(every, 99) * 1000, 2),
            "max": round(max(every, default=float("nan")) * 1000, 2),
        },
        "by_kind": by_kind,
    }


def report(summary: dict[str, Any]) -> str:
    lines = [
        f"casesvc load test: {summary['clients']} clients for {summary['seconds']} s "
        f"against {summary['server']}",
        f"  requests           {summary['requests']} ({summary['requests_per_second']}/s)",
        f"  5xx                {summary['server_errors_5xx']}",
        f"  connection errors  {summary['connection_errors']}"
        + (f" {summary['connection_error_kinds']}" if summary["connection_errors"] else ""),
        f"  unexpected 4xx     {sum(summary['unexpected_statuses'].values())}"
        + (f" {summary['unexpected_statuses']}" if summary["unexpected_statuses"] else ""),
        "  latency ms         p50 {p50}  p90 {p90}  p99 {p99}  max {max}".format(
            **summary["latency_ms"]
        ),
        "  by kind            "
        + "  ".join(
            f"{kind}: {v['count']} (p50 {v['p50_ms']}, p99 {v['p99_ms']})"
            for kind, v in summary["by_kind"].items()
        ),
        "  answers            " + ", ".join(f"{k}: {n}" for k, n in summary["statuses"].items()),
    ]
    return "\n".join(lines)


def die(message: str) -> SystemExit:
    print(f"loadtest: error: {message}", file=sys.stderr)
    return SystemExit(2)


def loopback_only(url: str) -> None:
    """Refuse any target that is not an address of this machine's loopback."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise die(f"--url must be http://HOST:PORT, got {url!r}")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 80, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise die(f"cannot resolve {parts.hostname}: {exc}") from None
    addresses = {info[4][0] for info in infos}
    if not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise die(
            f"{parts.hostname} is not a loopback address; this tool only targets servers on "
            "this machine"
        )


@contextlib.contextmanager
def own_server(database_url: str | None, serve_args: list[str]) -> Iterator[str]:
    """`casesvc serve` on a free loopback port, in its own process group; always stopped."""
    with tempfile.TemporaryDirectory(prefix="casesvc-load-") as tmp:
        url = database_url or f"sqlite:///{tmp}/load.db"
        cli = [sys.executable, "-m", "casesvc", "--database-url", url]
        subprocess.run([*cli, "db", "upgrade"], cwd=ROOT, check=True, capture_output=True)
        try:
            with running_server(url, *serve_args, log=Path(tmp) / "serve.log") as (base, _):
                yield base
        except (RuntimeError, TimeoutError) as exc:
            raise SystemExit(f"loadtest: error: the server did not come up ({exc})") from None


def run(base: str, clients: int, duration: float, token: str | None, limit: int | None) -> Tally:
    known = Known()
    seeder = Client(base, token, known, seed=-1)
    seeds = []
    for _ in range(SEED_CASES):  # something to read from the first request on
        got = seeder.request("create", "POST", "/cases", {})
        if got and got[0].status == 201:
            seeds.append(json.loads(got[1])["case_id"])
            known.add(seeds[-1], got[0].getheader("ETag"))
    if seeder.conn is not None:
        seeder.conn.close()
    if not known.ids:
        raise SystemExit("loadtest: error: could not create any case to start from")
    workers = [Client(base, token, known, seed=n) for n in range(clients)]
    budget = Budget(limit)
    deadline = time.monotonic() + duration
    threads = [threading.Thread(target=w.run, args=(deadline, budget)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=duration + 120)
    tally = Tally(seeded=len(seeds))
    for w in workers:
        tally.merge(w.tally)
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server (loopback only); default: start one")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds (default 20)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (32)")
    parser.add_argument("--max-requests", type=int, help="stop after this many request steps")
    parser.add_argument("--token", default=os.environ.get("CASESVC_LOADTEST_TOKEN"),
                        help="bearer token, if the server requires one")  # fmt: skip
    parser.add_argument("--database-url", help="for the server this tool starts")
    parser.add_argument("--workers", type=int, help="for the server it starts (its default)")
    parser.add_argument("--threads", type=int, help="for the server it starts (its default)")
    parser.add_argument("--json", metavar="PATH", help="also write the summary as JSON ('-')")
    args = parser.parse_args(argv)
    if not 0 < args.duration <= MAX_DURATION or not 0 < args.clients <= MAX_CLIENTS:
        parser.error(f"--duration must be in (0, {MAX_DURATION:g}], --clients in 1..{MAX_CLIENTS}")

    with contextlib.ExitStack() as stack:
        if args.url:
            loopback_only(args.url)
            base, server = args.url.rstrip("/"), args.url
        else:
            serve_args = [
                *(["--workers", str(args.workers)] if args.workers else []),
                *(["--threads", str(args.threads)] if args.threads else []),
            ]
            base = stack.enter_context(own_server(args.database_url, serve_args))
            server = f"casesvc serve {' '.join(serve_args) or '(defaults)'} on {base}"
        started = time.monotonic()
        tally = run(base, args.clients, args.duration, args.token, args.max_requests)
        elapsed = time.monotonic() - started

    summary = summarize(tally, elapsed, args.clients, server)
    if args.json == "-":
        print(json.dumps(summary))
    else:
        print(report(summary))
        if args.json:
            Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    failed = (
        summary["server_errors_5xx"]
        or summary["connection_errors"]
        or summary["unexpected_statuses"]
        or not summary["requests"]
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
