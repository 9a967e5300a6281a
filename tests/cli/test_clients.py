"""Named clients: each token belongs to a client, and a client sees only its own cases."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from freezegun.api import FrozenDateTimeFactory

from casesvc.api import parts_of
from casesvc.cli import main
from casesvc.models import Case
from tests.tokens import CLIENTS, TOKEN_A, TOKEN_B

pytestmark = pytest.mark.usefixtures("frozen")
AS = {"clinic-a": {"Authorization": f"Bearer {TOKEN_A}"}}
AS["clinic-b"] = {"Authorization": f"Bearer {TOKEN_B}"}
PAIRS = list(itertools.product(AS, AS))
KEY = "order-1001"
NOWHERE = "case_" + "0" * 24


@pytest.fixture
def api(make_app: Any) -> Iterator[FlaskClient]:
    """The API with two named clients, clinic-a and clinic-b (the test reads rows through
    ``Case``)."""
    app = make_app(api_tokens=tuple(CLIENTS.split(",")))
    with Case.bind_ctx(parts_of(app).service.database):
        yield app.test_client()


def create(api: FlaskClient, who: str, **headers: str) -> str:
    response = api.post("/cases", headers={**AS[who], **headers})
    assert 201 == response.status_code
    case_id: str = response.json["case_id"]
    return case_id


@pytest.mark.parametrize(("owner", "reader"), PAIRS)
def test_a_case_is_read_only_by_its_client(api: FlaskClient, owner: str, reader: str) -> None:
    """GET /cases/{id} of another client's case is the very 404 of an id that does not exist."""
    case_id = create(api, owner)
    response = api.get(f"/cases/{case_id}", headers=AS[reader])
    missing = api.get(f"/cases/{NOWHERE}", headers=AS[reader])

    if owner == reader:
        assert (200, case_id) == (response.status_code, response.json["case_id"])
    else:
        assert (404, missing.json) == (response.status_code, response.json)
        assert list(missing.headers) == list(response.headers)


@pytest.mark.parametrize(("owner", "reader"), PAIRS)
def test_another_clients_etag_gets_no_304(api: FlaskClient, owner: str, reader: str) -> None:
    """If-None-Match with the right ETag of another client's case still answers 404."""
    case_id = create(api, owner)
    etag = api.get(f"/cases/{case_id}", headers=AS[owner]).headers["ETag"]
    response = api.get(f"/cases/{case_id}", headers={**AS[reader], "If-None-Match": etag})

    assert (304 if owner == reader else 404) == response.status_code


@pytest.mark.parametrize("status", [None, "submitted", "processing", "complete"])
def test_each_client_lists_only_its_own_cases(
    api: FlaskClient, frozen: FrozenDateTimeFactory, status: str | None
) -> None:
    """GET /cases, with or without a status filter, lists only the caller's cases."""
    made: dict[str, list[str]] = {"clinic-a": [], "clinic-b": []}
    for who in ("clinic-a", "clinic-b", "clinic-a", "clinic-b", "clinic-b"):
        made[who].insert(0, create(api, who))
        frozen.tick(11)
    query = f"?status={status}" if status else ""

    for who, ids in made.items():
        listed = api.get(f"/cases{query}", headers=AS[who]).json["cases"]
        every = {
            c["case_id"]: c["status"] for c in api.get("/cases", headers=AS[who]).json["cases"]
        }
        expected = [i for i in ids if status is None or every[i] == status]
        assert expected == [c["case_id"] for c in listed]


def test_pages_walk_only_the_callers_cases(api: FlaskClient) -> None:
    """Following next_page_token never reaches another client's cases."""
    for who in ("clinic-a", "clinic-b") * 3:
        create(api, who)
    seen: list[str] = []
    token = ""
    while True:
        page = api.get(f"/cases?page_size=1{token}", headers=AS["clinic-a"]).json
        seen += [c["case_id"] for c in page["cases"]]
        if not page["next_page_token"]:
            break
        token = f"&page_token={page['next_page_token']}"

    assert 3 == len(seen)
    assert {"clinic-a"} == {Case.get_by_id(i).client for i in seen}


