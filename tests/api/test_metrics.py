"""``/metrics``: Prometheus counts by route template, in one process."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from casesvc.config import Config, ConfigError
from tests.tokens import TOKEN_A

TOKEN = TOKEN_A


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def requests(found: dict, route: str, method: str, status: int) -> float:  # type: ignore[type-arg]
    labels = (("method", method), ("route", route), ("status", str(status)))
    return found.get(("casesvc_http_requests_total", labels), 0.0)


def test_requests_are_counted_by_route_template(make_app: Any, frozen: object) -> None:
    """With metrics on, each answer counts once under its route template, method and status,
    and no case id appears in the exposition."""
    client = make_app(metrics=True).test_client()
    case_id = client.post("/cases").json["case_id"]
    client.post("/cases", headers={"Idempotency-Key": "k-1"})
    client.post("/cases", headers={"Idempotency-Key": "k-1"})  # a replay creates nothing
    for _ in range(3):
        client.get(f"/cases/{case_id}")
    client.get("/cases/case_000000000000000000000000")
    client.get("/no/such/page")
    client.delete("/cases")

    response = client.get("/metrics")
    text = response.get_data(as_text=True)
    found = samples(text)

    assert (200, "no-store") == (response.status_code, response.headers["Cache-Control"])
    assert response.content_type.startswith("text/plain")
    assert 3 == requests(found, "/cases", "POST", 201)
    assert 3 == requests(found, "/cases/<case_id>", "GET", 200)
    assert 1 == requests(found, "/cases/<case_id>", "GET", 404)
    assert 1 == requests(found, "unmatched", "GET", 404)
    assert 1 == requests(found, "unmatched", "DELETE", 405)  # no rule matched the method
    assert 2 == found[("casesvc_cases_created_total", ())]
    latency = (
        "casesvc_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "/cases/<case_id>")),
    )
    assert 4 == found[latency]
    assert case_id not in text


def test_metrics_need_a_token_when_tokens_are_on(make_app: Any, frozen: object) -> None:
    """With API tokens, /metrics answers 401 without one and 200 with one; the refusal
    itself is counted."""
    client = make_app(api_tokens=(TOKEN,), metrics=True).test_client()
    refused = client.get("/metrics")
    allowed = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert (401, "application/json") == (refused.status_code, refused.content_type)
    assert 200 == allowed.status_code
    assert 1 == requests(samples(allowed.get_data(as_text=True)), "/metrics", "GET", 401)


def test_metrics_are_off_by_default(client: FlaskClient) -> None:
    """Without CASESVC_METRICS=1 nothing is counted and /metrics is a JSON 404 saying how to
    turn it on."""
    client.get("/cases")
    response = client.get("/metrics")

    assert (404, "application/json") == (response.status_code, response.content_type)
    assert "CASESVC_METRICS=1" in response.json["message"]
    assert client.application.extensions["casesvc"].metrics is None


def test_the_variable_turns_metrics_on() -> None:
    """CASESVC_METRICS is 0 or 1, off when unset; anything else is refused."""
    assert (False, False, True) == (
        Config.from_env({}).metrics,
        Config.from_env({"CASESVC_METRICS": "0"}).metrics,
        Config.from_env({"CASESVC_METRICS": "1"}).metrics,
    )
    with pytest.raises(ConfigError, match="CASESVC_METRICS must be 0 or 1"):
        Config.from_env({"CASESVC_METRICS": "yes"})
