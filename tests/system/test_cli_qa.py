"""The casesvc command against a real `casesvc serve` process on the same database."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from tests.cli.test_qa import invoke
from tests.servers import running_server


def test_a_running_server_sees_cli_changes_at_once(database_url: str, tmp_path: Path) -> None:
    """A case created and advanced through the CLI shows its new status on a real
    `casesvc serve` process at once, on the same database."""
    assert 0 == invoke(database_url, "db", "upgrade").exit_code
    with running_server(database_url, "--workers", "2", log=tmp_path / "serve.log") as (url, _):

        def get(case_id: str) -> dict[str, Any]:
            with urllib.request.urlopen(f"{url}/cases/{case_id}", timeout=10) as response:
                return dict(json.load(response))

        case_id = json.loads(invoke(database_url, "create", "--json").stdout)["case_id"]
        statuses = [get(case_id)["status"]]
        invoke(database_url, "advance", case_id, "--by", "15")
        statuses.append(get(case_id)["status"])
        invoke(database_url, "advance", case_id, "--to", "complete")
        body = get(case_id)
        shown_json = json.loads(invoke(database_url, "show", case_id, "--json").stdout)

    assert ["submitted", "processing", "complete"] == [*statuses, body["status"]]
    assert (True, True) == (bool(body["summary"]), bool(body["steps"]))
    assert body == shown_json
