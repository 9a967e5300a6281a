"""The case format: the reference files' keys and types, and our own committed schema."""

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flask.testing import FlaskClient
from freezegun.api import FrozenDateTimeFactory

from tests.conftest import REFERENCE_MISSING, SHARED_ASSETS

CASE_SCHEMA = json.loads((Path(__file__).parents[1] / "case.schema.json").read_text())
STAGES = {"submitted": 0, "processing": 10, "complete": 30}
needs_reference = pytest.mark.skipif(
    REFERENCE_MISSING, reason="reference files (../shared/seed/assets) not present"
)


def flatten_types(s: Any, path: str = "") -> dict[str, set[str]]:
    """Every leaf path with the set of JSON types seen there."""
    out: dict[str, set[str]] = {}
    if isinstance(s, dict):
        for k, v in s.items():
            for p, t in flatten_types(v, f"{path}.{k}").items():
                out.setdefault(p, set()).update(t)
    elif isinstance(s, list):
        for item in s:
            for p, t in flatten_types(item, f"{path}[]").items():
                out.setdefault(p, set()).update(t)
    else:
        out[path] = {"null" if s is None else type(s).__name__}
    return out


def key_sets(s: Any, path: str = "") -> dict[str, set[frozenset[str]]]:
    out: dict[str, set[frozenset[str]]] = {}
    if isinstance(s, dict):
        out.setdefault(path, set()).add(frozenset(s))
        for k, v in s.items():
            for p, ks in key_sets(v, f"{path}.{k}").items():
                out.setdefault(p, set()).update(ks)
    elif isinstance(s, list):
        for item in s:
            for p, ks in key_sets(item, f"{path}[]").items():
                out.setdefault(p, set()).update(ks)
    return out


@pytest.fixture
def documents(http: FlaskClient, frozen: FrozenDateTimeFactory) -> dict[str, dict]:
    """One case's document at each stage, as served."""
    case_id = http.post("/cases").json["case_id"]
    docs, elapsed = {}, 0
    for stage, at in STAGES.items():
        frozen.tick(at - elapsed)
        elapsed = at
        docs[stage] = http.get(f"/cases/{case_id}").json
    return docs


@needs_reference
@pytest.mark.parametrize(
    ("stage", "number"), [("submitted", 1), ("processing", 2), ("complete", 3)]
)
def test_keys_and_types_match_the_reference(
    documents: dict[str, dict], stage: str, number: int
) -> None:
    """Each stage has the reference file's keys, in order, with the same JSON types."""
    reference = json.loads((SHARED_ASSETS / f"response-{number}.json").read_text())
    ours = dict(documents[stage])
    created_at = ours.pop("created_at")

    assert list(reference) == list(ours)
    assert isinstance(created_at, str)
    assert flatten_types(reference) == flatten_types(ours)
    assert key_sets(reference) == key_sets(ours)


@pytest.mark.parametrize("stage", list(STAGES))
def test_documents_match_the_committed_schema(documents: dict[str, dict], stage: str) -> None:
    """Each stage validates against tests/case.schema.json (no ../shared needed)."""
    jsonschema.validate(documents[stage], CASE_SCHEMA)


def test_committed_schema_can_fail(documents: dict[str, dict]) -> None:
    """The schema rejects a document with a summary while submitted, or a null logic."""
    early = dict(documents["submitted"], summary="too soon")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(early, CASE_SCHEMA)
    steps = [dict(documents["complete"]["steps"][0], logic=None)]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(dict(documents["complete"], steps=steps), CASE_SCHEMA)
