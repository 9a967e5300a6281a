import dataclasses
import datetime as dt
import json
from typing import Any

import peewee
import pytest
from flask import Flask
from flask.testing import FlaskClient
from freezegun.api import FrozenDateTimeFactory

from casesvc.api import parts_of
from casesvc.api.cases import etag_matches
from casesvc.app import create_app
from casesvc.config import Config
from casesvc.db import close_all
from casesvc.models import Case
from casesvc.service import new_case_id
from tests.conftest import BOUNDARIES
from tests.tokens import TOKEN_A


def create(http: FlaskClient) -> str:
    return str(http.post("/cases").json["case_id"])


def assert_json_error(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    body = response.get_json()
    assert (status, "application/json") == (response.status_code, response.mimetype)
    assert status == body["code"]
    assert {"code", "status", "message"} <= set(body)
    return body


def test_post_creates_and_answers_at_once(http: FlaskClient) -> None:
    """POST with no body answers 201, the case and its Location, and the row is committed."""
    response = http.post("/cases")
    body = response.json

    assert 201 == response.status_code
    assert f"/cases/{body['case_id']}" == response.headers["Location"]
    assert "submitted" == body["status"]
    assert 1 == Case.select().where(Case.id == body["case_id"]).count()
    assert body == http.get(response.headers["Location"]).json


@pytest.mark.parametrize(
    ("mount", "expected"),
    [("/casesvc", "/casesvc"), ("/prior auth/é", "/prior%20auth/%C3%A9")],
)
def test_location_is_under_the_mount_point(http: FlaskClient, mount: str, expected: str) -> None:
    """Mounted under a prefix, the Location of a created case starts with it, URI-quoted."""
    response = http.post("/cases", base_url=f"http://localhost{mount}")

    assert 201 == response.status_code
    assert f"{expected}/cases/{response.json['case_id']}" == response.headers["Location"]


def test_case_keys_are_in_reference_order(http: FlaskClient) -> None:
    """Keys come in the reference files' order, then created_at."""
    response = http.post("/cases")

    assert [
        "case_id",
        "status",
        "procedure_name",
        "cpt_codes",
        "summary",
        "is_met",
        "is_complete",
        "steps",
        "created_at",
    ] == list(response.json)
    assert '{"case_id":' == response.get_data(as_text=True)[:11]


def test_created_at_is_rfc3339_utc(http: FlaskClient) -> None:
    """created_at is the creation instant with microseconds and a +00:00 offset."""
    assert "2026-03-01T12:00:00.000000+00:00" == http.post("/cases").json["created_at"]


@pytest.mark.parametrize(
    ("seconds", "status", "retry_after"),
    [(s, status.value, None if r is None else str(r)) for s, status, r in BOUNDARIES],
)
def test_get_at_boundaries(
    http: FlaskClient,
    frozen: FrozenDateTimeFactory,
    seconds: float,
    status: str,
    retry_after: str | None,
) -> None:
    """GET at each boundary shows the right status and Retry-After."""
    case_id = create(http)
    frozen.tick(dt.timedelta(seconds=seconds))
    response = http.get(f"/cases/{case_id}")

    assert (200, status, retry_after) == (
        response.status_code,
        response.json["status"],
        response.headers.get("Retry-After"),
    )
    assert "no-store" == response.headers["Cache-Control"]


def test_stage_contents(http: FlaskClient, frozen: FrozenDateTimeFactory) -> None:
    """Submitted has no summary or steps, processing a summary, complete everything."""
    case_id = create(http)
    submitted = http.get(f"/cases/{case_id}").json
    frozen.tick(10)
    processing = http.get(f"/cases/{case_id}").json
    frozen.tick(20)
    complete = http.get(f"/cases/{case_id}").json

    assert (None, []) == (submitted["summary"], submitted["steps"])
    assert processing["summary"] and [] == processing["steps"]
    assert complete["summary"] == processing["summary"]
    assert complete["steps"] and complete["is_complete"] is True
    assert "logic" not in complete["steps"][0]
    assert all("logic" in step for step in complete["steps"][1:])
    assert submitted["procedure_name"] == complete["procedure_name"]
    assert submitted["cpt_codes"] == complete["cpt_codes"]


def test_etag_answers_304_with_its_headers(
    http: FlaskClient, frozen: FrozenDateTimeFactory
) -> None:
    """A matching If-None-Match gets 304 with ETag and Retry-After; a new stage gets 200."""
    case_id = create(http)
    first = http.get(f"/cases/{case_id}")
    etag = first.headers["ETag"]
    not_modified = http.get(f"/cases/{case_id}", headers={"If-None-Match": etag})

    assert (304, b"") == (not_modified.status_code, not_modified.data)
    assert (etag, "10", "no-store") == (
        not_modified.headers["ETag"],
        not_modified.headers["Retry-After"],
        not_modified.headers["Cache-Control"],
    )

    frozen.tick(10)
    changed = http.get(f"/cases/{case_id}", headers={"If-None-Match": etag})
    assert (200, "processing") == (changed.status_code, changed.json["status"])
    assert etag != changed.headers["ETag"]


def test_unknown_case_is_a_json_404(http: FlaskClient) -> None:
    """An unknown id answers 404 in the JSON error format."""
    body = assert_json_error(http.get(f"/cases/{new_case_id()}"), 404)
    assert "No case has this id." == body["message"]


def test_list_pages_newest_first(http: FlaskClient, frozen: FrozenDateTimeFactory) -> None:
    """GET /cases pages through every case once, newest first, in the basic view."""
    ids = []
    for _ in range(7):
        ids.append(create(http))
        frozen.tick(1)
    seen, url = [], "/cases?page_size=3"
    while url:
        body = http.get(url).json
        assert {"cases", "next_page_token"} == set(body)
        assert all("steps" not in case for case in body["cases"])
        seen += [case["case_id"] for case in body["cases"]]
        token = body["next_page_token"]
        url = f"/cases?page_size=3&page_token={token}" if token else ""

    assert list(reversed(ids)) == seen


def test_list_full_view_and_status_filter(
    http: FlaskClient, frozen: FrozenDateTimeFactory
) -> None:
    """view=full includes steps; status filters on the current status."""
    old = create(http)
    frozen.tick(31)
    new = create(http)

    complete = http.get("/cases?status=complete&view=full").json["cases"]
    submitted = http.get("/cases?status=submitted").json["cases"]

    assert [old] == [c["case_id"] for c in complete]
    assert complete[0]["steps"]
    assert [new] == [c["case_id"] for c in submitted]
    assert [] == http.get("/cases?status=processing").json["cases"]


def test_full_pages_hold_at_most_100_cases(http: FlaskClient) -> None:
    """view=full coerces a page_size over 100 to 100 (at most ~2 MB), and its token continues
    with the rest; view=basic keeps its own maximum."""
    service = parts_of(http.application).service
    with service.database.connection_context():
        ids = [service.create().case_id for _ in range(150)]
        service.advance_all(dt.timedelta(seconds=31))

    first = http.get("/cases?page_size=500&view=full")
    token = first.json["next_page_token"]
    assert (100, True) == (len(first.json["cases"]), token is not None)
    assert len(first.data) <= 2_000_000
    rest = http.get(f"/cases?page_size=500&view=full&page_token={token}").json
    full = first.json["cases"] + rest["cases"]
    basic = http.get("/cases?view=basic&page_size=150").json

    assert (50, None) == (len(rest["cases"]), rest["next_page_token"])
    assert sorted(ids) == sorted(c["case_id"] for c in full)
    assert all(c["status"] == "complete" and c["steps"] for c in full)
    assert (150, None) == (len(basic["cases"]), basic["next_page_token"])


def test_list_and_single_reads_agree(http: FlaskClient, frozen: FrozenDateTimeFactory) -> None:
    """Every listed status equals what GET of that case says at the same instant."""
    for _ in range(12):
        create(http)
        frozen.tick(3)
    listed = http.get("/cases?page_size=500").json["cases"]

    assert [c["status"] for c in listed] == [
        http.get(f"/cases/{c['case_id']}").json["status"] for c in listed
    ]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("page_size=0", 422),
        ("page_size=501", 422),
        ("page_size=-1", 422),
        ("page_size=ten", 422),
        ("status=done", 422),
        ("view=everything", 422),
        ("page_token=garbage", 400),
        ("page_token=", 422),
    ],
)
def test_bad_list_parameters_are_json_4xx(http: FlaskClient, query: str, status: int) -> None:
    """Each bad list parameter gets a 4xx JSON error naming it."""
    body = assert_json_error(http.get(f"/cases?{query}"), status)
    assert query.split("=")[0] in body["errors"]["query"]


