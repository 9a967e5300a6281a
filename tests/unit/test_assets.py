"""The project's own sample determinations."""

import hashlib
import json
import re
from pathlib import Path

import pytest

from casesvc.config import ASSETS_DIR
from casesvc.determinations import Catalog

FILES = sorted(ASSETS_DIR.glob("*.json"))
# The SHA-256 of each sentence of the reference documents (``sentences`` below), one per
# line: enough to spot one of them in a sample, without their text in the repository.
REFERENCE_DIGESTS = Path(__file__).parents[1] / "fixtures" / "reference-sentences.sha256"


def test_there_are_met_and_not_met_samples() -> None:
    """At least two samples ship, one met and one not met."""
    catalog = Catalog.load(ASSETS_DIR)

    assert len(catalog) >= 2
    assert {True, False} == {catalog[k].is_met for k in catalog.keys}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_samples_are_rich(path) -> None:  # type: ignore[no-untyped-def]
    """Each sample is 15-25 KB, with several steps and many evidence items."""
    data = json.loads(path.read_text())
    size = len(json.dumps(data, indent=4, ensure_ascii=False).encode())

    assert 15_000 <= size <= 25_000
    assert len(data["steps"]) >= 4
    assert sum(len(s["evidence"]) for s in data["steps"]) >= 15
    assert "logic" not in data["steps"][0]


def strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


def sentences(path) -> set[str]:  # type: ignore[no-untyped-def]
    """Every sentence of 30+ characters in the file's string values."""
    found = set()
    for text in strings(json.loads(path.read_text())):
        found |= {s.strip() for s in re.split(r"[.!?\n]", text) if len(s.strip()) >= 30}
    return found


def digests(texts: set[str]) -> set[str]:
    return {hashlib.sha256(text.encode()).hexdigest() for text in texts}


def reference_digests() -> set[str]:
    return set(REFERENCE_DIGESTS.read_text().split())


def test_the_reference_digests_are_sentence_digests() -> None:
    """The digest file holds many distinct SHA-256 digests and nothing else."""
    lines = REFERENCE_DIGESTS.read_text().splitlines()

    assert len(lines) == len(set(lines)) >= 100
    assert all(re.fullmatch(r"[0-9a-f]{64}", line) for line in lines)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_samples_share_no_prose_with_the_reference(path) -> None:  # type: ignore[no-untyped-def]
    """No sentence of the reference documents appears in our samples."""
    assert set() == digests(sentences(path)) & reference_digests()


# Words that give a review's outcome away. A case shows its summary from processing on, while
# the API still says the verdict is undecided (`is_met` false until complete), so the summary
# says what is under review and leaves the outcome to the steps and `is_met`.
VERDICT = re.compile(
    r"\b(met|meets?|not met|approv\w*|den(y|ied|ial)|fail\w*|satisf\w*|medically necessary"
    r"|resubmit\w*|criteria are)\b",
    re.IGNORECASE,
)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_summaries_do_not_give_the_verdict_away(path) -> None:  # type: ignore[no-untyped-def]
    """No sample's summary states whether the criteria are met."""
    summary = json.loads(path.read_text())["summary"]

    assert [] == [m.group(0) for m in VERDICT.finditer(summary)]
