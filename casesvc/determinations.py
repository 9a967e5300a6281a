"""The sample determinations: what a case shows once complete, loaded once from a folder.

casesvc ships its own (``assets/determinations``); ``CASESVC_SAMPLES`` names a team's own
folder in their place. Each file is one sample, keyed by its stem, in the format of the
shipped ones, with an optional ``review_seconds`` (casesvc/lifecycle.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import marshmallow as ma

from casesvc.schemas import DeterminationSchema


class BadSample(ValueError):
    """A samples folder, or a file in it, that casesvc cannot use: the message is one line
    naming the file and the field."""


class UnknownSample(LookupError):
    """A sample key the catalog does not have."""

    def __init__(self, key: str, valid: tuple[str, ...]) -> None:
        super().__init__(f"no sample is named {key!r}; the samples are: {', '.join(valid)}")
        self.key, self.valid = key, valid


@dataclasses.dataclass(frozen=True)
class Determination:
    """An immutable sample determination: what a case shows once complete."""

    key: str
    procedure_name: str
    cpt_codes: tuple[str, ...]
    summary: str
    is_met: bool
    steps: tuple[Mapping[str, Any], ...]
    digest: str = ""  # of the asset file, so that an edited sample changes every ETag
    # Its own (processing, complete) timing in seconds under `timed`; None: the configured.
    review_seconds: tuple[float, float] | None = None


def _first_error(messages: Any, path: tuple[str, ...] = ()) -> tuple[str, str]:
    """marshmallow's nested messages -> the first field's dotted path and its message."""
    if isinstance(messages, dict):
        key = next(iter(messages))
        return _first_error(messages[key], (*path, str(key)))
    if isinstance(messages, list) and messages:
        return _first_error(messages[0], path)
    return ".".join(path), str(messages).rstrip(".")


def load_sample(path: Path) -> Determination:
    """One sample file; ``BadSample`` names the file and the field that is wrong."""
    raw = path.read_bytes()
    try:
        data = DeterminationSchema().load(json.loads(raw))
    except json.JSONDecodeError as exc:
        raise BadSample(f"{path}: not JSON ({exc.msg}, line {exc.lineno})") from None
    except UnicodeDecodeError:
        raise BadSample(f"{path}: not UTF-8 text") from None
    except ma.ValidationError as exc:
        field, message = _first_error(exc.messages)
        raise BadSample(f"{path}: field {field or '(the document)'}: {message}") from None
    timing = data.get("review_seconds")
    return Determination(
        key=path.stem,
        procedure_name=data["procedure_name"],
        cpt_codes=tuple(data["cpt_codes"]),
        summary=data["summary"],
        is_met=data["is_met"],
        steps=tuple(data["steps"]),
        digest=hashlib.sha256(raw).hexdigest()[:16],
        review_seconds=None if timing is None else (timing["processing"], timing["complete"]),
    )


class Catalog:
    """All sample determinations, keyed by file stem, in a stable order."""

    def __init__(self, determinations: list[Determination]) -> None:
        if not determinations:
            raise BadSample("no sample determinations found")
        self._by_key = {d.key: d for d in determinations}
        self.keys = tuple(sorted(self._by_key))

    @classmethod
    def load(cls, directory: Path) -> Catalog:
        if not directory.is_dir():
            raise BadSample(f"{directory}: no such folder of sample determinations")
        paths = sorted(directory.glob("*.json"))
        if not paths:
            raise BadSample(f"{directory}: no sample determinations (*.json) in it")
        return cls([load_sample(path) for path in paths])

    def __getitem__(self, key: str) -> Determination:
        return self._by_key[key]

    def __len__(self) -> int:
        return len(self.keys)

    def __iter__(self) -> Iterator[Determination]:
        return (self._by_key[key] for key in self.keys)

    def named(self, key: str) -> Determination:
        """The sample ``key``; ``UnknownSample`` lists the valid keys."""
        found = self._by_key.get(key)
        if found is None:
            raise UnknownSample(key, self.keys)
        return found

    def for_case(self, key: str, case_id: str) -> Determination:
        """A stored case's sample: ``key``, or if this catalog has no such sample (a team's
        own folder replaced the one it was made with), the one its id picks here."""
        return self._by_key.get(key) or self.pick(case_id)

    def pick(self, case_id: str) -> Determination:
        """The determination for a new case: a deterministic function of its id."""
        index = int.from_bytes(hashlib.sha256(case_id.encode()).digest()[:8], "big")
        return self._by_key[self.keys[index % len(self.keys)]]
