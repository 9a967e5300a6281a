"""The OpenAPI contract: a valid, exact document that matches what the server really sends."""

import copy
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import peewee
import pytest
from flask import Flask
from flask.testing import FlaskClient
from freezegun.api import FrozenDateTimeFactory
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.exceptions import OpenAPIError
from openapi_spec_validator import validate as validate_spec
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.test import TestResponse

from casesvc import db
from casesvc.api import parts_of
from casesvc.app import create_app
from casesvc.config import MIGRATIONS_DIR, Config
from casesvc.db import close_all
from casesvc.openapi import canonical
from tests.tokens import TOKEN_A

SNAPSHOT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
SCHEMAS = {
    "ApiError",
    "Case",
    "CaseListItem",
    "CasePage",
    "CaseStatus",
    "CaseView",
    "CaseCreate",
    "Evidence",
    "Health",
    "LogicItem",
    "Step",
    "StepOption",
}
OPERATIONS = {
    ("post", "/cases"): ("createCase", {"201", "400", "401", "422", "503", "default"}),
    ("get", "/cases"): ("listCases", {"200", "400", "401", "422", "503", "default"}),
    ("get", "/cases/{case_id}"): ("getCase", {"200", "304", "401", "404", "503", "default"}),
    ("get", "/healthz"): ("checkHealth", {"200", "default"}),
    ("get", "/readyz"): ("checkReadiness", {"200", "503", "default"}),
    ("get", "/metrics"): ("getMetrics", {"200", "401", "404", "default"}),
}
UNKNOWN = "case_000000000000000000000000"


@pytest.fixture
def spec(http: FlaskClient) -> dict[str, Any]:
    return http.get("/openapi.json").json


@pytest.fixture(params=["tokens off", "tokens on"])
def either_spec(
    request: pytest.FixtureRequest, config: Config, frozen: FrozenDateTimeFactory
) -> Iterator[dict[str, Any]]:
    """The document as served without API tokens (the snapshot), and with them (which
    declares the bearer scheme)."""
    tokens = (TOKEN_A,) if request.param == "tokens on" else ()
    app = create_app(dataclasses.replace(config, api_tokens=tokens))
    try:
        yield app.test_client().get("/openapi.json").json
    finally:
        close_all(parts_of(app).service.database)


@pytest.fixture
def check(spec: dict[str, Any]) -> Iterator[Any]:
    """Validate a real answer (status, headers, body) against its operation in the spec."""
    openapi = OpenAPI.from_dict(copy.deepcopy(spec))
    checked: list[TestResponse] = []

    def check(response: TestResponse) -> TestResponse:
        openapi.validate_response(
            WerkzeugOpenAPIRequest(response.request), WerkzeugOpenAPIResponse(response)
        )
        checked.append(response)
        return response

    yield check
    assert checked, "the test checked no response"


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        *_, kind, name = node["$ref"].split("/")
        node = spec["components"][kind][name]
    return node


