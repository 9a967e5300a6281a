"""A real server's output carries no case content and no token."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from typing import Any

from tests.api.test_logs import TOKEN, assert_no_clinical_text, clinical_texts
from tests.servers import cli, running_server
from tests.tokens import SECRET_KEY


def test_no_case_content_or_token_in_server_output(database_url: str, tmp_path: Path) -> None:
    """A real server's stdout and stderr (access and error logs) through a full lifecycle,
    with authentication on, hold neither case text, nor the token, nor a query string."""
    cli(database_url, "db", "upgrade")
    log = tmp_path / "serve.log"
    env = dict(os.environ, CASESVC_API_TOKENS=TOKEN, CASESVC_SECRET_KEY=SECRET_KEY)
    auth = {"Authorization": f"Bearer {TOKEN}"}

    def call(path: str, method: str = "GET") -> dict[str, Any]:
        request = urllib.request.Request(base + path, method=method, headers=auth)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)  # type: ignore[no-any-return]

    with running_server(database_url, "--workers", "2", "--access-log", env=env, log=log) as (
        base,
        _,
    ):
        case_id = call("/cases", "POST")["case_id"]
        statuses = [call(f"/cases/{case_id}")["status"]]
        for seconds in (10, 20):
            cli(database_url, "advance", case_id, "--by", str(seconds))
            statuses.append(call(f"/cases/{case_id}")["status"])
            call(f"/cases?view=full&access_token={TOKEN}")
        complete = call(f"/cases/{case_id}")

    output = log.read_text()
    assert ["submitted", "processing", "complete"] == statuses
    assert complete["summary"][:40] in clinical_texts()
    assert f'"GET /cases/{case_id} HTTP/1.1" 200' in output  # the access log is there
    assert '"GET /cases HTTP/1.1" 200' in output  # the list, logged without its query
    assert_no_clinical_text(output)
    assert TOKEN not in output
