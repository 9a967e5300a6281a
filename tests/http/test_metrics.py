"""``/metrics``: Prometheus counts by route template, in one process."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from casesvc.api import parts_of
from casesvc.config import Config, ConfigError
from tests.tokens import SECRET_KEY, TOKEN_A, TOKEN_B

TOKEN = TOKEN_A
SCRAPER = TOKEN_B  # the scraper's token in these tests


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
    http = make_app(metrics=True).test_client()
    case_id = http.post("/cases").json["case_id"]
    http.post("/cases", headers={"Idempotency-Key": "k-1"})
    http.post("/cases", headers={"Idempotency-Key": "k-1"})  # a replay creates nothing
    for _ in range(3):
        http.get(f"/cases/{case_id}")
    http.get("/cases/case_000000000000000000000000")
    http.get("/no/such/page")
    http.delete("/cases")

    response = http.get("/metrics")
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


def test_metrics_need_the_scrapers_own_token(make_app: Any, frozen: object) -> None:
    """With API tokens, /metrics answers 401 without a token and with a client's (a http
    read every client's counts there: issue 22), and 200 with the scraper's own; a client's
    token still reads its cases, but not with the scraper's; refusals are counted."""
    http = make_app(api_tokens=(TOKEN,), metrics=True, metrics_token=SCRAPER).test_client()

    def status(path: str, token: str | None) -> int:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return int(http.get(path, headers=headers).status_code)

    statuses = [
        status("/metrics", None),
        status("/metrics", TOKEN),
        status("/cases", TOKEN),
        status("/cases", SCRAPER),
    ]
    allowed = http.get("/metrics", headers={"Authorization": f"Bearer {SCRAPER}"})

    assert [401, 401, 200, 401] == statuses
    assert 200 == allowed.status_code
    assert 2 == requests(samples(allowed.get_data(as_text=True)), "/metrics", "GET", 401)


def test_with_tokens_on_and_metrics_off_no_token_opens_metrics(make_app: Any) -> None:
    """With http tokens and no scraper token (metrics off), /metrics is a 401 with or
    without a client's token, as the document's security says, never a 200 or a 404."""
    http = make_app(api_tokens=(TOKEN,)).test_client()
    with_token = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert [401, 401] == [http.get("/metrics").status_code, with_token.status_code]


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"CASESVC_METRICS": "1", "CASESVC_API_TOKENS": TOKEN}, "needs CASESVC_METRICS_TOKEN"),
        ({"CASESVC_METRICS_TOKEN": "short"}, "32 or more"),
        ({"CASESVC_METRICS_TOKEN": TOKEN, "CASESVC_API_TOKENS": TOKEN}, "of its own"),
        ({"CASESVC_METRICS_TOKEN": "scraper-" + "s" * 35}, ""),
    ],
)
def test_the_metrics_token_is_the_operators_own(env: dict[str, str], says: str) -> None:
    """With tokens on, metrics need a scraper token; it is as strong as a client's token and
    none of theirs, nor the secret key."""
    env = {"CASESVC_SECRET_KEY": SECRET_KEY, **env}
    if not says:  # a good one
        assert env["CASESVC_METRICS_TOKEN"] == Config.from_env(env).metrics_token
        return
    with pytest.raises(ConfigError, match=says):
        Config.from_env(env)


def test_metrics_are_off_by_default(http: FlaskClient) -> None:
    """Without CASESVC_METRICS=1 nothing is counted and /metrics is a JSON 404 saying how to
    turn it on."""
    http.get("/cases")
    response = http.get("/metrics")

    assert (404, "application/json") == (response.status_code, response.content_type)
    assert "CASESVC_METRICS=1" in response.json["message"]
    assert parts_of(http.application).metrics is None


def test_the_variable_turns_metrics_on() -> None:
    """CASESVC_METRICS is 0 or 1, off when unset; anything else is refused."""
    assert (False, False, True) == (
        Config.from_env({}).metrics,
        Config.from_env({"CASESVC_METRICS": "0"}).metrics,
        Config.from_env({"CASESVC_METRICS": "1"}).metrics,
    )
    with pytest.raises(ConfigError, match="CASESVC_METRICS must be 0 or 1"):
        Config.from_env({"CASESVC_METRICS": "yes"})
