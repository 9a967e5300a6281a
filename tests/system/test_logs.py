"""A real server's output carries no case content and no token."""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_logs import TOKEN, assert_no_clinical_text, clinical_texts
from tests.servers import cli, running_server
from tests.tokens import SECRET_KEY, TOKEN_A


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


@pytest.mark.parametrize(
    "serve_args", [("--workers", "1", "--access-log"), ("--dev",)], ids=["granian", "dev"]
)
def test_request_log_never_writes_a_token(
    database_url: str, tmp_path: Path, serve_args: tuple[str, ...]
) -> None:
    """The request log of `casesvc serve --access-log` and of `--dev` writes no token, wherever
    the client put it: the Authorization header, the query string, or the path (plain or
    percent-encoded); a case id stays readable."""
    cli(database_url, "db", "upgrade")
    log = tmp_path / "serve.log"
    env = dict(os.environ, CASESVC_API_TOKENS=TOKEN_A, CASESVC_SECRET_KEY=SECRET_KEY)
    encoded = "".join(f"%{byte:02X}" for byte in TOKEN_A.encode())

    def status(path: str, method: str = "GET") -> int:
        request = urllib.request.Request(
            base + path, method=method, headers={"Authorization": f"Bearer {TOKEN_A}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    with running_server(database_url, *serve_args, env=env, log=log) as (base, _):
        request = urllib.request.Request(
            base + "/cases", method="POST", headers={"Authorization": f"Bearer {TOKEN_A}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            case_id = json.load(response)["case_id"]
        statuses = [
            status(f"/cases/{case_id}"),
            status(f"/cases?access_token={TOKEN_A}"),
            status(f"/cases/{TOKEN_A}"),
            status(f"/{TOKEN_A}"),
            status(f"/cases/{encoded}"),
        ]

    output = re.sub(r"\x1b\[[0-9;]*m", "", log.read_text())  # werkzeug colours its lines
    assert [200, 200, 404, 404, 404] == statuses
    assert f'"GET /cases/{case_id} HTTP/1.1" 200' in output
    assert '"GET /cases HTTP/1.1" 200' in output
    assert '"GET /cases/[redacted] HTTP/1.1" 404' in output
    assert TOKEN_A not in output
    assert encoded not in output