def test_a_page_token_is_the_callers_own(api: FlaskClient) -> None:
    """Another client's page_token is refused as belonging to a different query."""
    create(api, "clinic-a")
    create(api, "clinic-a")
    token = api.get("/cases?page_size=1", headers=AS["clinic-a"]).json["next_page_token"]
    response = api.get(f"/cases?page_size=1&page_token={token}", headers=AS["clinic-b"])

    assert (400, {"page_token": ["page_token belongs to a different query"]}) == (
        response.status_code,
        response.json["errors"]["query"],
    )


@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_idempotency_keys_are_per_client(api: FlaskClient, first: str, second: str) -> None:
    """One key from two clients makes two cases; from one client twice, one replayed case."""
    one = api.post("/cases", headers={**AS[first], "Idempotency-Key": KEY})
    two = api.post("/cases", headers={**AS[second], "Idempotency-Key": KEY})

    assert (201, 201) == (one.status_code, two.status_code)
    assert "Idempotent-Replayed" not in one.headers
    if first == second:
        assert (one.json["case_id"], "true") == (
            two.json["case_id"],
            two.headers["Idempotent-Replayed"],
        )
    else:
        assert one.json["case_id"] != two.json["case_id"]
        assert "Idempotent-Replayed" not in two.headers
    assert {first, second} == {row.client for row in Case.select()}


def test_tokens_of_one_client_share_its_cases(make_app: Any) -> None:
    """Two tokens named for one client (a rotation) read the same cases."""
    api = make_app(api_tokens=(f"clinic-a:{TOKEN_A}", f"clinic-a:{TOKEN_B}")).test_client()
    case_id = create(api, "clinic-a")

    assert 200 == api.get(f"/cases/{case_id}", headers=AS["clinic-b"]).status_code


def test_an_unnamed_token_is_the_default_client(make_app: Any, http: FlaskClient) -> None:
    # ``client`` is the app of the ``app`` fixture, which binds ``Case`` for the test.
    """Without tokens every case is the default client's, and a bare token is that client."""
    before = http.post("/cases").json["case_id"]
    api = make_app(api_tokens=(TOKEN_A,)).test_client()

    assert 200 == api.get(f"/cases/{before}", headers=AS["clinic-a"]).status_code
    assert ["default"] == [row.client for row in Case.select()]


def test_the_representation_has_no_client(api: FlaskClient) -> None:
    """The client is never part of a case's JSON: the format stays the reference one."""
    case_id = create(api, "clinic-a")
    bodies = [
        api.get(f"/cases/{case_id}", headers=AS["clinic-a"]).get_data(as_text=True),
        api.get("/cases?view=full", headers=AS["clinic-a"]).get_data(as_text=True),
    ]

    assert not any("clinic-a" in body or '"client"' in body for body in bodies)


# -- the operator's CLI sees every client ---------------------------------------------------


def test_cli_lists_every_client_and_filters_by_one(api: FlaskClient, database_url: str) -> None:
    """casesvc list shows every case with its client; --client keeps one client's."""
    ids = {who: create(api, who) for who in ("clinic-a", "clinic-b")}
    runner = CliRunner()
    every = runner.invoke(main, ["--database-url", database_url, "list"]).stdout
    only_b = runner.invoke(main, ["--database-url", database_url, "list", "--client", "clinic-b"])

    assert "CLIENT" in every.splitlines()[0]
    for who, case_id in ids.items():
        (line,) = [row for row in every.splitlines() if case_id in row]
        assert who in line.split()
    assert [ids["clinic-b"]] == [row.split()[0] for row in only_b.stdout.splitlines()[1:]]


def test_cli_shows_and_creates_for_a_client(api: FlaskClient, database_url: str) -> None:
    """show names the case's client; create --client makes a case that client can read."""
    runner = CliRunner()
    made = runner.invoke(main, ["--database-url", database_url, "create", "--client", "clinic-b"])
    case_id = made.stdout.strip()
    shown = runner.invoke(main, ["--database-url", database_url, "show", case_id]).stdout

    assert ["client", "clinic-b"] == shown.splitlines()[1].split()
    assert 200 == api.get(f"/cases/{case_id}", headers=AS["clinic-b"]).status_code
    assert 404 == api.get(f"/cases/{case_id}", headers=AS["clinic-a"]).status_code
