"""Logs carry no case content: summaries, reasoning and evidence are clinical text."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from freezegun.api import FrozenDateTimeFactory

from casesvc.api import parts_of
from casesvc.config import ASSETS_DIR
from casesvc.determinations import Catalog
from casesvc.representation import document
from tests.tokens import SECRET_KEY, TOKEN_A

TOKEN = TOKEN_A


def clinical_texts() -> list[str]:
    """Every piece of free text a case can show, long enough to be unmistakable."""
    texts: list[str] = []
    catalog = Catalog.load(ASSETS_DIR)
    for key in catalog.keys:
        d = catalog[key]
        texts += [d.procedure_name, d.summary]
        for step in d.steps:
            texts += [step["question"], step["reasoning"], step["decision"]]
            texts += [e["content"] for e in step["evidence"]]
    # A 40-character slice is enough to recognise a text, even if a log cut it short.
    return sorted({t[:40] for t in texts if len(t) >= 20})


def assert_no_clinical_text(log: str) -> None:
    leaked = [text for text in clinical_texts() if text in log]
    assert [] == leaked


def lifecycle(http: FlaskClient, frozen: FrozenDateTimeFactory) -> list[dict[str, Any]]:
    """Create a case and read it at every stage, in every form, and provoke errors."""
    seen = []
    created = http.post("/cases").json
    case_id = created["case_id"]
    for seconds in (0, 10, 20):
        frozen.tick(seconds)
        response = http.get(f"/cases/{case_id}")
        seen.append(response.json)
        http.get(f"/cases/{case_id}", headers={"If-None-Match": response.headers["ETag"]})
        http.get("/cases?view=full")
        http.get(f"/cases?status={response.json['status']}&page_size=1")
    http.get("/cases?page_token=forged")
    http.get("/cases/case_" + "0" * 24)
    return seen


def test_no_case_content_in_logs_of_a_lifecycle(
    app: Flask,
    http: FlaskClient,
    frozen: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every log record of every logger, at every level, through a full lifecycle and its
    errors, is free of case text (while the responses do carry it)."""
    caplog.set_level(logging.DEBUG)
    seen = lifecycle(http, frozen)

    assert ["submitted", "processing", "complete"] == [c["status"] for c in seen]
    shown = json.dumps(seen)
    assert [] != [text for text in clinical_texts() if text in shown]  # the check can fail
    assert caplog.records  # e.g. peewee's SQL at DEBUG: something was captured
    assert_no_clinical_text(caplog.text)
    assert_no_clinical_text("\n".join(str(r.args) + (r.exc_text or "") for r in caplog.records))


def test_no_case_content_in_a_crash_log(
    app: Flask, frozen: FrozenDateTimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A view that crashes while rendering a complete case logs the error, not the case."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    http = app.test_client()
    case_id = http.post("/cases").json["case_id"]
    frozen.tick(31)
    service = parts_of(app).service
    real_get = service.get

    def get_then_fail(case_id: str, **scope: Any) -> Any:
        view = real_get(case_id, **scope)
        document(view)  # the clinical text is in memory here
        raise RuntimeError("rendering failed")

    service.get = get_then_fail
    caplog.set_level(logging.DEBUG)
    response = http.get(f"/cases/{case_id}")

    assert 500 == response.status_code
    assert "rendering failed" in caplog.text
    assert_no_clinical_text(caplog.text)


def test_no_token_in_the_log_of_a_crash(
    make_app: Any, frozen: FrozenDateTimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A request that crashes the app, carrying a token in its Authorization header, its
    query string and its path, logs the error without the token."""
    app = make_app(api_tokens=(TOKEN_A,), secret_key=SECRET_KEY)
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def crash(_case_id: str, **_scope: Any) -> Any:
        raise RuntimeError("rendering failed")

    parts_of(app).service.get = crash
    caplog.set_level(logging.DEBUG)
    response = app.test_client().get(
        f"/cases/{TOKEN_A}?access_token={TOKEN_A}",
        headers={"Authorization": f"Bearer {TOKEN_A}"},
    )

    assert 500 == response.status_code
    assert "rendering failed" in caplog.text
    assert "/cases/[redacted]" in caplog.text
    assert TOKEN_A not in caplog.text
