"""The load test's short form: a few seconds of mixed traffic, no 5xx, no connection error."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.servers import ROOT, cli, free_port, running_server


def loadtest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.loadtest", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_short_load_has_no_server_or_connection_errors(database_url: str) -> None:
    """8 clients for 3 s of mixed create/get/list against `casesvc serve` (4 workers, 2
    threads): every answer is an expected one, with no 5xx and no connection error. The
    latency is printed, not judged."""
    cli(database_url, "db", "upgrade")
    with running_server(database_url, "--workers", "4", "--threads", "2") as (base, _):
        result = loadtest("--url", base, "--duration", "3", "--clients", "8", "--json", "-")

    summary = json.loads(result.stdout)
    print(f"\nshort load: {summary['requests']} requests, latency ms {summary['latency_ms']}")
    assert (0, 0, 0, {}) == (
        result.returncode,
        summary["server_errors_5xx"],
        summary["connection_errors"],
        summary["unexpected_statuses"],
    )
    assert {"create", "get", "get_unknown", "list"} == set(summary["by_kind"])
    assert summary["requests"] > 100
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
