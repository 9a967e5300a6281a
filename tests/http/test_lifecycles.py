"""Pluggable lifecycles and chosen samples, through the API, the list filter and the CLI.

Time is frozen (freezegun): the built-ins and the example lifecycle of docs/lifecycle.md,
which is loaded from that page by its import path, as a team would plug in its own.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient
from freezegun.api import FrozenDateTimeFactory

from casesvc.cli import EXIT_USAGE, main
from casesvc.config import ASSETS_DIR
from casesvc.determinations import Catalog

SAMPLES = Catalog.load(ASSETS_DIR)
MET = next(s.key for s in SAMPLES if s.is_met)
NOT_MET = next(s.key for s in SAMPLES if not s.is_met)


def cli(database_url: str, *args: str, **env: str) -> Result:
    return CliRunner().invoke(main, ["--database-url", database_url, *args], env=env)


def create(http: FlaskClient, sample: str | None = None) -> Any:
    response = http.post("/cases", json={"sample": sample} if sample else None)
    assert 201 == response.status_code, response.json
    return response


def read(http: FlaskClient, case_id: str) -> tuple[str, str | None]:
    response = http.get(f"/cases/{case_id}")
    return response.json["status"], response.headers.get("Retry-After")


def listed(http: FlaskClient, status: str) -> set[str]:
    return {c["case_id"] for c in http.get(f"/cases?status={status}").json["cases"]}


def test_the_documented_lifecycle_plugs_in_by_import_path(
    make_app: Any, database_url: str, frozen: FrozenDateTimeFactory, team_review: str
) -> None:
    """Processing after 5 s for every case; complete after 20 s for one that meets the
    criteria, while another waits for a reviewer (no Retry-After), whom the CLI stands for;
    the list filter agrees at each step."""
    http = make_app(lifecycle=team_review).test_client()
    met = create(http, MET).json["case_id"]
    held = create(http, NOT_MET).json["case_id"]
    statuses = [(read(http, met), read(http, held))]
    frozen.tick(6)
    statuses.append((read(http, met), read(http, held)))
    frozen.tick(15)
    statuses.append((read(http, met), read(http, held)))
    lists = (listed(http, "processing"), listed(http, "complete"))
    shown = cli(database_url, "show", held, CASESVC_LIFECYCLE=team_review)
    moved = cli(database_url, "advance", held, "--to", "complete", CASESVC_LIFECYCLE=team_review)

    assert [
        (("submitted", "5"), ("submitted", "5")),
        (("processing", "14"), ("processing", None)),
        (("complete", None), ("processing", None)),
    ] == statuses
    assert ({held}, {met}) == lists
    assert "complete when moved on (casesvc advance --to complete)" in shown.output
    assert (0, "complete") == (moved.exit_code, moved.output.split()[1])
    assert ("complete", None) == read(http, held)
    assert {met, held} == listed(http, "complete")
    assert (
        "from `submitted` to `processing` (5 s) to `complete` (20 s, or a reviewer"
        in (http.get("/openapi.json").json["info"]["description"])
    )


def test_manual_holds_a_case_until_qa_moves_it(
    make_app: Any, database_url: str, frozen: FrozenDateTimeFactory
) -> None:
    """A manual case is submitted however long it waits, with no Retry-After; --by is
    refused; --to moves it a stage at a time, and the list filter follows."""
    http = make_app(lifecycle="manual").test_client()
    case_id = create(http).json["case_id"]
    frozen.tick(dt.timedelta(days=30))
    before = (read(http, case_id), listed(http, "submitted"))
    refused = cli(database_url, "advance", case_id, "--by", "1h", CASESVC_LIFECYCLE="manual")
    to_processing = cli(
        database_url, "advance", case_id, "--to", "processing", CASESVC_LIFECYCLE="manual"
    )
    middle = (read(http, case_id), listed(http, "processing"))
    frozen.tick(dt.timedelta(days=30))
    cli(database_url, "advance", case_id, "--to", "complete", CASESVC_LIFECYCLE="manual")

    assert ((("submitted", None)), {case_id}) == before
    assert EXIT_USAGE == refused.exit_code
    assert "moves a case only to a stage: use --to processing|complete" in refused.stderr
    assert 0 == to_processing.exit_code
    assert (("processing", None), {case_id}) == middle
    assert ("complete", None) == read(http, case_id)


def test_timed_is_the_default_and_keeps_its_thresholds(
    make_app: Any, frozen: FrozenDateTimeFactory
) -> None:
    http = make_app(processing_after=2.0, complete_after=4.0).test_client()
    case_id = create(http).json["case_id"]
    seen = [read(http, case_id)]
    for _ in range(2):
        frozen.tick(2)
        seen.append(read(http, case_id))

    assert [("submitted", "2"), ("processing", "2"), ("complete", None)] == seen


@pytest.mark.parametrize("key", SAMPLES.keys)
def test_post_names_the_sample_a_case_shows(
    http: FlaskClient, frozen: FrozenDateTimeFactory, key: str
) -> None:
    case = create(http, key).json
    frozen.tick(30)

    assert SAMPLES[key].procedure_name == case["procedure_name"]
    assert SAMPLES[key].is_met == http.get(f"/cases/{case['case_id']}").json["is_met"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"json": {}},
        {"json": {"sample": None}},
        {"data": b"", "content_type": "application/json"},
    ],
    ids=["no body", "empty object", "null sample", "empty JSON body"],
)
def test_without_a_sample_the_id_picks_it(http: FlaskClient, kwargs: dict[str, Any]) -> None:
    """No sample named (no body at all, as before) is the id's pick, as it always was."""
    case = http.post("/cases", **kwargs).json

    assert SAMPLES.pick(case["case_id"]).procedure_name == case["procedure_name"]


