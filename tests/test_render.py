"""The fast JSON path gives byte-for-byte what the marshmallow schema path gives."""

import pytest
from flask import Flask
from freezegun.api import FrozenDateTimeFactory

from casesvc.api.render import Renderer
from casesvc.schemas import CaseListItemSchema, CasePageSchema, CaseSchema
from casesvc.service import CaseService


def schema_path(app: Flask, schema, document) -> bytes:  # type: ignore[no-untyped-def]
    """What flask-smorest's response decorator would send: a schema dump, jsonified."""
    with app.app_context():
        return app.json.response(schema.dump(document)).get_data()  # type: ignore[no-any-return]


@pytest.mark.parametrize("seconds", [0, 10, 30])
def test_case_bytes_equal_the_schema_path(
    app: Flask, frozen: FrozenDateTimeFactory, seconds: int
) -> None:
    """At each stage, for every sample determination, the fast path equals the schema path."""
    service: CaseService = app.extensions["casesvc.service"]
    renderer = Renderer()
    with service.database.connection_context():
        views = []
        while {v.determination.key for v in views} != set(service.catalog.keys):
            views.append(service.create())
        frozen.tick(seconds)
        views = [service.get(v.case_id) for v in views]
        page = service.list(page_size=2)

    for view in views:
        for full, schema in ((True, CaseSchema()), (False, CaseListItemSchema())):
            fast = (renderer.case(view, full=full) + "\n").encode()
            assert schema_path(app, schema, view.document(full=full)) == fast
    page_doc = {
        "cases": [v.document(full=False) for v in page.cases],
        "next_page_token": page.next_page_token,
    }
    fast_page = (renderer.page(page.cases, page.next_page_token, full=False) + "\n").encode()
    assert schema_path(app, CasePageSchema(), page_doc) == fast_page


def test_served_bytes_equal_the_schema_path(app: Flask, frozen: FrozenDateTimeFactory) -> None:
    """What GET /cases/{id} really sends equals the schema path, at complete."""
    client = app.test_client()
    case_id = client.post("/cases").json["case_id"]
    frozen.tick(31)
    served = client.get(f"/cases/{case_id}").get_data()
    service: CaseService = app.extensions["casesvc.service"]
    with service.database.connection_context():
        view = service.get(case_id)

    assert schema_path(app, CaseSchema(), view.document()) == served
