"""A fleet, as an operator runs one: several `casesvc serve` nodes at their defaults on one
PostgreSQL at its defaults, directly, through PgBouncer in transaction pooling, and behind
HAProxy. Each test starts its own cluster (max_connections 100), loopback only, bounded in time.

They run in the PostgreSQL pass only: the engine is theirs, not the pass's.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from urllib.parse import quote, urlsplit

import pytest

from tests.fleet import (
    call,
    haproxy,
    nodes,
    pgbouncer,
    postgres_cluster,
    psql,
    start_wrk,
    wrk_result,
)
from tests.servers import ROOT

pytestmark = pytest.mark.postgresql_only

LOAD_SECONDS = 10
CONNECTIONS_PER_NODE = 64  # the load: 64 concurrent GETs per node


def casesvc(database_url: str, *args: str) -> str:
    """The CLI, as QA runs it beside the fleet."""
    result = subprocess.run(
        [sys.executable, "-m", "casesvc", "--database-url", database_url, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def backends(url: str) -> int:
    """Client connections the server holds to casesvc's database now."""
    return int(psql(url, "SELECT count(*) FROM pg_stat_activity WHERE datname = 'casesvc'"))


def test_three_nodes_at_their_defaults_fit_one_postgresql_at_its_defaults() -> None:
    """Three nodes, each under 64 concurrent GETs for 10 s: no request fails, the nodes
    hold at most their budget (16 each), and an operator's psql still connects meanwhile."""
    with postgres_cluster() as url:
        casesvc(url, "db", "upgrade")
        case_id = casesvc(url, "create")
        with nodes(url, 3) as bases:
            loads = [
                start_wrk(f"{base}/cases/{case_id}", connections=64, seconds=LOAD_SECONDS)
                for base in bases
            ]
            held, operator = [], []
            while any(load.poll() is None for load in loads):
                held.append(backends(url))  # itself an operator's psql, during the load
                operator.append(psql(url, "SELECT 1"))
            results = [wrk_result(load) for load in loads]

    print(f"\n3 nodes: {[r.requests for r in results]} GETs, most connections held {max(held)}")
    assert [0, 0, 0] == [r.failed for r in results], [r.output for r in results]
    assert all(r.requests > 0 for r in results)
    assert set(operator) == {"1"}
    assert max(held) <= 3 * 16 + 1  # the budgets, and psql's own


def test_eight_nodes_share_pgbouncer_in_transaction_pooling() -> None:
    """Eight nodes at their defaults (no setting for PgBouncer) through deploy/pgbouncer.ini
    (transaction pooling, default_pool_size 20), under mixed GETs and POSTs for 10 s: no
    request fails, and PostgreSQL sees at most the pool's 20 connections."""
    with postgres_cluster() as direct, pgbouncer(direct) as pooled:
        casesvc(pooled, "db", "upgrade")  # migrations work through it too
        with nodes(pooled, 8) as bases:
            loads = [
                start_wrk(base, connections=16, seconds=LOAD_SECONDS, script="mixed.lua")
                for base in bases
            ]
            held = []
            while any(load.poll() is None for load in loads):
                held.append(backends(direct))
            results = [wrk_result(load) for load in loads]
        created = int(psql(direct, "SELECT count(*) FROM cases"))

    print(
        f"\n8 nodes via PgBouncer: {sum(r.requests for r in results)} requests, "
        f"{created} cases created, most server connections {max(held)}"
    )
    assert [0] * 8 == [r.failed for r in results], [r.output for r in results if r.failed]
    assert created > 0
    assert max(held) <= 20 + 1  # PgBouncer's pool, and psql's own


def test_the_qa_walkthrough_through_haproxy() -> None:
    """deploy/haproxy.cfg in front of three nodes: create through the balancer, fast-forward
    with the CLI, read and list through the balancer (every node agrees), a page token one
    node issued works on another, and an Idempotency-Key retried on another node replays."""
    with postgres_cluster() as url:
        casesvc(url, "db", "upgrade")
        with nodes(url, 3) as bases, haproxy(bases) as balancer:
            status, created, headers = call(f"{balancer}/cases", "POST")
            case_id = created["case_id"]
            assert (201, "submitted") == (status, created["status"])
            assert headers["location"].endswith(f"/cases/{case_id}")

            casesvc(url, "advance", case_id, "--to", "complete")
            seen = [call(f"{balancer}/cases/{case_id}") for _ in range(6)]  # round robin
            assert {(200, "complete")} == {(s, body["status"]) for s, body, _ in seen}
            assert all(body == seen[0][1] for _, body, _ in seen)

            for _ in range(2):
                call(f"{balancer}/cases", "POST")
            listed = call(f"{balancer}/cases?page_size=50")[1]["cases"]
            assert 3 == len(listed) and case_id == listed[-1]["case_id"]

            first = call(f"{bases[0]}/cases?page_size=2")[1]
            token = quote(first["next_page_token"])
            rest = call(f"{bases[1]}/cases?page_size=2&page_token={token}")
            assert (200, [case_id]) == (rest[0], [c["case_id"] for c in rest[1]["cases"]])

            key = {"Idempotency-Key": "walkthrough-0001"}
            once = call(f"{bases[2]}/cases", "POST", key)
            again = call(f"{bases[0]}/cases", "POST", key)
            assert (201, 201) == (once[0], again[0])
            assert once[1]["case_id"] == again[1]["case_id"]
            assert "true" == again[2].get("idempotent-replayed")

            listed = casesvc(url, "list")
    assert case_id in listed and 5 == len(listed.splitlines())  # a header and four cases


def test_haproxy_takes_a_node_that_is_not_ready_out_of_rotation() -> None:
    """A node whose database takes no writes fails /readyz: HAProxy stops sending it
    traffic, and every request through the balancer still succeeds."""
    with postgres_cluster() as url:
        casesvc(url, "db", "upgrade")
        with contextlib.ExitStack() as stack:
            bases = stack.enter_context(nodes(url, 2))
            # The third node's database: a role whose transactions are read-only.
            psql(url, "CREATE ROLE reader LOGIN")
            psql(url, "GRANT ALL ON ALL TABLES IN SCHEMA public TO reader")
            psql(url, "ALTER ROLE reader SET default_transaction_read_only = on")
            read_only = url.replace("postgres@", "reader@")
            bases += stack.enter_context(nodes(read_only, 1))
            assert 503 == call(f"{bases[2]}/readyz")[0]
            balancer = stack.enter_context(haproxy(bases, expect_up=2))
            answers = [call(f"{balancer}/cases", "POST")[0] for _ in range(9)]
    assert [201] * 9 == answers


def test_haproxy_answers_a_body_that_trickles_in_with_a_408() -> None:
    """A POST whose body stops arriving is answered 408 by HAProxy once its request timeout
    passes, and never reaches a node (no case is created)."""
    with postgres_cluster() as url:
        casesvc(url, "db", "upgrade")
        with nodes(url, 3) as bases, haproxy(bases) as balancer:
            parts = urlsplit(balancer)
            with socket.create_connection((parts.hostname, parts.port), timeout=60) as s:
                s.sendall(b"POST /cases HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nx")
                answer = s.recv(65536)
        created = psql(url, "SELECT count(*) FROM cases")

    assert answer.startswith(b"HTTP/1.1 408 ")
    assert "0" == created
