"""The project's sample determinations, loaded once from ``assets/determinations``."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from casesvc.schemas import DeterminationSchema


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


class Catalog:
    """All sample determinations, keyed by file stem, in a stable order."""

    def __init__(self, determinations: list[Determination]) -> None:
        if not determinations:
            raise ValueError("no sample determinations found")
        self._by_key = {d.key: d for d in determinations}
        self.keys = tuple(sorted(self._by_key))

    @classmethod
    def load(cls, directory: Path) -> Catalog:
        schema = DeterminationSchema()
        found = []
        for path in sorted(directory.glob("*.json")):
            raw = path.read_bytes()
            data = schema.load(json.loads(raw))
            found.append(
                Determination(
                    key=path.stem,
                    procedure_name=data["procedure_name"],
                    cpt_codes=tuple(data["cpt_codes"]),
                    summary=data["summary"],
                    is_met=data["is_met"],
                    steps=tuple(data["steps"]),
                    digest=hashlib.sha256(raw).hexdigest()[:16],
                )
            )
        return cls(found)

    def __getitem__(self, key: str) -> Determination:
        return self._by_key[key]

    def __len__(self) -> int:
        return len(self.keys)

    def pick(self, case_id: str) -> Determination:
        """The determination for a new case: a deterministic function of its id."""
        index = int.from_bytes(hashlib.sha256(case_id.encode()).digest()[:8], "big")
        return self._by_key[self.keys[index % len(self.keys)]]
