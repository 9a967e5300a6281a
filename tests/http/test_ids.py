"""Case ids: 96 bits from the OS CSPRNG, no collisions, and a collision is retried."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from casesvc.models import Case
from casesvc.service import (
    CASE_ID_BYTES,
    CASE_ID_PREFIX,
    MAX_ID_ATTEMPTS,
    CaseService,
    new_case_id,
)


def repeating(*values: str) -> Iterator[str]:
    yield from values
    while True:
        yield new_case_id()


def clone(service: CaseService, id_source: Iterator[str]) -> CaseService:
    """The same service, with an injected id factory."""
    return CaseService(
        database=service.database,
        clock=service.clock,
        lifecycle=service.lifecycle,
        catalog=service.catalog,
        secret_key="test",
        id_factory=lambda: next(id_source),
    )


def test_create_retries_on_a_colliding_id(service: CaseService) -> None:
    """When a new id hits an existing one, create draws again and succeeds; the existing
    case is untouched."""
    first = service.create()
    drawn: list[str] = []
    source = repeating(first.case_id, first.case_id)
    colliding = clone(service, (drawn.append(i) or i for i in source))

    second = colliding.create()

    assert [first.case_id, first.case_id, second.case_id] == drawn
    assert first.case_id != second.case_id
    assert 2 == Case.select().count()
    assert first.determination.key == Case.get_by_id(first.case_id).determination


def test_create_gives_up_after_repeated_collisions(service: CaseService) -> None:
    """An id source that only repeats is stopped after a bounded number of attempts."""
    first = service.create()
    drawn: list[str] = []

    def always_the_same() -> Iterator[str]:
        while True:
            drawn.append(first.case_id)
            yield first.case_id

    with pytest.raises(RuntimeError, match="unique case id"):
        clone(service, always_the_same()).create()

    assert MAX_ID_ATTEMPTS == len(drawn)
    assert 1 == Case.select().count()


def test_api_create_survives_a_collision(
    http: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the API, with the real id factory: the CSPRNG repeating itself once still
    answers 201 with a fresh id."""
    existing = http.post("/cases").json["case_id"]
    hexes = iter([existing[len(CASE_ID_PREFIX) :], "cd" * CASE_ID_BYTES])
    monkeypatch.setattr(secrets, "token_hex", lambda nbytes: next(hexes))

    response = http.post("/cases")

    assert (201, "case_" + "cd" * 12) == (response.status_code, response.json["case_id"])
    assert 2 == len(http.get("/cases").json["cases"])
