"""POST /cases with an Idempotency-Key: however often one key is sent, one case."""

from __future__ import annotations

import peewee
import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from freezegun.api import FrozenDateTimeFactory

from casesvc.cli import EXIT_USAGE, main
from casesvc.lifecycle import Status, Timeline
from casesvc.models import Case
from casesvc.service import CaseService, InvalidIdempotencyKey

KEY = "5f0c6a0e-7c1b-4f38-9d2a-2f3c8e1b4a77"


# -- the service ---------------------------------------------------------------------------


def test_same_key_twice_creates_one_case(
    service: CaseService, frozen: FrozenDateTimeFactory
) -> None:
    """A second create with the same key returns the first case as it stands now."""
    first = service.create(idempotency_key=KEY)
    frozen.tick(12)
    again = service.create(idempotency_key=KEY)

    assert (False, True) == (first.replayed, again.replayed)
    assert first.case_id == again.case_id
    assert (Status.SUBMITTED, Status.PROCESSING) == (first.status, again.status)
    assert first.created_at == again.created_at
    assert 1 == Case.select().count()
    assert KEY == Case.get_by_id(first.case_id).idempotency_key


def test_different_keys_and_no_key_create_separate_cases(service: CaseService) -> None:
    """Distinct keys, and creates without a key, each make a new case."""
    views = [
        service.create(idempotency_key="a"),
        service.create(idempotency_key="b"),
        service.create(),
        service.create(),
    ]

    assert 4 == len({v.case_id for v in views}) == Case.select().count()
    assert not any(v.replayed for v in views)
    assert [None, None] == [Case.get_by_id(v.case_id).idempotency_key for v in views[2:]]


def test_concurrent_duplicate_insert_returns_the_winner(
    service: CaseService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A create that loses the race on its key's unique index returns the winner's case."""
    real_get_by_key = service.store.get_by_key
    winner: list[str] = []

    def look_up_then_lose_the_race(client: str, key: str):  # type: ignore[no-untyped-def]
        found = real_get_by_key(client, key)
        if not winner:  # between this lookup and our INSERT, another request commits the key
            monkeypatch.undo()
            winner.append(service.create(idempotency_key=key).case_id)
        return found

    monkeypatch.setattr(service.store, "get_by_key", look_up_then_lose_the_race)
    view = service.create(idempotency_key=KEY)

    assert 1 == len(winner)
    assert (winner[0], True) == (view.case_id, view.replayed)
    assert 1 == Case.select().count()


def test_insert_twice_with_one_key_hits_the_unique_index(service: CaseService) -> None:
    """The database itself refuses a second row with the same client and key, and takes
    the same key from another client."""
    now = service.clock.now()

    def insert(case_id: str, client: str) -> None:
        service.store.insert(case_id, now, "d", client, KEY, Timeline(now))

    insert("case_" + "0" * 24, "clinic-a")
    insert("case_" + "1" * 24, "clinic-b")

    with pytest.raises(peewee.IntegrityError):
        insert("case_" + "2" * 24, "clinic-a")
    assert 2 == Case.select().count()


@pytest.mark.parametrize("key", ["", "x" * 129, "has space", "tab\there", "nl\n", "é"])
def test_service_refuses_malformed_keys(service: CaseService, key: str) -> None:
    """A key outside 1..128 printable ASCII characters without spaces is refused."""
    with pytest.raises(InvalidIdempotencyKey):
        service.create(idempotency_key=key)
    assert 0 == Case.select().count()


# -- the API -------------------------------------------------------------------------------


def test_replay_answers_201_with_the_same_case_and_location(
    http: FlaskClient, frozen: FrozenDateTimeFactory
) -> None:
    """The same key again answers 201, the same case now, its Location, and Idempotent-Replayed."""
    first = http.post("/cases", headers={"Idempotency-Key": KEY})
    frozen.tick(31)
    again = http.post("/cases", headers={"Idempotency-Key": KEY})

    assert (201, 201) == (first.status_code, again.status_code)
    assert "Idempotent-Replayed" not in first.headers
    assert "true" == again.headers["Idempotent-Replayed"]
    assert first.headers["Location"] == again.headers["Location"]
    assert first.json["case_id"] == again.json["case_id"]
    assert ("submitted", "complete") == (first.json["status"], again.json["status"])
    assert again.json == http.get(again.headers["Location"]).json
    assert 1 == Case.select().count()


def test_post_without_a_key_is_unchanged(http: FlaskClient) -> None:
    """Without the header, each POST creates a case and none is marked replayed."""
    answers = [http.post("/cases"), http.post("/cases")]

    assert [201, 201] == [a.status_code for a in answers]
    assert not any("Idempotent-Replayed" in a.headers for a in answers)
    assert 2 == Case.select().count()


@pytest.mark.parametrize(
    "key", ["", "x" * 129, "two words", "tab\there", "bell\x07", "caf\u00e9", " lead"]
)
def test_bad_keys_are_a_json_400(http: FlaskClient, key: str) -> None:
    """An empty, too long, or non-printable/spaced key answers 400 in the JSON error format."""
    response = http.post("/cases", headers={"Idempotency-Key": key})
    body = response.get_json()

    assert (400, "application/json") == (response.status_code, response.mimetype)
    assert 400 == body["code"]
    assert "Idempotency-Key" in body["message"]
    assert ["Idempotency-Key"] == list(body["errors"]["headers"])
    assert 0 == Case.select().count()


def test_longest_allowed_key_is_accepted(http: FlaskClient) -> None:
    """A key of exactly 128 printable characters is fine."""
    key = "!~" * 64

    assert 201 == http.post("/cases", headers={"Idempotency-Key": key}).status_code
    assert key == Case.get().idempotency_key


# -- the CLI -------------------------------------------------------------------------------


def test_cli_create_with_a_key_prints_the_same_case(database_url: str) -> None:
    """casesvc create --idempotency-key KEY twice prints one id; a bad key is a usage error."""

    def run(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(main, ["--database-url", database_url, *args])

    def create(*args: str):  # type: ignore[no-untyped-def]
        return run("create", *args)

    assert 0 == run("db", "upgrade").exit_code
    first, again = create("--idempotency-key", KEY), create("--idempotency-key", KEY)
    other = create()
    bad = create("--idempotency-key", "no spaces please")

    assert (0, 0, 0) == (first.exit_code, again.exit_code, other.exit_code)
    assert first.output == again.output
    assert first.output != other.output
    assert EXIT_USAGE == bad.exit_code
    assert "Idempotency-Key must be" in bad.output
