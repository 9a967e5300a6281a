"""``/metrics`` of a real `casesvc serve`: counts add up across its workers."""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import pytest

from tests.http.test_metrics import requests, samples
from tests.servers import cli, running_server


@pytest.mark.parametrize("given", [True, False], ids=["operator-dir", "fresh-dir"])
def test_counts_add_up_across_workers(database_url: str, tmp_path: Path, given: bool) -> None:
    """A two-worker `casesvc serve` reports exactly the requests sent, whichever worker
    answered each (both did), in the operator's PROMETHEUS_MULTIPROC_DIR or its own."""
    cli(database_url, "db", "upgrade")
    env = dict(os.environ, TMPDIR=str(tmp_path), CASESVC_METRICS="1")  # TMPDIR: serve's dir
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if given:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")
        (tmp_path / "metrics").mkdir()
        (tmp_path / "metrics" / "counter_1.db").write_bytes(b"stale")  # wiped at start
    posts, gets = 40, 160
    with running_server(database_url, "--workers", "2", env=env) as (base, _):
        ids = [post(base) for _ in range(posts)]
        for i in range(gets):
            urllib.request.urlopen(f"{base}/cases/{ids[i % posts]}").close()
        with urllib.request.urlopen(base + "/metrics") as response:
            found = samples(response.read().decode())
        files = list(tmp_path.glob("*/*.db"))
        writers = {path.stem.rsplit("_", 1)[1] for path in files}

    assert posts == requests(found, "/cases", "POST", 201)
    assert gets == requests(found, "/cases/<case_id>", "GET", 200)
    assert posts == found[("casesvc_cases_created_total", ())]
    assert 2 <= len(writers - {"1"}), files
    assert given == (tmp_path / "metrics").is_dir()  # serve removes only its own directory


def post(base: str) -> str:
    import json

    request = urllib.request.Request(base + "/cases", method="POST")
    with urllib.request.urlopen(request) as response:
        return str(json.load(response)["case_id"])
