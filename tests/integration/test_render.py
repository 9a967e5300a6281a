"""The fast JSON path gives byte-for-byte what the marshmallow schema path gives."""

import datetime as dt
import json
from typing import Any

import pytest
from flask import Flask
from freezegun.api import FrozenDateTimeFactory
from werkzeug.test import EnvironBuilder

from casesvc.api import parts_of
from casesvc.lifecycle import Status
from casesvc.representation import Renderer, document
from casesvc.schemas import CaseListItemSchema, CasePageSchema, CaseSchema
from casesvc.service import CaseService


def schema_path(app: Flask, schema, document) -> bytes:  # type: ignore[no-untyped-def]
    """What flask-smorest's response decorator would send: a schema dump, jsonified."""
    with app.app_context():
        return app.json.response(schema.dump(document)).get_data()  # type: ignore[no-any-return]


def fast_path(renderer: Renderer, case, full: bool) -> bytes:  # type: ignore[no-untyped-def]
    return (renderer.case(case, full=full) + "\n").encode()


@pytest.mark.parametrize("seconds", [0, 10, 30])
def test_case_bytes_equal_the_schema_path(
    app: Flask, frozen: FrozenDateTimeFactory, seconds: int
) -> None:
    """At each stage, for every sample determination, the fast path equals the schema path."""
    service: CaseService = parts_of(app).service
    renderer = Renderer()
    with service.database.connection_context():
        cases = []
        while {c.determination.key for c in cases} != set(service.catalog.keys):
            cases.append(service.create())
        frozen.tick(seconds)
        cases = [service.get(c.case_id) for c in cases]
        page = service.list_cases(page_size=2)

    for case in cases:
        for full, schema in ((True, CaseSchema()), (False, CaseListItemSchema())):
            assert schema_path(app, schema, document(case, full=full)) == fast_path(
                renderer, case, full
            )
    page_doc = {
        "cases": [document(c, full=False) for c in page.cases],
        "next_page_token": page.next_page_token,
    }
    fast_page = (renderer.page(page.cases, page.next_page_token, full=False) + "\n").encode()
    assert schema_path(app, CasePageSchema(), page_doc) == fast_page


@pytest.mark.parametrize("full", [True, False])
def test_nothing_of_one_case_shows_in_another(
    app: Flask, frozen: FrozenDateTimeFactory, full: bool
) -> None:
    """Two cases in one stage with one sample, but different ids and creation instants and
    one fast-forwarded, each render exactly as their own schema path, whichever is first."""
    service: CaseService = parts_of(app).service
    with service.database.connection_context():
        first = service.create()
        frozen.tick(dt.timedelta(hours=3, microseconds=1))
        second = service.create()
        while second.determination.key != first.determination.key:
            second = service.create()
        service.advance(second.case_id, to=Status.COMPLETE)  # the first got there by age
        cases = [service.get(first.case_id), service.get(second.case_id)]

    assert Status.COMPLETE is cases[0].status is cases[1].status
    assert (None, False) == (cases[0].last_advanced_at, cases[1].last_advanced_at is None)
    for order in (cases, cases[::-1]):
        renderer = Renderer()
        for case in order:
            schema = CaseSchema() if full else CaseListItemSchema()
            expected = schema_path(app, schema, document(case, full=full))
            assert expected == fast_path(renderer, case, full)


def test_served_bytes_equal_the_schema_path(app: Flask, frozen: FrozenDateTimeFactory) -> None:
    """What GET /cases/{id} really sends equals the schema path, at complete."""
    http = app.test_client()
    case_id = http.post("/cases").json["case_id"]
    frozen.tick(31)
    served = http.get(f"/cases/{case_id}").get_data()
    service: CaseService = parts_of(app).service
    with service.database.connection_context():
        case = service.get(case_id)

    assert schema_path(app, CaseSchema(), document(case)) == served


def wsgi_call(app: Flask, method: str, path: str, **headers: str) -> tuple[str, Any]:
    """Calls the app as a server does; its status line and the body iterable it returned."""
    environ = EnvironBuilder(method=method, path=path, headers=headers).get_environ()
    started: list[str] = []
    body = app(environ, lambda status, _headers, *_exc: started.append(status))
    return started[0], body


def test_json_answers_reach_the_server_as_one_list(app: Flask) -> None:
    """A created case, a case and a page are handed to the server as a list of bytes, which
    granian writes at once (any other iterable it steps through from its own threads); a
    HEAD and a 304 still carry no body."""
    status, created = wsgi_call(app, "POST", "/cases")
    case_id = json.loads(b"".join(created))["case_id"]
    _, case = wsgi_call(app, "GET", f"/cases/{case_id}")
    _, page = wsgi_call(app, "GET", "/cases")
    _, head = wsgi_call(app, "HEAD", f"/cases/{case_id}")
    tag = app.test_client().get(f"/cases/{case_id}").headers["ETag"]
    not_modified, unchanged = wsgi_call(app, "GET", f"/cases/{case_id}", **{"If-None-Match": tag})

    assert ("201 CREATED", "304 NOT MODIFIED") == (status, not_modified)
    assert [list, list, list] == [type(body) for body in (created, case, page)]
    assert [b"", b""] == [b"".join(head), b"".join(unchanged)]
