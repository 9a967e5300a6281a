"""Property-based fuzzing of the API with Schemathesis, from the app's own /openapi.json.

Schemathesis's engine (what `schemathesis run` uses) drives the WSGI app in-process through
every phase (examples, coverage, fuzzing, stateful) with every check it has, configured by
schemathesis.toml: fixed seed, deterministic generation, a fixed number of examples per
operation. The bar is zero failures. Fix the app or the spec, never loosen the checks.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import urllib.request
from collections import Counter
from typing import Any

import pytest
import schemathesis
from schemathesis import engine
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events

from casesvc import db
from casesvc.api import parts_of
from casesvc.app import create_app
from casesvc.clock import FakeClock
from casesvc.config import Config
from tests.conftest import T0
from tests.servers import ROOT, cli, running_server
from tests.tokens import CLIENTS, SECRET_KEY, TOKEN_A, TOKEN_B

# The two named clients, as a Web Fuzzing Commons auth document for Schemathesis.
WFC_USERS = {
    "auth": [
        {"name": name, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {token}"}]}
        for name, token in (("clinic-a", TOKEN_A), ("clinic-b", TOKEN_B))
    ]
}

CONFIG_FILE = ROOT / "schemathesis.toml"
# Every check Schemathesis offers for OpenAPI; each must have run, none may fail.
ALL_CHECKS = {
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "positive_data_acceptance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "object_level_authorization",
}


AGES = (60, 40, 20, 15, 5, 2)  # seconds: two cases in each stage


def run(schema: Any) -> dict[str, Any]:
    """Run every phase; gather cases, answers, checks and failures."""
    found: dict[str, Any] = {
        "cases": Counter(),
        "answers": Counter(),
        "checks": Counter(),
        "failures": [],
        "errors": [],
        "phases": {},
        "stop": None,
    }
    for event in engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            found["cases"][event.phase.value] += len(recorder.cases)
            for interaction in recorder.interactions.values():
                if interaction.response is not None:
                    found["answers"][interaction.response.status_code] += 1
            for checks in recorder.checks.values():
                for check in checks:
                    found["checks"][check.name] += 1
                    if check.failure_info is not None:
                        found["failures"].append(
                            f"[{event.phase.value}] {recorder.label}: {check.name}: "
                            f"{check.failure_info.failure.title}\n"
                            f"    {check.failure_info.code_sample}"
                        )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            found["errors"].append(repr(event))
        elif isinstance(event, events.PhaseFinished):
            found["phases"][event.phase.name.value] = event.status.value
        elif isinstance(event, events.EngineFinished):
            found["stop"] = event.stop_reason.value
    return found


def assert_clean(found: dict[str, Any], *, checks: set[str]) -> None:
    total = sum(found["cases"].values())
    print(
        f"\nschemathesis: {total} cases {dict(found['cases'])}, "
        f"answers {dict(sorted(found['answers'].items()))}, {len(found['failures'])} failures"
    )
    assert [] == found["failures"]
    assert [] == found["errors"]
    assert "completed" == found["stop"]
    for phase in ("examples", "coverage", "fuzzing", "stateful"):
        assert "success" == found["phases"].get(phase), (phase, found["phases"])
        assert found["cases"][phase] > 0, phase
    assert found["cases"]["fuzzing"] >= 200
    assert checks <= set(found["checks"])
    assert 500 not in found["answers"]


def test_schemathesis_in_process(config: Config) -> None:
    """In-process, tokens off (the default): every phase and every check pass over at
    least 200 generated cases, and the run reaches every kind of answer."""
    clock = FakeClock(T0)
    app = create_app(config, clock=clock)
    http = app.test_client()
    for age in AGES:
        clock.set(T0 - dt.timedelta(seconds=age))
        assert 201 == http.post("/cases").status_code
    clock.set(T0)
    schema = schemathesis.openapi.from_wsgi(
        "/openapi.json", app, config=SchemathesisConfig.from_path(CONFIG_FILE)
    )
    try:
        found = run(schema)
    finally:
        db.close_all(parts_of(app).service.database)

    assert_clean(found, checks=ALL_CHECKS)
    assert {200, 201, 304, 404, 405, 422} <= set(found["answers"])


def test_schemathesis_live_server_with_two_clients(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """Against a real `casesvc serve` with two named clients: the same, plus ignored_auth
    (a missing or wrong token is refused on every operation) and object_level_authorization
    with the two clients as peers (neither reads a case the other created)."""
    cli(database_url, "db", "upgrade")
    env = dict(os.environ, CASESVC_API_TOKENS=CLIENTS, CASESVC_SECRET_KEY=SECRET_KEY)
    with running_server(database_url, "--workers", "2", "--threads", "4", env=env) as (base, _):

        def call(path: str, token: str, method: str = "GET") -> Any:
            headers = {"Authorization": f"Bearer {token}"}
            request = urllib.request.Request(base + path, method=method, headers=headers)
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)

        for age in AGES:
            for token in (TOKEN_A, TOKEN_B):
                case_id = call("/cases", token, "POST")["case_id"]
                cli(database_url, "advance", case_id, "--by", str(age))
        users = tmp_path / "wfc-users.json"
        users.write_text(json.dumps(WFC_USERS), encoding="utf-8")
        monkeypatch.setenv("CASESVC_FUZZ_TOKEN", TOKEN_A)  # the hooks' page-token look-ups
        text = CONFIG_FILE.read_text()
        text += f'\n[auth.wfc]\npath = "{users}"\npeers = ["clinic-a", "clinic-b"]\n'
        schema = schemathesis.openapi.from_url(
            base + "/openapi.json", config=SchemathesisConfig.from_str(text, base_dir=str(ROOT))
        )
        found = run(schema)

    assert_clean(found, checks=ALL_CHECKS | {"ignored_auth"})
    assert {200, 201, 304, 401, 404} <= set(found["answers"])