def test_an_unknown_sample_is_a_422_that_lists_the_valid_ones(http: FlaskClient) -> None:
    response = http.post("/cases", json={"sample": "hip-replacement"})

    message = f"no sample is named 'hip-replacement'; the samples are: {', '.join(SAMPLES.keys)}"
    assert (422, message) == (response.status_code, response.json["message"])
    assert {"json": {"sample": [message]}} == response.json["errors"]
    assert [] == http.get("/cases").json["cases"]


def write_samples(folder: Path, **changes: dict[str, Any]) -> Path:
    """A team's samples folder: the shipped files, with ``changes`` made to some."""
    folder.mkdir()
    for path in ASSETS_DIR.glob("*.json"):
        data = json.loads(path.read_text())
        data.update(changes.get(path.stem.replace("-", "_"), {}))
        (folder / path.name).write_text(json.dumps(data))
    return folder


def test_a_samples_own_timing_under_timed(
    make_app: Any, tmp_path: Path, frozen: FrozenDateTimeFactory
) -> None:
    """A sample with review_seconds keeps its own timing; the others the configured one."""
    own = {"review_seconds": {"processing": 60, "complete": 120}}
    folder = write_samples(tmp_path / "samples", **{MET.replace("-", "_"): own})
    http = make_app(assets_dir=folder).test_client()
    slow = create(http, MET).json["case_id"]
    usual = create(http, NOT_MET).json["case_id"]
    seen = [(read(http, slow), read(http, usual))]
    frozen.tick(61)
    seen.append((read(http, slow), read(http, usual)))

    assert [
        (("submitted", "60"), ("submitted", "10")),
        (("processing", "59"), ("complete", None)),
    ] == seen
    assert ({slow}, {usual}) == (listed(http, "processing"), listed(http, "complete"))


def test_a_case_whose_sample_is_gone_shows_its_ids_pick(
    make_app: Any, tmp_path: Path, frozen: FrozenDateTimeFactory
) -> None:
    """A case made with a sample a team's folder no longer has is still served, with the
    sample its id picks in that folder (never a 500)."""
    before = make_app().test_client()
    case_id = create(before, MET).json["case_id"]
    folder = write_samples(tmp_path / "samples")
    (folder / f"{MET}.json").rename(folder / "renamed.json")
    after = make_app(assets_dir=folder).test_client()
    response = after.get(f"/cases/{case_id}")

    expected = Catalog.load(folder).pick(case_id).procedure_name
    assert (200, expected) == (response.status_code, response.json["procedure_name"])


def test_a_chunked_body_names_the_sample_too(http: FlaskClient) -> None:
    """A body with no Content-Length (chunked) is read whole by the body limit first, then
    parsed as any other."""
    body = json.dumps({"sample": NOT_MET}).encode()
    response = http.post(
        "/cases",
        input_stream=io.BytesIO(body),
        headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
        environ_overrides={"wsgi.input_terminated": True},  # what granian sets
    )

    assert (201, SAMPLES[NOT_MET].procedure_name) == (
        response.status_code,
        response.json["procedure_name"],
    )


def test_the_document_lists_this_apps_sample_keys(make_app: Any, tmp_path: Path) -> None:
    """The body's `sample` lists the keys the app has: the shipped ones, or a team's own."""
    folder = write_samples(tmp_path / "samples")
    (folder / f"{MET}.json").rename(folder / "our-own.json")

    def sample_keys(app: Any) -> list[str | None]:
        schemas = app.test_client().get("/openapi.json").json["components"]["schemas"]
        return list(schemas["CaseCreate"]["properties"]["sample"]["enum"])

    assert [*SAMPLES.keys, None] == sample_keys(make_app())
    assert [*Catalog.load(folder).keys, None] == sample_keys(make_app(assets_dir=folder))
