"""The case format: the reference documents' keys, JSON types and nesting, and our own
committed schema.

tests/fixtures/case-shapes/ holds the reference documents' shape at each stage, written by
us: their keys in order, with a placeholder of each JSON type ("", 0, false, null) where
they have a value, and one item of each distinct shape in each list. No value of theirs is
in the repository.
"""

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flask.testing import FlaskClient
from freezegun.api import FrozenDateTimeFactory

TESTS = Path(__file__).parents[1]
CASE_SCHEMA = json.loads((TESTS / "case.schema.json").read_text())
SHAPES = TESTS / "fixtures" / "case-shapes"
STAGES = {"submitted": 0, "processing": 10, "complete": 30}


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    kinds = {float: "number", str: "string", list: "array", dict: "object"}
    return kinds[type(value)]


def types(s: Any, path: str = "") -> dict[str, set[str]]:
    """Every path (lists' items under ``[]``) with the set of JSON types seen there."""
    out: dict[str, set[str]] = {path: {json_type(s)}}
    children: list[tuple[str, Any]] = []
    if isinstance(s, dict):
        children = [(f"{path}.{k}", v) for k, v in s.items()]
    elif isinstance(s, list):
        children = [(f"{path}[]", item) for item in s]
    for child_path, child in children:
        for p, t in types(child, child_path).items():
            out.setdefault(p, set()).update(t)
    return out


def key_sets(s: Any, path: str = "") -> dict[str, set[frozenset[str]]]:
    """Every path of an object with the sets of keys seen there."""
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


@pytest.mark.parametrize("stage", list(STAGES))
def test_keys_and_types_match_the_reference(documents: dict[str, dict], stage: str) -> None:
    """Each stage has the reference document's keys, in order, with the same JSON types and
    nesting (tests/fixtures/case-shapes/); ``created_at``, a string, is ours alone."""
    reference = json.loads((SHAPES / f"{stage}.json").read_text())
    ours = dict(documents[stage])
    created_at = ours.pop("created_at")

    assert list(reference) == list(ours)
    assert isinstance(created_at, str)
    assert types(reference) == types(ours)
    assert key_sets(reference) == key_sets(ours)


@pytest.mark.parametrize("stage", list(STAGES))
def test_documents_match_the_committed_schema(documents: dict[str, dict], stage: str) -> None:
    """Each stage validates against tests/case.schema.json."""
    jsonschema.validate(documents[stage], CASE_SCHEMA)


def test_committed_schema_can_fail(documents: dict[str, dict]) -> None:
    """The schema rejects a document with a summary while submitted, or a null logic."""
    early = dict(documents["submitted"], summary="too soon")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(early, CASE_SCHEMA)
    steps = [dict(documents["complete"]["steps"][0], logic=None)]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(dict(documents["complete"], steps=steps), CASE_SCHEMA)