def references(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if "$ref" in node else set()
        return found.union(*(references(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(references(v) for v in node))
    return set()


def test_spec_validates_with_openapi_spec_validator(either_spec: dict[str, Any]) -> None:
    """The served document is valid OpenAPI 3.0, and the validator does catch a broken one."""
    validate_spec(either_spec)
    broken = copy.deepcopy(either_spec)
    del broken["paths"]["/cases"]["post"]["responses"]["201"]["description"]
    with pytest.raises(OpenAPIValidationError):
        validate_spec(broken)


def test_served_spec_matches_the_snapshot(spec: dict[str, Any]) -> None:
    """docs/openapi.json is the served document, byte for byte; `make spec` refreshes it."""
    assert SNAPSHOT.read_text(encoding="utf-8") == canonical(spec), (
        "docs/openapi.json is out of date: run `make spec` and commit the result"
    )


def test_every_operation_is_named_described_and_answered(spec: dict[str, Any]) -> None:
    """Each operation has its operationId, summary, description and documented answers."""
    found = {
        (method, path): (op["operationId"], set(op["responses"]))
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method != "parameters"
    }
    assert OPERATIONS == found
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            assert op["summary"] and op["description"], (method, path)
            for code, answer in op["responses"].items():
                answer = resolve(spec, answer)
                if code[0] in "45" or code == "default":
                    body = answer["content"]["application/json"]["schema"]
                    assert {"$ref": "#/components/schemas/ApiError"} == body, (path, code)


def test_case_answers_document_their_headers(spec: dict[str, Any]) -> None:
    """201 has Location and Idempotent-Replayed; 201, 200 and 304 have ETag, Cache-Control
    and Retry-After."""
    created = spec["paths"]["/cases"]["post"]["responses"]["201"]["headers"]
    assert {"Location", "ETag", "Cache-Control", "Retry-After", "Idempotent-Replayed"} == set(
        created
    )
    for code in ("200", "304"):
        answer = spec["paths"]["/cases/{case_id}"]["get"]["responses"][code]["headers"]
        assert {"ETag", "Cache-Control", "Retry-After"} == set(answer)
    created = {name: resolve(spec, header) for name, header in created.items()}
    assert {"type": "integer", "minimum": 1} == created["Retry-After"]["schema"]
    assert not created["Retry-After"].get("required")  # absent once complete
    assert created["ETag"]["required"] and created["Location"]["required"]
    assert not created["Idempotent-Replayed"].get("required")  # only on a replay


def test_create_documents_its_idempotency_key(spec: dict[str, Any]) -> None:
    """createCase takes an optional Idempotency-Key header, bounded as the service checks."""
    (parameter,) = spec["paths"]["/cases"]["post"]["parameters"]
    schema = parameter["schema"]

    assert ("Idempotency-Key", "header", False) == (
        parameter["name"],
        parameter["in"],
        parameter["required"],
    )
    assert (1, 128, "^[!-~]{1,128}$") == (
        schema["minLength"],
        schema["maxLength"],
        schema["pattern"],
    )


def test_schemas_are_named_exact_and_all_used(either_spec: dict[str, Any]) -> None:
    """The named schemas are exactly these, each used, with the right types and nullability."""
    spec = either_spec
    schemas = spec["components"]["schemas"]
    assert SCHEMAS == set(schemas)
    used = references(spec["paths"]) | references(spec["components"])
    # A security scheme is used by name, in a security requirement.
    requirements = spec.get("security", []) + [
        requirement
        for item in spec["paths"].values()
        for method, op in item.items()
        if method != "parameters"
        for requirement in op.get("security", [])
    ]
    used |= {f"#/components/securitySchemes/{name}" for r in requirements for name in r}
    for kind, components in spec["components"].items():
        for name in components:
            assert f"#/components/{kind}/{name}" in used, f"unused {kind} {name}"

    case, item, step = schemas["Case"], schemas["CaseListItem"], schemas["Step"]
    evidence = schemas["Evidence"]["properties"]["event_datetime"]
    assert {"type": "string", "enum": ["submitted", "processing", "complete"]} == {
        k: v for k, v in schemas["CaseStatus"].items() if k != "description"
    }
    assert ["basic", "full"] == schemas["CaseView"]["enum"]
    for schema in (case, item):
        assert {"$ref": "#/components/schemas/CaseStatus"} == schema["properties"]["status"]
        assert {"type": "string", "format": "date-time"} == schema["properties"]["created_at"]
        assert schema["properties"]["summary"]["nullable"] and "summary" in schema["required"]
    assert "steps" in case["required"] and "steps" not in item["required"]
    assert "logic" in step["properties"] and "logic" not in step["required"]
    assert ("date-time", True) == (evidence["format"], evidence["nullable"])
    assert schemas["CasePage"]["properties"]["next_page_token"]["nullable"]


def test_each_stage_matches_the_spec(
    http: FlaskClient, frozen: FrozenDateTimeFactory, check: Any
) -> None:
    """The 201, and each stage's 200 and 304, match the spec: status, headers and body."""
    created = check(http.post("/cases"))
    location = created.headers["Location"]
    seen = set()
    for seconds in (0, 10, 20):
        frozen.tick(seconds)
        answer = check(http.get(location))
        seen.add(answer.json["status"])
        check(http.get(location, headers={"If-None-Match": answer.headers["ETag"]}))
    assert {"submitted", "processing", "complete"} == seen


@pytest.mark.parametrize("view", ["basic", "full"])
def test_list_pages_match_the_spec(
    http: FlaskClient, frozen: FrozenDateTimeFactory, check: Any, view: str
) -> None:
    """Every page of the list, in both views and with a status filter, matches the spec."""
    for _ in range(3):
        http.post("/cases")
        frozen.tick(15)
    url: str | None = f"/cases?page_size=2&view={view}"
    pages = 0
    while url:
        token = check(http.get(url)).json["next_page_token"]
        url, pages = token and f"/cases?page_size=2&view={view}&page_token={token}", pages + 1
    complete = check(http.get(f"/cases?status=complete&view={view}")).json["cases"]

    assert 2 == pages
    assert (2, view == "full") == (len(complete), "steps" in complete[0])


@pytest.mark.parametrize(
    ("url", "status"),
    [
        (f"/cases/{UNKNOWN}", 404),
        ("/cases?page_size=0", 422),
        ("/cases?view=everything", 422),
        ("/cases?page_token=garbage", 400),
    ],
)
def test_errors_match_the_spec(http: FlaskClient, check: Any, url: str, status: int) -> None:
    """404, 422 and 400 answers match the spec's ApiError."""
    assert status == check(http.get(url)).status_code


def test_database_outage_matches_the_spec(app: Flask, check: Any) -> None:
    """A 503 for a lost database matches the spec, Retry-After included, on every operation."""

    def lost(*args: Any, **kwargs: Any) -> None:
        raise peewee.OperationalError("server closed the connection unexpectedly")

    service = parts_of(app).service
    service.create = service.get = service.list_cases = lost
    http = app.test_client()
    answers = [http.post("/cases"), http.get("/cases"), http.get(f"/cases/{UNKNOWN}")]

    assert [503, 503, 503] == [check(answer).status_code for answer in answers]


def test_health_answers_match_the_spec(app: Flask, check: Any) -> None:
    """/healthz, /readyz and readiness's 503 (a schema behind) match the spec."""
    http = app.test_client()
    answers = [check(http.get("/healthz")), check(http.get("/readyz"))]
    db.runner(parts_of(app).service.database, MIGRATIONS_DIR).down()
    answers.append(check(http.get("/readyz")))

    assert [200, 200, 503] == [answer.status_code for answer in answers]


def test_an_error_without_a_description_still_has_its_message(app: Flask) -> None:
    """`message` is required by ApiError, so even a bare HTTP error answers one."""

    class Teapot(HTTPException):
        code = 418

    @app.get("/teapot")
    def teapot() -> None:
        raise Teapot()

    body = app.test_client().get("/teapot").json
    assert {"code": 418, "status": body["status"], "message": body["status"]} == body
    assert body["status"]


def test_response_check_can_fail(http: FlaskClient, frozen: FrozenDateTimeFactory) -> None:
    """The check passes the real answer rebuilt, and rejects an extra key, a wrong enum or
    date, a missing summary or a missing ETag."""
    openapi = OpenAPI.from_dict(http.get("/openapi.json").json)
    real = http.post("/cases")
    no_summary = {k: v for k, v in real.json.items() if k != "summary"}
    no_etag = [(k, v) for k, v in real.headers.items() if k != "ETag"]
    fakes = [
        ({**real.json, "extra": 1}, real.headers),
        ({**real.json, "status": "done"}, real.headers),
        ({**real.json, "created_at": "yesterday"}, real.headers),
        (no_summary, real.headers),
        (real.json, no_etag),
    ]

    def validate(body: dict[str, Any], headers: Any) -> None:
        fake = TestResponse(json.dumps(body), 201, headers=headers, request=real.request)
        openapi.validate_response(
            WerkzeugOpenAPIRequest(real.request), WerkzeugOpenAPIResponse(fake)
        )

    validate(real.json, real.headers)  # the same answer, rebuilt, passes
    for body, headers in fakes:
        with pytest.raises(OpenAPIError):
            validate(body, headers)
