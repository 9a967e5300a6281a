"""Stateless app processes: several `casesvc serve` on one database always agree."""

import json
import urllib.error
import urllib.request

import psycopg
import pytest

from tests.servers import cli, running_server


def call(url: str, method: str = "GET") -> tuple[int, dict]:  # type: ignore[type-arg]
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def fast_forward(database_url: str, case_id: str, seconds: float) -> None:
    """Fast-forward a case from a third process: the QA CLI."""
    cli(database_url, "advance", case_id, "--by", str(seconds))


def test_two_servers_agree(database_url: str) -> None:
    """Cases created through one server read and list the same through another, with
    fast-forwards in between."""
    cli(database_url, "db", "upgrade")
    with (
        running_server(database_url, "--workers", "2") as (a, _),
        running_server(database_url, "--workers", "2") as (b, _),
    ):
        created = [call(a + "/cases", "POST")[1] for _ in range(3)]
        ids = [c["case_id"] for c in created]
        assert created == [call(f"{b}/cases/{i}")[1] for i in ids]

        fast_forward(database_url, ids[0], 15)
        fast_forward(database_url, ids[1], 35)
        seen_b = [call(f"{b}/cases/{i}")[1] for i in ids]
        seen_a = [call(f"{a}/cases/{i}")[1] for i in ids]
        assert ["processing", "complete", "submitted"] == [c["status"] for c in seen_b]
        assert seen_a == seen_b

        for status in ("submitted", "processing", "complete"):
            listed_a = call(f"{a}/cases?status={status}&view=full")[1]
            listed_b = call(f"{b}/cases?status={status}&view=full")[1]
            assert listed_a == listed_b
            assert [c for c in seen_a if c["status"] == status] == listed_a["cases"]
        assert list(reversed(ids)) == [c["case_id"] for c in call(b + "/cases")[1]["cases"]]


@pytest.mark.postgresql_only
@pytest.mark.parametrize("threads", ["1", "2"])
def test_server_survives_lost_database_connections(database_url: str, threads: str) -> None:
    """After PostgreSQL drops every connection, requests recover without a restart, and no
    answer is a 500: with sync workers (which keep their connection between requests) and
    threaded ones (which borrow one per request)."""
    cli(database_url, "db", "upgrade")
    with running_server(database_url, "--workers", "1", "--threads", threads) as (base, _):
        statuses = [call(base + "/cases", "POST")[0] for _ in range(3)]
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        statuses += [call(base + "/cases")[0] for _ in range(4)]

    assert 500 not in statuses
    assert [201, 201, 201] == statuses[:3]
    assert statuses[-1] == 200
    assert set(statuses[3:]) <= {200, 503}