def test_page_token_for_another_filter_is_refused(
    http: FlaskClient, frozen: FrozenDateTimeFactory
) -> None:
    """A genuine token used with a different status filter is a 400, not a leak."""
    for _ in range(3):
        create(http)
    token = http.get("/cases?page_size=1").json["next_page_token"]

    assert_json_error(http.get(f"/cases?page_size=1&status=complete&page_token={token}"), 400)


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("get", "/nowhere", 404),
        ("delete", "/cases", 405),
        ("put", "/cases/case_0", 405),
        ("get", "/cases/" + "x" * 2000, 404),
    ],
)
def test_other_errors_are_json(http: FlaskClient, method: str, url: str, status: int) -> None:
    """Unknown URLs and wrong methods answer in the JSON error format too."""
    response = getattr(http, method)(url)
    assert_json_error(response, status)
    if status == 405:
        assert "GET" in response.headers["Allow"] or "POST" in response.headers["Allow"]


def test_unexpected_errors_are_json_500_without_details(app: Flask) -> None:
    """A crash in a view answers a JSON 500 that leaks no traceback."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    parts_of(app).service.get = lambda case_id: 1 / 0
    http = app.test_client()
    body = assert_json_error(http.get(f"/cases/{new_case_id()}"), 500)

    assert "ZeroDivisionError" not in str(body)


def test_openapi_names_operations_and_schemas(http: FlaskClient) -> None:
    """The spec names every operation and the named schemas."""
    spec = http.get("/openapi.json").json
    operations = {
        op["operationId"]
        for path in spec["paths"].values()
        for method, op in path.items()
        if method != "parameters"
    }

    expected = {
        "createCase",
        "getCase",
        "listCases",
        "checkHealth",
        "checkReadiness",
        "getMetrics",
    }
    assert expected == operations
    assert {"Case", "CaseListItem", "CasePage", "Step", "Evidence", "ApiError"} <= set(
        spec["components"]["schemas"]
    )


def test_docs_work_offline(http: FlaskClient) -> None:
    """The docs page loads Swagger UI from this server, not from a CDN."""
    page = http.get("/docs").get_data(as_text=True)

    assert "/docs/static/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    assert 200 == http.get("/docs/static/swagger-ui-bundle.js").status_code


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("", False),
        ('"abc"', True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        (' "x" ,W/"abc" ', True),
        ("*", True),
        ('"abcd"', False),
        ("abc", False),
        ('"x"', False),
    ],
)
def test_etag_matching(header: str | None, expected: bool) -> None:
    """If-None-Match matches our ETag weakly, in a list, or as *; nothing else matches."""
    assert expected == etag_matches(header, "abc")


ERROR_KEYS = ["code", "status", "message", "errors"]


def failing_database(case_id: str, **_scope: Any) -> None:
    raise peewee.OperationalError("database is locked")


@pytest.mark.parametrize(
    ("status", "method", "url", "request_kwargs", "config_overrides", "patched_get"),
    [
        (400, "get", "/cases?page_token=garbage", {}, {}, None),
        (400, "post", "/cases", {"headers": {"Idempotency-Key": "a b"}}, {}, None),
        (401, "get", "/cases", {}, {"api_tokens": (TOKEN_A,)}, None),
        (404, "get", "/cases/case_" + "0" * 24, {}, {}, None),
        (404, "get", "/nowhere", {}, {}, None),
        (405, "delete", "/cases", {}, {}, None),
        (413, "post", "/cases", {"data": b"x" * 20_000}, {}, None),
        (422, "get", "/cases?page_size=0", {}, {}, None),
        (500, "get", "/cases/case_" + "0" * 24, {}, {}, lambda case_id, **_: 1 / 0),
        (503, "get", "/cases/case_" + "0" * 24, {}, {}, failing_database),
    ],
)
def test_error_bodies_have_their_keys_in_the_documented_order(
    config: Config,
    frozen: FrozenDateTimeFactory,
    status: int,
    method: str,
    url: str,
    request_kwargs: dict[str, Any],
    config_overrides: dict[str, Any],
    patched_get: Any,
) -> None:
    """Every error status answers its keys in the order code, status, message, errors."""
    app = create_app(dataclasses.replace(config, **config_overrides))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    if patched_get is not None:
        parts_of(app).service.get = patched_get
    try:
        response = getattr(app.test_client(), method)(url, **request_kwargs)
    finally:
        close_all(parts_of(app).service.database)
    keys = list(json.loads(response.data))

    assert status == response.status_code
    assert ERROR_KEYS[: len(keys)] == keys
    assert ERROR_KEYS[:3] == keys[:3]
